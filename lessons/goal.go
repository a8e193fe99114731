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
	"flowlab/runtime/spec"
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
//	debloat == on|off                buffer debloating is on / off
//	checkpointing == off|aligned|unaligned  the job's checkpoint setting
//	checkpoint.FIELD OP NUMBER       the latest completed checkpoint (FIELD below)
//	checkpoint.mode == aligned|unaligned  the latest completed checkpoint was taken aligned / unaligned
//	checkpoints.COUNT OP NUMBER      the job's checkpoint counts (COUNT below)
//	restored                         the job has restored a checkpoint since the step began
//	state(TASK).STATE OP NUMBER      TASK's keyed state, all subtasks together (STATE below)
//	state(TASK).STATE OP TASK.records-in  ... compared with a task's records in (or records-out)
//
// METRIC is busy, backpressured, idle (percent of time), skew (percent),
// in-rate, out-rate (records per second), in-pool, out-pool (buffer usage in
// percent), parallelism, records-in, records-out (records taken in and sent
// on since the job's current attempt started: a restart counts from 0, as
// in Flink) or latency-p50, latency-p95, latency-p99, latency-max,
// latency-mean (the end-to-end latency of the records the task took in over
// the metrics window, in ms). OP is one of >= <= > < == !=. Busy time that
// is not known (a legacy source) compares as N/A: only "!= N" holds for it,
// and "busy == N/A" is a condition of its own. A task (or subtask) without
// a latency (a source, or one that took in nothing) makes every latency
// comparison false.
//
// The checkpoint conditions read the job's checkpoint statistics
// (Checkpointer; without one they do not hold). FIELD is duration (end to
// end, ms), size (checkpointed bytes: state and persisted data), persisted
// (in-flight bytes persisted, unaligned) or alignment (the longest
// alignment of a subtask, ms); with no completed checkpoint they do not
// hold. COUNT is total, completed, failed, in-progress or restored, over
// the job's life. restored holds once the job has restored a checkpoint
// (after a failure, a restart or a live change) since the learner reached
// the step.
//
// The state conditions read TASK's keyed state as it is now, a moment
// after the snapshot that the other conditions read. STATE is keys, bytes
// or sum: the sum of the values that are whole numbers in decimal, as
// wasm:count keeps its counts (up to maxStateEntries entries per subtask;
// with more, or any value not a number, sum does not hold). Compared with
// TASK.records-in, the state is read after the snapshot, so it may be
// ahead by the records taken in meanwhile: a goal such as
// "state(count).sum > count.records-in" says that the counts hold more
// than this attempt has counted, that is they were restored, when it goes
// with restored.
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
	kind   string // "metric", "cost", "operator", "total-parallelism", "window", "paused", "running", "picked", "answer", "uploaded", "opened", "hottest", "flame", "debloat", "checkpointing", "checkpoint", "checkpoints", "restored", "state"
	scope  string // task name, "*" or "upstream(NAME)" for metrics
	task   string
	sub    string // "", "any" or "all"
	metric string
	op     string
	num    float64           // NaN for "N/A"
	word   string            // pattern, task, choice, view or frame
	graph  runtime.GraphType // flame graph conditions
	frames *regexp.Regexp    // flame graph conditions: the frame pattern
	than   string            // state conditions compared with a task's metric: the task ("" for a number)
	thanM  string            // ... and the metric, records-in or records-out
}

var (
	metricCond   = regexp.MustCompile(`^(\*|upstream\(([\w.-]+)\)|([\w.-]+)(?:\[(any|all)\])?)\.(busy|backpressured|idle|skew|in-rate|out-rate|in-pool|out-pool|parallelism|records-in|records-out|latency-p50|latency-p95|latency-p99|latency-max|latency-mean)\s*(>=|<=|==|!=|>|<)\s*(\S+)$`)
	operatorCond = regexp.MustCompile(`^([\w.-]+)\.operator\s*==\s*(\S+)$`)
	costCond     = regexp.MustCompile(`^([\w.-]+)\.cost\s*(>=|<=|==|!=|>|<)\s*(\S+)$`)
	numberCond   = regexp.MustCompile(`^(total-parallelism|window)\s*(>=|<=|==|!=|>|<)\s*(\S+)$`)
	wordCond     = regexp.MustCompile(`^(picked|answer)\s*==\s*(\S+)$`)
	openedCond   = regexp.MustCompile(`^opened\(\s*([\w.-]+)\s*,\s*([\w-]+)\s*\)$`)
	hottestCond  = regexp.MustCompile(`^hottest\(\s*([\w.-]+)\s*(?:,\s*([^)]*?)\s*)?\)\s*(==|!=)\s*(\S+)$`)
	flameCond    = regexp.MustCompile(`^flame\(\s*([\w.-]+)\s*,\s*(\w+)\s*,\s*(.+?)\s*\)\s*(>=|<=|==|!=|>|<)\s*(\S+)$`)
	settingCond  = regexp.MustCompile(`^(debloat|checkpointing|checkpoint\.mode)\s*(==|!=)\s*(\S+)$`)
	cpCond       = regexp.MustCompile(`^(checkpoint|checkpoints)\.([\w-]+)\s*(>=|<=|==|!=|>|<)\s*(\S+)$`)
	stateCond    = regexp.MustCompile(`^state\(\s*([\w.-]+)\s*\)\.(keys|bytes|sum)\s*(>=|<=|==|!=|>|<)\s*(\S+)$`)
	thanMetric   = regexp.MustCompile(`^([\w.-]+)\.(records-in|records-out)$`)
)

