package lessons

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime"
	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
)

// fakeCheckpointer answers fixed checkpoint statistics and keyed state.
type fakeCheckpointer struct {
	cps   *metrics.Checkpoints
	state map[string][]runtime.SubtaskState
	asked int // State calls
}

func (f *fakeCheckpointer) Checkpoints() *metrics.Checkpoints { return f.cps }

func (f *fakeCheckpointer) State(task string, max int) ([]runtime.SubtaskState, error) {
	f.asked++
	st, ok := f.state[task]
	if !ok {
		return nil, errors.New("no task " + task)
	}
	out := make([]runtime.SubtaskState, len(st))
	for i, s := range st {
		out[i] = s
		out[i].Entries = s.Entries[:min(len(s.Entries), max)]
	}
	return out, nil
}

// counts is a subtask's state of wasm:count: one count per key.
func counts(values ...string) runtime.SubtaskState {
	s := runtime.SubtaskState{StateView: runtime.StateView{Keys: len(values)}}
	for i, v := range values {
		s.Entries = append(s.Entries, runtime.StateEntry{Key: fmt.Appendf(nil, "key-%d/count", i), Value: []byte(v)})
		s.Bytes += int64(len(s.Entries[i].Key) + len(v))
	}
	return s
}

func TestCondition_Holds_Checkpoints(t *testing.T) {
	snap := snapshot(10_000, bottleneck)
	snap.Vertices[1].Name = "count"
	snap.Vertices[1].Metrics.NumRecordsIn = 500
	snap.Vertices[2].Subtasks[1].DebloatedBufferSize = 256
	latest := &metrics.Checkpoint{ID: 7, Status: metrics.CheckpointCompleted, Unaligned: true, EndToEndDuration: 35,
		CheckpointedSize: 16_500, PersistedData: 16_000, Tasks: []metrics.TaskCheckpoint{
			{Name: "count", Subtasks: []metrics.SubtaskCheckpoint{{AlignmentDuration: 3}, {AlignmentDuration: 12}}}}}
	cp := &fakeCheckpointer{
		cps: &metrics.Checkpoints{Enabled: true, Config: metrics.CheckpointConfig{IntervalMs: 2000, Unaligned: true},
			Restored: 2, Total: 9, Completed: 7, Failed: 1, InProgress: 1, LatestCompleted: latest,
			LatestRestored: &metrics.RestoredCheckpoint{ID: 5, RestoreTimestamp: 9_000}},
		state: map[string][]runtime.SubtaskState{"count": {counts("300", "200"), counts("150")}, "sink": {{}, {}}},
	}
	tasks := []string{"source", "count", "sink"}
	tests := []struct {
		cond        string
		since       int64 // when the step began
		want, noCPs bool  // holds, and holds without a Checkpointer
	}{
		{cond: "debloat == on", want: true, noCPs: true},
		{cond: "debloat != on", want: false},
		{cond: "debloat == off", want: false},
		{cond: "debloat != off", want: true, noCPs: true},
		{cond: "checkpointing == unaligned", want: true},
		{cond: "checkpointing == aligned", want: false},
		{cond: "checkpointing != off", want: true},
		{cond: "checkpointing == off", want: false},
		{cond: "checkpoint.mode == unaligned", want: true},
		{cond: "checkpoint.mode != aligned", want: true},
		{cond: "checkpoint.mode == aligned", want: false},
		{cond: "checkpoint.duration <= 200", want: true},
		{cond: "checkpoint.duration >= 3000", want: false},
		{cond: "checkpoint.persisted > 0", want: true},
		{cond: "checkpoint.size >= 16500", want: true},
		{cond: "checkpoint.alignment == 12", want: true},
		{cond: "checkpoints.completed >= 7", want: true},
		{cond: "checkpoints.total == 9", want: true},
		{cond: "checkpoints.failed == 0", want: false},
		{cond: "checkpoints.in-progress == 1", want: true},
		{cond: "checkpoints.restored >= 1", want: true},
		{cond: "restored", since: 8_000, want: true},
		{cond: "restored", since: 9_000, want: true},
		{cond: "restored", since: 9_500, want: false},
		{cond: "restored", since: -1, want: false}, // the step's start not known yet
		{cond: "state(count).keys == 3", want: true},
		{cond: "state(count).keys > 3", want: false},
		{cond: "state(count).bytes >= 36", want: true},
		{cond: "state(count).sum == 650", want: true},
		{cond: "state(count).sum > count.records-in", want: true},
		{cond: "state(count).sum > 650", want: false},
		{cond: "state(count).sum <= count.records-out", want: false},
		{cond: "state(sink).keys == 0", want: true},
		{cond: "state(sink).sum == 0", want: true},
		{cond: "state(source).keys == 0", want: false}, // the job answers an error
	}
	for _, tt := range tests {
		c, err := parseCondition(tt.cond, tasks)
		require.NoError(t, err, tt.cond)
		assert.Equal(t, tt.want, c.holds(&facts{snap: snap, learner: &Learner{}, checkpointer: cp, stepSince: tt.since}), tt.cond)
		assert.Equal(t, tt.noCPs, c.holds(&facts{snap: snap, learner: &Learner{}, stepSince: tt.since}), "%s without a checkpointer", tt.cond)
	}

	// Without a completed checkpoint, none of its numbers holds; the counts
	// and the setting do.
	cp.cps = &metrics.Checkpoints{Enabled: true, Total: 1, InProgress: 1}
	for cond, want := range map[string]bool{
		"checkpoint.duration >= 0":    false,
		"checkpoint.duration < 1":     false,
		"checkpoint.mode == aligned":  false,
		"checkpoint.mode != aligned":  false,
		"checkpoints.completed == 0":  true,
		"checkpointing == aligned":    true,
		"restored":                    false,
		"checkpoints.in-progress > 0": true,
	} {
		c, err := parseCondition(cond, tasks)
		require.NoError(t, err, cond)
		assert.Equal(t, want, c.holds(&facts{snap: snap, learner: &Learner{}, checkpointer: cp}), cond)
	}

	// A sum needs every entry, each a number.
	for name, st := range map[string][]runtime.SubtaskState{
		"not a number": {counts("300", "many")},
		"not all read": {{StateView: runtime.StateView{Keys: maxStateEntries + 1}}},
	} {
		cp.state["count"] = st
		c, err := parseCondition("state(count).sum >= 0", tasks)
		require.NoError(t, err)
		assert.False(t, c.holds(&facts{snap: snap, learner: &Learner{}, checkpointer: cp}), name)
	}
}

