// Command poison is a Flowlab operator that fails on a poison record: it
// passes records on unchanged, except that a record whose value equals the
// configured text fails the call, with a message naming the record. Config:
//
//	{"fail-on": "VALUE"}
//
// Without it no record fails. Use it to watch a job restart per its restart
// strategy and finally fail.
package main

import (
	"errors"
	"strconv"

	"flowlab/wasmops/sdk"
)

func main() {}

var config struct {
	FailOn *string `json:"fail-on"`
}

func init() {
	sdk.Config(&config)
	sdk.FlatMap(func(r sdk.Record, out *sdk.Output) error {
		if config.FailOn != nil && string(r.Value) == *config.FailOn {
			return errors.New("poison record (key " + strconv.Quote(string(r.Key)) + ", value " + strconv.Quote(string(r.Value)) +
				", ts " + strconv.FormatInt(r.TS, 10) + "): its value equals the configured fail-on " + strconv.Quote(*config.FailOn))
		}
		out.Emit(r.Key, r.Value)
		return nil
	})
}
