package runtime

import (
	"slices"
	"strconv"
	"time"

	"github.com/google/pprof/profile"
)

// Recording is the samples of a task over a span of time (Job.Record).
type Recording struct {
	Task       string
	Start, End time.Time
	trees      map[int]*stackNode
}

// Profile converts the recording to a pprof profile: every frame is a
// function (a guest's by its name-section name), and each sample counts in
// three values: samples, cpu (on-CPU samples times SampleInterval; the
// default, as in a Go CPU profile) and wall (every sample times
// SampleInterval, waits included). Labels say the subtask and whether the
// sample was on-CPU or waiting.
func (r *Recording) Profile() *profile.Profile {
	p := &profile.Profile{
		SampleType: []*profile.ValueType{
			{Type: "samples", Unit: "count"},
			{Type: "cpu", Unit: "nanoseconds"},
			{Type: "wall", Unit: "nanoseconds"},
		},
		DefaultSampleType: "cpu",
		PeriodType:        &profile.ValueType{Type: "wall", Unit: "nanoseconds"},
		Period:            int64(SampleInterval),
		TimeNanos:         r.Start.UnixNano(),
		DurationNanos:     int64(r.End.Sub(r.Start)),
		Comments:          []string{"flowlab task " + r.Task},
	}
	locs := map[Frame]*profile.Location{}
	location := func(f Frame) *profile.Location {
		if l := locs[f]; l != nil {
			return l
		}
		fn := &profile.Function{ID: uint64(len(p.Function) + 1), Name: f.Name, SystemName: f.Name, Filename: f.Kind.String()}
		l := &profile.Location{ID: uint64(len(p.Location) + 1), Line: []profile.Line{{Function: fn}}}
		p.Function = append(p.Function, fn)
		p.Location = append(p.Location, l)
		locs[f] = l
		return l
	}
	subtasks := make([]int, 0, len(r.trees))
	for i := range r.trees {
		subtasks = append(subtasks, i)
	}
	slices.Sort(subtasks)
	var stack []*profile.Location // outermost first
	var walk func(n *stackNode, subtask int)
	walk = func(n *stackNode, subtask int) {
		for state, count := range n.self {
			if count == 0 {
				continue
			}
			leafFirst := slices.Clone(stack)
			slices.Reverse(leafFirst)
			cpu := int64(0)
			label := "off-cpu"
			if state == 0 {
				cpu, label = int64(count)*int64(SampleInterval), "on-cpu"
			}
			p.Sample = append(p.Sample, &profile.Sample{
				Location: leafFirst,
				Value:    []int64{int64(count), cpu, int64(count) * int64(SampleInterval)},
				Label:    map[string][]string{"state": {label}, "subtask": {strconv.Itoa(subtask)}},
			})
		}
		for _, c := range n.children {
			stack = append(stack, location(c.frame))
			walk(c, subtask)
			stack = stack[:len(stack)-1]
		}
	}
	for _, i := range subtasks {
		walk(r.trees[i], i)
	}
	return p
}
