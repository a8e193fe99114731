package network

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// HeaderSize is the encoded size of a record without its key and value:
// ts_ms i64, key_len u32, val_len u32 (little-endian), as in the Wasm ABI's
// batch encoding, so a received buffer is handed to a Wasm operator as is.
const HeaderSize = 16

// Record is one decoded record. Key and Value alias the buffer they were
// read from and are valid only until that buffer is recycled.
type Record struct {
	TS    int64
	Key   []byte
	Value []byte
}

// EncodedSize is the number of bytes a record takes in a buffer.
func EncodedSize(key, value []byte) int { return HeaderSize + len(key) + len(value) }

// AppendRecord appends the encoding of one record to dst.
func AppendRecord(dst []byte, ts int64, key, value []byte) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, uint64(ts))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(key)))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(value)))
	dst = append(dst, key...)
	return append(dst, value...)
}

// ErrCorrupt reports a batch whose encoding does not add up.
var ErrCorrupt = errors.New("corrupt record batch")

// Reader decodes a batch of records.
type Reader struct {
	data []byte
	off  int
}

// NewReader returns a Reader over an encoded batch.
func NewReader(batch []byte) Reader { return Reader{data: batch} }

// Next decodes the next record. It returns false at the end of the batch or
// on a corrupt batch; Err tells which.
func (r *Reader) Next() (Record, bool) {
	rest := r.data[r.off:]
	if len(rest) < HeaderSize {
		return Record{}, false
	}
	kl := uint64(binary.LittleEndian.Uint32(rest[8:]))
	vl := uint64(binary.LittleEndian.Uint32(rest[12:]))
	end := HeaderSize + kl + vl
	if end > uint64(len(rest)) {
		return Record{}, false
	}
	rec := Record{
		TS:    int64(binary.LittleEndian.Uint64(rest)),
		Key:   rest[HeaderSize : HeaderSize+kl : HeaderSize+kl],
		Value: rest[HeaderSize+kl : end : end],
	}
	r.off += int(end)
	return rec, true
}

// Err reports whether the batch ended in the middle of a record.
func (r *Reader) Err() error {
	if r.off != len(r.data) {
		return fmt.Errorf("%w: %d trailing bytes at offset %d", ErrCorrupt, len(r.data)-r.off, r.off)
	}
	return nil
}
