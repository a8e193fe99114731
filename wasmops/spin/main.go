// Command spin is a Flowlab operator that burns real CPU: for each record it
// runs a loop of the configured number of iterations that the compiler cannot
// remove, then passes the record on unchanged. Config:
//
//	{"iterations": 100000}
//
// (the default). Unlike a task's simulated cost, this is real work: it shows
// how many cores the machine has.
package main

import (
	"errors"
	"strconv"

	"flowlab/wasmops/sdk"
)

func main() {}

var config = struct {
	Iterations int64 `json:"iterations"`
}{Iterations: 100_000}

// sink keeps the result of the loop alive, so that it is not optimized away.
var sink uint64

func init() {
	sdk.Config(&config)
	sdk.OnConfig(func([]byte) error {
		if config.Iterations < 0 {
			return errors.New("iterations must not be negative, got " + strconv.FormatInt(config.Iterations, 10))
		}
		return nil
	})
	sdk.Map(func(r sdk.Record) sdk.Record {
		sink += spin(uint64(len(r.Value))^sink, config.Iterations)
		return r
	})
}

// spin iterates a 64-bit LCG with an xorshift n times: every step depends on
// the one before, so it can be neither removed nor vectorized.
func spin(x uint64, n int64) uint64 {
	for range n {
		x = x*6364136223846793005 + 1442695040888963407
		x ^= x >> 29
	}
	return x
}
