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
// through generator -> passthrough -> discard at default network settings,
// the source's edge partitioned as named. With one channel (one subtask each,
// both edges partitioned alike) every partitioning writes whole runs of
// records, so channels=2 (passthrough and discard with two subtasks, forward
// between them) measures rebalance and hash splitting records between
// channels. One op is one record, so allocs/op is allocations per record.
func BenchmarkExchange(b *testing.B) {
	for _, part := range []string{spec.Forward, spec.Rebalance, spec.Hash} {
		for _, channels := range []int{1, 2} {
			if part == spec.Forward && channels > 1 {
				continue // forward joins subtasks of equal parallelism: one channel each
			}
			for _, size := range []int{16, 100} {
				b.Run(fmt.Sprintf("%s/channels=%d/value=%dB", part, channels, size), func(b *testing.B) {
					after := part
					if channels > 1 {
						after = spec.Forward
					}
					runPipeline(b, fmt.Appendf(nil, `
name: exchange
tasks:
  - {name: source, operator: generator, config: {count: %d, value-size: %d}}
  - {name: map, operator: passthrough, parallelism: %d}
  - {name: sink, operator: discard, parallelism: %[3]d}
edges:
  - {from: source, to: map, partitioning: %s}
  - {from: map, to: sink, partitioning: %s}
`, b.N, size, channels, part, after), b.N)
				})
			}
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

// BenchmarkCheckpointCost measures what checkpoints every second cost the
// pipeline of BenchmarkExchange (forward, 16-byte values): barriers and
// snapshots, aligned and unaligned, against none.
func BenchmarkCheckpointCost(b *testing.B) {
	for _, mode := range []string{"off", spec.Aligned, spec.Unaligned} {
		b.Run("checkpoints="+mode, func(b *testing.B) {
			cp := ""
			if mode != "off" {
				cp = "checkpoint: {interval: 1s, mode: " + mode + "}"
			}
			runPipeline(b, fmt.Appendf(nil, `
name: checkpointed
%s
tasks:
  - {name: source, operator: generator, config: {count: %d, value-size: 16}}
  - {name: map, operator: passthrough}
  - {name: sink, operator: discard}
`, cp, b.N), b.N)
		})
	}
}

// BenchmarkRescaleState measures splitting the keyed state of 1 M keys (4
// subtasks' worth) among 3 subtasks on a rescale.
func BenchmarkRescaleState(b *testing.B) {
	old := make([]subtaskSnapshot, 4)
	for k := range old {
		old[k].state.Keyed = map[string][]byte{}
	}
	for i := range 1_000_000 {
		key := fmt.Sprintf("key-%d/count", i)
		old[i%4].state.Keyed[key] = []byte("12345")
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rescale(old, 3, 32*1024, true); err != nil {
			b.Fatal(err)
		}
	}
}
