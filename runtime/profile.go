package runtime

import (
	"fmt"
	"strings"
	"time"
)

// FrameKind is what a frame of a sampled stack stands for; the flame graph
// colors frames by it, and a stack whose innermost frame is a wait is
// off-CPU.
type FrameKind uint8

const (
	FrameRuntime  FrameKind = iota // the subtask's loop and what it does between operator calls
	FrameOperator                  // the operator: a native one, or the call into a guest
	FrameGuest                     // a function of a Wasm guest
	FrameHost                      // a host function a guest called (flowlab.emit, ...)
	FrameWait                      // waiting: off-CPU
)

// String is the kind's name in the flame graph's JSON.
func (k FrameKind) String() string {
	switch k {
	case FrameOperator:
		return "operator"
	case FrameGuest:
		return "guest"
	case FrameHost:
		return "host"
	case FrameWait:
		return "wait"
	}
	return "runtime"
}

// Frame is one frame of a sampled stack.
type Frame struct {
	Name string
	Kind FrameKind
}

// StackSampler is implemented by operators that can show their own stack
// (Wasm guests). Both methods may be called from any goroutine.
type StackSampler interface {
	// Sampling turns on what SampleStack needs, or off; off, it must cost
	// nothing.
	Sampling(on bool)
	// SampleStack asks for the stack of the operator call under way;
	// deliver is called once, from any goroutine, with its frames outermost
	// first (at most MaxStackDepth, the innermost ones), or with none if
	// the call ended before it could be sampled. It must not block, and an
	// operator that is not in a call delivers none at once.
	SampleStack(deliver func([]Frame))
}

// Sampling parameters, like Flink's flame graph options
// (rest.flamegraph.num-samples, delay-between-samples, stack-depth).
const (
	// SampleInterval is the time between two samples of a subtask.
	SampleInterval = 10 * time.Millisecond
	// ProfileRound is how long one flame graph is sampled for: 300 samples
	// of each subtask at SampleInterval.
	ProfileRound = 3 * time.Second
	// ProfileIdle is how long sampling goes on after the last request.
	ProfileIdle = 30 * time.Second
	// MaxStackDepth is the most frames a sample keeps of a guest's stack,
	// the innermost ones, as Flink's rest.flamegraph.stack-depth.
	MaxStackDepth = 100
)

// GraphType selects the samples of a flame graph, as Flink's type parameter.
type GraphType string

const (
	GraphFull   GraphType = "full"    // every sample
	GraphOnCPU  GraphType = "on_cpu"  // running, or spending the simulated cost
	GraphOffCPU GraphType = "off_cpu" // waiting for input, an output buffer or the next record's time
)

// FlameNode is a node of a flame graph in Flink's JSON shape: Value is the
// number of samples in the frame and below. Kind is the frame's kind.
type FlameNode struct {
	Name     string       `json:"name"`
	Value    int          `json:"value"`
	Kind     string       `json:"kind,omitempty"`
	Children []*FlameNode `json:"children"`
}

// String is the graph as an indented tree, a frame per line with its kind
// and samples.
func (n *FlameNode) String() string {
	var b strings.Builder
	var write func(n *FlameNode, depth int)
	write = func(n *FlameNode, depth int) {
		fmt.Fprintf(&b, "%s%s [%s] %d\n", strings.Repeat("  ", depth), n.Name, n.Kind, n.Value)
		for _, c := range n.Children {
			write(c, depth+1)
		}
	}
	write(n, 0)
	return b.String()
}

// FlameGraph is Flink's JobVertexFlameGraph: the samples of the latest
// completed round and when it ended (Unix ms), or one of the EndTimestamp
// codes below with no data.
type FlameGraph struct {
	EndTimestamp int64      `json:"endTimestamp"`
	Data         *FlameNode `json:"data"`
}

// Flink's codes for a flame graph that has no samples.
const (
	GraphTerminated int64 = -1 // the job is not running
	GraphWaiting    int64 = -3 // sampling has started; no sample yet
)