// What the checkpoint and setting conditions compare.
var (
	checkpointFields = []string{"duration", "size", "persisted", "alignment"}
	checkpointCounts = []string{"total", "completed", "failed", "in-progress", "restored"}
	settingWords     = map[string][]string{
		"debloat":         {"on", "off"},
		"checkpointing":   {"off", spec.Aligned, spec.Unaligned},
		"checkpoint.mode": {spec.Aligned, spec.Unaligned},
	}
)

// maxStateEntries is how many entries per subtask a state sum reads.
const maxStateEntries = 10_000

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
	case t == "paused" || t == "running" || t == "uploaded" || t == "restored":
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
	case settingCond.MatchString(t):
		m := settingCond.FindStringSubmatch(t)
		c.kind, c.op, c.word = m[1], m[2], m[3]
		if c.kind == "checkpoint.mode" {
			c.kind, c.metric = "checkpoint", "mode"
		}
		if words := settingWords[m[1]]; !slices.Contains(words, c.word) {
			return c, fmt.Errorf("%s: want %s, got %q", m[1], strings.Join(words, " or "), c.word)
		}
	case cpCond.MatchString(t):
		m := cpCond.FindStringSubmatch(t)
		c.kind, c.metric, c.op = m[1], m[2], m[3]
		if names := map[string][]string{"checkpoint": checkpointFields, "checkpoints": checkpointCounts}[c.kind]; !slices.Contains(names, c.metric) {
			return c, fmt.Errorf("%s.%s: want one of %s", c.kind, c.metric, strings.Join(names, ", "))
		}
		n, err := strconv.ParseFloat(m[4], 64)
		if err != nil {
			return c, fmt.Errorf("want a number after %s, got %q", c.op, m[4])
		}
		c.num = n
	case stateCond.MatchString(t):
		m := stateCond.FindStringSubmatch(t)
		c.kind, c.task, c.metric, c.op = "state", m[1], m[2], m[3]
		if err := known(c.task); err != nil {
			return c, err
		}
		if tm := thanMetric.FindStringSubmatch(m[4]); tm != nil {
			c.than, c.thanM = tm[1], tm[2]
			if err := known(c.than); err != nil {
				return c, err
			}
			break
		}
		n, err := strconv.ParseFloat(m[4], 64)
		if err != nil {
			return c, fmt.Errorf("want a number or TASK.records-in after %s, got %q", c.op, m[4])
		}
		c.num = n
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

// facts are what conditions are checked against: a snapshot of the job,
// what the learner has done, and what the job answers when asked.
type facts struct {
	snap    *metrics.Job
	learner *Learner
	// profiler answers flame graphs, checkpointer checkpoint statistics and
	// keyed state; nil: none, and the conditions that read them do not hold.
	profiler     Profiler
	checkpointer Checkpointer
	stepSince    int64 // when the learner reached the step, ms since the epoch as snapshot timestamps
	cps          *metrics.Checkpoints
	states       map[stateAsk]stateAnswer // keyed state asked for in this check
}

type stateAsk struct {
	task    string
	entries int
}

type stateAnswer struct {
	subtasks []runtime.SubtaskState
	err      error
}

// state is the keyed state of task with up to entries entries per subtask,
// asked for once per check: a look at a large state holds the operator's
// state_put off for its pass.
func (f *facts) state(task string, entries int) ([]runtime.SubtaskState, error) {
	ask := stateAsk{task, entries}
	a, ok := f.states[ask]
	if !ok {
		a.subtasks, a.err = f.checkpointer.State(task, entries)
		if f.states == nil {
			f.states = map[stateAsk]stateAnswer{}
		}
		f.states[ask] = a
	}
	return a.subtasks, a.err
}

// checkpoints are the job's checkpoint statistics, asked for once per
// check; nil if the job answers none.
func (f *facts) checkpoints() *metrics.Checkpoints {
	if f.cps == nil && f.checkpointer != nil {
		f.cps = f.checkpointer.Checkpoints()
	}
	return f.cps
}

