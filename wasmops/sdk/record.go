package sdk

import (
	"encoding/binary"
	"strconv"
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
func AppendRecord(dst []byte, r Record) []byte { return appendRecord(dst, r.TS, r.Key, r.Value) }

func appendRecord(dst []byte, ts int64, key, value []byte) []byte {
	t, kl, vl := uint64(ts), uint32(len(key)), uint32(len(value))
	dst = append(dst,
		byte(t), byte(t>>8), byte(t>>16), byte(t>>24), byte(t>>32), byte(t>>40), byte(t>>48), byte(t>>56),
		byte(kl), byte(kl>>8), byte(kl>>16), byte(kl>>24),
		byte(vl), byte(vl>>8), byte(vl>>16), byte(vl>>24))
	dst = append(dst, key...)
	return append(dst, value...)
}

// DecodeBatch calls fn for each record of batch, in order, and stops at the
// first error fn returns. It returns an error naming the offset if batch is
// not a whole number of well-formed records. The records alias batch.
func DecodeBatch(batch []byte, fn func(Record) error) error {
	d := decoder{b: batch}
	var r Record
	for d.next(&r) {
		if err := fn(r); err != nil {
			return err
		}
	}
	return d.err()
}

// decoder reads a batch record by record, in place: without copying or
// allocating.
type decoder struct {
	b   []byte
	off int
}

// next sets *r to the next record and reports whether there was one: false
// at the end of the batch, or if the rest of the batch is not a well-formed
// record (then err says why). It is small enough to be inlined in the
// operators' loops.
func (d *decoder) next(r *Record) bool {
	rest := d.b[d.off:]
	if len(rest) < headerSize {
		return false
	}
	kl := uint64(binary.LittleEndian.Uint32(rest[8:]))
	vl := uint64(binary.LittleEndian.Uint32(rest[12:]))
	if headerSize+kl+vl > uint64(len(rest)) {
		return false
	}
	k := headerSize + int(kl)
	end := k + int(vl)
	r.TS = int64(binary.LittleEndian.Uint64(rest))
	r.Key = rest[headerSize:k:k]
	r.Value = rest[k:end:end]
	d.off += end
	return true
}

// err is nil if next has read the whole batch, or else the error that made
// it stop.
func (d *decoder) err() error {
	rest := d.b[d.off:]
	switch {
	case len(rest) == 0:
		return nil
	case len(rest) < headerSize:
		return errorString("malformed batch: truncated record header at offset " + strconv.Itoa(d.off) + ": " +
			strconv.Itoa(len(rest)) + " bytes left, want " + strconv.Itoa(headerSize))
	}
	kl, vl := binary.LittleEndian.Uint32(rest[8:]), binary.LittleEndian.Uint32(rest[12:])
	return errorString("malformed batch: record at offset " + strconv.Itoa(d.off) + " has key_len " +
		strconv.FormatUint(uint64(kl), 10) + " and val_len " + strconv.FormatUint(uint64(vl), 10) + ", but only " +
		strconv.Itoa(len(rest)-headerSize) + " bytes follow its header")
}
