package lessons

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"flowlab/runtime"
)

// Profiler answers the flame graphs of a running job's tasks, as
// runtime.Job.FlameGraph does: subtask -1 for all subtasks; the first call
// starts sampling the task, and later calls answer the latest completed
// round (a graph with EndTimestamp < 0 and no data until there is one).
// The flame graph conditions of a goal (hottest, flame) read it.
type Profiler interface {
	FlameGraph(task string, subtask int, typ runtime.GraphType) (*runtime.FlameGraph, error)
}

// Views are what a learner can open for a task in the playground: the tabs
// of the task drawer. opened(TASK, VIEW) conditions name one.
var Views = []string{"backpressure", "metrics", "timeline", "state", "logs", "failures", "flamegraph"}

// Open notes that the learner opened view (one of Views) for task, such as
// the flame graph of enrich. What they opened counts for the rest of the
// lesson run, as uploads do.
func (t *Tracker) Open(task, view string) error {
	if err := checkOpen(t.lesson, task, view); err != nil {
		return err
	}
	t.Learner.opened(task, view)
	return nil
}

func checkOpen(l *Lesson, task, view string) error {
	switch {
	case l.Spec().TaskIndex(task) < 0:
		return fmt.Errorf("there is no task %q in the lesson's job", task)
	case !slices.Contains(Views, view):
		return fmt.Errorf("cannot open %q: want one of %s", view, strings.Join(Views, ", "))
	}
	return nil
}

// graph is the latest completed flame graph of all subtasks of task, nil if
// there is none (no profiler, no completed round yet, an error).
func graph(p Profiler, task string, typ runtime.GraphType) *runtime.FlameNode {
	if p == nil {
		return nil
	}
	g, err := p.FlameGraph(task, -1, typ)
	if err != nil || g == nil || g.EndTimestamp < 0 || g.Data == nil || g.Data.Value == 0 {
		return nil
	}
	return g.Data
}

// glob is a frame name pattern as a regexp: * is any text (slashes too,
// unlike path.Match: Go frames such as internal/bytealg.IndexByte have
// them), ? any one character.
func glob(pattern string) *regexp.Regexp {
	q := regexp.QuoteMeta(pattern)
	q = strings.ReplaceAll(q, `\*`, `.*`)
	q = strings.ReplaceAll(q, `\?`, `.`)
	return regexp.MustCompile(`^` + q + `$`)
}

// inclusive is the number of samples with a frame that match accepts on
// their stack: the values of the outermost such nodes (a recursive frame
// counts once).
func inclusive(n *runtime.FlameNode, match func(name string) bool) int {
	if match(n.Name) {
		return n.Value
	}
	total := 0
	for _, c := range n.Children {
		total += inclusive(c, match)
	}
	return total
}

// hottest is the guest frame matching pattern with the most samples on its
// stack, in them and below: the function a flame graph shows widest. It is
// "" if no guest frame matches, or if two tie.
func hottest(root *runtime.FlameNode, pattern *regexp.Regexp) string {
	var names []string
	var walk func(n *runtime.FlameNode)
	walk = func(n *runtime.FlameNode) {
		if n.Kind == runtime.FrameGuest.String() && pattern.MatchString(n.Name) && !slices.Contains(names, n.Name) {
			names = append(names, n.Name)
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(root)
	best, most, tie := "", 0, false
	for _, name := range names {
		switch v := inclusive(root, func(s string) bool { return s == name }); {
		case v > most:
			best, most, tie = name, v, false
		case v == most:
			tie = true
		}
	}
	if tie {
		return ""
	}
	return best
}

// share is the percentage of the graph's samples with a frame matching
// pattern on their stack (the root, the graph itself, does not count).
func share(root *runtime.FlameNode, pattern *regexp.Regexp) float64 {
	total := 0
	for _, c := range root.Children {
		total += inclusive(c, pattern.MatchString)
	}
	return 100 * float64(total) / float64(root.Value)
}