func TestParseCondition_Errors_Checkpoints(t *testing.T) {
	tasks := []string{"source", "count"}
	for cond, want := range map[string]string{
		"debloat == maybe":                   `debloat: want on or off, got "maybe"`,
		"checkpointing == sometimes":         `checkpointing: want off or aligned or unaligned, got "sometimes"`,
		"checkpoint.mode == off":             `checkpoint.mode: want aligned or unaligned, got "off"`,
		"checkpoint.speed >= 3":              `checkpoint.speed: want one of duration, size, persisted, alignment`,
		"checkpoints.aborted >= 1":           `checkpoints.aborted: want one of total, completed, failed, in-progress, restored`,
		"checkpoint.duration >= soon":        `want a number after >=, got "soon"`,
		"state(cnt).keys >= 1":               `no task "cnt" in the lesson's job (tasks: source, count)`,
		"state(count).sum > cnt.records-in":  `no task "cnt" in the lesson's job (tasks: source, count)`,
		"state(count).sum > count.busy":      `want a number or TASK.records-in after >, got "count.busy"`,
		"state(count).size > 1":              `cannot read condition "state(count).size > 1": want e.g. "sink.busy >= 80", "upstream(sink).backpressured >= 50", "picked == sink"`,
		"count.latency-p42 <= 5":             `cannot read condition "count.latency-p42 <= 5": want e.g. "sink.busy >= 80", "upstream(sink).backpressured >= 50", "picked == sink"`,
		"count.latency-p99 <= fast":          `want a number after <=, got "fast"`,
		"count.latency-p99 == N/A":           `N/A: only busy can be N/A, and only == or != compare with it`,
		"debloat >= on":                      `cannot read condition "debloat >= on": want e.g. "sink.busy >= 80", "upstream(sink).backpressured >= 50", "picked == sink"`,
		"checkpoints.completed >= 1 and two": `cannot read condition "checkpoints.completed >= 1 and two": want e.g. "sink.busy >= 80", "upstream(sink).backpressured >= 50", "picked == sink"`,
	} {
		_, err := parseCondition(cond, tasks)
		assert.EqualError(t, err, want, cond)
	}
}

