// Command filter is a Flowlab operator: it keeps the records whose value
// contains the configured text and drops the others. Config:
//
//	{"contains": "x"}
//
// Without it every record passes.
package main

import (
	"bytes"
	"encoding/binary"

	"flowlab/wasmops/sdk"
)

func main() {}

var config struct {
	Contains string `json:"contains"`
}

func init() {
	sdk.Config(&config)
	var contains []byte
	sdk.OnConfig(func([]byte) error {
		contains = []byte(config.Contains)
		return nil
	})
	sdk.Filter(func(r sdk.Record) bool {
		v := r.Value
		if len(contains) != 1 || len(v) > 128 {
			return bytes.Contains(v, contains)
		}
		// A short value and one byte, inline (see ones): in Go's wasm
		// code, bytes.Contains costs three calls, a short record's work;
		// past 128 bytes its search (a wasm loop without Go's dispatch of
		// jumps) wins.
		cc := uint64(contains[0]) * ones
		i := 0
		for ; i+16 <= len(v); i += 16 {
			w0 := binary.LittleEndian.Uint64(v[i:]) ^ cc
			w1 := binary.LittleEndian.Uint64(v[i+8:]) ^ cc
			if ((w0-ones)&^w0|(w1-ones)&^w1)&hi != 0 {
				return true
			}
		}
		if i == len(v) {
			return false
		}
		if len(v) >= 8 {
			// the rest, 1 to 15 bytes, as the last eight, or those and the
			// eight after i
			w0 := binary.LittleEndian.Uint64(v[len(v)-8:]) ^ cc
			w1 := w0
			if len(v)-i > 8 {
				w1 = binary.LittleEndian.Uint64(v[i:]) ^ cc
			}
			return ((w0-ones)&^w0|(w1-ones)&^w1)&hi != 0
		}
		for ; i < len(v); i++ {
			if v[i] == contains[0] {
				return true
			}
		}
		return false
	})
}

// A byte of w^c*ones is zero where w holds the byte c, and (w-ones)&^w&hi
// is not zero exactly if a byte of w is zero: subtracting one sets the high
// bit of a zero byte, and of a byte below 0x80 only after a borrow, which
// starts at a zero byte.
const (
	ones = 0x0101010101010101
	hi   = 0x80 * ones
)
