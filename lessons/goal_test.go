package lessons

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime/metrics"
)

// snapshot builds a job of a chain source -> map -> sink with the given
// subtask busy and backpressured ms/s per task.
func snapshot(ts int64, busyBP map[string][][2]float64) *metrics.Job {
	snap := &metrics.Job{State: metrics.StateRunning, Timestamp: ts, WindowMs: 2000, Since: ts - 60_000}
	var prev string
	for _, name := range []string{"source", "map", "sink"} {
		var subs []metrics.Subtask
		for i, bb := range busyBP[name] {
			subs = append(subs, metrics.Subtask{
				Subtask: i, BusyTimeMsPerSecond: metrics.Float(bb[0]), BackPressuredTimeMsPerSecond: bb[1],
				IdleTimeMsPerSecond: 1000 - bb[1] - max(bb[0], 0), NumRecordsInPerSecond: 100, InPoolUsage: 0.5,
			})
		}
		v := metrics.NewVertex(name+"-id", name, "passthrough", subs, ts)
		if name == "map" {
			v.Cost = "1ms"
		}
		snap.Vertices = append(snap.Vertices, v)
		if prev != "" {
			snap.Edges = append(snap.Edges, metrics.Edge{Source: prev + "-id", Target: name + "-id", Partitioning: "forward"})
		}
		prev = name
	}
	return snap
}

var bottleneck = map[string][][2]float64{
	"source": {{0, 950}},
	"map":    {{100, 600}, {50, 900}},
	"sink":   {{990, 0}, {400, 0}},
}

func TestCondition_Holds(t *testing.T) {
	snap := snapshot(0, bottleneck)
	tasks := []string{"source", "map", "sink"}
	learner := &Learner{Picked: "sink", Answer: "b"}
	tests := []struct {
		cond string
		want bool
	}{
		{"sink.busy >= 99", true},
		{"sink.busy > 99", false},
		{"sink[all].busy >= 90", false},
		{"sink[any].busy >= 90", true},
		{"map[all].backpressured >= 60", true},
		{"upstream(sink).backpressured >= 90", true},
		{"upstream(map).backpressured >= 95", true},
		{"*.backpressured <= 10", false},
		{"sink.parallelism == 2", true},
		{"sink.in-rate == 200", true},
		{"sink.in-pool == 50", true},
		{"sink.skew == 0", true},
		{"total-parallelism <= 5", true},
		{"total-parallelism < 5", false},
		{"window <= 2s", true},
		{"window < 2s", false},
		{"picked == sink", true},
		{"picked == map", false},
		{"answer == b", true},
		{"running", true},
		{"paused", false},
		{"uploaded", false},
		{"map.operator == pass*", true},
		{"map.operator == upload:*", false},
		{"map.cost == 1ms", true},
		{"map.cost < 1ms", false},
		{"sink.cost == 0s", true},
		{"source.busy == N/A", false},
	}
	for _, tt := range tests {
		c, err := parseCondition(tt.cond, tasks)
		require.NoError(t, err, tt.cond)
		assert.Equal(t, tt.want, c.holds(&facts{snap: snap, learner: learner}), tt.cond)
	}
}

func TestCondition_Holds_NA(t *testing.T) {
	snap := snapshot(0, map[string][][2]float64{"source": {{math.NaN(), 900}}, "map": {{1000, 0}}, "sink": {{0, 0}}})
	for cond, want := range map[string]bool{
		"source.busy == N/A": true,
		"source.busy != N/A": false,
		"source.busy >= 0":   false,
		"source.busy != 5":   true,
		"map.busy == N/A":    false,
	} {
		c, err := parseCondition(cond, []string{"source", "map", "sink"})
		require.NoError(t, err, cond)
		assert.Equal(t, want, c.holds(&facts{snap: snap, learner: &Learner{}}), cond)
	}
}

func TestParseCondition_Errors(t *testing.T) {
	tasks := []string{"source", "sink"}
	tests := map[string]string{
		"sinc.busy >= 80":    `no task "sinc" in the lesson's job (tasks: source, sink)`,
		"sink.busy >= lots":  `want a number after >=, got "lots"`,
		"sink.idle == N/A":   `N/A: only busy can be N/A, and only == or != compare with it`,
		"sink.hotness >= 3":  `cannot read condition "sink.hotness >= 3": want e.g. "sink.busy >= 80", "upstream(sink).backpressured >= 50", "picked == sink"`,
		"window <= soon":     `want a duration like 2s after <=, got "soon"`,
		"picked == nobody":   `no task "nobody" in the lesson's job (tasks: source, sink)`,
		"sink.operator == [": `bad operator pattern "[": syntax error in pattern`,
		"upstream(x).busy>1": `no task "x" in the lesson's job (tasks: source, sink)`,
	}
	for cond, want := range tests {
		_, err := parseCondition(cond, tasks)
		assert.EqualError(t, err, want, cond)
	}
}

func TestCondition_Holds_Latency(t *testing.T) {
	snap := snapshot(0, bottleneck)
	sink := &snap.Vertices[2]
	sink.Latency = &metrics.Latency{P50: 900, P95: 1800, P99: 2100, Max: 2400, Mean: 1000}
	sink.Subtasks[0].Latency = &metrics.Latency{P50: 1000, P95: 2000, P99: 2100, Max: 2400, Mean: 1100}
	sink.Subtasks[1].Latency = &metrics.Latency{P50: 50, P95: 80, P99: 90, Max: 95, Mean: 55}
	snap.Vertices[1].Metrics.NumRecordsIn, snap.Vertices[1].Metrics.NumRecordsOut = 1200, 1100
	snap.Vertices[1].Subtasks[0].NumRecordsIn = 700
	tasks := []string{"source", "map", "sink"}
	tests := []struct {
		cond string
		want bool
	}{
		{"sink.latency-p99 >= 2000", true},
		{"sink.latency-p99 <= 200", false},
		{"sink.latency-p50 == 900", true},
		{"sink.latency-p95 < 1800", false},
		{"sink.latency-max > 2399", true},
		{"sink.latency-mean <= 1000", true},
		{"sink[any].latency-p99 <= 200", true},
		{"sink[all].latency-p99 <= 200", false},
		{"sink[all].latency-p50 >= 50", true},
		// No latency: no comparison holds, not even !=.
		{"source.latency-p99 >= 0", false},
		{"source.latency-p99 != 5", false},
		{"map.latency-p99 < 1000000", false},
		{"source[any].latency-p50 >= 0", false},
		{"source[all].latency-p50 >= 0", false},
		{"*.latency-p99 >= 0", false},
		{"map.records-in == 1200", true},
		{"map.records-out >= 1200", false},
		{"map[any].records-in == 700", true},
	}
	for _, tt := range tests {
		c, err := parseCondition(tt.cond, tasks)
		require.NoError(t, err, tt.cond)
		assert.Equal(t, tt.want, c.holds(&facts{snap: snap, learner: &Learner{}}), tt.cond)
	}
}
