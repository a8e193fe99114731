// Command tokenize is a Flowlab operator (a flat map): it splits each
// record's value on white space and emits one record per word, with the word
// as both key and value, so that a hash edge after it groups equal words.
package main

import (
	"unicode"
	"unicode/utf8"

	"flowlab/wasmops/sdk"
)

func main() {}

func init() {
	sdk.FlatMap(func(r sdk.Record, out *sdk.Output) error {
		v := r.Value
		for len(v) > 0 {
			start := skip(v, true)
			v = v[start:]
			end := skip(v, false)
			if end > 0 && !out.Emit(v[:end], v[:end]) {
				return nil
			}
			v = v[end:]
		}
		return nil
	})
}

// skip returns the length of the prefix of v that is white space (space true)
// or not.
func skip(v []byte, space bool) int {
	for i := 0; i < len(v); {
		r, n := rune(v[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRune(v[i:])
		}
		if unicode.IsSpace(r) != space {
			return i
		}
		i += n
	}
	return len(v)
}
