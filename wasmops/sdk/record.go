package sdk

import (
	"encoding/binary"
	"fmt"
)

// Record is one record of a batch. Key and Value alias the SDK's input
// buffer: they are valid only until the function they were passed to returns
// (copy them to keep them), and a function may modify them in place.
type Record struct {
	TS    int64 // the record's timestamp, milliseconds since the Unix epoch
	Key   []byte
	Value []byte
}

// headerSize is the fixed part of an encoded record: ts_ms i64, key_len u32,
// val_len u32.
const headerSize = 16

// AppendRecord appends r to dst in the batch encoding of ABI v1 (little
// endian, no padding): ts_ms i64, key_len u32, val_len u32, key, value.
func AppendRecord(dst []byte, r Record) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, uint64(r.TS))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(r.Key)))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(r.Value)))
	dst = append(dst, r.Key...)
	return append(dst, r.Value...)
}

// DecodeBatch calls fn for each record of batch, in order, and stops at the
// first error fn returns. It returns an error naming the offset if batch is
// not a whole number of well-formed records. The records alias batch.
func DecodeBatch(batch []byte, fn func(Record) error) error {
	d := decoder{b: batch}
	for {
		r, ok, err := d.next()
		if err != nil || !ok {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
}

// decoder reads a batch record by record without allocating.
type decoder struct {
	b   []byte
	off int
}

// next returns the next record, false at the end of the batch, or an error
// if the rest of the batch is not a well-formed record.
func (d *decoder) next() (Record, bool, error) {
	rest := d.b[d.off:]
	if len(rest) == 0 {
		return Record{}, false, nil
	}
	if len(rest) < headerSize {
		return Record{}, false, fmt.Errorf("malformed batch: truncated record header at offset %d: %d bytes left, want %d", d.off, len(rest), headerSize)
	}
	ts := int64(binary.LittleEndian.Uint64(rest))
	kl := uint64(binary.LittleEndian.Uint32(rest[8:]))
	vl := uint64(binary.LittleEndian.Uint32(rest[12:]))
	if headerSize+kl+vl > uint64(len(rest)) {
		return Record{}, false, fmt.Errorf("malformed batch: record at offset %d has key_len %d and val_len %d, but only %d bytes follow its header", d.off, kl, vl, len(rest)-headerSize)
	}
	k := headerSize + int(kl)
	end := k + int(vl)
	d.off += end
	return Record{TS: ts, Key: rest[headerSize:k:k], Value: rest[k:end:end]}, true, nil
}
