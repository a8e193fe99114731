package runtime

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/pprof/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The profilers of these tests sleep on Go's timers, which synctest's fake
// clock advances (a system call takes real time), and end with their job
// (synctest.Test ends in a deadlock while a goroutine of its bubble sleeps).
func init() {
	sleepUntil = func(t time.Time, done <-chan struct{}) {
		select {
		case <-time.After(time.Until(t)):
		case <-done:
		}
	}
}

// share is the fraction of a graph's samples in frames named name, at any depth.
func share(g *FlameGraph, name string) float64 {
	var in func(n *FlameNode) int
	in = func(n *FlameNode) int {
		if n.Name == name {
			return n.Value
		}
		v := 0
		for _, c := range n.Children {
			v += in(c)
		}
		return v
	}
	if g.Data == nil || g.Data.Value == 0 {
		return 0
	}
	return float64(in(g.Data)) / float64(g.Data.Value)
}

// graph asks for a flame graph until a completed round is there.
func flameGraph(t *testing.T, j *Job, task string, subtask int, typ GraphType) *FlameGraph {
	t.Helper()
	g, err := j.FlameGraph(task, subtask, typ)
	require.NoError(t, err)
	assert.Equal(t, GraphWaiting, g.EndTimestamp, "the first request starts sampling")
	time.Sleep(ProfileRound + SampleInterval)
	g, err = j.FlameGraph(task, subtask, typ)
	require.NoError(t, err)
	require.NotNil(t, g.Data)
	return g
}

func TestFlameGraph_SlowSink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := start(t, `
name: slow-sink
network: {buffer-size: 1kb}
tasks:
  - {name: source, operator: generator}
  - {name: sink, operator: discard, cost: 1ms}
`, nil)
		time.Sleep(2 * time.Second)
		src := flameGraph(t, j, "source", -1, GraphOffCPU)
		assert.GreaterOrEqual(t, share(src, frameSoft)+share(src, frameHard), 0.8, "%+v", src.Data)
		sink := flameGraph(t, j, "sink", 0, GraphOnCPU)
		assert.GreaterOrEqual(t, share(sink, frameCost), 0.8, "%+v", sink.Data)
		assert.Equal(t, 300, sink.Data.Value, "a round is %v of samples every %v", ProfileRound, SampleInterval)
		assert.Equal(t, "runtime", sink.Data.Children[0].Kind)
		full, err := j.FlameGraph("sink", -1, GraphFull)
		require.NoError(t, err)
		assert.Equal(t, sink.Data.Value, full.Data.Value, "the sink never waits")
		assert.InDelta(t, time.Now().UnixMilli(), full.EndTimestamp, float64(ProfileRound.Milliseconds()), "the latest round ended within a round")
	})
}

// stackOperator is a native operator that is also a StackSampler, as a Wasm
// guest is: it answers with frames of its own while in Process.
type stackOperator struct {
	mu       sync.Mutex
	sampling bool
	in       bool
}

func (o *stackOperator) Process(b Batch, out Output) error {
	o.mu.Lock()
	o.in = true
	o.mu.Unlock()
	// "Work", for a time that is no multiple of SampleInterval: in fake
	// time the rest of the loop takes no time, but a sample at the very
	// instant a sleep ends may see any step of it.
	time.Sleep(9900 * time.Microsecond)
	o.mu.Lock()
	o.in = false
	o.mu.Unlock()
	return nil
}

func (o *stackOperator) Sampling(on bool) {
	o.mu.Lock()
	o.sampling = on
	o.mu.Unlock()
}

func (o *stackOperator) SampleStack(deliver func([]Frame)) {
	o.mu.Lock()
	in := o.in
	o.mu.Unlock()
	if !in {
		deliver(nil)
		return
	}
	go deliver([]Frame{{"main.process", FrameGuest}, {"main.heavy", FrameGuest}})
}

func TestFlameGraph_OperatorFrames(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		op := &stackOperator{}
		j := start(t, `
name: guest
tasks:
  - {name: source, operator: generator}
  - {name: guest, operator: stacks}
`, map[string]OperatorType{"stacks": func(TaskConfig) (Prepared, error) {
			return Prepared{NewProcessor: func(Context) (Processor, error) { return op, nil }}, nil
		}})
		time.Sleep(time.Second)
		g := flameGraph(t, j, "guest", -1, GraphOnCPU)
		assert.GreaterOrEqual(t, share(g, "main.heavy"), 0.8, g.Data.String())
		op.mu.Lock()
		assert.True(t, op.sampling)
		op.mu.Unlock()

		// No one asks: sampling stops, and the operator is told.
		time.Sleep(ProfileIdle + ProfileRound)
		op.mu.Lock()
		assert.False(t, op.sampling)
		op.mu.Unlock()
		j.mu.Lock()
		assert.Empty(t, j.profilers)
		j.mu.Unlock()
	})
}

