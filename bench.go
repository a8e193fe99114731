package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"flowlab/host"
	"flowlab/runtime"
	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
	"flowlab/wasmops"
)

// benchOperators are the map operators `flowlab bench` compares: the native
// one first, as the reference.
var benchOperators = []string{runtime.OpPassthrough, "wasm:upper", "wasm:c-upper", "wasm:wat-upper"}

// bench is `flowlab bench`: records per second through source -> MAP ->
// discard with one network exchange, for the native passthrough and each
// Wasm map operator, on this machine. (The precise numbers, with
// allocations, are the Go benchmarks: make bench.)
func bench(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	duration := fs.Duration("duration", 3*time.Second, "how long each pipeline runs")
	bufferSize := fs.String("buffer-size", "32kb", "network buffer size: records per operator call grow with it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	h, err := host.New(ctx, host.NewConfig())
	if err != nil {
		return err
	}
	defer h.Close(context.WithoutCancel(ctx))
	resolve := h.Resolver(ctx, wasmops.FS, "")
	fmt.Fprintf(stdout, "%-16s %14s %10s\n", "MAP", "RECORDS/S", "OF NATIVE")
	var native float64
	for _, op := range benchOperators {
		rate, err := pipelineRate(ctx, op, *bufferSize, *duration, resolve)
		if err != nil {
			return fmt.Errorf("bench %s: %w", op, err)
		}
		if native == 0 {
			native = rate
		}
		fmt.Fprintf(stdout, "%-16s %14.0f %9.0f%%\n", op, rate, 100*rate/native)
	}
	return nil
}

// pipelineRate runs generator -> op -> discard for d and returns the
// records per second that reached the sink.
func pipelineRate(ctx context.Context, op, bufferSize string, d time.Duration, resolve runtime.Resolver) (float64, error) {
	s, err := spec.Parse(fmt.Appendf(nil, `
name: bench
network: {buffer-size: %s}
tasks:
  - {name: source, operator: generator, config: {value-size: 16}}
  - {name: map, operator: %q}
  - {name: sink, operator: discard}
edges:
  - {from: source, to: map, partitioning: rebalance}
  - {from: map, to: sink, partitioning: forward}
`, bufferSize, op))
	if err != nil {
		return 0, err
	}
	j, err := runtime.Start(ctx, s, resolve)
	if err != nil {
		return 0, err
	}
	defer func() { j.Cancel(); <-j.Done() }()
	<-j.Updated() // running
	first := j.Snapshot()
	select {
	case <-time.After(d):
	case <-j.Done():
		return 0, fmt.Errorf("the job ended: %v", j.Err())
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	last := j.Snapshot()
	in := func(snap *metrics.Job) int64 { return snap.Vertices[2].Metrics.NumRecordsIn }
	return float64(in(last)-in(first)) / (float64(last.Timestamp-first.Timestamp) / 1000), nil
}
