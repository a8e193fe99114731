// Package spec parses and validates Flowlab job specs (YAML or JSON, see docs/SPEC.md).
//
// Parse checks structure only: fields, types, sizes, durations, the graph's
// shape. Whether an operator name exists and whether its config is valid is
// decided by the runtime, which reports such errors through Task.Errorf so that
// they, too, name the spec line.
package spec

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Defaults, as in Flink where Flink has the setting.
const (
	DefaultJobName                = "job"
	DefaultBufferSize             = 32 * 1024 // taskmanager.memory.segment-size
	DefaultBuffersPerChannel      = 2         // taskmanager.network.memory.buffers-per-channel
	DefaultFloatingBuffersPerGate = 8         // taskmanager.network.memory.floating-buffers-per-gate
	DefaultBufferTimeout          = 100 * time.Millisecond
	DefaultDebloatTarget          = time.Second            // taskmanager.network.memory.buffer-debloat.target
	DefaultDebloatPeriod          = 200 * time.Millisecond // taskmanager.network.memory.buffer-debloat.period
	DefaultMetricsWindow          = 2 * time.Second
	DefaultMetricsTick            = 100 * time.Millisecond
	DefaultParallelism            = 1
	DefaultRestartAttempts        = 3
	DefaultRestartDelay           = time.Second
	DefaultCheckpointTimeout      = 10 * time.Minute // execution.checkpointing.timeout
	DefaultCheckpointsRetained    = 1                // state.checkpoints.num-retained
)

// Limits on what a spec may ask for, so that one job cannot exhaust the process.
const (
	MaxSpecSize            = 1 << 20 // bytes
	MaxNameLength          = 80      // characters in a job or task name
	MinBufferSize          = 64
	MaxBufferSize          = 16 * 1024 * 1024
	MaxBuffers             = 1024 // per channel or per gate
	MaxBufferTimeout       = 10 * time.Second
	MinDebloatTarget       = time.Millisecond // buffer-debloat.target
	MaxDebloatTarget       = time.Minute
	MinDebloatPeriod       = 10 * time.Millisecond // buffer-debloat.period
	MaxDebloatPeriod       = time.Minute
	MaxParallelism         = 128
	MaxTasks               = 64
	MaxEdges               = MaxTasks * (MaxTasks - 1) / 2 // the most an acyclic graph of MaxTasks tasks can have
	MaxCost                = 10 * time.Second
	MinBandwidth           = 1 << 10 // bytes per second
	MaxBandwidth           = 1 << 30
	MaxConfigValues        = 10000 // values, maps and lists in all task configs together, an alias counting as what it stands for
	MinMetricsTick         = 10 * time.Millisecond
	MaxWindowTicks         = 6000 // metrics.window / metrics.tick
	MaxRestartDelay        = 10 * time.Minute
	MaxRestartAttempt      = 100
	MinCheckpointInterval  = 10 * time.Millisecond // checkpoint.interval
	MaxCheckpointInterval  = time.Hour
	MinCheckpointTimeout   = 10 * time.Millisecond
	MaxCheckpointTimeout   = time.Hour
	MaxCheckpointsRetained = 10
)

// Checkpoint modes.
const (
	Aligned   = "aligned"
	Unaligned = "unaligned"
)

// Partitioning strategies of an edge.
const (
	Forward   = "forward"
	Rebalance = "rebalance"
	Hash      = "hash"
	Broadcast = "broadcast"
)

// Restart strategies.
const (
	FixedDelay = "fixed-delay"
	NoRestart  = "none"
)

// Job is a parsed, structurally valid job spec with every default applied.
type Job struct {
	Name       string
	Metrics    Metrics
	Network    Network
	Restart    Restart
	Checkpoint *Checkpoint // nil: checkpoints off, as in Flink
	Tasks      []Task      // in spec order
	Edges      []Edge      // explicit, or the default chain when the spec has none
}

// Metrics configures the time-accounting window (Flink's busy/idle/backpressured averages).
type Metrics struct {
	Window time.Duration // metrics.window, default 2s
	Tick   time.Duration // metrics.tick, default 100ms; Window is a multiple of Tick
}

// CheckWindow reports what is wrong with the window for the tick, if
// anything: it spans one tick or more, a whole number of them, and at most
// MaxWindowTicks. The runtime checks a window changed live the same way.
func (m Metrics) CheckWindow() error {
	switch {
	case m.Window < m.Tick:
		return fmt.Errorf("must be at least metrics.tick (%v), got %v", m.Tick, m.Window)
	case m.Window%m.Tick != 0:
		return fmt.Errorf("must be a whole multiple of metrics.tick (%v), got %v", m.Tick, m.Window)
	case m.Window/m.Tick > MaxWindowTicks:
		return fmt.Errorf("must be at most %d times metrics.tick (%v), got %v", MaxWindowTicks, m.Tick, m.Window)
	}
	return nil
}

