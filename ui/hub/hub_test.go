package hub

import (
	"encoding/json"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime/metrics"
)

// fakeJob publishes snapshots when told to.
type fakeJob struct {
	mu      sync.Mutex
	snap    *metrics.Job
	updated chan struct{}
	done    chan struct{}
}

func newFakeJob() *fakeJob {
	return &fakeJob{updated: make(chan struct{}), done: make(chan struct{}), snap: snapshot(0, 0, 0)}
}

func (j *fakeJob) Snapshot() *metrics.Job {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.snap
}

func (j *fakeJob) Updated() <-chan struct{} {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.updated
}

func (j *fakeJob) Done() <-chan struct{} { return j.done }

func (j *fakeJob) publish(s *metrics.Job) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.snap = s
	close(j.updated)
	j.updated = make(chan struct{})
}

func (j *fakeJob) end(s *metrics.Job) {
	j.mu.Lock()
	j.snap = s
	j.mu.Unlock()
	close(j.done)
}

// snapshot is a job of a source and a sink at time ts (ms).
func snapshot(ts int64, busy, bp float64) *metrics.Job {
	st := []metrics.Subtask{{BusyTimeMsPerSecond: metrics.Float(busy * 10), BackPressuredTimeMsPerSecond: bp * 10, NumRecordsInPerSecond: 1.23456}}
	rate := 500.0
	src := metrics.NewVertex("a1", "source", "generator", st, ts)
	src.Rate = &rate
	sink := metrics.NewVertex("b2", "sink <&>", "discard", st, ts)
	sink.Cost = "1ms"
	return &metrics.Job{Name: "job", State: metrics.StateRunning, Timestamp: ts, WindowMs: 2000, Vertices: []metrics.Vertex{src, sink}}
}

func next(t *testing.T, w *Watcher) map[string]any {
	t.Helper()
	select {
	case fr := <-w.Frames():
		var m map[string]any
		require.NoError(t, json.Unmarshal(fr.Data, &m))
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no frame")
		return nil
	}
}

func TestFeed_Watch(t *testing.T) {
	job := newFakeJob()
	f := New(job, 100)
	defer f.Stop()
	w, _ := f.Watch()
	defer w.Close()
	first := next(t, w)
	assert.Equal(t, "frame", first["type"])
	job.publish(snapshot(100, 63, 12))
	m := next(t, w)
	for m["timestamp"] != 100.0 {
		m = next(t, w)
	}
	assert.Equal(t, "RUNNING", m["state"])
	assert.Equal(t, 2000.0, m["windowMs"])
	v := m["vertices"].([]any)
	src, sink := v[0].(map[string]any), v[1].(map[string]any)
	assert.Equal(t, 63.0, src["busy"])
	assert.Equal(t, 12.0, src["backPressured"])
	assert.Equal(t, metrics.Color(63, 12).Fill, src["fill"])
	assert.Equal(t, 500.0, src["rate"])
	assert.Nil(t, sink["rate"])
	assert.Equal(t, "1ms", sink["cost"])
	assert.Equal(t, "sink <&>", sink["name"])
	st := src["subtasks"].([]any)[0].(map[string]any)
	assert.Equal(t, 1.235, st["numRecordsInPerSecond"], "rounded to three decimals")
	assert.Equal(t, "low", st["backpressure-level"])
	assert.Equal(t, 1, f.Watchers())
	assert.Zero(t, f.Unwatched(time.Now()))
}

func TestFeed_History(t *testing.T) {
	job := newFakeJob()
	f := New(job, 3)
	defer f.Stop()
	w, _ := f.Watch()
	for i := 1; i <= 5; i++ {
		job.publish(snapshot(int64(i*100), float64(i), math.NaN()))
		for next(t, w)["timestamp"] != float64(i*100) {
		}
	}
	w.Close()
	_, data := f.Watch()
	var h historyMessage
	require.NoError(t, json.Unmarshal(data, &h))
	assert.Equal(t, "history", h.Type)
	assert.Equal(t, int64(300), h.Start)
	assert.Equal(t, []int64{0, 100, 200}, h.Offsets)
	require.Len(t, h.Vertices, 2)
	assert.Equal(t, "a1", h.Vertices[0].ID)
	require.Len(t, h.Vertices[0].Busy, 3)
	assert.Equal(t, 3, *h.Vertices[0].Busy[0])
	assert.Equal(t, 5, *h.Vertices[0].Busy[2])
	// A NaN percentage is null. (NewVertex makes a NaN backpressure 0.)
	job.publish(snapshot(600, math.NaN(), 0))
	require.Eventually(t, func() bool {
		_, data = f.Watch()
		return json.Unmarshal(data, &h) == nil && h.Start == 400
	}, 10*time.Second, time.Millisecond)
	assert.Nil(t, h.Vertices[0].Busy[2])
}