func TestGoal_Checks_Checkpoints(t *testing.T) {
	l, err := Parse([]byte(`
id: 0-cp
title: Checkpoints
job: |
  checkpoint: {interval: 2s}
  tasks: [{name: source, operator: generator}, {name: count, operator: passthrough}, {name: sink, operator: discard}]
steps:
  - title: Look
    text: Look.
    goal:
      when: ["sink.latency-p99 <= 200", "debloat == on", "checkpointing == off", "checkpoint.mode == unaligned",
        "checkpoint.duration >= 3000", "checkpoint.persisted > 0", "checkpoints.completed >= 2", "restored",
        "state(count).keys >= 20", "state(count).sum > count.records-in", "count.records-in >= 10",
        "checkpoint.size < 1000", "checkpoint.alignment <= 50", "checkpointing != off", "debloat != on", "checkpoint.mode != aligned"]
    solution: [{restart: true}]
`))
	require.NoError(t, err)
	var texts []string
	for _, c := range l.Steps[0].Goal.Checks() {
		texts = append(texts, c.Text)
	}
	assert.Equal(t, []string{
		"sink: latency p99 ≤ 200 ms",
		"buffer debloating is on",
		"checkpoints are off",
		"the latest completed checkpoint is unaligned",
		"the latest completed checkpoint took ≥ 3000 ms end to end",
		"the latest completed checkpoint's persisted data > 0 bytes",
		"completed checkpoints ≥ 2",
		"the job has restored a checkpoint since this step began",
		"count's state: keys ≥ 20",
		"count's state: sum of values > count's records in",
		"count: records in ≥ 10",
		"the latest completed checkpoint's checkpointed size < 1000 bytes",
		"the latest completed checkpoint's longest alignment ≤ 50 ms",
		"checkpoints are on",
		"buffer debloating is off",
		"the latest completed checkpoint is not aligned",
	}, texts)
	targets := l.Steps[0].Goal.Targets(l.Spec())
	require.Len(t, targets, 2)
	assert.Equal(t, "count", targets[0].Task)
	assert.Equal(t, "state: keys ≥ 20 · state: sum of values > count's records in · records in ≥ 10", targets[0].Text)
	assert.Equal(t, Target{Task: "sink", Text: "latency p99 ≤ 200 ms", Colors: metrics.Color(0, 0)}, targets[1])
}

const checkpointLesson = `
id: 0-cp
title: Checkpoints
job: |
  network: {buffer-size: 1kb}
  checkpoint: {interval: 2s}
  tasks: [{name: source, operator: generator}, {name: count, operator: passthrough}, {name: sink, operator: discard}]
steps:
  - title: Slow
    text: Aligned checkpoints take seconds.
    continue: true
    goal: {when: ["checkpoint.mode == aligned", "checkpoint.duration >= 3000", "debloat == off"], for: 300ms}
    solution: [{continue: true}]
  - title: Unaligned
    text: Switch.
    goal: {when: ["checkpoint.mode == unaligned", "checkpoint.duration <= 100", "checkpoint.persisted > 0"], for: 300ms}
    solution: [{checkpoint: {mode: unaligned}}]
  - title: Debloat
    text: Both.
    goal: {when: ["checkpointing == aligned", "debloat == on", "checkpoint.duration <= 1000"], for: 300ms}
    solution:
      - {checkpoint: {mode: aligned, interval: 1s}}
      - {buffer-debloat: {target: 100ms}}
  - title: Restart
    text: Restart.
    goal: {when: ["restored", "state(count).keys >= 20", "state(count).sum >= 2000"], for: 300ms}
    solution: [{restart: true}]
  - title: "Off"
    text: Turn it all off.
    goal: {when: ["checkpointing == off", "debloat == off"], for: 300ms}
    solution: [{checkpoint: off}, {buffer-debloat: off}]
`

