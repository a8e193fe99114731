package lessons

import (
	"time"

	"flowlab/runtime/metrics"
)

// Tracker follows one learner through a lesson: it checks the current
// step's goal on every snapshot and moves on once it has held long enough.
type Tracker struct {
	lesson  *Lesson
	step    int
	hints   int
	since   int64 // snapshot time (ms) since which the goal holds; -1 if it does not
	Learner Learner
}

// NewTracker starts a lesson at its first step.
func NewTracker(l *Lesson) *Tracker { return &Tracker{lesson: l, since: -1} }

// Progress is where a learner is in a lesson.
type Progress struct {
	Step    int             `json:"step"`    // index of the current step; len(steps) when done
	Hints   int             `json:"hints"`   // hints revealed in this step
	Holding bool            `json:"holding"` // the goal holds now
	Held    Duration        `json:"held"`    // for how long
	Need    Duration        `json:"need"`    // how long it must hold
	Met     map[string]bool `json:"met"`     // each condition of the goal: holds now
	Done    bool            `json:"done"`
}

// Observe checks a snapshot against the current step's goal and returns the
// progress, moving to the next step when the goal has held for long enough.
func (t *Tracker) Observe(snap *metrics.Job) Progress {
	if t.step == len(t.lesson.Steps) {
		return t.progress(nil, 0)
	}
	goal := &t.lesson.Steps[t.step].Goal
	met := make(map[string]bool, len(goal.conds))
	settling := settling(snap)
	all := true
	for _, c := range goal.conds {
		met[c.text] = c.holds(snap, &t.Learner) && !(settling && c.kind == "metric")
		all = all && met[c.text]
	}
	if !all || snap.State != metrics.StateRunning {
		t.since = -1
		return t.progress(met, 0)
	}
	if t.since < 0 {
		t.since = snap.Timestamp
	}
	held := time.Duration(snap.Timestamp-t.since) * time.Millisecond
	if held >= goal.Hold() {
		t.Next()
		return t.progress(nil, 0)
	}
	return t.progress(met, held)
}

// settling reports whether the metrics of a job's current subtasks still
// average over less than the window (up to 2 s): right after a start,
// restart or rescale they are noise, and no metric goal counts.
func settling(snap *metrics.Job) bool {
	return snap.Since == 0 || snap.Timestamp-snap.Since < min(snap.WindowMs, 2000)
}

func (t *Tracker) progress(met map[string]bool, held time.Duration) Progress {
	p := Progress{Step: t.step, Hints: t.hints, Met: met, Done: t.step == len(t.lesson.Steps)}
	if !p.Done {
		p.Holding = t.since >= 0
		p.Held = Duration{held}
		p.Need = Duration{t.lesson.Steps[t.step].Goal.Hold()}
	}
	return p
}

// Next moves to the next step, as when its goal is reached.
func (t *Tracker) Next() {
	if t.step < len(t.lesson.Steps) {
		t.step++
		t.hints, t.since = 0, -1
		t.Learner.Picked, t.Learner.Answer = "", ""
	}
}

// Hint reveals the next hint of the current step and returns the hints
// revealed so far.
func (t *Tracker) Hint() []string {
	if t.step == len(t.lesson.Steps) {
		return nil
	}
	hints := t.lesson.Steps[t.step].Hints
	t.hints = min(t.hints+1, len(hints))
	return hints[:t.hints]
}
