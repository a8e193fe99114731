// Package doctor diagnoses backpressure: fed metric snapshots of a job (a
// Flowlab job or a Flink cluster polled over REST), it names the bottleneck,
// data skew, a hidden legacy source, a slow network link or a load that
// varies, each finding with the numbers it used and what to do, following
// Flink's "How to identify the source of backpressure?" (2021).
//
// Diagnose is a pure function of recent snapshots; Doctor feeds it one
// snapshot per metrics tick and holds findings so that a panel does not
// flicker. docs/DOCTOR.md lists the rules and their thresholds.
package doctor

import (
	"encoding/json"
	"math"
	"slices"
	"time"

	"flowlab/runtime/metrics"
)

// Kind is the type of a finding.
type Kind string

// The kinds of finding, most important first: Findings sorts by this order.
const (
	Bottleneck   Kind = "bottleneck"    // the busy task after the backpressured ones
	Network      Kind = "network"       // full output buffers, empty input buffers, nobody busy
	Skew         Kind = "skew"          // one or few subtasks busy, their siblings idle
	LegacySource Kind = "legacy-source" // a source whose busy time is unknown
	VaryingLoad  Kind = "varying-load"  // busy time that swings with a period
	Healthy      Kind = "healthy"       // no backpressure worth a finding
)

var kindOrder = map[Kind]int{Bottleneck: 0, Network: 1, Skew: 2, LegacySource: 3, VaryingLoad: 4, Healthy: 5}

// Finding is one diagnosis.
type Finding struct {
	Kind     Kind       `json:"kind"`
	Title    string     `json:"title"`              // one line a learner reads first: "sink is the bottleneck"
	Tasks    []string   `json:"tasks"`              // task names it names, the main one first
	Subtasks []Subtask  `json:"subtasks,omitempty"` // the subtasks it names
	Evidence []Evidence `json:"evidence"`           // the numbers it used
	Advice   string     `json:"advice"`
	PeriodMs int64      `json:"periodMs,omitempty"` // varying-load: the period found
	Since    int64      `json:"since"`              // ms since the epoch (snapshot time) the finding has held since
}

// Subtask names one subtask of a task.
type Subtask struct {
	Task    string `json:"task"`
	Subtask int    `json:"subtask"`
}

// Evidence is one number a finding used.
type Evidence struct {
	Task    string  `json:"task"`
	Subtask *int    `json:"subtask,omitempty"`
	Metric  string  `json:"metric"` // Flink's metric name: busyTimeMsPerSecond, buffers.outPoolUsage, ...
	Value   float64 `json:"value"`  // NaN (unknown) is null in JSON
	Text    string  `json:"text"`   // "sink busy 985 ms/s"
}

type evidenceJSON struct {
	Task    string        `json:"task"`
	Subtask *int          `json:"subtask,omitempty"`
	Metric  string        `json:"metric"`
	Value   metrics.Float `json:"value"`
	Text    string        `json:"text"`
}

// MarshalJSON writes NaN (a legacy source's busy time) as null.
func (e Evidence) MarshalJSON() ([]byte, error) {
	return json.Marshal(evidenceJSON{e.Task, e.Subtask, e.Metric, metrics.Float(e.Value), e.Text})
}

// UnmarshalJSON reads null as NaN.
func (e *Evidence) UnmarshalJSON(b []byte) error {
	var j evidenceJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*e = Evidence{j.Task, j.Subtask, j.Metric, float64(j.Value), j.Text}
	return nil
}

