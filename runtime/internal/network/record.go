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
	n := len(dst)
	dst = append(dst, make([]byte, HeaderSize)...)
	putRecord(dst[n:], ts, key, value)
	return append(append(dst, key...), value...)
}

// putRecord encodes a record's header into dst[:HeaderSize].
func putRecord(dst []byte, ts int64, key, value []byte) {
	binary.LittleEndian.PutUint64(dst, uint64(ts))
	binary.LittleEndian.PutUint32(dst[8:], uint32(len(key)))
	binary.LittleEndian.PutUint32(dst[12:], uint32(len(value)))
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
	ts, kl, end, ok := header(r.data, r.off)
	if !ok {
		return Record{}, false
	}
	k := r.off + HeaderSize
	rec := Record{TS: ts, Key: r.data[k : k+kl : k+kl], Value: r.data[k+kl : end : end]}
	r.off = end
	return rec, true
}

// header decodes the header of the record at data[off:]: its timestamp,
// key length and end. ok is false unless a whole record starts at off.
// Walks that need no key or value (checks, the latest timestamp) use it
// alone, which the compiler inlines.
func header(data []byte, off int) (ts int64, kl, end int, ok bool) {
	if off < 0 || len(data)-off < HeaderSize {
		return 0, 0, 0, false
	}
	h := data[off : off+HeaderSize]
	k, v := uint64(binary.LittleEndian.Uint32(h[8:])), uint64(binary.LittleEndian.Uint32(h[12:]))
	if e := uint64(off) + HeaderSize + k + v; e <= uint64(len(data)) {
		return int64(binary.LittleEndian.Uint64(h)), int(k), int(e), true
	}
	return 0, 0, 0, false
}

// Offset is where the next record starts: after a record, its end.
func (r *Reader) Offset() int { return r.off }

// Err reports whether the batch ended in the middle of a record, and where.
func (r *Reader) Err() error {
	rest := r.data[r.off:]
	switch {
	case len(rest) == 0:
		return nil
	case len(rest) < HeaderSize:
		return fmt.Errorf("%w: %d trailing bytes at offset %d, less than a record header (%d bytes)", ErrCorrupt, len(rest), r.off, HeaderSize)
	}
	kl, vl := binary.LittleEndian.Uint32(rest[8:]), binary.LittleEndian.Uint32(rest[12:])
	return fmt.Errorf("%w: record at offset %d of %d bytes (key %d, value %d, header %d) runs past the end, %d bytes left",
		ErrCorrupt, r.off, uint64(HeaderSize)+uint64(kl)+uint64(vl), kl, vl, HeaderSize, len(rest))
}

// Check checks that batch is a whole number of well-formed records, none
// larger than limit bytes, and counts them.
func Check(batch []byte, limit int) (int, error) {
	n := 0
	for off := 0; off < len(batch); n++ {
		_, _, end, ok := header(batch, off)
		if !ok || end-off > limit {
			return n, badRecord(batch, off, limit)
		}
		off = end
	}
	return n, nil
}

// badRecord is what is wrong with the record at off of batch: it runs past
// the end of batch, or it is larger than limit.
func badRecord(batch []byte, off, limit int) error {
	_, kl, end, ok := header(batch, off)
	if !ok {
		r := Reader{data: batch, off: off}
		return r.Err()
	}
	size := end - off
	return fmt.Errorf("record at offset %d: %w", off, tooLarge(size, kl, size-HeaderSize-kl, limit))
}

// tooLarge is the error for a record that does not fit in a buffer.
func tooLarge(size, key, value, limit int) error {
	return fmt.Errorf("record of %d bytes (key %d, value %d, header %d) does not fit in a network buffer of %d bytes: raise network.buffer-size",
		size, key, value, HeaderSize, limit)
}
