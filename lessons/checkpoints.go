package lessons

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"flowlab/runtime"
	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
)

// Checkpointer answers a running job's checkpoint statistics and the keyed
// state of its tasks, as runtime.Job does. The checkpoint conditions of a
// goal (checkpoint.duration, checkpoints.completed, restored, ...) and the
// state conditions (state(count).keys, ...) read it.
type Checkpointer interface {
	Checkpoints() *metrics.Checkpoints
	State(task string, max int) ([]runtime.SubtaskState, error)
}

// CheckpointChange changes the job's checkpoints as the playground's
// Checkpoints control does (PATCH /api/jobs/{jid} {"checkpoint": ...}):
// off, or on with the fields given, the others as the job has them while
// checkpoints are on, else their defaults. Turning checkpoints on needs an
// interval. In a lesson, "checkpoint: off" or a mapping such as
// "checkpoint: {mode: unaligned}".
type CheckpointChange struct {
	Off            bool      `json:"off,omitempty"`
	Interval       *Duration `json:"interval,omitempty"`
	Mode           string    `json:"mode,omitempty"` // spec.Aligned or spec.Unaligned; "" keeps the job's
	Timeout        *Duration `json:"timeout,omitempty"`
	AlignedTimeout *Duration `json:"aligned-timeout,omitempty"`
}

// UnmarshalYAML implements yaml.Unmarshaler: "off" or a mapping of
// interval, mode, timeout and aligned-timeout.
func (c *CheckpointChange) UnmarshalYAML(n *yaml.Node) error {
	return decodeFields(n, "checkpoint", "{mode: unaligned}", &c.Off, map[string]any{
		"interval": &c.Interval, "mode": &c.Mode, "timeout": &c.Timeout, "aligned-timeout": &c.AlignedTimeout,
	})
}

// spec is the checkpointing the change asks for of a job that has current
// (nil: off); nil for off.
func (c *CheckpointChange) spec(current *spec.Checkpoint) (*spec.Checkpoint, error) {
	change := spec.CheckpointChange{Off: c.Off, Mode: c.Mode}
	for _, f := range []struct {
		from *Duration
		to   **time.Duration
	}{{c.Interval, &change.Interval}, {c.Timeout, &change.Timeout}, {c.AlignedTimeout, &change.AlignedTimeout}} {
		if f.from != nil {
			*f.to = &f.from.Duration
		}
	}
	return change.Apply(current)
}

// String describes the change as a learner would make it.
func (c *CheckpointChange) String() string {
	if c.Off {
		return "turn checkpoints off"
	}
	var with []string
	if c.Interval != nil {
		with = append(with, "every "+c.Interval.String())
	}
	if c.Timeout != nil {
		with = append(with, "timeout "+c.Timeout.String())
	}
	if c.AlignedTimeout != nil {
		with = append(with, "aligned timeout "+c.AlignedTimeout.String())
	}
	s := "set checkpoints to " + c.Mode
	if c.Mode == "" {
		s = "change checkpoints"
	}
	if len(with) > 0 {
		s += ", " + strings.Join(with, ", ")
	}
	return s
}

// DebloatChange turns buffer debloating on or off, as the playground's
// Buffer debloating control does: on with a target and a period, each
// its default (1s, 200ms) unless given. In a lesson, "buffer-debloat: off"
// or a mapping such as "buffer-debloat: {target: 100ms}".
type DebloatChange struct {
	Off    bool      `json:"off,omitempty"`
	Target *Duration `json:"target,omitempty"`
	Period *Duration `json:"period,omitempty"`
}

// UnmarshalYAML implements yaml.Unmarshaler: "off" or a mapping of target
// and period.
func (d *DebloatChange) UnmarshalYAML(n *yaml.Node) error {
	return decodeFields(n, "buffer-debloat", "{target: 100ms}", &d.Off, map[string]any{"target": &d.Target, "period": &d.Period})
}

// spec is the debloating the change asks for: nil for off.
func (d *DebloatChange) spec() (*spec.BufferDebloat, error) {
	if d.Off {
		if *d != (DebloatChange{Off: true}) {
			return nil, errors.New("buffer-debloat: off takes no target or period")
		}
		return nil, nil
	}
	out := &spec.BufferDebloat{Target: spec.DefaultDebloatTarget, Period: spec.DefaultDebloatPeriod}
	if d.Target != nil {
		out.Target = d.Target.Duration
	}
	if d.Period != nil {
		out.Period = d.Period.Duration
	}
	if err := out.Check(); err != nil {
		return nil, err
	}
	return out, nil
}

// String describes the change as a learner would make it.
func (d *DebloatChange) String() string {
	if d.Off {
		return "turn buffer debloating off"
	}
	s, _ := d.spec()
	if s == nil {
		return "turn buffer debloating on"
	}
	return fmt.Sprintf("turn buffer debloating on with a target of %v", s.Target)
}

// decodeFields decodes "off" (setting *off) or a mapping whose keys must be
// among fields (each a pointer to decode its value into), naming the
// setting in errors, with example as a mapping it takes.
func decodeFields(n *yaml.Node, name, example string, off *bool, fields map[string]any) error {
	switch {
	case n.Kind == yaml.ScalarNode && n.Value == "off":
		*off = true
		return nil
	case n.Kind == yaml.ScalarNode:
		return fmt.Errorf("line %d: %s: want off or a mapping such as %s, got %q", n.Line, name, example, n.Value)
	case n.Kind != yaml.MappingNode:
		return fmt.Errorf("line %d: %s: want off or a mapping", n.Line, name)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		to, ok := fields[k.Value]
		if !ok {
			names := make([]string, 0, len(fields))
			for f := range fields {
				names = append(names, f)
			}
			slices.Sort(names)
			return fmt.Errorf("line %d: %s: unknown field %q: want %s", k.Line, name, k.Value, strings.Join(names, ", "))
		}
		if err := v.Decode(to); err != nil {
			return fmt.Errorf("%s.%s: %w", name, k.Value, err)
		}
	}
	return nil
}
