package sdk

import (
	"encoding/binary"
	"strconv"
	"unsafe"
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
	b := Batch{b: batch}
	for b.Next() {
		if err := fn(b.Record()); err != nil {
			return err
		}
	}
	return b.err()
}

// Batch is an input batch, read a record at a time in place, without copying
// or allocating:
//
//	for in.Next() {
//		v := in.Value()
//		...
//	}
//
// Key and Value alias the input buffer, as a Record's fields do. Next, TS,
// Key and Value are small enough for Go's compiler to inline, so a loop over
// a Batch makes no call per record (see ProcessBatch).
type Batch struct {
	b []byte
	// The current record: its header at b[at:], its key up to b[k:], its
	// value up to b[end:], where the next record starts.
	at, k, end int
}

// Next moves to the next record and reports whether there is one: false at
// the end of the batch, and at a malformed record (then err says why).
func (b *Batch) Next() bool {
	p := b.end
	if len(b.b)-p < headerSize {
		return false
	}
	// A native load of the little-endian lengths: the SDK builds for wasm,
	// and is tested on little-endian machines only (abi_local.go checks).
	// binary.LittleEndian would put Next over the inliner's budget.
	h := (*[4]uint32)(unsafe.Pointer(&b.b[p]))
	k := p + headerSize + int(h[2])
	end := k + int(h[3])
	if end > len(b.b) {
		return false
	}
	b.at, b.k, b.end = p, k, end
	return true
}

// TS is the current record's timestamp, milliseconds since the Unix epoch.
func (b *Batch) TS() int64 { return *(*int64)(unsafe.Pointer(&b.b[b.at])) }

// Key is the current record's key. It may be modified in place.
func (b *Batch) Key() []byte { return b.b[b.at+headerSize : b.k : b.k] }

// Value is the current record's value. It may be modified in place.
func (b *Batch) Value() []byte { return b.b[b.k:b.end:b.end] }

// Record is the current record.
func (b *Batch) Record() Record { return Record{TS: b.TS(), Key: b.Key(), Value: b.Value()} }

// err is nil if the batch is well formed, or else what is wrong with its
// first malformed record. It reads the records after the current one, which
// a loop that stopped early has not.
func (b *Batch) err() error {
	rest := *b
	for rest.Next() {
	}
	off := rest.end
	tail := b.b[off:]
	switch {
	case len(tail) == 0:
		return nil
	case len(tail) < headerSize:
		return errorString("malformed batch: truncated record header at offset " + strconv.Itoa(off) + ": " +
			strconv.Itoa(len(tail)) + " bytes left, want " + strconv.Itoa(headerSize))
	}
	kl, vl := binary.LittleEndian.Uint32(tail[8:]), binary.LittleEndian.Uint32(tail[12:])
	return errorString("malformed batch: record at offset " + strconv.Itoa(off) + " has key_len " +
		strconv.FormatUint(uint64(kl), 10) + " and val_len " + strconv.FormatUint(uint64(vl), 10) + ", but only " +
		strconv.Itoa(len(tail)-headerSize) + " bytes follow its header")
}
