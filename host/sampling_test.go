package host

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime"
)

// under is the number of samples in frames whose name satisfies match, at
// any depth (not counted twice when nested), and the deepest path.
func under(n *runtime.FlameNode, match func(string) bool) (samples, depth int) {
	if match(n.Name) {
		samples = n.Value
	}
	for _, c := range n.Children {
		s, d := under(c, match)
		if !match(n.Name) {
			samples += s
		}
		depth = max(depth, d)
	}
	return samples, depth + 1
}

func named(name string) func(string) bool { return func(s string) bool { return s == name } }

// flameGraph starts sampling a task, waits for a round to complete, and
// then for a graph of at least min samples of the given type.
func flameGraph(t *testing.T, j *runtime.Job, task string, typ runtime.GraphType, min int) *runtime.FlameNode {
	t.Helper()
	_, err := j.FlameGraph(task, -1, typ)
	require.NoError(t, err)
	time.Sleep(runtime.ProfileRound + 100*time.Millisecond)
	var g *runtime.FlameGraph
	require.Eventually(t, func() bool {
		var err error
		g, err = j.FlameGraph(task, -1, typ)
		require.NoError(t, err)
		return g.Data != nil && g.Data.Value >= min && g.EndTimestamp > 0
	}, 15*time.Second, 50*time.Millisecond)
	return g.Data
}

// On-CPU samples of a guest fall in its functions in proportion to their
// work, named from the name section: over 6 s (600 samples) of a pprof
// recording, and in the flame graph.
//
// The source is slow and its buffers small: about 500 batches a second
// keep the guest busy and leave the other core to the rest.
func TestSampling_HeavyAndLight(t *testing.T) {
	h := newHost(t, NewConfig())
	j := runJob(t, h, `
name: hotcold
network: {buffer-size: 256b}
tasks:
  - {name: source, operator: generator, config: {rate: 3000}}
  - {name: guest, operator: hotcold.wasm}
`)
	rec, err := j.Record(context.Background(), "guest", -1, 6*time.Second)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, rec.Profile().Write(&buf))
	p, err := profile.Parse(&buf) // what go tool pprof reads
	require.NoError(t, err)
	// Of the samples in the guest (those in the host's part of the
	// operator's call, copying the input in, are not the guest's).
	var guest, heavy, light int64
	for _, s := range p.Sample {
		if s.Label["state"][0] != "on-cpu" {
			continue
		}
		for _, l := range s.Location {
			switch l.Line[0].Function.Name {
			case "func[4]": // flowlab_process
				guest += s.Value[0]
			case "heavy":
				heavy += s.Value[0]
			case "light":
				light += s.Value[0]
			}
		}
	}
	assert.GreaterOrEqual(t, float64(heavy)/float64(guest), 0.8, "heavy %d of %d", heavy, guest)
	assert.GreaterOrEqual(t, float64(light)/float64(guest), 0.05, "light %d of %d", light, guest)

	g := flameGraph(t, j, "guest", runtime.GraphOnCPU, 100)
	spin, _ := under(g, named("spin"))
	assert.Positive(t, spin, g.String())
}

// A module without a name section shows func[N].
func TestSampling_Stripped(t *testing.T) {
	h := newHost(t, NewConfig())
	j := runJob(t, h, `
name: stripped
network: {buffer-size: 256b}
tasks:
  - {name: source, operator: generator, config: {rate: 3000}}
  - {name: guest, operator: hotcold-stripped.wasm}
`)
	g := flameGraph(t, j, "guest", runtime.GraphOnCPU, 100)
	// Functions: 0 flowlab_input, 1 spin, 2 heavy, 3 light, 4 flowlab_process.
	guest, _ := under(g, named("func[4]"))
	heavy, _ := under(g, named("func[2]"))
	assert.GreaterOrEqual(t, float64(heavy)/float64(guest), 0.8, g.String())
	named, _ := under(g, func(s string) bool { return s == "heavy" || s == "spin" })
	assert.Zero(t, named)
}

