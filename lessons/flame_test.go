package lessons

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime"
)

// fakeProfiler answers fixed flame graphs per task and type; a task without
// one answers the code of a round not yet complete.
type fakeProfiler map[string]map[runtime.GraphType]*runtime.FlameNode

func (p fakeProfiler) FlameGraph(task string, subtask int, typ runtime.GraphType) (*runtime.FlameGraph, error) {
	if subtask != -1 {
		return nil, errors.New("want all subtasks")
	}
	if task == "broken" {
		return nil, errors.New("no such task")
	}
	if g := p[task][typ]; g != nil {
		return &runtime.FlameGraph{EndTimestamp: 1_700_000_000_000, Data: g}, nil
	}
	return &runtime.FlameGraph{EndTimestamp: runtime.GraphWaiting}, nil
}

// node is a frame; its value is its own samples plus its children's.
func node(name string, kind runtime.FrameKind, self int, children ...*runtime.FlameNode) *runtime.FlameNode {
	n := &runtime.FlameNode{Name: name, Kind: kind.String(), Value: self, Children: children}
	for _, c := range children {
		n.Value += c.Value
	}
	return n
}

func guest(name string, self int, children ...*runtime.FlameNode) *runtime.FlameNode {
	return node(name, runtime.FrameGuest, self, children...)
}

// A profile like hotspot's with agent rules: parseUserAgent is widest,
// though its own samples are few (they are in matchRule and below), and
// parseGeo is called from two places.
var profiles = fakeProfiler{
	"map": {
		runtime.GraphOnCPU: node("root", runtime.FrameRuntime, 0,
			node("mailbox loop", runtime.FrameRuntime, 2,
				node("process", runtime.FrameOperator, 1,
					guest("main.enrich", 3,
						guest("main.parseTimestamp", 5),
						guest("main.parseGeo", 10, guest("main.ipToUint32", 6)),
						guest("main.parseUserAgent", 1,
							guest("main.agentFromRules", 4, guest("main.matchRule", 20, guest("strings.ToLower", 30)))),
						guest("main.formatEnriched", 2, node("flowlab.emit", runtime.FrameHost, 1))),
					guest("main.sampleEvent", 1, guest("main.parseGeo", 7))),
				node("serialize output", runtime.FrameRuntime, 4))),
	},
	"source": {
		runtime.GraphOffCPU: node("root", runtime.FrameRuntime, 0,
			node("mailbox loop", runtime.FrameRuntime, 0,
				node("wait for output buffer (soft backpressure)", runtime.FrameWait, 60),
				node("process", runtime.FrameOperator, 0, node("wait for output buffer (hard backpressure)", runtime.FrameWait, 25)),
				node("wait for input", runtime.FrameWait, 15))),
	},
	"sink": { // two functions tie
		runtime.GraphOnCPU: node("root", runtime.FrameRuntime, 0, guest("main.a", 5), guest("main.b", 5)),
	},
}

func TestHottest(t *testing.T) {
	g := profiles["map"][runtime.GraphOnCPU]
	for pattern, want := range map[string]string{
		"*":             "main.enrich",
		"main.parse*":   "main.parseUserAgent",
		"main.parseGe?": "main.parseGeo", // 16 + 7 samples, called from two places
		"strings.*":     "strings.ToLower",
		"main.match*":   "main.matchRule",
		"flowlab.*":     "", // a host frame, not a guest one
		"nothing":       "",
	} {
		assert.Equal(t, want, hottest(g, glob(pattern)), pattern)
	}
	assert.Equal(t, "", hottest(profiles["sink"][runtime.GraphOnCPU], glob("*")), "a tie has no hottest")
	assert.Equal(t, 23, inclusive(g, glob("main.parseGeo").MatchString))
}

func TestShare(t *testing.T) {
	g := profiles["source"][runtime.GraphOffCPU]
	for pattern, want := range map[string]float64{
		"wait for output buffer*":                     85,
		"wait for output buffer (hard backpressure)":  25,
		"wait for input":                              15,
		"mailbox loop":                                100,
		"*backpressure)":                              85,
		"wait for output buffer (soft backpressure":   0,
		"wait for output buffer (soft backpressure)?": 0,
	} {
		assert.Equal(t, want, share(g, glob(pattern)), pattern)
	}
}

