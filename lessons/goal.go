package lessons

import (
	"cmp"
	"fmt"
	"math"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"flowlab/runtime"
	"flowlab/runtime/metrics"
)

// A condition is one line of a goal, checked against a metrics snapshot and
// what the learner has done. The forms:
//
//	TASK.METRIC OP NUMBER            the task as its graph node shows it (maxima, sums)
//	TASK[any].METRIC OP NUMBER       some subtask of the task
//	TASK[all].METRIC OP NUMBER       every subtask of the task
//	*.METRIC OP NUMBER               every task
//	upstream(TASK).METRIC OP NUMBER  every task upstream of TASK
//	TASK.operator == PATTERN         the task runs an operator matching PATTERN (path.Match)
//	TASK.cost OP DURATION            the task's simulated cost per record
//	total-parallelism OP NUMBER      the sum of all tasks' parallelism
//	window OP DURATION               the metrics window
//	paused / running                 the sources are paused / not paused
//	picked == TASK                   the learner pointed at TASK
//	answer == CHOICE                 the learner answered CHOICE
//	uploaded                         the learner has uploaded an operator
//	opened(TASK, VIEW)               the learner has opened VIEW of TASK (a drawer tab: Views)
//	hottest(TASK[, PATTERN]) == FRAME  the widest guest frame of TASK's on-CPU flame graph
//	flame(TASK, TYPE, PATTERN) OP PERCENT  the share of TASK's flame graph under frames matching PATTERN
//
// METRIC is busy, backpressured, idle (percent of time), skew (percent),
// in-rate, out-rate (records per second), in-pool, out-pool (buffer usage in
// percent) or parallelism. OP is one of >= <= > < == !=. Busy time that is
// not known (a legacy source) compares as N/A: only "!= N" holds for it, and
// "busy == N/A" is a condition of its own.
//
// The flame graph conditions read the latest completed flame graph of all
// of TASK's subtasks (Profiler); with none yet, they do not hold. hottest
// compares FRAME (or, with !=, any other frame) with the guest frame that
// matches PATTERN (default *) and has the most samples in it and below:
// the function drawn widest, such as main.parseGeo (PATTERN main.parse*
// leaves out the frames that call it). flame is the percentage of the
// samples of the graph of TYPE (full, on_cpu or off_cpu) that have a frame
// matching PATTERN on their stack, such as
// "flame(source, off_cpu, wait for output buffer*) >= 70". In PATTERN, *
// is any text and ? any character.
type condition struct {
	text   string
	kind   string // "metric", "cost", "operator", "total-parallelism", "window", "paused", "running", "picked", "answer", "uploaded", "opened", "hottest", "flame"
	scope  string // task name, "*" or "upstream(NAME)" for metrics
	task   string
	sub    string // "", "any" or "all"
	metric string
	op     string
	num    float64           // NaN for "N/A"
	word   string            // pattern, task, choice, view or frame
	graph  runtime.GraphType // flame graph conditions
	frames *regexp.Regexp    // flame graph conditions: the frame pattern
}

var (
	metricCond   = regexp.MustCompile(`^(\*|upstream\(([\w.-]+)\)|([\w.-]+)(?:\[(any|all)\])?)\.(busy|backpressured|idle|skew|in-rate|out-rate|in-pool|out-pool|parallelism)\s*(>=|<=|==|!=|>|<)\s*(\S+)$`)
	operatorCond = regexp.MustCompile(`^([\w.-]+)\.operator\s*==\s*(\S+)$`)
	costCond     = regexp.MustCompile(`^([\w.-]+)\.cost\s*(>=|<=|==|!=|>|<)\s*(\S+)$`)
	numberCond   = regexp.MustCompile(`^(total-parallelism|window)\s*(>=|<=|==|!=|>|<)\s*(\S+)$`)
	wordCond     = regexp.MustCompile(`^(picked|answer)\s*==\s*(\S+)$`)
	openedCond   = regexp.MustCompile(`^opened\(\s*([\w.-]+)\s*,\s*([\w-]+)\s*\)$`)
	hottestCond  = regexp.MustCompile(`^hottest\(\s*([\w.-]+)\s*(?:,\s*([^)]*?)\s*)?\)\s*(==|!=)\s*(\S+)$`)
	flameCond    = regexp.MustCompile(`^flame\(\s*([\w.-]+)\s*,\s*(\w+)\s*,\s*(.+?)\s*\)\s*(>=|<=|==|!=|>|<)\s*(\S+)$`)
)