// A Go guest's frames carry Go's names, and its host calls show under the
// guest frame that made them.
func TestSampling_GoGuest(t *testing.T) {
	h := newHost(t, NewConfig())
	j := startJob(t, h, `
name: go
network: {buffer-size: 1kb}
tasks:
  - {name: source, operator: generator}
  - {name: upper, operator: wasm:upper}
  - {name: sink, operator: discard}
`)
	g := flameGraph(t, j, "upper", runtime.GraphFull, 200)
	goFrames, _ := under(g, func(s string) bool { return strings.HasPrefix(s, "runtime.") || strings.Contains(s, "sdk.") })
	assert.Positive(t, goFrames, g.String())
	emit, _ := under(g, named("flowlab.emit_batch"))
	assert.Positive(t, emit, g.String())
	var path []string
	var find func(n *runtime.FlameNode) bool
	find = func(n *runtime.FlameNode) bool {
		path = append(path, n.Name+"/"+n.Kind)
		if n.Name == "flowlab.emit_batch" {
			return true
		}
		for _, c := range n.Children {
			if find(c) {
				return true
			}
		}
		path = path[:len(path)-1]
		return false
	}
	require.True(t, find(g))
	assert.Equal(t, "guest", strings.Split(path[len(path)-2], "/")[1], "emit is called by a guest frame: %v", path)
}

// A guest blocked in emit by a slow sink is sampled from the frame that
// called emit, off-CPU, waiting for an output buffer.
func TestSampling_BlockedInEmit(t *testing.T) {
	h := newHost(t, NewConfig())
	j := runJob(t, h, `
name: blocked
network: {buffer-size: 1kb}
tasks:
  - {name: source, operator: generator, config: {rate: 100}}
  - {name: fanout, operator: fanout.wasm}
  - {name: sink, operator: discard, cost: 1ms}
`)
	g := flameGraph(t, j, "fanout", runtime.GraphOffCPU, 200)
	var path []string
	var walk func(n *runtime.FlameNode)
	walk = func(n *runtime.FlameNode) { // the heaviest path
		path = append(path, n.Name)
		if len(n.Children) > 0 {
			walk(slices.MaxFunc(n.Children, func(a, b *runtime.FlameNode) int { return a.Value - b.Value }))
		}
	}
	walk(g)
	assert.Equal(t, []string{"root", "mailbox loop", "process", "fanout.wasm", "func[3]", "fanout", "flowlab.emit",
		"serialize output", "wait for output buffer (hard backpressure)"}, path, g.String())
	wait, _ := under(g, named("wait for output buffer (hard backpressure)"))
	assert.GreaterOrEqual(t, float64(wait)/float64(g.Value), 0.8, g.String())
}

// A deep recursion is sampled to its innermost maxGuestFrames frames.
func TestSampling_DeepStackCapped(t *testing.T) {
	h := newHost(t, NewConfig())
	// Small buffers: a call per few records keeps the guest the bottleneck
	// even when the generator is slow (under -race).
	j := runJob(t, h, `
name: deep
network: {buffer-size: 256b}
tasks:
  - {name: source, operator: generator}
  - {name: guest, operator: deep.wasm}
`)
	g := flameGraph(t, j, "guest", runtime.GraphOnCPU, 100)
	_, depth := under(g, func(string) bool { return false })
	assert.Equal(t, 4+maxGuestFrames, depth, "root, loop, process, the operator, then guest frames")
	down, _ := under(g, named("down"))
	assert.Positive(t, down)
}

// Hostile guests stay contained while sampled: a loop that never ends is
// stopped at its deadline as before, and a recursion that overflows the
// stack fails its calls as before.
func TestSampling_Hostile(t *testing.T) {
	h := newHost(t, NewConfig().WithCallTimeout(200*time.Millisecond))
	for _, operator := range []string{"loop.wasm", "stack-overflow.wasm"} {
		j := startJob(t, h, `
name: hostile
restart: {strategy: fixed-delay, attempts: 100, delay: 10ms}
tasks:
  - {name: source, operator: generator}
  - {name: guest, operator: `+operator+`}
`)
		g := flameGraph(t, j, "guest", runtime.GraphOnCPU, 30)
		guest, _ := under(g, func(s string) bool { return strings.HasPrefix(s, "func[") })
		assert.Positive(t, guest, "%s: %s", operator, g.String())
		require.Eventually(t, func() bool { return j.Snapshot().Restarts > 0 }, 10*time.Second, 10*time.Millisecond,
			"%s fails its calls", operator)
		j.Cancel()
		<-j.Done()
	}
}
