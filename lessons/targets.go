package lessons

import (
	"fmt"
	"math"
	"strings"
	"time"

	"flowlab/runtime"
	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
)

// Check is one condition of a goal as a learner reads it.
type Check struct {
	When string // the condition as written: its key in Progress.Met; "" for the whole goal (Say)
	Text string // in words, without giving away an answer or a task to pick
}

// Checks lists the goal's conditions in words, in the order written; or,
// if the goal says what it is (Say), only that, for the whole goal.
func (g *Goal) Checks() []Check {
	if g.Say != "" {
		return []Check{{Text: g.Say}}
	}
	checks := make([]Check, len(g.conds))
	for i, c := range g.conds {
		checks[i] = Check{When: c.text, Text: c.describe()}
	}
	return checks
}

// Target is what a goal asks of one task, to draw it on the graph in the
// graph's own colors: busy and backpressured percentages that meet the goal
// (busy NaN for N/A), their colors, and the task's conditions in words.
type Target struct {
	Task          string
	Busy          float64
	BackPressured float64
	Colors        metrics.Colors
	Text          string // e.g. "busy ≥ 90%", several joined by " · "
}

// Targets lists the tasks of s that the goal's task conditions name, in the
// job's order. A lower bound on busy or backpressured time sets the target
// percentage to it; an upper bound leaves it at 0. A goal that says what
// it is (Say) has none: its conditions are not shown.
func (g *Goal) Targets(s *spec.Job) []Target {
	if g.Say != "" {
		return nil
	}
	graph := graphOf(s)
	byTask := map[string]*Target{}
	for _, c := range g.conds {
		var vs []*metrics.Vertex
		switch c.kind {
		case "metric":
			vs = c.vertices(graph)
		case "operator", "cost", "state":
			vs = []*metrics.Vertex{vertexByName(graph, c.task)}
		}
		for _, v := range vs {
			t := byTask[v.Name]
			if t == nil {
				t = &Target{Task: v.Name}
				byTask[v.Name] = t
			}
			t.add(c)
		}
	}
	var targets []Target
	for _, task := range s.Tasks {
		if t := byTask[task.Name]; t != nil {
			t.Colors = metrics.Color(t.Busy, t.BackPressured)
			targets = append(targets, *t)
		}
	}
	return targets
}

// add takes a condition on the target's task into account.
func (t *Target) add(c condition) {
	text := c.describeFor()
	if t.Text != "" {
		text = t.Text + " · " + text
	}
	t.Text = text
	if c.kind != "metric" {
		return
	}
	lower := c.op == ">=" || c.op == ">" || c.op == "==" // an upper bound leaves 0
	switch {
	case c.metric == "busy" && math.IsNaN(c.num):
		if c.op == "==" {
			t.Busy = math.NaN()
		}
	case c.metric == "busy" && lower && !math.IsNaN(t.Busy):
		t.Busy = max(t.Busy, c.num)
	case c.metric == "backpressured" && lower:
		t.BackPressured = max(t.BackPressured, c.num)
	}
}

// graphOf is the job graph of a spec as a snapshot without metrics, so that
// conditions find their tasks in it as in a running job.
func graphOf(s *spec.Job) *metrics.Job {
	g := &metrics.Job{}
	for _, t := range s.Tasks {
		g.Vertices = append(g.Vertices, metrics.Vertex{ID: t.Name, Name: t.Name})
	}
	for _, e := range s.Edges {
		g.Edges = append(g.Edges, metrics.Edge{Source: e.From, Target: e.To})
	}
	return g
}