// Thresholds, kept in one place; docs/DOCTOR.md explains each.
const (
	minData = 1000 // ms an attempt must have run before a verdict

	waiting       = 100  // backPressuredTimeMsPerSecond above which a task waits on its output (Flink's low level)
	backpressured = 500  // above which it is backpressured (Flink's high level, metrics.Level)
	busy          = 500  // busyTimeMsPerSecond above which a task or subtask is busy (red)
	saturated     = 800  // busy above which a job without backpressure is near its limit
	underused     = 400  // busy below which the busiest task leaves the job underutilized
	fullOutPool   = 0.8  // buffers.outPoolUsage of a sender stuck behind the network
	emptyInPool   = 0.3  // buffers.inPoolUsage of its receiver, waiting for the network
	skewedData    = 50.0 // data skew (percent) worth a word in a healthy job

	resolution  = 250 * time.Millisecond // the finest step of the busy-time series
	minPeriod   = 2 * time.Second        // shorter swings are jitter, not load
	minSwing    = 500                    // ms/s between the 10th and 90th percentile of busy time
	minAutocorr = 0.5                    // autocorrelation at the period
)

// Diagnose is the verdict on the newest snapshot of history (oldest first),
// given the older ones: pure and stateless. It returns no findings before
// the newest attempt has run a second, while the job is CREATED,
// RESTARTING or paused; for a job that has ended it judges the last
// snapshot taken while it ran. Every finding's Since is the time of that
// snapshot. The result is never nil.
func Diagnose(history []*metrics.Job) []Finding {
	sr := newSeries(defaultHistory)
	var last *metrics.Job
	for _, s := range history {
		if s == nil {
			continue
		}
		sr.add(s)
		if s.State == metrics.StateRunning {
			last = s
		}
	}
	if n := len(history); n > 0 && history[n-1] != nil && !metrics.Terminal(history[n-1].State) {
		last = history[n-1] // a verdict on the newest, or none if it is not running
	}
	fs, _ := diagnose(last, sr)
	return fs
}

// diagnose judges s, a snapshot of sr's current attempt; judged is false
// when s gives no verdict at all (not running, paused, too little data, or
// a task with inputs whose busy time is unknown: a Flink cluster answers
// NaN until its metric fetcher first ran; only a legacy source has none).
func diagnose(s *metrics.Job, sr *series) (fs []Finding, judged bool) {
	fs = []Finding{}
	if s == nil || s.State != metrics.StateRunning || s.Paused || (s.Since > 0 && s.Timestamp-s.Since < minData) {
		return fs, false
	}
	g := newGraph(s)
	if len(g.tasks) == 0 || slices.ContainsFunc(g.tasks, (*task).unknown) {
		return fs, false
	}
	fs = append(fs, g.bottlenecks()...)
	fs = append(fs, g.networks()...)
	fs = append(fs, g.skews()...)
	fs = append(fs, g.legacySources()...)
	if f, ok := sr.varyingLoad(g); ok {
		for i := range fs {
			if fs[i].Kind == Bottleneck && slices.Contains(f.Tasks, fs[i].Tasks[0]) {
				fs[i].Advice += " But its load varies (see the varying-load finding): averages name it, and the bottleneck moves."
			}
		}
		fs = append(fs, f)
	}
	if len(fs) == 0 {
		if f, ok := g.healthy(); ok {
			fs = append(fs, f)
		}
	}
	for i := range fs {
		fs[i].Since = s.Timestamp
		if fs[i].Tasks == nil {
			fs[i].Tasks = []string{}
		}
		if fs[i].Evidence == nil {
			fs[i].Evidence = []Evidence{}
		}
	}
	sortFindings(fs)
	return fs, true
}

// key is a finding's identity while Doctor holds it: its kind and main
// tasks (the pair of a network finding; none for varying-load, of which
// there is one per job).
func (f *Finding) key() string {
	switch {
	case f.Kind == VaryingLoad || len(f.Tasks) == 0:
		return string(f.Kind)
	case f.Kind == Network && len(f.Tasks) > 1:
		return string(f.Kind) + "\x00" + f.Tasks[0] + "\x00" + f.Tasks[1]
	}
	return string(f.Kind) + "\x00" + f.Tasks[0]
}

func nan() float64 { return math.NaN() }
