// Package components renders the playground's pages with templ: the job
// graph as SVG, the task drawer, the job editor and the operator library.
// Components take plain view values (this file) and render what they are
// given; the live parts are updated by ui/static/app.js from websocket frames.
package components

import (
	"fmt"
	"math"
	"strings"

	"flowlab/runtime/doctor"
	"flowlab/ui/layout"
)

// Nav is what the sidebar shows: the page and the session's jobs.
type Nav struct {
	Active  string // "playground", "lessons", "new", "operators"
	JobID   string // the job on screen, if any
	Jobs    []JobLink
	Cluster []JobLink // the jobs of the Flink clusters the session sees
}

// JobLink is a job of the session in the sidebar.
type JobLink struct {
	ID, Name, State string
}

// PlaygroundPage is the playground: a job's graph, controls and drawer.
type PlaygroundPage struct {
	Nav    Nav
	Job    *JobView   // nil when the session has no job to show
	Start  *StartView // without a job: the job the page's script starts
	Notice string     // why there is no job, or what happened
	// Diagnosis is the doctor's findings on the job; nil shows no panel (a
	// lesson's page: the doctor must not answer the lesson's questions).
	Diagnosis []doctor.Finding
}

// StartView is a job the page's script starts (a GET starts none): it
// POSTs Spec (if any) to URL, then goes to Then followed by the new job's id.
type StartView struct {
	Title     string // what is starting
	URL, Spec string
	Then      string
}

// JobView is a job as the playground first draws it.
type JobView struct {
	ID, Name, State string
	Failure         string
	Paused          bool
	WindowMs        int64
	TickMs          int64
	Debloat         string // the buffer debloating target as a Go duration, or "off"
	// Checkpoint is the job's checkpoint mode, "aligned" or "unaligned", or
	// "off"; CheckpointInterval its interval as a Go duration (while off, the
	// one the checkpoint control offers).
	Checkpoint         string
	CheckpointInterval string
	Graph              GraphView
	Operators          []Operator   // what a task may run instead: the session's uploads, built-ins, bundled
	Cluster            *ClusterView // the Flink cluster a read-only job runs on; nil for the playground's own
}

// ClusterView is an attached Flink cluster.
type ClusterView struct {
	URL, Version, Interval string
}

// AttachPage is the form that follows a Flink cluster, and the clusters
// followed.
type AttachPage struct {
	Nav      Nav
	Clusters []ClusterStatus
	Enabled  bool // the server lets sessions follow clusters
}

// ClusterStatus is a followed cluster and its jobs.
type ClusterStatus struct {
	ClusterView
	Connected bool
	Error     string
	Server    bool // followed for every visitor (flowlab attach)
	Jobs      []JobLink
}

// GraphView is a laid out job graph.
type GraphView struct {
	Width, Height float64
	Nodes         []NodeView
	Edges         []EdgeView
}

// NodeView is a task node.
type NodeView struct {
	ID, Name, Operator string
	X, Y, W, H         float64
	Parallelism        int
	Busy               float64 // percent; NaN when unknown (a legacy source)
	BackPressured      float64 // percent
	DataSkew           float64 // percent
	Fill, Border       string
	Level              string
	Cost               string   // Go duration text, "" for none
	CostMicros         int64    // the cost in microseconds
	Rate               *float64 // records per second per subtask of a source; nil for other tasks
	Config             []ConfigField
	// Sink marks a task without outputs, whose node shows the end-to-end
	// latency: LatencyP50 and LatencyP99 in ms, NaN when it has none.
	Sink                   bool
	LatencyP50, LatencyP99 float64
}

// ConfigField is a field of a task's operator config the drawer lets the
// learner change.
type ConfigField struct {
	Name   string
	Value  string // "" when not set: the operator's default
	Number bool   // a number: typed in a number input
}

// EdgeView is an edge between tasks (by name) with its partitioning.
type EdgeView struct {
	From, To       string
	Partitioning   string
	D              string // SVG path data
	LabelX, LabelY float64
}

// EditorPage is the job editor with the gallery of examples.
type EditorPage struct {
	Nav      Nav
	Examples []Example
	YAML     string // the editor's first text
	Replace  string // the running job a new one replaces, if any
}

// Example is an example spec of the gallery.
type Example struct {
	Name, Description, YAML string
}

// OperatorsPage is the operator library.
type OperatorsPage struct {
	Nav          Nav
	Operators    []Operator
	MaxUploadMiB int64
	Lesson       *LessonCard // the lesson that sent the learner here, to go back to; nil if none
}

// Operator is an operator jobs may name.
type Operator struct {
	Name     string // as a spec names it: upload:NAME, wasm:NAME or a built-in
	Kind     string // "upload", "bundled" or "builtin"
	Size     int    // bytes, for uploads
	Uploaded string // when, for uploads
}

