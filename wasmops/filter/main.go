// Command filter is a Flowlab operator: it keeps the records whose value
// contains the configured text and drops the others. Config:
//
//	{"contains": "x"}
//
// Without it every record passes.
package main

import (
	"bytes"

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
		return bytes.Contains(r.Value, contains)
	})
}
