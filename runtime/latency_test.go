package runtime

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime/metrics"
)

// A record of the queue test: 16 header bytes, key "key-0", a 43-byte
// value: 64 bytes, 16 to a 1 KiB buffer.
const queueRecordsPerBuffer = 1024 / (16 + len("key-0") + 43)

// queueBuffers is how many buffers a record waits behind between a source
// and a slow sink when everything is full: the source's output pool (2
// exclusive + 8 floating buffers worth, network.OutputBuffers) and the
// sink's input gate (the same 2 + 8), less the record's own buffer, which
// is taken in once it reaches the head of the queue.
const queueBuffers = (2 + 8) + (2 + 8) - 1

func TestLatency_KnownQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The source offers 2000 records/s, the sink takes 1000: the queue
		// between them is full, so each record waits for the sink to drain
		// what is ahead of it, 19 buffers of 16 records at 1 ms each.
		j := start(t, `
name: queue
network: {buffer-size: 1kb, buffers-per-channel: 2, floating-buffers-per-gate: 8}
tasks:
  - {name: source, operator: generator, config: {rate: 2000, keys: 1, value-size: 43}}
  - {name: sink, operator: discard, cost: 1ms}
`, nil)
		snap := settle(j, 20*time.Second)
		drain := float64(queueBuffers*queueRecordsPerBuffer) * 1 // ms: records queued / 1000 records/s
		sink := vertex(t, snap, "sink")
		require.NotNil(t, sink.Latency)
		// Within one buffer of the full queue: the buffer at the head of
		// the queue is part processed when a record joins the tail.
		tolerance := float64(queueRecordsPerBuffer)
		assert.InDelta(t, drain, sink.Latency.P50, tolerance, "%+v", sink.Latency)
		assert.InDelta(t, drain, sink.Latency.P99, tolerance, "%+v", sink.Latency)
		assert.InDelta(t, drain, sink.Latency.Mean, tolerance, "%+v", sink.Latency)
		assert.LessOrEqual(t, sink.Latency.Max, drain, "%+v", sink.Latency)
		assert.Equal(t, sink.Latency, sink.Subtasks[0].Latency, "one subtask: the task's latency is its")
		assert.Nil(t, vertex(t, snap, "source").Latency, "a source takes nothing in")
		assert.Nil(t, vertex(t, snap, "source").Subtasks[0].Latency)
	})
}

func TestLatency_IdlePipelineIsNearZero(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Nothing waits: with buffer-timeout 0 each record is sent as it
		// is written, and no time passes in the fake clock.
		j := start(t, `
name: idle
network: {buffer-timeout: 0}
tasks:
  - {name: source, operator: generator, config: {rate: 400}}
  - {name: map, operator: passthrough}
  - {name: sink, operator: discard, cost: 100us}
`, nil)
		snap := settle(j, 5*time.Second)
		for _, name := range []string{"map", "sink"} {
			v := vertex(t, snap, name)
			require.NotNil(t, v.Latency, name)
			assert.Equal(t, metrics.Latency{}, *v.Latency, name)
		}
	})
}

func TestLatency_BufferTimeoutBoundsAnIdlePipeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// At 400 records/s no buffer fills: each waits for the 100 ms
		// buffer timeout, so records wait up to 100 ms, half that on average.
		j := start(t, `
name: idle
network: {buffer-timeout: 100ms}
tasks:
  - {name: source, operator: generator, config: {rate: 400}}
  - {name: sink, operator: discard}
`, nil)
		snap := settle(j, 5*time.Second)
		sink := vertex(t, snap, "sink")
		require.NotNil(t, sink.Latency)
		assert.LessOrEqual(t, sink.Latency.Max, 100.0, "%+v", sink.Latency)
		assert.InDelta(t, 50, sink.Latency.Mean, 5, "%+v", sink.Latency)
		assert.InDelta(t, 50, sink.Latency.P50, 7, "%+v", sink.Latency)
	})
}

func TestLatency_PassthroughKeepsSourceTimestamps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The map is backpressured: the queue in front of it is full as
		// the one in front of the sink is, and the sink's records carry
		// the source's timestamps through the map, so the sink sees both queues.
		j := start(t, `
name: queue
network: {buffer-size: 1kb, buffers-per-channel: 2, floating-buffers-per-gate: 8}
tasks:
  - {name: source, operator: generator, config: {rate: 2000, keys: 1, value-size: 43}}
  - {name: map, operator: passthrough}
  - {name: sink, operator: discard, cost: 1ms}
`, nil)
		snap := settle(j, 20*time.Second)
		drain := float64(queueBuffers * queueRecordsPerBuffer)
		tolerance := float64(queueRecordsPerBuffer)
		m, sink := vertex(t, snap, "map").Latency, vertex(t, snap, "sink").Latency
		require.NotNil(t, m)
		require.NotNil(t, sink)
		assert.InDelta(t, drain, m.P50, tolerance, "map %+v", m)
		assert.InDelta(t, 2*drain, sink.P50, 2*tolerance, "sink %+v", sink)
		assert.InDelta(t, 2*drain, sink.P99, 2*tolerance, "sink %+v", sink)
	})
}

