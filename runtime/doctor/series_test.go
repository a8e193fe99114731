package doctor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime/metrics"
)

// Ten minutes of snapshots every 10 ms leave at most two minutes of
// samples, each task's busy time in one float32 per 125 to 250 ms.
func TestSeries_Bounded(t *testing.T) {
	sr := newSeries(defaultHistory)
	const start = int64(1_700_000_000_000)
	for at := int64(10); at <= 600_000; at += 10 {
		subs := []metrics.Subtask{{BusyTimeMsPerSecond: 500, AccumulatedBusyTime: metrics.Float(at / 2), AccumulatedIdleTime: at / 2}}
		sr.add(&metrics.Job{State: metrics.StateRunning, Since: start, Timestamp: start + at,
			Vertices: []metrics.Vertex{metrics.NewVertex("1", "sink", "discard", subs, start+at)}})
	}
	require.NotEmpty(t, sr.samples)
	assert.LessOrEqual(t, len(sr.samples), maxSamples(defaultHistory.Milliseconds()))
	assert.GreaterOrEqual(t, sr.samples[0].from, start+600_000-defaultHistory.Milliseconds()-resolution.Milliseconds())
	for _, s := range sr.samples {
		assert.InDelta(t, 500, s.busy[0], 0.01)
		assert.LessOrEqual(t, s.to-s.from, resolution.Milliseconds())
	}
	xs, step := sr.grid(0)
	assert.Equal(t, resolution.Milliseconds(), step)
	assert.InDelta(t, int(defaultHistory/resolution), len(xs), 2)
}

// A new graph (a task added) starts the series over.
func TestSeries_NewGraph(t *testing.T) {
	sr := newSeries(time.Minute)
	snap := func(at int64, ids ...string) *metrics.Job {
		s := &metrics.Job{State: metrics.StateRunning, Timestamp: at}
		for _, id := range ids {
			s.Vertices = append(s.Vertices, metrics.NewVertex(id, id, "op", []metrics.Subtask{{BusyTimeMsPerSecond: 100}}, at))
		}
		return s
	}
	sr.add(snap(100, "a"))
	sr.add(snap(400, "a"))
	require.Len(t, sr.samples, 1)
	assert.InDelta(t, 100, sr.samples[0].busy[0], 0.01, "windowed busy time without accumulated times")
	sr.add(snap(700, "a", "b"))
	assert.Empty(t, sr.samples)
	sr.add(snap(1000, "a", "b"))
	assert.Len(t, sr.samples, 1)
}
