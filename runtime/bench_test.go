package runtime

import (
	"context"
	"fmt"
	"testing"
	"time"

	"flowlab/runtime/spec"
)

// BenchmarkPipeline measures records per second through source ->
// passthrough -> discard (16-byte values, no simulated cost); one op is one
// record, so allocs/op is allocations per record.
func BenchmarkPipeline(b *testing.B) {
	for _, p := range []int{1, 2} {
		b.Run(fmt.Sprintf("parallelism=%d", p), func(b *testing.B) {
			runPipeline(b, fmt.Appendf(nil, `
name: bench
tasks:
  - {name: source, operator: generator, parallelism: %[1]d, config: {count: %[2]d, value-size: 16}}
  - {name: map, operator: passthrough, parallelism: %[1]d}
  - {name: sink, operator: discard, parallelism: %[1]d}
edges:
  - {from: source, to: map, partitioning: rebalance}
  - {from: map, to: sink, partitioning: forward}
`, p, max(1, b.N/p)), max(1, b.N/p)*p)
		})
	}
}

// BenchmarkPublish measures one metrics tick (sample every subtask, derive
// every task's numbers, publish) for a job of 50 subtasks.
func BenchmarkPublish(b *testing.B) {
	s, err := spec.Parse([]byte(`
name: fifty
tasks:
  - {name: source, operator: generator, parallelism: 10, config: {rate: 10}}
  - {name: a, operator: passthrough, parallelism: 10}
  - {name: b, operator: passthrough, parallelism: 10}
  - {name: c, operator: passthrough, parallelism: 10}
  - {name: sink, operator: discard, parallelism: 10}
`))
	if err != nil {
		b.Fatal(err)
	}
	j, err := Start(context.Background(), s, Builtins)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { j.Cancel(); <-j.Done() }()
	<-j.Updated()
	b.ReportAllocs()
	for b.Loop() {
		j.publish(time.Now())
	}
}

// BenchmarkExchange measures what issue 15 targets: records per second
// through generator -> passthrough -> discard, one subtask each, with both
// edges partitioned the same way, at default network settings. One op is one
// record, so allocs/op is allocations per record.
func BenchmarkExchange(b *testing.B) {
	for _, part := range []string{spec.Forward, spec.Rebalance, spec.Hash} {
		for _, size := range []int{16, 100} {
			b.Run(fmt.Sprintf("%s/value=%dB", part, size), func(b *testing.B) {
				runPipeline(b, fmt.Appendf(nil, `
name: exchange
tasks:
  - {name: source, operator: generator, config: {count: %d, value-size: %d}}
  - {name: map, operator: passthrough}
  - {name: sink, operator: discard}
edges:
  - {from: source, to: map, partitioning: %[3]s}
  - {from: map, to: sink, partitioning: %[3]s}
`, b.N, size, part), b.N)
			})
		}
	}
}

// runPipeline runs the job of spec to its end (its sources send records
// records in all) and reports the records per second.
func runPipeline(b *testing.B, yaml []byte, records int) {
	s, err := spec.Parse(yaml)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	j, err := Start(context.Background(), s, Builtins)
	if err != nil {
		b.Fatal(err)
	}
	<-j.Done()
	if err := j.Err(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(records)/time.Since(start).Seconds(), "records/s")
}
