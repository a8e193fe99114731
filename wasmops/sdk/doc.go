// Package sdk writes Flowlab operators in Go: it implements the guest side of
// the Wasm operator ABI v1.1 (docs/ABI.md), so that an operator is one function
// registered from an init function of a main package built with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o NAME.wasm ./NAME
//
// The SDK holds the exports (flowlab_input, flowlab_process, flowlab_init,
// flowlab_timer; Go adds _initialize) and calls the host's imports for you.
// A module registers exactly one operator, with one of:
//
//   - Map: one record out per record in; MapValue, the same for operators
//     that keep the key, costs less per record;
//   - Filter: a record passes or not;
//   - FlatMap: any number of records out per record in, or an error;
//   - ProcessBatch: a whole batch, read with a loop over Batch.Next: the
//     fastest, as it makes no call per record;
//   - KeyedProcess (and OnTimer): per key, with keyed State held by the host
//     and processing-time timers, like Flink's KeyedProcessFunction;
//   - SlidingWindow: an aggregate (such as Count) per key over a sliding
//     window of processing time, fired by timers every slide.
//
// The task's config (JSON) is decoded into the value given to Config, and
// handed to the functions given to OnConfig, before any record. Log writes to
// the operator's log, shown in the UI.
//
// A complete operator, counting records per key in keyed state and logging
// every record whose count reaches the configured threshold:
//
//	package main
//
//	import (
//		"strconv"
//
//		"flowlab/wasmops/sdk"
//	)
//
//	func main() {}
//
//	var config = struct {
//		Threshold int64 `json:"threshold"`
//	}{Threshold: 1000}
//
//	var (
//		counts = sdk.NewState("count")
//		buf    []byte
//	)
//
//	func init() {
//		sdk.Config(&config)
//		sdk.KeyedProcess(func(c *sdk.Context, r sdk.Record) error {
//			n, err := counts.Add(r.Key, 1)
//			if err != nil {
//				return err
//			}
//			if n == config.Threshold {
//				sdk.Logf("key %q reached %d records", r.Key, n)
//			}
//			buf = strconv.AppendInt(buf[:0], n, 10)
//			c.Emit(r.Key, buf)
//			return nil
//		})
//	}
//
// Records alias the SDK's input buffer, which is reused from batch to batch
// while it is large enough; emitting copies (or hands over in place). So an operator that reuses its
// own buffers, as above, allocates nothing per record.
//
// An error returned by an operator function, or a panic, fails the call: the
// SDK gives the message to the host's fail and returns a negative code; the
// host discards the instance and the job restarts per its restart strategy.
// Output crosses to the host in batches (flowlab.emit_batch): an output buffer
// of the SDK's, handed over when full and when the call ends, and the records
// a Map, MapValue or Filter lets through unchanged, or Output.Keep keeps,
// where they lie in the input buffer, uncopied. Each output record has the timestamp of its input record
// (in OnTimer, the timer's). When the host's output quota for a call is
// exhausted, which the SDK learns when it hands output over, Emit returns
// false and the SDK stops feeding records for the rest of the call.
//
// The SDK keeps modules small: it imports neither fmt nor encoding/json
// (its own JSON decoder and formatter follow theirs), and a module links the
// decoder only if it calls Config, the formatter only if it calls Log or
// Logf. A module is then about 2.2 MB (2.8 MB with Config), which wazero
// validates on every compilation, even from its cache; importing fmt adds
// about 0.4 MB, encoding/json with it 1.1 MB.
//
// On platforms other than wasip1 the package builds against an in-process
// host, so that its logic can be tested with go test; the exports exist only
// in wasip1 builds.
package sdk
