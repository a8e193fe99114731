// Command upper is a Flowlab operator (a map): it upper-cases each record's
// value and keeps its key.
package main

import (
	"unicode"
	"unicode/utf8"

	"flowlab/wasmops/sdk"
)

func main() {}

func init() {
	sdk.Map(func(r sdk.Record) sdk.Record {
		r.Value = upper(r.Value)
		return r
	})
}

var buf []byte

// upper upper-cases v: ASCII in place (the SDK hands records over), any other
// text into buf, which is reused.
func upper(v []byte) []byte {
	for i, c := range v {
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