func TestParse_CheckpointActions(t *testing.T) {
	l, err := Parse([]byte(checkpointLesson))
	require.NoError(t, err)
	var got []string
	for _, st := range l.Steps {
		for _, a := range st.Solution {
			got = append(got, a.String())
		}
	}
	assert.Equal(t, []string{"press Continue", "set checkpoints to unaligned", "set checkpoints to aligned, every 1s",
		"turn buffer debloating on with a target of 100ms", "restart the job", "turn checkpoints off", "turn buffer debloating off"}, got)
	assert.Equal(t, &CheckpointChange{Mode: spec.Unaligned}, l.Steps[1].Solution[0].Checkpoint)
	assert.Equal(t, &DebloatChange{Target: &Duration{100 * time.Millisecond}}, l.Steps[2].Solution[1].BufferDebloat)
	assert.Equal(t, &CheckpointChange{Off: true}, l.Steps[4].Solution[0].Checkpoint)
}

func TestParse_CheckpointActions_Errors(t *testing.T) {
	_, err := Parse([]byte(`
id: 0-bad
title: Bad
job: |
  tasks: [{name: source, operator: generator}, {name: sink, operator: discard}]
steps:
  - title: One
    text: Text.
    goal: {when: ["restored"]}
    solution:
      - {checkpoint: {mode: unaligned}}
      - {checkpoint: {interval: 2s, mode: sideways}}
      - {checkpoint: {interval: 5ms}}
      - {checkpoint: {interval: 2s, mode: unaligned, aligned-timeout: 1s}}
      - {buffer-debloat: {target: 0s}}
      - {restart: true, checkpoint: off}
`))
	assert.EqualError(t, err, `steps[0].solution[0]: checkpoint.interval: checkpoints are off, and turning them on needs an interval, a duration like 5s
steps[0].solution[1]: checkpoint.mode: want aligned or unaligned, got "sideways"
steps[0].solution[2]: checkpoint.interval: must be at least 10ms, got 5ms
steps[0].solution[3]: checkpoint.aligned-timeout: only for mode aligned (an unaligned checkpoint has no alignment to time out), got 1s
steps[0].solution[4]: network.buffer-debloat.target: must be at least 1ms, got 0s
steps[0].solution[5]: an action does exactly one thing, this one does 2`)

	for doc, want := range map[string]string{
		"{checkpoint: on}":                      `line 10: checkpoint: want off or a mapping such as {mode: unaligned}, got "on"`,
		"{checkpoint: {every: 2s}}":             `line 10: checkpoint: unknown field "every": want aligned-timeout, interval, mode, timeout`,
		"{checkpoint: {interval: soon}}":        `checkpoint.interval: line 10: want a duration like 3s, got "soon"`,
		"{buffer-debloat: true}":                `line 10: buffer-debloat: want off or a mapping such as {target: 100ms}, got "true"`,
		"{buffer-debloat: {target: 1s, x: 1}}":  `line 10: buffer-debloat: unknown field "x": want period, target`,
		"{buffer-debloat: [1s]}":                `line 10: buffer-debloat: want off or a mapping`,
		"{buffer-debloat: {period: sometimes}}": `buffer-debloat.period: line 10: want a duration like 3s, got "sometimes"`,
	} {
		_, err := Parse(fmt.Appendf(nil, `
id: 0-bad
title: Bad
job: |
  tasks: [{name: source, operator: generator}, {name: sink, operator: discard}]
steps:
  - title: One
    text: Text.
    goal: {when: ["restored"]}
    solution: [%s]
`, doc))
		assert.ErrorContains(t, err, want, doc)
	}
}

// recordingJob is a fakeJob that records the checkpoint settings it is given.
type recordingJob struct {
	*fakeJob
	set []*spec.Checkpoint
}

func (j *recordingJob) SetCheckpointing(c *spec.Checkpoint) error {
	j.set = append(j.set, c)
	return j.fakeJob.SetCheckpointing(c)
}

