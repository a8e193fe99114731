package lessons

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime"
	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
)

// fakeJob is a job whose sink is the bottleneck from the start, as in
// lesson 1: a goal about it holds a moment after the job starts. Its
// checkpoints follow its settings at once: aligned ones take 5 s, or 400 ms
// with buffer debloating, and unaligned ones 30 ms with 100 KB of
// in-flight data; a restart restores the latest.
type fakeJob struct {
	mu       sync.Mutex
	ts       int64
	updated  chan struct{}
	cp       *spec.Checkpoint
	debloat  *spec.BufferDebloat
	restored *metrics.RestoredCheckpoint
	restores int
}

func startFake(ctx context.Context) *fakeJob {
	j := &fakeJob{ts: 100_000, updated: make(chan struct{})}
	go func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				j.mu.Lock()
				j.ts += 100 // 100 ms of the job's time per tick
				close(j.updated)
				j.updated = make(chan struct{})
				j.mu.Unlock()
			case <-ctx.Done():
				return
			}
		}
	}()
	return j
}

func (j *fakeJob) Snapshot() *metrics.Job {
	j.mu.Lock()
	defer j.mu.Unlock()
	snap := snapshot(j.ts, bottleneck)
	if j.debloat != nil {
		snap.Vertices[2].Subtasks[0].DebloatedBufferSize = 256
	}
	return snap
}

// Spec is a job of the checkpoint settings set.
func (j *fakeJob) Spec() *spec.Job {
	j.mu.Lock()
	defer j.mu.Unlock()
	return &spec.Job{Checkpoint: j.cp}
}

func (j *fakeJob) Checkpoints() *metrics.Checkpoints {
	j.mu.Lock()
	defer j.mu.Unlock()
	cps := &metrics.Checkpoints{Enabled: j.cp != nil, Restored: j.restores, LatestRestored: j.restored}
	if j.cp == nil {
		return cps
	}
	cps.Config = metrics.CheckpointConfig{IntervalMs: j.cp.Interval.Milliseconds(), TimeoutMs: j.cp.Timeout.Milliseconds(),
		Unaligned: j.cp.Mode == spec.Unaligned, Retained: j.cp.Retained}
	cp := metrics.Checkpoint{ID: 1, Status: metrics.CheckpointCompleted, EndToEndDuration: 5000, StateSize: 300, CheckpointedSize: 300}
	switch {
	case j.cp.Mode == spec.Unaligned:
		cp.Unaligned, cp.EndToEndDuration, cp.PersistedData = true, 30, 100_000
		cp.CheckpointedSize += cp.PersistedData
	case j.debloat != nil:
		cp.EndToEndDuration = 400
	}
	cps.Total, cps.Completed, cps.LatestCompleted, cps.History = 1, 1, &cp, []metrics.Checkpoint{cp}
	return cps
}

// State answers 20 keys of count, each counted 100 times.
func (j *fakeJob) State(task string, max int) ([]runtime.SubtaskState, error) {
	if task != "count" {
		return []runtime.SubtaskState{{}}, nil
	}
	st := runtime.SubtaskState{StateView: runtime.StateView{Keys: 20, Bytes: 20 * 16}}
	for k := range min(20, max) {
		st.Entries = append(st.Entries, runtime.StateEntry{Key: fmt.Appendf(nil, "key-%d/count", k), Value: []byte("100")})
	}
	return []runtime.SubtaskState{st}, nil
}

func (j *fakeJob) SetCheckpointing(c *spec.Checkpoint) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.cp = c
	j.restartLocked()
	return nil
}

func (j *fakeJob) SetBufferDebloat(d *spec.BufferDebloat) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.debloat = d
	j.restartLocked()
	return nil
}

func (j *fakeJob) Restart() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.restartLocked()
}

func (j *fakeJob) restartLocked() {
	if j.cp != nil {
		j.restores++
		j.restored = &metrics.RestoredCheckpoint{ID: 1, RestoreTimestamp: j.ts}
	}
}

func (j *fakeJob) Updated() <-chan struct{} {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.updated
}

func (j *fakeJob) SetRate(string, float64) error       { return nil }
func (j *fakeJob) SetCost(string, time.Duration) error { return nil }
func (j *fakeJob) SetParallelism(string, int) error    { return nil }
func (j *fakeJob) SetConfig(string, string, any) error { return nil }
func (j *fakeJob) SetOperator(string, string) error    { return nil }
func (j *fakeJob) SetPaused(bool)                      {}
func (j *fakeJob) SetWindow(time.Duration) error       { return nil }