// A watcher that never reads holds only the newest frame, and neither
// slows the job nor keeps the others from getting every frame.
func TestFeed_SlowWatchers(t *testing.T) {
	job := newFakeJob()
	f := New(job, 10)
	defer f.Stop()
	const frames = 300
	var slow []*Watcher
	for range 50 {
		w, _ := f.Watch()
		slow = append(slow, w)
	}
	var wg sync.WaitGroup
	got := make([]int, 50)
	for i := range got {
		w, _ := f.Watch()
		wg.Go(func() {
			defer w.Close()
			for fr := range w.Frames() {
				if got[i]++; timestamp(fr.Data) == frames {
					return
				}
			}
		})
	}
	for i := 1; i <= frames; i++ {
		job.publish(snapshot(int64(i), 0, 0))
	}
	wg.Wait()
	for i, n := range got {
		assert.Positive(t, n, "watcher %d", i)
	}
	for _, w := range slow {
		fr := <-w.Frames()
		assert.Equal(t, int64(frames), timestamp(fr.Data))
		assert.Empty(t, w.Frames())
	}
}

func TestFeed_Done(t *testing.T) {
	job := newFakeJob()
	f := New(job, 10)
	w, _ := f.Watch()
	end := snapshot(999, 0, 0)
	end.State = metrics.StateFinished
	job.end(end)
	require.Eventually(t, func() bool {
		select {
		case fr := <-w.Frames():
			return containsState(fr.Data, "FINISHED")
		default:
			return false
		}
	}, 10*time.Second, time.Millisecond)
	f.Stop()
	<-w.Closed()
	w.Close() // after Stop: nothing happens
	w2, _ := f.Watch()
	<-w2.Closed()
}

func timestamp(data []byte) int64 {
	var m struct{ Timestamp int64 }
	_ = json.Unmarshal(data, &m)
	return m.Timestamp
}

func containsState(data []byte, state string) bool {
	var m struct{ State string }
	return json.Unmarshal(data, &m) == nil && m.State == state
}

func TestNum_MarshalJSON(t *testing.T) {
	for f, want := range map[float64]string{1: "1", 0.12345: "0.123", math.NaN(): "null", math.Inf(1): "null", -2.5: "-2.5"} {
		got, err := num(f).MarshalJSON()
		require.NoError(t, err)
		assert.Equal(t, want, string(got))
	}
}

func TestEdgeLabel(t *testing.T) {
	for e, want := range map[metrics.Edge]string{
		{Partitioning: "forward"}:                    "FORWARD",
		{Partitioning: "rebalance", Bandwidth: 8192}: "REBALANCE · 8 KiB/s",
		{Partitioning: "hash", Bandwidth: 2 << 20}:   "HASH · 2 MiB/s",
		{Partitioning: "broadcast", Bandwidth: 1500}: "BROADCAST · 1500 B/s",
	} {
		assert.Equal(t, want, EdgeLabel(e))
	}
}

func TestMarshalFrame_Edges(t *testing.T) {
	snap := &metrics.Job{
		Vertices: []metrics.Vertex{{ID: "a1", Name: "a"}, {ID: "b1", Name: "b"}},
		Edges:    []metrics.Edge{{Source: "a1", Target: "b1", Partitioning: "rebalance"}},
	}
	var fr struct {
		Edges []map[string]string `json:"edges"`
	}
	require.NoError(t, json.Unmarshal(marshalFrame(snap, nil, 1, false), &fr))
	assert.Equal(t, []map[string]string{{"from": "a", "to": "b", "label": "REBALANCE"}}, fr.Edges)
}

