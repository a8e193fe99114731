// Command upper is a Flowlab operator (a map): it upper-cases each record's
// value and keeps its key. It is written with sdk.ProcessBatch, the SDK's
// fast path: an ASCII value is upper-cased in place, eight bytes at a time,
// and the record kept where it lies in the input batch, so most records
// cost no call and no copy. (sdk.MapValue(upper) would do the same in two
// lines, at about half the speed: see ProcessBatch.)
package main

import (
	"encoding/binary"
	"unicode"
	"unicode/utf8"

	"flowlab/wasmops/sdk"
)

func main() {}

func init() {
	sdk.ProcessBatch(func(in *sdk.Batch, out *sdk.Output) error {
		for in.Next() {
			v := in.Value()
			// An ASCII value of eight bytes or more is upper-cased here,
			// in place, as words that may overlap: all of them are read
			// before any is written, and a byte upper-cased twice is the
			// same. Up to 32 bytes, four words and no loop; longer ones 32
			// bytes per jump back, the last 32 ending the value. (In Go's
			// wasm code every jump back, and every call, costs a dispatch:
			// this loop is the SDK's fast path because it makes neither.)
			// The rest, and any value that is not ASCII, goes to upper.
			switch n := len(v); {
			case n >= 32:
				for i := 0; i < n; i += 32 {
					a := (*[32]byte)(v[min(i, n-32):])
					w0, w1 := binary.LittleEndian.Uint64(a[0:]), binary.LittleEndian.Uint64(a[8:])
					w2, w3 := binary.LittleEndian.Uint64(a[16:]), binary.LittleEndian.Uint64(a[24:])
					if (w0|w1|w2|w3)&hi != 0 {
						goto other
					}
					binary.LittleEndian.PutUint64(a[0:], upperASCII(w0))
					binary.LittleEndian.PutUint64(a[8:], upperASCII(w1))
					binary.LittleEndian.PutUint64(a[16:], upperASCII(w2))
					binary.LittleEndian.PutUint64(a[24:], upperASCII(w3))
				}
				out.Keep(in)
				continue
			case n >= 8:
				// offsets 0, 8, n-16 and n-8, within the value
				a, b := (*[8]byte)(v), (*[8]byte)(v[min(8, n-8):])
				c, d := (*[8]byte)(v[max(n-16, 0):]), (*[8]byte)(v[n-8:])
				w0, w1 := binary.LittleEndian.Uint64(a[:]), binary.LittleEndian.Uint64(b[:])
				w2, w3 := binary.LittleEndian.Uint64(c[:]), binary.LittleEndian.Uint64(d[:])
				if (w0|w1|w2|w3)&hi != 0 {
					break
				}
				binary.LittleEndian.PutUint64(a[:], upperASCII(w0))
				binary.LittleEndian.PutUint64(b[:], upperASCII(w1))
				binary.LittleEndian.PutUint64(c[:], upperASCII(w2))
				binary.LittleEndian.PutUint64(d[:], upperASCII(w3))
				out.Keep(in)
				continue
			}
		other:
			if u := upper(v); len(u) > 0 && &u[0] != &v[0] {
				if !out.Emit(in.Key(), u) {
					return nil
				}
				continue
			}
			out.Keep(in)
		}
		return nil
	})
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

var buf []byte

// upper upper-cases v: in place while it is ASCII, and from its first other
// byte on into buf, which is reused. It returns v or buf.
func upper(v []byte) []byte {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= utf8.RuneSelf {
			buf = append(buf[:0], v[:i]...)
			for _, r := range string(v[i:]) {
				buf = utf8.AppendRune(buf, unicode.ToUpper(r))
			}
			return buf
		}
		if 'a' <= c && c <= 'z' {
			v[i] = c - 'a' + 'A'
		}
	}
	return v
}