// A checkpoint change keeps what it does not name, as the playground's
// control does, and turning checkpoints on again needs an interval.
func TestAction_Apply_Checkpoint(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	j := &recordingJob{fakeJob: startFake(ctx)}
	j.cp = &spec.Checkpoint{Interval: 2 * time.Second, Mode: spec.Aligned, Timeout: time.Minute, Retained: 2}
	var l Learner
	apply := func(a Action) error { return a.Apply(ctx, fakeEnv{}, j, &l) }
	require.NoError(t, apply(Action{Checkpoint: &CheckpointChange{Mode: spec.Unaligned}}))
	require.NoError(t, apply(Action{Checkpoint: &CheckpointChange{Interval: &Duration{time.Second}}}))
	require.NoError(t, apply(Action{Checkpoint: &CheckpointChange{Off: true}}))
	assert.EqualError(t, apply(Action{Checkpoint: &CheckpointChange{Mode: spec.Aligned}}),
		"checkpoint.interval: checkpoints are off, and turning them on needs an interval, a duration like 5s")
	require.NoError(t, apply(Action{Checkpoint: &CheckpointChange{Interval: &Duration{3 * time.Second}}}))
	assert.Equal(t, []*spec.Checkpoint{
		{Interval: 2 * time.Second, Mode: spec.Unaligned, Timeout: time.Minute, Retained: 2},
		{Interval: time.Second, Mode: spec.Unaligned, Timeout: time.Minute, Retained: 2},
		nil,
		{Interval: 3 * time.Second, Mode: spec.Aligned, Timeout: spec.DefaultCheckpointTimeout, Retained: spec.DefaultCheckpointsRetained},
	}, j.set)
	assert.Equal(t, 3, j.restores, "each change restarts the job from its latest checkpoint (the fake's while checkpoints are on)")

	require.NoError(t, apply(Action{BufferDebloat: &DebloatChange{Period: &Duration{100 * time.Millisecond}}}))
	assert.Equal(t, &spec.BufferDebloat{Target: spec.DefaultDebloatTarget, Period: 100 * time.Millisecond}, j.debloat)
	require.NoError(t, apply(Action{BufferDebloat: &DebloatChange{Off: true}}))
	assert.Nil(t, j.debloat)
	require.NoError(t, apply(Action{Restart: true}))
	assert.Equal(t, 6, j.restores)
}

// Verify walks a lesson through checkpoint settings, debloating and a
// restart, and the restart step does not end without its restart.
func TestVerify_Checkpoints(t *testing.T) {
	ctx := context.Background()
	l, err := Parse([]byte(checkpointLesson))
	require.NoError(t, err)
	require.NoError(t, Verify(ctx, l, fakeEnv{}, 100*time.Millisecond, 5*time.Second))

	// A restored checkpoint counts in the step it was restored in: one
	// restored earlier (by the change of the step before) does not.
	l.Steps[3].Solution = []Action{{Checkpoint: &CheckpointChange{Mode: spec.Aligned}}}
	err = Verify(ctx, l, fakeEnv{}, 100*time.Millisecond, 500*time.Millisecond)
	assert.NoError(t, err, "a change restarts the job too")
	l.Steps[3].Solution = []Action{{Continue: true}}
	l.Steps[3].Continue = true
	err = Verify(ctx, l, fakeEnv{}, 100*time.Millisecond, 500*time.Millisecond)
	assert.EqualError(t, err, `step 4 "Restart": the goal was not reached in 500ms: not met: restored`)
}

// The tracker reads checkpoints and state through its Checkpointer, once
// per snapshot for the checkpoint statistics.
func TestTracker_Checkpointer(t *testing.T) {
	l, err := Parse([]byte(checkpointLesson))
	require.NoError(t, err)
	tr := NewTracker(l)
	snap := snapshot(100_000, bottleneck)
	assert.False(t, tr.Observe(snap).Met["checkpoint.mode == aligned"], "no Checkpointer: no checkpoint condition holds")
	tr.Checkpointer = &fakeCheckpointer{cps: &metrics.Checkpoints{Enabled: true,
		LatestCompleted: &metrics.Checkpoint{EndToEndDuration: 4000}}}
	p := tr.Observe(snap)
	assert.Equal(t, map[string]bool{"checkpoint.mode == aligned": true, "checkpoint.duration >= 3000": true, "debloat == off": true}, p.Met)
}