// Network configures the credit-based network stack.
type Network struct {
	BufferSize             int            // bytes per network buffer
	BuffersPerChannel      int            // exclusive buffers per input channel
	FloatingBuffersPerGate int            // floating buffers per input gate
	BufferTimeout          time.Duration  // flush partially filled buffers after this long; 0 flushes after every record
	BufferDebloat          *BufferDebloat // nil: off, as in Flink
}

// BufferDebloat configures buffer debloating (Flink's
// taskmanager.network.memory.buffer-debloat.*): every Period each input gate
// sizes the buffers its upstream fills so that the data in flight in the
// gate takes about Target to consume.
type BufferDebloat struct {
	Target time.Duration // default 1s
	Period time.Duration // default 200ms
}

// Check reports a target or period outside the bounds the spec allows, as
// the parser words it.
func (d BufferDebloat) Check() error {
	for _, f := range []struct {
		name     string
		v        time.Duration
		min, max time.Duration
	}{{"target", d.Target, MinDebloatTarget, MaxDebloatTarget}, {"period", d.Period, MinDebloatPeriod, MaxDebloatPeriod}} {
		switch {
		case f.v < f.min:
			return fmt.Errorf("network.buffer-debloat.%s: must be at least %v, got %v", f.name, f.min, f.v)
		case f.v > f.max:
			return fmt.Errorf("network.buffer-debloat.%s: must be at most %v, got %v", f.name, f.max, f.v)
		}
	}
	return nil
}

// Checkpoint configures checkpoints (Flink's execution.checkpointing.*):
// every Interval the sources inject a barrier; a checkpoint that has not
// completed after Timeout fails and the job goes on.
type Checkpoint struct {
	Interval time.Duration // required
	Mode     string        // Aligned (default) or Unaligned
	Timeout  time.Duration // default DefaultCheckpointTimeout
	// AlignedTimeout switches an aligned checkpoint to unaligned at a task
	// that has been aligning for this long (Flink's
	// execution.checkpointing.aligned-checkpoint-timeout); 0 never does.
	AlignedTimeout time.Duration
	Retained       int // completed checkpoints kept (state.checkpoints.num-retained), default 1
}

// Check reports what is wrong with c, as the parser words it, naming the
// field ("checkpoint.interval: must be at least 10ms, got 5ms"); the first
// problem if there are several. c is complete, as Parse returns it: every
// field holds its value or its default. The runtime checks a live change
// the same way.
func (c Checkpoint) Check() error {
	if ps := c.problems(); len(ps) > 0 {
		return ps[0]
	}
	return nil
}

// checkpointProblem is one field of a Checkpoint that is out of bounds, or
// does not fit another field (after).
type checkpointProblem struct {
	field string // "interval", "aligned-timeout", ...
	after string // the other field the problem depends on, if any
	msg   string
}

func (p checkpointProblem) Error() string { return "checkpoint." + p.field + ": " + p.msg }

// problems are every problem of c, in the order of the fields in the spec:
// the only place that knows the bounds of the checkpoint block.
func (c Checkpoint) problems() []checkpointProblem {
	var ps []checkpointProblem
	between := func(field string, v, min, max time.Duration) {
		switch {
		case v < min:
			ps = append(ps, checkpointProblem{field: field, msg: fmt.Sprintf("must be at least %v, got %v", min, v)})
		case v > max:
			ps = append(ps, checkpointProblem{field: field, msg: fmt.Sprintf("must be at most %v, got %v", max, v)})
		}
	}
	between("interval", c.Interval, MinCheckpointInterval, MaxCheckpointInterval)
	if c.Mode != Aligned && c.Mode != Unaligned {
		ps = append(ps, checkpointProblem{field: "mode", msg: fmt.Sprintf("want one of %s, %s, got %q", Aligned, Unaligned, c.Mode)})
	}
	between("timeout", c.Timeout, MinCheckpointTimeout, MaxCheckpointTimeout)
	switch timeoutOK := c.Timeout >= MinCheckpointTimeout && c.Timeout <= MaxCheckpointTimeout; {
	case c.AlignedTimeout < 0:
		ps = append(ps, checkpointProblem{field: "aligned-timeout", msg: fmt.Sprintf("must not be negative, got %v", c.AlignedTimeout)})
	case c.AlignedTimeout > 0 && c.Mode == Unaligned:
		ps = append(ps, checkpointProblem{field: "aligned-timeout", after: "mode", msg: fmt.Sprintf(
			"only for mode %s (an %s checkpoint has no alignment to time out), got %v", Aligned, Unaligned, c.AlignedTimeout)})
	case c.AlignedTimeout >= c.Timeout && timeoutOK:
		ps = append(ps, checkpointProblem{field: "aligned-timeout", after: "timeout", msg: fmt.Sprintf(
			"must be less than checkpoint.timeout (%v), or 0 never to switch to unaligned, got %v", c.Timeout, c.AlignedTimeout)})
	}
	if c.Retained < 1 || c.Retained > MaxCheckpointsRetained {
		ps = append(ps, checkpointProblem{field: "retained", msg: fmt.Sprintf("must be between 1 and %d, got %d", MaxCheckpointsRetained, c.Retained)})
	}
	return ps
}

