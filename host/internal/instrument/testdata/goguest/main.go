//go:build wasip1

// Command goguest is a tiny Go wasip1 reactor used as a test input for
// package instrument. Build (see ../generate.sh):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o ../wasm/goguest.wasm .
package main

import (
	"sort"
	"strconv"
	"strings"
)

var words = map[string]int{}

// wordScore exercises the Go runtime (maps, strings, allocation, sort).
//
//go:wasmexport word_score
func wordScore(n int32) int64 {
	var b strings.Builder
	for i := int32(0); i < n; i++ {
		b.WriteString("w")
		b.WriteString(strconv.Itoa(int(i % 17)))
		b.WriteByte(' ')
	}
	clear(words)
	for _, w := range strings.Fields(b.String()) {
		words[w]++
	}
	keys := make([]string, 0, len(words))
	for k := range words {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var score int64
	for i, k := range keys {
		score += int64(i+1) * int64(words[k]) * int64(len(k))
	}
	return score
}

//go:wasmexport fib
func fib(n int32) int32 {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

// spin never returns: x stays odd, so it is never 0, but the compiler cannot
// tell.
//
//go:wasmexport spin
func spin() int32 {
	x := int32(1)
	for {
		x = x*1664525 + 1013904222
		if x == 0 {
			return x
		}
	}
}

func main() {}