func TestRecord_Pprof(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := start(t, `
name: slow-sink
network: {buffer-size: 1kb}
tasks:
  - {name: source, operator: generator, parallelism: 2}
  - {name: sink, operator: discard, cost: 1ms}
`, nil)
		time.Sleep(time.Second)
		rec, err := j.Record(context.Background(), "source", -1, 2*time.Second)
		require.NoError(t, err)
		var buf bytes.Buffer
		require.NoError(t, rec.Profile().Write(&buf))
		p, err := profile.Parse(&buf)
		require.NoError(t, err)
		require.NoError(t, p.CheckValid())
		var samples, waiting int64
		subtasks := map[string]bool{}
		for _, s := range p.Sample {
			samples += s.Value[0]
			if s.Label["state"][0] == "off-cpu" {
				waiting += s.Value[0]
			}
			subtasks[s.Label["subtask"][0]] = true
			assert.Equal(t, frameLoop, s.Location[len(s.Location)-1].Line[0].Function.Name, "the leaf comes first")
		}
		assert.InDelta(t, 2*200, samples, 4, "two subtasks, 2 s every %v", SampleInterval)
		assert.GreaterOrEqual(t, float64(waiting)/float64(samples), 0.8)
		assert.Len(t, subtasks, 2)
		assert.Equal(t, "cpu", p.DefaultSampleType)
	})
}

func TestFlameGraph_BadRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := start(t, `
name: j
tasks:
  - {name: source, operator: generator}
  - {name: sink, operator: discard}
`, nil)
		_, err := j.FlameGraph("nope", -1, GraphFull)
		assert.ErrorContains(t, err, `no task "nope"`)
		_, err = j.FlameGraph("sink", 1, GraphFull)
		assert.ErrorContains(t, err, "no subtask 1: its subtasks are 0 to 0")
		_, err = j.FlameGraph("sink", -1, "cpu")
		assert.ErrorContains(t, err, `type "cpu"`)
		j.Cancel()
		<-j.Done()
		g, err := j.FlameGraph("sink", -1, GraphFull)
		require.NoError(t, err)
		assert.Equal(t, GraphTerminated, g.EndTimestamp)
	})
}

// A guest whose every sample is a new stack cannot grow the trees past
// about MaxStackNodes; what does not fit is counted, under one frame.
func TestStackTrees_Bounded(t *testing.T) {
	trees := stackTrees{roots: map[int]*stackNode{}}
	const samples = 2000
	for i := range samples {
		guest := make([]Frame, MaxStackDepth)
		for d := range guest {
			guest[d] = Frame{fmt.Sprintf("f%d_%d", i, d), FrameGuest}
		}
		trees.add(&stackSample{subtask: i % 2, outer: []Frame{{frameLoop, FrameRuntime}}, guest: guest})
	}
	assert.LessOrEqual(t, trees.nodes, MaxStackNodes+4)
	g := flame(trees.roots, -1, GraphFull)
	assert.Equal(t, samples, g.Value)
	assert.InDelta(t, 1-float64(MaxStackNodes/(MaxStackDepth+1))/samples, share(&FlameGraph{Data: g}, frameTruncated), 0.01)
}

// At most MaxProfiledTasks tasks of a job are sampled at once.
func TestFlameGraph_ProfiledTasksLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		yaml := "name: many\ntasks:\n  - {name: t0, operator: generator, config: {rate: 100}}\n"
		for i := 1; i <= MaxProfiledTasks; i++ {
			yaml += fmt.Sprintf("  - {name: t%d, operator: passthrough}\n", i)
		}
		j := start(t, yaml, nil)
		for i := range MaxProfiledTasks {
			_, err := j.FlameGraph(fmt.Sprintf("t%d", i), -1, GraphFull)
			require.NoError(t, err)
		}
		_, err := j.FlameGraph(fmt.Sprintf("t%d", MaxProfiledTasks), -1, GraphFull)
		require.ErrorIs(t, err, ErrTooManyProfiles)
		_, err = j.FlameGraph("t0", -1, GraphFull)
		require.NoError(t, err, "one already sampled is answered")
		time.Sleep(ProfileIdle + SampleInterval)
		_, err = j.FlameGraph(fmt.Sprintf("t%d", MaxProfiledTasks), -1, GraphFull)
		require.NoError(t, err, "the others stopped")
	})
}
