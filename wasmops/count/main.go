// Command count is a Flowlab operator (a keyed process function): it counts
// the records of each key in keyed state held by the host, and emits for each
// record its key and the key's count so far, in decimal. Put it after a hash
// edge so that each key is counted by one subtask.
package main

import (
	"strconv"

	"flowlab/wasmops/sdk"
)

func main() {}

var (
	counts = sdk.NewState("count")
	buf    []byte
)

func init() {
	sdk.KeyedProcess(func(c *sdk.Context, r sdk.Record) error {
		n, err := counts.Add(r.Key, 1)
		if err != nil {
			return err
		}
		buf = strconv.AppendInt(buf[:0], n, 10)
		c.Emit(r.Key, buf)
		return nil
	})
}