// holds reports whether the condition holds.
func (c condition) holds(f *facts) bool {
	snap, l, p := f.snap, f.learner, f.profiler
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
	case "debloat":
		return (debloating(snap) == (c.word == "on")) == (c.op == "==")
	case "checkpointing", "checkpoint", "checkpoints", "restored":
		cps := f.checkpoints()
		return cps != nil && c.checkpointHolds(cps, f.stepSince)
	case "state":
		return c.stateHolds(f)
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

// debloating reports whether buffer debloating is on: then every subtask
// with inputs reports the buffer size its gate announced.
func debloating(snap *metrics.Job) bool {
	for _, v := range snap.Vertices {
		for _, s := range v.Subtasks {
			if s.DebloatedBufferSize > 0 {
				return true
			}
		}
	}
	return false
}

// checkpointHolds checks a checkpoint condition against the job's
// checkpoint statistics; since is when the learner reached the step (-1:
// not known yet, and restored does not hold).
func (c condition) checkpointHolds(cps *metrics.Checkpoints, since int64) bool {
	switch c.kind {
	case "restored":
		return since >= 0 && cps.LatestRestored != nil && cps.LatestRestored.RestoreTimestamp >= since
	case "checkpointing":
		mode := "off"
		switch {
		case cps.Enabled && cps.Config.Unaligned:
			mode = spec.Unaligned
		case cps.Enabled:
			mode = spec.Aligned
		}
		return (mode == c.word) == (c.op == "==")
	case "checkpoints":
		n := map[string]int{"total": cps.Total, "completed": cps.Completed, "failed": cps.Failed,
			"in-progress": cps.InProgress, "restored": cps.Restored}[c.metric]
		return compare(float64(n), c.op, c.num)
	}
	cp := cps.LatestCompleted
	if cp == nil {
		return false
	}
	var x int64
	switch c.metric {
	case "mode":
		return (cp.Unaligned == (c.word == spec.Unaligned)) == (c.op == "==")
	case "duration":
		x = cp.EndToEndDuration
	case "size":
		x = cp.CheckpointedSize
	case "persisted":
		x = cp.PersistedData
	case "alignment":
		x = cp.MaxAlignment()
	}
	return compare(float64(x), c.op, c.num)
}

// stateHolds checks a state condition against the task's keyed state as
// it is now.
func (c condition) stateHolds(f *facts) bool {
	if f.checkpointer == nil {
		return false
	}
	entries := 0
	if c.metric == "sum" {
		entries = maxStateEntries
	}
	subtasks, err := f.state(c.task, entries)
	if err != nil || len(subtasks) == 0 {
		return false
	}
	x := 0.0
	for _, s := range subtasks {
		switch c.metric {
		case "keys":
			x += float64(s.Keys)
		case "bytes":
			x += float64(s.Bytes)
		case "sum":
			if s.Keys > len(s.Entries) {
				return false // not all read
			}
			for _, e := range s.Entries {
				n, err := strconv.ParseInt(string(e.Value), 10, 64)
				if err != nil {
					return false
				}
				x += float64(n)
			}
		}
	}
	y := c.num
	if c.than != "" {
		v := vertexByName(f.snap, c.than)
		if v == nil {
			return false
		}
		y = taskValue(v, c.thanM)
	}
	return compare(x, c.op, y)
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
		return c.valueHolds(taskValue(v, c.metric))
	}
	for i := range v.Subtasks {
		holds := c.valueHolds(subtaskValue(&v.Subtasks[i], c.metric))
		if c.sub == "any" && holds {
			return true
		}
		if c.sub == "all" && !holds {
			return false
		}
	}
	return c.sub == "all"
}

// valueHolds compares a task's or subtask's value of the metric; a latency
// that is not known (NaN) holds for no comparison.
func (c condition) valueHolds(x float64) bool {
	if math.IsNaN(x) && isLatency(c.metric) {
		return false
	}
	return compare(x, c.op, c.num)
}

func isLatency(metric string) bool { return strings.HasPrefix(metric, "latency-") }

// latencyValue is one number of a latency, NaN for none.
func latencyValue(l *metrics.Latency, metric string) float64 {
	if l == nil {
		return math.NaN()
	}
	switch metric {
	case "latency-p50":
		return l.P50
	case "latency-p95":
		return l.P95
	case "latency-p99":
		return l.P99
	case "latency-max":
		return l.Max
	}
	return l.Mean
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
	case "records-in":
		return float64(v.Metrics.NumRecordsIn)
	case "records-out":
		return float64(v.Metrics.NumRecordsOut)
	}
	if isLatency(metric) {
		return latencyValue(v.Latency, metric)
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
	case "records-in":
		return float64(s.NumRecordsIn)
	case "records-out":
		return float64(s.NumRecordsOut)
	}
	if isLatency(metric) {
		return latencyValue(s.Latency, metric)
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
