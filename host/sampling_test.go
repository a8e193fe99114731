package host

import (
	"strings"
	"testing"
	"time"

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

// flameGraph asks for a task's flame graph until a completed round shows
// at least min samples of the given type.
func flameGraph(t *testing.T, j *runtime.Job, task string, typ runtime.GraphType, min int) *runtime.FlameNode {
	t.Helper()
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
// work, named from the name section.
func TestSampling_HeavyAndLight(t *testing.T) {
	h := newHost(t, NewConfig())
	j := runJob(t, h, `
name: hotcold
tasks:
  - {name: source, operator: generator}
  - {name: guest, operator: hotcold.wasm}
`)
	g := flameGraph(t, j, "guest", runtime.GraphOnCPU, 100)
	heavy, _ := under(g, named("heavy"))
	light, _ := under(g, named("light"))
	assert.GreaterOrEqual(t, float64(heavy)/float64(g.Value), 0.8, "heavy: %d of %d", heavy, g.Value)
	assert.GreaterOrEqual(t, float64(light)/float64(g.Value), 0.05, "light: %d of %d", light, g.Value)
	spin, _ := under(g, named("spin"))
	assert.GreaterOrEqual(t, float64(spin)/float64(g.Value), 0.8, "spin, called by both")
}

// A module without a name section shows func[N].
func TestSampling_Stripped(t *testing.T) {
	h := newHost(t, NewConfig())
	j := runJob(t, h, `
name: stripped
tasks:
  - {name: source, operator: generator}
  - {name: guest, operator: hotcold-stripped.wasm}
`)
	g := flameGraph(t, j, "guest", runtime.GraphOnCPU, 100)
	// Functions: 0 flowlab_input, 1 spin, 2 heavy, 3 light, 4 flowlab_process.
	heavy, _ := under(g, named("func[2]"))
	assert.GreaterOrEqual(t, float64(heavy)/float64(g.Value), 0.8)
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
  - {name: sink, operator: discard, cost: 100us}
`)
	g := flameGraph(t, j, "upper", runtime.GraphFull, 200)
	goFrames, _ := under(g, func(s string) bool { return strings.HasPrefix(s, "runtime.") || strings.Contains(s, "sdk.") })
	assert.Positive(t, goFrames, "Go's function names")
	emit, _ := under(g, named("flowlab.emit"))
	wait, _ := under(g, named("wait for output buffer (hard backpressure)"))
	assert.Positive(t, emit, "host calls")
	assert.Positive(t, wait, "the slow sink blocks emit")
	var path []string
	var find func(n *runtime.FlameNode) bool
	find = func(n *runtime.FlameNode) bool {
		path = append(path, n.Name+"/"+n.Kind)
		if n.Name == "flowlab.emit" {
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

// Hostile guests stay contained while sampled: a loop that never ends is
// stopped at its deadline as before, and a recursion that overflows the
// stack is sampled to at most MaxStackDepth of its frames.
func TestSampling_Hostile(t *testing.T) {
	h := newHost(t, NewConfig().WithCallTimeout(200*time.Millisecond))
	j := startJob(t, h, `
name: hostile
restart: {strategy: fixed-delay, attempts: 1000, delay: 10ms}
tasks:
  - {name: source, operator: generator}
  - {name: recurse, operator: stack-overflow.wasm}
  - {name: loop, operator: loop.wasm}
`)
	g := flameGraph(t, j, "recurse", runtime.GraphOnCPU, 30)
	_, depth := under(g, func(string) bool { return false })
	assert.LessOrEqual(t, depth, runtime.MaxStackDepth+4, "root, loop, process, the operator, then guest frames")
	assert.Greater(t, depth, 50, "deep stacks are sampled")
	g = flameGraph(t, j, "loop", runtime.GraphOnCPU, 30)
	loop, _ := under(g, func(s string) bool { return strings.HasPrefix(s, "func[") })
	assert.Positive(t, loop)
	assert.Positive(t, j.Snapshot().Restarts, "the loop is stopped at its deadline")
}