func TestCondition_Holds_Flame(t *testing.T) {
	snap := snapshot(0, bottleneck)
	tasks := []string{"source", "map", "sink"}
	learner := &Learner{Opened: []string{"map/flamegraph"}}
	tests := []struct {
		cond string
		want bool
	}{
		{"opened(map, flamegraph)", true},
		{"opened(source, flamegraph)", false},
		{"opened(map, logs)", false},
		{"hottest(map, main.parse*) == main.parseUserAgent", true},
		{"hottest( map , main.parse* ) == main.parseUserAgent", true},
		{"hottest(map, main.parse*) == main.parseGeo", false},
		{"hottest(map, main.parse*) != main.parseGeo", true},
		{"hottest(map, main.parse*) != main.parseUserAgent", false},
		{"hottest(map) == main.enrich", true},
		{"hottest(map, nothing) != main.enrich", false}, // no such frame: not known
		{"hottest(sink) == main.a", false},              // a tie
		{"hottest(sink) != main.a", false},
		{"hottest(source) != main.x", false}, // no on-CPU graph yet
		{"flame(source, off_cpu, wait for output buffer*) >= 80", true},
		{"flame(source, off_cpu, wait for output buffer*) > 85", false},
		{"flame(source, off_cpu, wait for output buffer (hard backpressure)) == 25", true},
		{"flame(source, on_cpu, *) >= 0", false}, // no graph of the type
		{"flame(map, on_cpu, main.parseGeo) < 30", true},
		{"flame(map, full, *) >= 0", false},
	}
	for _, tt := range tests {
		c, err := parseCondition(tt.cond, tasks)
		require.NoError(t, err, tt.cond)
		assert.Equal(t, tt.want, c.holds(&facts{snap: snap, learner: learner, profiler: profiles}), tt.cond)
		if c.kind != "opened" {
			assert.False(t, c.holds(&facts{snap: snap, learner: learner}), "%s without a profiler", tt.cond)
		}
	}
}

func TestParseCondition_Errors_Flame(t *testing.T) {
	tasks := []string{"source", "sink"}
	for cond, want := range map[string]string{
		"opened(sink, graph)":            `cannot open "graph": want one of backpressure, metrics, timeline, state, logs, failures, flamegraph`,
		"opened(sinc, flamegraph)":       `no task "sinc" in the lesson's job (tasks: source, sink)`,
		"hottest(sinc) == main.f":        `no task "sinc" in the lesson's job (tasks: source, sink)`,
		"flame(sink, hot, *) >= 5":       `flame graph type "hot": want full, on_cpu or off_cpu`,
		"flame(sink, on_cpu, *) >= lots": `want a percentage after >=, got "lots"`,
		"flame(sinc, on_cpu, *) >= 1":    `no task "sinc" in the lesson's job (tasks: source, sink)`,
		"hottest(sink) >= main.f":        `cannot read condition "hottest(sink) >= main.f": want e.g. "sink.busy >= 80", "upstream(sink).backpressured >= 50", "picked == sink"`,
	} {
		_, err := parseCondition(cond, tasks)
		assert.EqualError(t, err, want, cond)
	}
}

func TestTracker_Open(t *testing.T) {
	l, err := Parse([]byte(`
id: 0-open
title: Open
job: |
  tasks: [{name: source, operator: generator}, {name: sink, operator: discard}]
steps:
  - title: Look
    text: Open the flame graph of the sink.
    goal: {when: ["opened(sink, flamegraph)"], for: 0s}
    solution: [{task: sink, open: flamegraph}]
  - title: Look again
    text: Open it again.
    goal: {when: ["opened(sink, flamegraph)", "opened(source, logs)"], for: 0s}
    solution: [{task: source, open: logs}]
`))
	require.NoError(t, err)
	tr := NewTracker(l)
	snap := snapshot(10_000, bottleneck)
	snap.Vertices[0].Name, snap.Vertices[2].Name = "source", "sink"
	assert.Equal(t, 0, tr.Observe(snap).Step)
	assert.EqualError(t, tr.Open("nobody", "flamegraph"), `there is no task "nobody" in the lesson's job`)
	assert.EqualError(t, tr.Open("sink", "flames"), `cannot open "flames": want one of backpressure, metrics, timeline, state, logs, failures, flamegraph`)
	require.NoError(t, tr.Open("sink", "flamegraph"))
	require.NoError(t, tr.Open("sink", "flamegraph"))
	assert.Equal(t, []string{"sink/flamegraph"}, tr.Learner.Opened)
	assert.Equal(t, 1, tr.Observe(snap).Step, "opened moves on")
	assert.Equal(t, 1, tr.Observe(snap).Step, "what was opened counts in later steps, but not alone")
	require.NoError(t, tr.Open("source", "logs"))
	assert.True(t, tr.Observe(snap).Done)
	assert.Equal(t, "open the flame graph of sink", l.Steps[0].Solution[0].String())
	assert.Equal(t, []Check{{When: "opened(sink, flamegraph)", Text: "you have opened the flame graph of sink"}}, l.Steps[0].Goal.Checks())
}

func TestParse_Open_Errors(t *testing.T) {
	_, err := Parse([]byte(`
id: 0-open
title: Open
job: |
  tasks: [{name: source, operator: generator}, {name: sink, operator: discard}]
steps:
  - title: Look
    text: Look.
    goal: {when: ["opened(sink, flamegraph)"]}
    solution: [{task: sinc, open: flamegraph}, {task: sink, open: flames}, {task: sink, open: logs, pick: sink}]
`))
	assert.EqualError(t, err, `steps[0].solution[0]: no task "sinc" to open the flame graph of in the lesson's job
steps[0].solution[1]: cannot open "flames": want one of backpressure, metrics, timeline, state, logs, failures, flamegraph
steps[0].solution[2]: an action does exactly one thing, this one does 2`)
}
