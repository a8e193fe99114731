// Command alloc is a hostile Flowlab operator built with the Go SDK: on its
// first record it allocates 1 MiB blocks and keeps them, without end, until
// the Go runtime runs out of memory (the instance's memory limit) and exits.
package main

import "flowlab/wasmops/sdk"

func main() {}

var hoard [][]byte

func init() {
	sdk.Map(func(r sdk.Record) sdk.Record {
		for {
			b := make([]byte, 1<<20)
			b[len(hoard)%len(b)] = 1
			hoard = append(hoard, b)
		}
	})
}