// Words for describing conditions.
var (
	metricWords = map[string]string{
		"busy": "busy", "backpressured": "backpressured", "idle": "idle", "skew": "data skew",
		"in-rate": "records in per second", "out-rate": "records out per second",
		"in-pool": "input buffers in use", "out-pool": "output buffers in use", "parallelism": "parallelism",
		"records-in": "records in", "records-out": "records out",
		"latency-p50": "latency p50", "latency-p95": "latency p95", "latency-p99": "latency p99",
		"latency-max": "latency max", "latency-mean": "mean latency",
	}
	checkpointWords = map[string]string{
		"size": "checkpointed size", "persisted": "persisted data", "alignment": "longest alignment",
	}
	checkpointUnits = map[string]string{"size": " bytes", "persisted": " bytes", "alignment": " ms"}
	stateWords      = map[string]string{"keys": "keys", "bytes": "bytes", "sum": "sum of values"}
	viewWords       = map[string]string{
		"backpressure": "BackPressure tab", "metrics": "Metrics tab", "timeline": "Timeline tab",
		"state": "State tab", "logs": "Logs tab", "failures": "Failures tab", "flamegraph": "flame graph",
	}
	graphWords = map[runtime.GraphType]string{runtime.GraphFull: "full", runtime.GraphOnCPU: "on-CPU", runtime.GraphOffCPU: "off-CPU"}
	opWords    = map[string]string{">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "=", "!=": "≠"}
)

// describe is the condition in words, for the goal's checklist.
func (c condition) describe() string {
	switch c.kind {
	case "paused":
		return "the sources are paused"
	case "running":
		return "the sources are running"
	case "uploaded":
		return "you have uploaded an operator"
	case "opened":
		return fmt.Sprintf("you have opened the %s of %s", viewWords[c.word], c.task)
	case "hottest", "flame":
		return c.task + "'s " + c.describeFor()
	case "picked":
		return "you point at the right task"
	case "answer":
		return "you choose the right answer"
	case "window":
		return fmt.Sprintf("metrics window %s %v", opWords[c.op], time.Duration(c.num)*time.Millisecond)
	case "total-parallelism":
		return fmt.Sprintf("total parallelism %s %g", opWords[c.op], c.num)
	case "operator", "cost":
		return c.task + " " + c.describeFor()
	case "state":
		return c.task + "'s " + c.describeFor()
	case "restored":
		return "the job has restored a checkpoint since this step began"
	case "debloat":
		if (c.word == "on") == (c.op == "==") {
			return "buffer debloating is on"
		}
		return "buffer debloating is off"
	case "checkpointing":
		switch {
		case c.op == "!=" && c.word == "off":
			return "checkpoints are on"
		case c.op == "!=":
			return "checkpoints are not " + c.word
		case c.word == "off":
			return "checkpoints are off"
		}
		return "checkpoints are " + c.word
	case "checkpoints":
		return fmt.Sprintf("%s checkpoints %s %g", c.metric, opWords[c.op], c.num)
	case "checkpoint":
		if c.metric == "mode" {
			if c.op == "!=" {
				return "the latest completed checkpoint is not " + c.word
			}
			return "the latest completed checkpoint is " + c.word
		}
		if c.metric == "duration" {
			return fmt.Sprintf("the latest completed checkpoint took %s %g ms end to end", opWords[c.op], c.num)
		}
		return fmt.Sprintf("the latest completed checkpoint's %s %s %g%s", checkpointWords[c.metric], opWords[c.op], c.num, checkpointUnits[c.metric])
	}
	var who string
	switch {
	case c.scope == "*":
		who = "every task"
	case strings.HasPrefix(c.scope, "upstream("):
		who = "every task before " + c.task
	default:
		who = c.task
	}
	return who + ": " + c.describeFor()
}

// describeFor is a task condition in words without naming the task.
func (c condition) describeFor() string {
	switch c.kind {
	case "cost":
		return fmt.Sprintf("costs %s %v per record", opWords[c.op], time.Duration(c.num))
	case "hottest":
		if c.op == "!=" {
			return "flame graph: the widest function is not " + c.word
		}
		return "flame graph: the widest function is " + c.word
	case "flame":
		return fmt.Sprintf("%s flame graph: %s %g%% of samples under %s", graphWords[c.graph], opWords[c.op], c.num, c.word)
	case "state":
		than := fmt.Sprintf("%g", c.num)
		if c.than != "" {
			than = c.than + "'s " + metricWords[c.thanM]
		}
		return fmt.Sprintf("state: %s %s %s", stateWords[c.metric], opWords[c.op], than)
	case "operator":
		switch {
		case c.word == "upload:*":
			return "runs an uploaded operator"
		case strings.ContainsAny(c.word, `*?[\`):
			return "runs an operator matching " + c.word
		}
		return "runs " + c.word
	}
	what := metricWords[c.metric]
	switch c.sub {
	case "any":
		what = "some subtask " + what
	case "all":
		what = "every subtask " + what
	}
	if math.IsNaN(c.num) {
		if c.op == "==" {
			return what + " is N/A"
		}
		return what + " is not N/A"
	}
	unit := ""
	switch c.metric {
	case "busy", "backpressured", "idle", "skew", "in-pool", "out-pool":
		unit = "%"
	case "latency-p50", "latency-p95", "latency-p99", "latency-max", "latency-mean":
		unit = " ms"
	}
	return fmt.Sprintf("%s %s %g%s", what, opWords[c.op], c.num, unit)
}