// percent is a node percentage as shown: "63%", or "N/A" when unknown.
func percent(p float64) string {
	if math.IsNaN(p) {
		return "N/A"
	}
	return fmt.Sprintf("%.0f%%", p)
}

// dataNumber is a percentage as a data attribute: "63", or "NaN".
func dataNumber(p float64) string {
	if math.IsNaN(p) {
		return "NaN"
	}
	return fmt.Sprintf("%.0f", p)
}

// latencyLine is a sink node's latency line, short enough for a node:
// "Latency p50 12 · p99 85 ms", or "Latency p50 – · p99 –" for none.
func latencyLine(p50, p99 float64) string {
	if math.IsNaN(p50) || math.IsNaN(p99) {
		return "Latency p50 – · p99 –"
	}
	return fmt.Sprintf("Latency p50 %.0f · p99 %.0f ms", p50, p99)
}

// dataMs is a latency as a data attribute: whole ms, "" for none.
func dataMs(ms float64) string {
	if math.IsNaN(ms) {
		return ""
	}
	return fmt.Sprintf("%.0f", ms)
}

func px(f float64) string { return fmt.Sprintf("%.1f", f) }

func translate(x, y float64) string { return fmt.Sprintf("translate(%.1f,%.1f)", x, y) }

// short cuts a name to n characters for a node's title.
func short(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// operatorLine is a node's last line: the operator and its cost.
func operatorLine(n NodeView) string {
	parts := []string{short(n.Operator, 22)}
	if n.Cost != "" && n.Cost != "0s" {
		parts = append(parts, n.Cost+"/record")
	}
	if n.Rate != nil {
		parts = append(parts, rateText(*n.Rate))
	}
	return strings.Join(parts, " · ")
}

func rateText(r float64) string {
	if r == 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%g/s", r)
}

// Edge labels are set in 10.5 px semibold with 0.05 em of letter spacing
// (app.css .edge-label text), in a box this high.
const (
	edgeLabelFont    = 10.5
	edgeLabelSpacing = 0.525
	EdgeLabelH       = 20
)

// EdgeLabelWidth is the width of an edge label's box: the text as
// layout.TextWidth estimates it, and room for the rounded ends.
func EdgeLabelWidth(text string) float64 {
	return math.Ceil(layout.TextWidth(text, edgeLabelFont, true, edgeLabelSpacing) + 16)
}

// Goal labels (drawn by lesson.js under a node when the learner asks to
// see the goal) are set in 11 px semibold, a line per condition.
const (
	goalFont   = 11
	goalLineH  = 14
	goalPadY   = 4
	goalPadX   = 10
	GoalMargin = 10 // from the node's bottom to the label's top, room for the goal's dashed outline
)

// GoalLines is a goal label's text, a line per condition: "goal: " and
// the first, then each of the others. Conditions are joined by " · ".
func GoalLines(text string) []string {
	lines := strings.Split(text, " · ")
	lines[0] = "goal: " + lines[0]
	return lines
}

// GoalSize is the size of a goal label's box.
func GoalSize(text string) layout.Size {
	lines := GoalLines(text)
	w := 0.0
	for _, l := range lines {
		w = max(w, layout.TextWidth(l, goalFont, true, 0))
	}
	return layout.Size{W: math.Ceil(w + 2*goalPadX), H: float64(len(lines)*goalLineH + 2*goalPadY)}
}

// costMax is the cost slider's range in microseconds: 5 ms, or more to fit the cost.
func costMax(us int64) string { return fmt.Sprint(max(5000, us)) }

func itoa(i int) string { return fmt.Sprint(i) }

func i64(i int64) string { return fmt.Sprint(i) }

func windowValue(windowMs, tickMs int64) string {
	if windowMs == tickMs {
		return "tick"
	}
	return fmt.Sprintf("%ds", windowMs/1000)
}

// OperatorEditorPage is the editor of an operator in Go, built on the server.
type OperatorEditorPage struct {
	Nav          Nav
	Templates    []OperatorTemplate
	Unavailable  string      // why the server cannot build operators; "" if it can
	MaxSourceKiB int         // the largest source a build takes
	Job          *EditorJob  // the job a built operator may run in at once; nil if none
	Lesson       *LessonCard // the lesson to link back to; nil if none
}

// OperatorTemplate is a source the operator editor starts from.
type OperatorTemplate struct {
	Name, Source string
}

// EditorJob is a running job whose tasks may run a built operator.
type EditorJob struct {
	ID, Name string
	Tasks    []EditorTask // the tasks that run an operator (not sources)
	Task     string       // the task selected first, "" for the first one
	Lesson   string       // the lesson whose job it is, where Use it returns; "" for the playground
}

// EditorTask is a task of an EditorJob and the operator it runs.
type EditorTask struct {
	Name, Operator string
}
