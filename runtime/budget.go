package runtime

import (
	"fmt"
	"unsafe"

	"flowlab/runtime/internal/network"
	"flowlab/runtime/spec"
)

// Budget is where a job reserves the memory its spec implies (network
// buffers, Wasm linear memory reservations, tables, state, timers, logs)
// before it starts or rescales, and releases it when it ends.
type Budget interface {
	// Reserve reserves bytes more, or fails with an error that names the
	// limit and the amounts.
	Reserve(bytes int64) error
	Release(bytes int64)
}

// Option is an option of Start.
type Option func(*Job)

// WithBudget makes the job reserve its memory from b: a job (or a change
// of it) that needs more than b grants does not start (is refused).
func WithBudget(b Budget) Option { return func(j *Job) { j.budget = b } }

// unlimited is the budget of a job started without one.
type unlimited struct{}

func (unlimited) Reserve(int64) error { return nil }
func (unlimited) Release(int64)       {}

// Footprint is the most memory a job's graph may hold, by what holds it.
// The network's pools and gates are sized by the spec, and an operator's
// Prepared.Memory is its worst case, so the job never holds more.
type Footprint struct {
	Network   int64 // buffers of every output pool and input gate
	Operators int64 // Prepared.Memory of every subtask
	Subtasks  int64 // logs and metric windows
	// Checkpoints retained and the one in progress: each may hold every
	// operator's Prepared.State and, unaligned, as much in-flight data as
	// the network's buffers.
	Checkpoints int64
}

// Total is the sum of the parts.
func (f Footprint) Total() int64 { return f.Network + f.Operators + f.Subtasks + f.Checkpoints }

func (f Footprint) String() string {
	s := fmt.Sprintf("network buffers %s, operators %s, logs and metrics %s",
		spec.FormatBytes(f.Network), spec.FormatBytes(f.Operators), spec.FormatBytes(f.Subtasks))
	if f.Checkpoints > 0 {
		s += ", checkpoints " + spec.FormatBytes(f.Checkpoints)
	}
	return s
}

// subtaskBytes is what a subtask holds besides its operator and buffers:
// its logs, and its metrics window at the longest a window can be set to.
const subtaskBytes = logsKept + int64(unsafe.Sizeof(point{}))*(spec.MaxWindowTicks+1)

// footprint is the graph's Footprint.
func (g *graph) footprint() Footprint {
	net := g.spec.Network
	size := int64(net.BufferSize)
	var f Footprint
	var state int64
	for _, t := range g.tasks {
		p := int64(t.spec.Parallelism)
		f.Operators += p * t.prepared.Memory
		state += p * t.prepared.State
		f.Subtasks += p * subtaskBytes
		channels := 0 // of each subtask's gate
		for _, e := range t.inputs {
			channels += upstreamChannels(e)
		}
		if channels > 0 {
			f.Network += p * size * int64(channels*net.BuffersPerChannel+net.FloatingBuffersPerGate)
		}
		for _, e := range t.outputs {
			f.Network += p * size * int64(network.OutputBuffers(downstreamChannels(e), net.BuffersPerChannel, net.FloatingBuffersPerGate))
		}
	}
	if cp := g.spec.Checkpoint; cp != nil {
		f.Checkpoints = int64(max(1, cp.Retained)+1) * (state + f.Network)
	}
	return f
}

// reserve reserves bytes more for a graph of footprint f, or says why it
// cannot, with what f is made of.
func (j *Job) reserve(bytes int64, f Footprint) error {
	if err := j.budget.Reserve(bytes); err != nil {
		return fmt.Errorf("%w (the job's %s)", err, f)
	}
	return nil
}