func TestFrame_WithConfig(t *testing.T) {
	job := newFakeJob()
	f := New(job, 10)
	defer f.Stop()
	w, _ := f.Watch()
	defer w.Close()
	withConfig := func(s *metrics.Job, config map[string]any) *metrics.Job {
		s.Vertices[0].Config = config
		return s
	}
	job.publish(withConfig(snapshot(100, 0, 0), map[string]any{"rate": 500, "keys": 10}))
	fr := <-w.Frames()
	for timestamp(fr.Data) != 100 {
		fr = <-w.Frames()
	}
	assert.NotContains(t, string(fr.Data), `"config"`, "frames carry no config")
	data, msg := fr.WithConfig()
	require.NotNil(t, msg)
	var m struct {
		Vertices []struct{ Config map[string]any }
	}
	require.NoError(t, json.Unmarshal(data, &m))
	assert.Equal(t, map[string]any{"rate": 500.0, "keys": 10.0}, m.Vertices[0].Config)
	assert.Equal(t, map[string]any{}, m.Vertices[1].Config, "a task without config has {}")
	again, _ := fr.WithConfig()
	assert.Equal(t, &data[0], &again[0], "marshaled once")

	// The same config keeps its number; a new one counts.
	job.publish(withConfig(snapshot(200, 0, 0), map[string]any{"keys": 10, "rate": 500}))
	same := <-w.Frames()
	assert.Equal(t, fr.Config, same.Config)
	job.publish(withConfig(snapshot(300, 0, 0), map[string]any{"rate": 500, "keys": 10, "iterations": 1000}))
	changed := <-w.Frames()
	assert.Equal(t, fr.Config+1, changed.Config)
	data, _ = changed.WithConfig()
	assert.Contains(t, string(data), `"iterations":1000`)
}

func TestMarshalFrame_Latency(t *testing.T) {
	snap := snapshot(100, 10, 0)
	l := &metrics.Latency{P50: 303.2, P95: 304, P99: 304, Max: 304, Mean: 295.4}
	sink := &snap.Vertices[1]
	sink.Subtasks = []metrics.Subtask{{Latency: l}} // snapshot shares one with the source
	sink.Latency = l
	var fr struct {
		Vertices []struct {
			Latency  map[string]any `json:"latency"`
			Subtasks []struct {
				Latency map[string]any `json:"latency"`
			} `json:"subtasks"`
		} `json:"vertices"`
	}
	data := marshalFrame(snap, nil, 1, false)
	require.NoError(t, json.Unmarshal(data, &fr))
	want := map[string]any{"p50": 303.2, "p95": 304.0, "p99": 304.0, "max": 304.0, "mean": 295.4}
	assert.Nil(t, fr.Vertices[0].Latency, "a source has none")
	assert.Nil(t, fr.Vertices[0].Subtasks[0].Latency)
	assert.Contains(t, string(data), `"latency":null`, "null, not absent")
	assert.Equal(t, want, fr.Vertices[1].Latency)
	assert.Equal(t, want, fr.Vertices[1].Subtasks[0].Latency)
}

func TestFeed_HistoryLatency(t *testing.T) {
	job := newFakeJob()
	f := New(job, 3)
	defer f.Stop()
	w, _ := f.Watch()
	for i := 1; i <= 2; i++ {
		s := snapshot(int64(i*100), 10, 0)
		if i == 2 {
			s.Vertices[1].Latency = &metrics.Latency{P50: 12, P95: 80, P99: 85.04, Max: 90, Mean: 20}
		}
		job.publish(s)
		for next(t, w)["timestamp"] != float64(i*100) {
		}
	}
	w.Close()
	_, data := f.Watch()
	var h historyMessage
	require.NoError(t, json.Unmarshal(data, &h))
	require.Len(t, h.Vertices, 2)
	// The two samples above, after the one the feed started with if it took it.
	for _, p99 := range h.Vertices[0].LatencyP99 {
		assert.Nil(t, p99, "a source has none")
	}
	sink := h.Vertices[1].LatencyP99
	require.GreaterOrEqual(t, len(sink), 2)
	assert.Nil(t, sink[len(sink)-2], "no records yet")
	require.NotNil(t, sink[len(sink)-1])
	assert.Equal(t, 85.0, *sink[len(sink)-1], "one decimal")
}
