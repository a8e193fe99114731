package sdk_test

import (
	"encoding/json"
	"fmt"

	"flowlab/wasmops/sdk"
)

func ExampleAppendRecord() {
	batch := sdk.AppendRecord(nil, sdk.Record{TS: 1000, Key: []byte("k"), Value: []byte("hi")})
	fmt.Printf("% x\n", batch)
	// Output:
	// e8 03 00 00 00 00 00 00 01 00 00 00 02 00 00 00 6b 68 69
}

func ExampleDecodeBatch() {
	var batch []byte
	batch = sdk.AppendRecord(batch, sdk.Record{TS: 1, Key: []byte("a"), Value: []byte("x")})
	batch = sdk.AppendRecord(batch, sdk.Record{TS: 2, Key: []byte("b"), Value: []byte("y")})
	err := sdk.DecodeBatch(batch, func(r sdk.Record) error {
		fmt.Printf("%d %s=%s\n", r.TS, r.Key, r.Value)
		return nil
	})
	fmt.Println(err)
	fmt.Println(sdk.DecodeBatch(batch[:len(batch)-1], func(sdk.Record) error { return nil }))
	// Output:
	// 1 a=x
	// 2 b=y
	// <nil>
	// malformed batch: record at offset 18 has key_len 1 and val_len 1, but only 1 bytes follow its header
}

func ExampleWindow() {
	var w sdk.Window
	err := json.Unmarshal([]byte(`{"size": "10s", "slide": "500ms"}`), &w)
	fmt.Println(w.Size, w.Slide, err)
	// Output:
	// 10s 500ms <nil>
}
