package lessons

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
)

// fakeJob is a job whose sink is the bottleneck from the start, as in
// lesson 1: a goal about it holds a moment after the job starts.
type fakeJob struct {
	mu      sync.Mutex
	ts      int64
	updated chan struct{}
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
	return snapshot(j.ts, bottleneck)
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

func (fakeEnv) Start(ctx context.Context, _ *spec.Job) (Job, error) { return startFake(ctx), nil }
func (fakeEnv) Upload(context.Context, string, string) error        { return nil }

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