type fakeEnv struct{}

func (fakeEnv) Start(ctx context.Context, s *spec.Job) (Job, error) {
	j := startFake(ctx)
	j.cp, j.debloat = s.Checkpoint, s.Network.BufferDebloat
	return j, nil
}

func (fakeEnv) Upload(context.Context, string, string) error { return nil }
func (fakeEnv) Build(context.Context, string, []byte) error  { return nil }

// A step that asks the learner to look at something whose goal holds as
// the job starts must wait for Continue: Verify solves it with its
// solution, and reports a step that ends without one.
func TestVerify_Continue(t *testing.T) {
	const lesson = `
id: 0-look
title: Look
job: |
  tasks:
    - {name: source, operator: generator}
    - {name: map, operator: passthrough, parallelism: 2}
    - {name: sink, operator: discard, parallelism: 2}
steps:
  - title: Watch
    text: Watch the sink turn red.
    %s
    goal: {when: ["sink.busy >= 90"], for: 300ms}
    solution: [%s]
  - title: Point
    text: Which is it?
    pick: true
    goal: {when: ["picked == sink"], for: 0s}
    solution: [{pick: sink}]
`
	ctx := context.Background()
	l, err := Parse(fmt.Appendf(nil, lesson, "continue: true", "{continue: true}"))
	require.NoError(t, err)
	require.NoError(t, Verify(ctx, l, fakeEnv{}, 100*time.Millisecond, 5*time.Second))

	// The step as it was: asked to look, moved on by itself.
	l, err = Parse(fmt.Appendf(nil, lesson, "", "{answer: a}"))
	require.NoError(t, err)
	err = Verify(ctx, l, fakeEnv{}, 100*time.Millisecond, 5*time.Second)
	assert.ErrorContains(t, err, `step 1 "Watch": the step ended without its solution`)
}

// profiledJob is a fakeJob that answers flame graphs.
type profiledJob struct {
	*fakeJob
	fakeProfiler
}

type profiledEnv struct{ fakeProfiler }

func (e profiledEnv) Start(ctx context.Context, _ *spec.Job) (Job, error) {
	return profiledJob{startFake(ctx), e.fakeProfiler}, nil
}
func (profiledEnv) Upload(context.Context, string, string) error { return nil }
func (profiledEnv) Build(context.Context, string, []byte) error  { return nil }

// Verify checks a lesson's claims about flame graphs against the job's
// own, and a lesson that reads them needs a job that answers them.
func TestVerify_FlameGraph(t *testing.T) {
	const lesson = `
id: 0-flame
title: Flame
job: |
  tasks:
    - {name: source, operator: generator}
    - {name: map, operator: passthrough, parallelism: 2}
    - {name: sink, operator: discard, parallelism: 2}
steps:
  - title: Open
    text: Open the flame graph of map.
    goal: {when: ["opened(map, flamegraph)"], for: 0s}
    solution: [{task: map, open: flamegraph}]
  - title: Which?
    text: Which function?
    question: {prompt: "Which one?", choices: [{id: geo, text: parseGeo}, {id: agent, text: parseUserAgent}]}
    goal: {when: ["answer == %[1]s", "hottest(map, main.parse*) == main.%[2]s", "flame(source, off_cpu, wait for output*) >= 80"], for: 0s}
    solution: [{answer: %[1]s}]
`
	ctx := context.Background()
	l, err := Parse(fmt.Appendf(nil, lesson, "agent", "parseUserAgent"))
	require.NoError(t, err)
	require.NoError(t, Verify(ctx, l, profiledEnv{profiles}, 100*time.Millisecond, 5*time.Second))

	err = Verify(ctx, l, fakeEnv{}, 100*time.Millisecond, 5*time.Second)
	assert.EqualError(t, err, "the lesson reads flame graphs, and its job answers none (*lessons.fakeJob has no FlameGraph method)")

	// A lesson whose answer the graph does not bear out fails.
	l, err = Parse(fmt.Appendf(nil, lesson, "geo", "parseGeo"))
	require.NoError(t, err)
	err = Verify(ctx, l, profiledEnv{profiles}, 100*time.Millisecond, 500*time.Millisecond)
	assert.EqualError(t, err, `step 2 "Which?": the goal was not reached in 500ms: not met: hottest(map, main.parse*) == main.parseGeo`)
}