// parseCondition parses one condition; tasks are the job's task names.
func parseCondition(text string, tasks []string) (condition, error) {
	c := condition{text: text}
	known := func(name string) error {
		if !slices.Contains(tasks, name) {
			return fmt.Errorf("no task %q in the lesson's job (tasks: %s)", name, strings.Join(tasks, ", "))
		}
		return nil
	}
	switch t := strings.TrimSpace(text); {
	case t == "paused" || t == "running" || t == "uploaded":
		c.kind = t
	case metricCond.MatchString(t):
		m := metricCond.FindStringSubmatch(t)
		c.kind, c.scope, c.sub, c.metric, c.op = "metric", m[1], m[4], m[5], m[6]
		switch {
		case m[2] != "":
			c.task = m[2]
		case m[3] != "":
			c.task = m[3]
		}
		if c.task != "" {
			if err := known(c.task); err != nil {
				return c, err
			}
		}
		if m[7] == "N/A" {
			if c.metric != "busy" || c.op != "==" && c.op != "!=" {
				return c, fmt.Errorf("N/A: only busy can be N/A, and only == or != compare with it")
			}
			c.num = math.NaN()
			break
		}
		n, err := strconv.ParseFloat(m[7], 64)
		if err != nil {
			return c, fmt.Errorf("want a number after %s, got %q", c.op, m[7])
		}
		c.num = n
	case operatorCond.MatchString(t):
		m := operatorCond.FindStringSubmatch(t)
		c.kind, c.task, c.op, c.word = "operator", m[1], "==", m[2]
		if _, err := path.Match(c.word, ""); err != nil {
			return c, fmt.Errorf("bad operator pattern %q: %w", c.word, err)
		}
		if err := known(c.task); err != nil {
			return c, err
		}
	case costCond.MatchString(t):
		m := costCond.FindStringSubmatch(t)
		c.kind, c.task, c.op = "cost", m[1], m[2]
		d, err := time.ParseDuration(m[3])
		if err != nil {
			return c, fmt.Errorf("want a duration like 1ms after %s, got %q", c.op, m[3])
		}
		c.num = float64(d)
		if err := known(c.task); err != nil {
			return c, err
		}
	case numberCond.MatchString(t):
		m := numberCond.FindStringSubmatch(t)
		c.kind, c.op = m[1], m[2]
		if c.kind == "window" {
			d, err := time.ParseDuration(m[3])
			if err != nil {
				return c, fmt.Errorf("want a duration like 2s after %s, got %q", c.op, m[3])
			}
			c.num = float64(d.Milliseconds())
			break
		}
		n, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			return c, fmt.Errorf("want a number after %s, got %q", c.op, m[3])
		}
		c.num = n
	case wordCond.MatchString(t):
		m := wordCond.FindStringSubmatch(t)
		c.kind, c.op, c.word = m[1], "==", m[2]
		if c.kind == "picked" {
			if err := known(c.word); err != nil {
				return c, err
			}
		}
	case openedCond.MatchString(t):
		m := openedCond.FindStringSubmatch(t)
		c.kind, c.task, c.word = "opened", m[1], m[2]
		if !slices.Contains(Views, c.word) {
			return c, fmt.Errorf("cannot open %q: want one of %s", c.word, strings.Join(Views, ", "))
		}
		if err := known(c.task); err != nil {
			return c, err
		}
	case hottestCond.MatchString(t):
		m := hottestCond.FindStringSubmatch(t)
		c.kind, c.task, c.op, c.word, c.graph = "hottest", m[1], m[3], m[4], runtime.GraphOnCPU
		c.frames = glob(cmp.Or(m[2], "*"))
		if err := known(c.task); err != nil {
			return c, err
		}
	case flameCond.MatchString(t):
		m := flameCond.FindStringSubmatch(t)
		c.kind, c.task, c.graph, c.op, c.frames = "flame", m[1], runtime.GraphType(m[2]), m[4], glob(m[3])
		c.word = m[3]
		if !slices.Contains([]runtime.GraphType{runtime.GraphFull, runtime.GraphOnCPU, runtime.GraphOffCPU}, c.graph) {
			return c, fmt.Errorf("flame graph type %q: want full, on_cpu or off_cpu", m[2])
		}
		n, err := strconv.ParseFloat(m[5], 64)
		if err != nil {
			return c, fmt.Errorf("want a percentage after %s, got %q", c.op, m[5])
		}
		c.num = n
		if err := known(c.task); err != nil {
			return c, err
		}
	default:
		return c, fmt.Errorf(`cannot read condition %q: want e.g. "sink.busy >= 80", "upstream(sink).backpressured >= 50", "picked == sink"`, text)
	}
	return c, nil
}

// Learner is what the learner has done that metrics do not show.
type Learner struct {
	Picked   string   `json:"picked,omitempty"`   // the task they pointed at
	Answer   string   `json:"answer,omitempty"`   // their answer to the step's question
	Uploaded []string `json:"uploaded,omitempty"` // names of operators they uploaded
	Opened   []string `json:"opened,omitempty"`   // what they opened, TASK/VIEW: see Tracker.Open
	// Continued is whether they pressed Continue in this step. A step with
	// Continue moves on once its goal has been reached and they have.
	Continued bool `json:"continued,omitempty"`
}

