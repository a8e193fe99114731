package runtime

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime/spec"
)

func TestDebloat_KnownQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The queue of TestLatency_KnownQueue, debloated: the sink takes
		// 1000 records/s of 64 bytes, so its gate of 10 buffers should
		// hold 64000 B/s * 100ms = 6400 bytes, 640 a buffer (10 records
		// instead of 16). A record still waits behind the 19 buffers of
		// the source's output pool and the sink's gate (Flink's debloater
		// sizes only the gate's share, but the sender fills every buffer
		// to the size its receiver announced), now of 10 records each.
		j := start(t, `
name: queue
network:
  buffer-size: 1kb
  buffers-per-channel: 2
  floating-buffers-per-gate: 8
  buffer-debloat: {target: 100ms, period: 100ms}
tasks:
  - {name: source, operator: generator, config: {rate: 2000, keys: 1, value-size: 43}}
  - {name: sink, operator: discard, cost: 1ms}
`, nil)
		snap := settle(j, 20*time.Second)
		const recordSize = 1024 / queueRecordsPerBuffer
		throughput := float64(1000 * recordSize) // bytes/s the sink consumes
		target := 100 * time.Millisecond
		want := throughput * target.Seconds() / (2 + 8)
		require.Equal(t, 640.0, want)

		sink := vertex(t, snap, "sink").Subtasks[0]
		t.Logf("debloatedBufferSize %d, estimatedTimeToConsumeBuffersMs %d, latency %+v",
			sink.DebloatedBufferSize, sink.EstimatedTimeToConsumeBuffersMs, *sink.Latency)
		// Once within the 25% threshold of the first estimate the size is
		// kept: that estimate is one period's throughput, up to one 16-record
		// buffer (1024 bytes of 6400) off.
		assert.InEpsilon(t, want, float64(sink.DebloatedBufferSize), 0.2)
		assert.GreaterOrEqual(t, sink.DebloatedBufferSize, int64(debloatMinSize))
		assert.InDelta(t, target.Milliseconds(), sink.EstimatedTimeToConsumeBuffersMs, 15)

		perBuffer := int(sink.DebloatedBufferSize) / recordSize
		drain := float64(queueBuffers * perBuffer) // ms, at 1 ms a record
		require.NotNil(t, sink.Latency)
		assert.InDelta(t, drain, sink.Latency.P50, float64(perBuffer), "%+v", sink.Latency)
		before := float64(queueBuffers * queueRecordsPerBuffer) // TestLatency_KnownQueue's
		assert.Less(t, sink.Latency.P50, 0.7*before, "%+v", sink.Latency)

		// Memory: the same buffers, filled less.
		j.mu.Lock()
		defer j.mu.Unlock()
		src, dst := j.subtasks[0][0], j.subtasks[1][0]
		assert.Equal(t, 10, src.writers[0].Pool().Buffers())
		assert.Equal(t, 10, dst.gate.Buffers())
		assert.LessOrEqual(t, vertex(t, snap, "source").Subtasks[0].OutPoolUsage, 1.0)

		assert.Zero(t, vertex(t, snap, "source").Subtasks[0].DebloatedBufferSize, "a source has no gate")
	})
}

func TestDebloat_OffByDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := start(t, `
name: queue
network: {buffer-size: 1kb}
tasks:
  - {name: source, operator: generator, config: {rate: 2000, keys: 1, value-size: 43}}
  - {name: sink, operator: discard, cost: 1ms}
`, nil)
		snap := settle(j, 2*time.Second)
		sink := vertex(t, snap, "sink").Subtasks[0]
		assert.Zero(t, sink.DebloatedBufferSize)
		assert.Zero(t, sink.EstimatedTimeToConsumeBuffersMs)
		j.mu.Lock()
		defer j.mu.Unlock()
		assert.Nil(t, j.subtasks[1][0].debloat)
		assert.Zero(t, j.subtasks[1][0].gate.Channel(0).BufferSize(), "nothing announced")
	})
}

// Debloating turned on and off while the job runs: it restarts with it.
func TestJob_SetBufferDebloat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := start(t, `
name: queue
network: {buffer-size: 1kb}
tasks:
  - {name: source, operator: generator, config: {rate: 2000, keys: 1, value-size: 43}}
  - {name: sink, operator: discard, cost: 1ms}
`, nil)
		settle(j, 2*time.Second)
		assert.EqualError(t, j.SetBufferDebloat(&spec.BufferDebloat{Target: 0, Period: 100 * time.Millisecond}),
			"network.buffer-debloat.target: must be at least 1ms, got 0s")
		assert.EqualError(t, j.SetBufferDebloat(&spec.BufferDebloat{Target: time.Second, Period: time.Hour}),
			"network.buffer-debloat.period: must be at most 1m0s, got 1h0m0s")

		require.NoError(t, j.SetBufferDebloat(&spec.BufferDebloat{Target: 100 * time.Millisecond, Period: 100 * time.Millisecond}))
		assert.Equal(t, &spec.BufferDebloat{Target: 100 * time.Millisecond, Period: 100 * time.Millisecond}, j.Spec().Network.BufferDebloat)
		snap := settle(j, 20*time.Second)
		assert.Equal(t, 1, snap.Restarts, "the change restarts the job")
		sink := vertex(t, snap, "sink").Subtasks[0]
		assert.Less(t, sink.DebloatedBufferSize, int64(1024))
		assert.GreaterOrEqual(t, sink.DebloatedBufferSize, int64(debloatMinSize))

		require.NoError(t, j.SetBufferDebloat(nil))
		assert.Nil(t, j.Spec().Network.BufferDebloat)
		snap = settle(j, 2*time.Second)
		assert.Zero(t, vertex(t, snap, "sink").Subtasks[0].DebloatedBufferSize)
	})
}