func TestLatencyBucket_Bounds(t *testing.T) {
	prevHi := int64(-1)
	for i := range latencyBuckets {
		lo, hi := latencyBounds(i)
		assert.Equal(t, prevHi+1, lo, "bucket %d starts where %d ends", i, i-1)
		assert.LessOrEqual(t, float64(hi-lo+1), max(1, float64(lo)/latencySubs), "bucket %d is at most 1/%d of its value wide", i, latencySubs)
		assert.Equal(t, i, latencyBucket(lo))
		assert.Equal(t, i, latencyBucket(hi))
		prevHi = hi
	}
	assert.Equal(t, latencyMaxMs-1, prevHi)
	assert.Equal(t, latencyBuckets-1, latencyBucket(latencyMaxMs*10), "longer latencies fall in the last bucket")
	assert.Equal(t, 0, latencyBucket(-5), "a timestamp from the future reads 0")
}

// recorded is the histogram of what adds recorded, as the sampler takes it.
func recorded(adds ...func(*latencyRecorder)) *latencyHist {
	var r latencyRecorder
	for _, add := range adds {
		add(&r)
	}
	var prev, h latencyHist
	var tick latencyTick
	r.take(&prev, &tick)
	h.addTick(&tick)
	return &h
}

func TestLatencyHist_Summary(t *testing.T) {
	tests := []struct {
		name string
		adds []func(*latencyRecorder)
		want *metrics.Latency
	}{
		{name: "empty", want: nil},
		{
			name: "one buffer, one timestamp",
			adds: []func(*latencyRecorder){func(r *latencyRecorder) { r.add(1000, 995, 995, 10) }},
			want: &metrics.Latency{P50: 5, P95: 5, P99: 5, Max: 5, Mean: 5},
		},
		{
			name: "sub-millisecond latency reads 0",
			adds: []func(*latencyRecorder){func(r *latencyRecorder) { r.add(1000, 1000, 1000, 3) }},
			want: &metrics.Latency{},
		},
		{
			name: "a buffer's records spread over its timestamps",
			// Latencies 0..99 ms, one record each (exact p95 94.05, p99
			// 98.01): buckets are 4 ms wide around p50, 8 ms around p95
			// and p99, interpolated within, and never above the maximum.
			adds: []func(*latencyRecorder){func(r *latencyRecorder) { r.add(1000, 901, 1000, 100) }},
			want: &metrics.Latency{P50: 49.5, P95: 94.1, P99: 99, Max: 99, Mean: 49.5},
		},
		{
			name: "a few slow records show in p99, not p50",
			adds: []func(*latencyRecorder){
				func(r *latencyRecorder) { r.add(1000, 990, 990, 980) },
				func(r *latencyRecorder) { r.add(1000, 500, 500, 20) },
			},
			// p99 is 500 exactly; its bucket, 480..511 ms, interpolates.
			want: &metrics.Latency{P50: 10, P95: 10, P99: 495.5, Max: 500, Mean: 19.8},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, recorded(tc.adds...).summary())
		})
	}
}

func TestLatencyHist_Merge(t *testing.T) {
	// Two subtasks, 100 records each: one at 10 ms, one at 200 ms. The
	// task's p50 is the faster one's (half the records are at 10 ms or
	// less), its p99 and max the slower one's: merged histograms, not a
	// maximum of percentiles, which would say 200 ms for p50.
	fast := recorded(func(r *latencyRecorder) { r.add(1000, 990, 990, 100) })
	slow := recorded(func(r *latencyRecorder) { r.add(1000, 800, 800, 100) })
	var task latencyHist
	task.merge(fast)
	task.merge(slow)
	got := task.summary()
	require.NotNil(t, got)
	assert.Equal(t, 10.0, got.P50)
	assert.InDelta(t, 200, got.P99, 200.0/latencySubs)
	assert.Equal(t, 200.0, got.Max)
	assert.Equal(t, 105.0, got.Mean)

	var empty latencyHist
	empty.merge(&latencyHist{})
	assert.Nil(t, empty.summary())
}

func TestLatencyRecorder_TakeIsPerTick(t *testing.T) {
	var r latencyRecorder
	var prev latencyHist
	var first, second latencyTick
	r.add(1000, 990, 990, 4)
	r.take(&prev, &first)
	r.add(2000, 1700, 1700, 2)
	r.take(&prev, &second)
	assert.Equal(t, []uint64{4}, first.counts)
	assert.Equal(t, int64(10), first.max)
	assert.Equal(t, uint64(40), first.sum)
	assert.Equal(t, []uint64{2}, second.counts)
	assert.Equal(t, int64(300), second.max, "each tick has its own maximum")
	assert.Equal(t, uint64(600), second.sum)
}

func TestLatencyRecorder_AddDoesNotAllocate(t *testing.T) {
	var r latencyRecorder
	allocs := testing.AllocsPerRun(100, func() { r.add(100_000, 1, 99_000, 1000) })
	assert.Zero(t, allocs)
}

// A latency past the last bucket (a record stamped 0, say) keeps the
// percentiles within what was measured, up to the maximum, not at the
// last bucket's bound.
func TestLatencyHist_PastTheLastBucket(t *testing.T) {
	const huge = int64(1_700_000_000_000) // ms: a timestamp of 0 read now
	s := recorded(func(r *latencyRecorder) { r.add(huge, 0, 0, 10) }).summary()
	require.NotNil(t, s)
	lo, _ := latencyBounds(latencyBuckets - 1)
	for _, p := range []float64{s.P50, s.P95, s.P99} {
		assert.Greater(t, p, float64(1<<25), "past the last bucket's bound, %+v", s)
		assert.GreaterOrEqual(t, p, float64(lo))
		assert.LessOrEqual(t, p, s.Max)
	}
	assert.Equal(t, float64(huge), s.Max)
}
