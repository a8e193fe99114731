// Command upper is a Flowlab operator (a map): it upper-cases each record's
// value and keeps its key. It registers with sdk.MapValue, the map of values
// that keep their key: per record, that costs a third less than sdk.Map with
// a func(sdk.Record) sdk.Record.
package main

import (
	"encoding/binary"
	"unicode"
	"unicode/utf8"

	"flowlab/wasmops/sdk"
)

func main() {}

func init() {
	sdk.MapValue(upper)
}

var buf []byte

// upper upper-cases v: ASCII in place (the SDK hands records over), eight
// bytes at a time, and any other text into buf, which is reused.
func upper(v []byte) []byte {
	i := 0
	for ; i+8 <= len(v); i += 8 {
		w := binary.LittleEndian.Uint64(v[i:])
		if w&hi != 0 {
			return upperUnicode(v, i)
		}
		binary.LittleEndian.PutUint64(v[i:], upperASCII(w))
	}
	if i == len(v) {
		return v
	}
	if i > 0 {
		// The last bytes as the last of eight: in Go's wasm code, every
		// jump back in a loop costs a dispatch (and a sandbox check), and
		// upper-casing the bytes done already again changes nothing.
		w := binary.LittleEndian.Uint64(v[len(v)-8:])
		if w&hi != 0 {
			return upperUnicode(v, i)
		}
		binary.LittleEndian.PutUint64(v[len(v)-8:], upperASCII(w))
		return v
	}
	for ; i < len(v); i++ {
		c := v[i]
		if c >= utf8.RuneSelf {
			return upperUnicode(v, i)
		}
		if 'a' <= c && c <= 'z' {
			v[i] = c - 'a' + 'A'
		}
	}
	return v
}

const (
	ones = 0x0101010101010101
	hi   = 0x80 * ones
)

// upperASCII upper-cases the eight ASCII bytes of w at once: a byte b < 0x80
// plus 0x80-'a' has its high bit set if b >= 'a', plus 0x80-'z'-1 if b > 'z',
// and no sum carries into the next byte; the bytes in 'a'..'z' get 0x20
// (their lower-case bit) cleared.
func upperASCII(w uint64) uint64 {
	lower := (w + (0x80-'a')*ones) &^ (w + (0x80-'z'-1)*ones) & hi
	return w &^ (lower >> 2)
}

// upperUnicode upper-cases v, whose first i bytes are upper-cased ASCII
// already, into buf.
func upperUnicode(v []byte, i int) []byte {
	buf = append(buf[:0], v[:i]...)
	for _, r := range string(v[i:]) {
		buf = utf8.AppendRune(buf, unicode.ToUpper(r))
	}
	return buf
}