// Restart configures what happens when an operator fails.
type Restart struct {
	Strategy string        // FixedDelay or NoRestart
	Attempts int           // restarts allowed before the job fails
	Delay    time.Duration // between a failure and the restart
}

// Task is a vertex of the job graph.
type Task struct {
	Name        string
	Operator    string // built-in name, "wasm:NAME", "upload:NAME" or a path ending in .wasm
	Parallelism int
	Cost        time.Duration  // simulated processing time per record, 0 for none
	Config      map[string]any // operator config as decoded from YAML (JSON-compatible values)
	Line        int            // line of the task in the spec
	Fields      map[string]int // line of each field of the task, keyed "operator", "config.rate", ...
}

// Errorf returns an error about a field of the task at index in Job.Tasks, at the
// field's line. field is a key of Fields, like "operator" or "config.rate", or ""
// for the whole task. A field the spec leaves out is reported at the line of its
// parent ("config" for "config.rate") if present, else at the line of the task.
func (t *Task) Errorf(index int, field, format string, args ...any) *Error {
	path, line := fmt.Sprintf("tasks[%d]", index), t.Line
	if field != "" {
		path += "." + field
		parent, _, _ := strings.Cut(field, ".")
		if l, ok := t.Fields[parent]; ok {
			line = l
		}
		if l, ok := t.Fields[field]; ok {
			line = l
		}
	}
	return &Error{Line: line, Field: path, Msg: fmt.Sprintf(format, args...)}
}

// TaskIndex returns the index in Tasks of the task with the given name, or -1 if there is none.
func (j *Job) TaskIndex(name string) int {
	return slices.IndexFunc(j.Tasks, func(t Task) bool { return t.Name == name })
}

// Edge joins two tasks.
type Edge struct {
	From, To     string
	Partitioning string // Forward, Rebalance, Hash or Broadcast
	Bandwidth    int    // simulated link: bytes per second per channel, 0 for no limit
	Line         int    // 0 for edges of the default chain
}

// CheckpointChange is a live change of a job's checkpoint settings, as the
// playground's Checkpoints control and a lesson's action make it: off, or
// on with the fields set (nil or "" for those left out).
type CheckpointChange struct {
	Off                               bool
	Interval, Timeout, AlignedTimeout *time.Duration
	Mode                              string
	Retained                          *int
}

// Apply returns the settings the change asks for of a job whose settings
// are current (nil: off), nil for off, checked as the parser checks them.
// A field left out keeps the job's setting while checkpoints are on, else
// takes its default; the interval has none, so turning checkpoints on
// needs one.
func (c CheckpointChange) Apply(current *Checkpoint) (*Checkpoint, error) {
	if c.Off {
		if c != (CheckpointChange{Off: true}) {
			return nil, fmt.Errorf("checkpoint: off takes no interval, mode, timeout, aligned-timeout or retained")
		}
		return nil, nil
	}
	out := &Checkpoint{Mode: Aligned, Timeout: DefaultCheckpointTimeout, Retained: DefaultCheckpointsRetained}
	switch {
	case current != nil:
		*out = *current
	case c.Interval == nil:
		return nil, fmt.Errorf("checkpoint.interval: checkpoints are off, and turning them on needs an interval, a duration like 5s")
	}
	switch c.Mode {
	case "":
	case Aligned, Unaligned:
		out.Mode = c.Mode
	default:
		return nil, fmt.Errorf("checkpoint.mode: want %s or %s, got %q", Aligned, Unaligned, c.Mode)
	}
	for _, f := range []struct {
		from *time.Duration
		to   *time.Duration
	}{{c.Interval, &out.Interval}, {c.Timeout, &out.Timeout}, {c.AlignedTimeout, &out.AlignedTimeout}} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	if c.Retained != nil {
		out.Retained = *c.Retained
	}
	if err := out.Check(); err != nil {
		return nil, err
	}
	return out, nil
}