// holds reports whether the condition holds; p answers flame graphs (nil:
// none, and flame graph conditions do not hold).
func (c condition) holds(snap *metrics.Job, l *Learner, p Profiler) bool {
	switch c.kind {
	case "opened":
		return slices.Contains(l.Opened, c.task+"/"+c.word)
	case "hottest":
		g := graph(p, c.task, c.graph)
		if g == nil {
			return false
		}
		h := hottest(g, c.frames)
		return h != "" && (h == c.word) == (c.op == "==")
	case "flame":
		g := graph(p, c.task, c.graph)
		return g != nil && compare(share(g, c.frames), c.op, c.num)
	case "paused":
		return snap.Paused
	case "running":
		return !snap.Paused
	case "uploaded":
		return len(l.Uploaded) > 0
	case "picked":
		return l.Picked == c.word
	case "answer":
		return l.Answer == c.word
	case "window":
		return compare(float64(snap.WindowMs), c.op, c.num)
	case "total-parallelism":
		total := 0
		for _, v := range snap.Vertices {
			total += v.Parallelism
		}
		return compare(float64(total), c.op, c.num)
	case "cost":
		v := vertexByName(snap, c.task)
		if v == nil {
			return false
		}
		cost, _ := time.ParseDuration(v.Cost) // "" is no cost
		return compare(float64(cost), c.op, c.num)
	case "operator":
		v := vertexByName(snap, c.task)
		if v == nil {
			return false
		}
		ok, _ := path.Match(c.word, v.Operator)
		return ok
	}
	vertices := c.vertices(snap)
	if len(vertices) == 0 {
		return false
	}
	for _, v := range vertices {
		if !c.vertexHolds(v) {
			return false
		}
	}
	return true
}

// vertices are the tasks a metric condition is about.
func (c condition) vertices(snap *metrics.Job) []*metrics.Vertex {
	var vs []*metrics.Vertex
	switch {
	case c.scope == "*":
		for i := range snap.Vertices {
			vs = append(vs, &snap.Vertices[i])
		}
	case strings.HasPrefix(c.scope, "upstream("):
		for _, name := range upstream(snap, c.task) {
			vs = append(vs, vertexByName(snap, name))
		}
	default:
		if v := vertexByName(snap, c.task); v != nil {
			vs = append(vs, v)
		}
	}
	return vs
}

func (c condition) vertexHolds(v *metrics.Vertex) bool {
	if c.sub == "" {
		return compare(taskValue(v, c.metric), c.op, c.num)
	}
	for i := range v.Subtasks {
		holds := compare(subtaskValue(&v.Subtasks[i], c.metric), c.op, c.num)
		if c.sub == "any" && holds {
			return true
		}
		if c.sub == "all" && !holds {
			return false
		}
	}
	return c.sub == "all"
}

// taskValue is a metric of a task as its graph node and drawer show it.
func taskValue(v *metrics.Vertex, metric string) float64 {
	switch metric {
	case "busy":
		return float64(v.Busy)
	case "backpressured":
		return float64(v.BackPressure)
	case "idle":
		return metrics.Percent(v.Metrics.IdleTimeMsPerSecond)
	case "skew":
		return v.DataSkew
	case "in-rate":
		return v.Metrics.NumRecordsInPerSecond
	case "out-rate":
		return v.Metrics.NumRecordsOutPerSecond
	case "parallelism":
		return float64(v.Parallelism)
	}
	m := 0.0 // pools: the fullest subtask
	for i := range v.Subtasks {
		m = max(m, subtaskValue(&v.Subtasks[i], metric))
	}
	return m
}

func subtaskValue(s *metrics.Subtask, metric string) float64 {
	switch metric {
	case "busy":
		return metrics.Percent(float64(s.BusyTimeMsPerSecond))
	case "backpressured":
		return metrics.Percent(s.BackPressuredTimeMsPerSecond)
	case "idle":
		return metrics.Percent(s.IdleTimeMsPerSecond)
	case "in-rate":
		return s.NumRecordsInPerSecond
	case "out-rate":
		return s.NumRecordsOutPerSecond
	case "in-pool":
		return math.Round(s.InPoolUsage * 100)
	case "out-pool":
		return math.Round(s.OutPoolUsage * 100)
	}
	return 0 // skew and parallelism are of tasks
}

func compare(x float64, op string, y float64) bool {
	if math.IsNaN(y) { // N/A
		return math.IsNaN(x) == (op == "==")
	}
	if math.IsNaN(x) {
		return op == "!="
	}
	switch op {
	case ">=":
		return x >= y
	case "<=":
		return x <= y
	case ">":
		return x > y
	case "<":
		return x < y
	case "==":
		return x == y
	}
	return x != y
}

func vertexByName(snap *metrics.Job, name string) *metrics.Vertex {
	for i := range snap.Vertices {
		if snap.Vertices[i].Name == name {
			return &snap.Vertices[i]
		}
	}
	return nil
}

// upstream lists the tasks from which records reach task, nearest first.
func upstream(snap *metrics.Job, task string) []string {
	names := map[string]string{} // vertex id -> name
	for _, v := range snap.Vertices {
		names[v.ID] = v.Name
	}
	var found []string
	queue := []string{task}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, e := range snap.Edges {
			if from := names[e.Source]; names[e.Target] == cur && !slices.Contains(found, from) {
				found = append(found, from)
				queue = append(queue, from)
			}
		}
	}
	return found
}
