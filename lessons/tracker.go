package lessons

import (
	"time"

	"flowlab/runtime/metrics"
)

// Tracker follows one learner through a lesson: it checks the current
// step's goal on every snapshot, and moves on once the goal has held long
// enough and, in a step with Continue, the learner has pressed Continue.
// A goal reached stays reached for its step: what the learner was asked to
// look at may pass (a window fires, then drains) while they read.
type Tracker struct {
	lesson  *Lesson
	step    int
	hints   int
	since   int64 // snapshot time (ms) since which the goal holds; -1 if it does not
	reached bool  // the step's goal has held long enough
	Learner Learner
	// Profiler, if set, answers the flame graphs of the lesson's job for
	// the flame graph conditions (hottest, flame); without it they do not
	// hold. Set it before the first Observe.
	Profiler Profiler
	// Checkpointer, if set, answers the checkpoint statistics and keyed
	// state of the lesson's job for the checkpoint and state conditions
	// (checkpoint.duration, restored, state(count).keys, ...); without it
	// they do not hold. Set it before the first Observe.
	Checkpointer Checkpointer
	stepSince    int64 // the timestamp of the first snapshot observed in the step; -1 before
}

// NewTracker starts a lesson at its first step.
func NewTracker(l *Lesson) *Tracker { return &Tracker{lesson: l, since: -1, stepSince: -1} }

// Progress is where a learner is in a lesson.
type Progress struct {
	Step    int             `json:"step"`    // index of the current step; len(steps) when done
	Hints   int             `json:"hints"`   // hints revealed in this step
	Holding bool            `json:"holding"` // the goal holds now
	Held    Duration        `json:"held"`    // for how long
	Need    Duration        `json:"need"`    // how long it must hold
	Met     map[string]bool `json:"met"`     // each condition of the goal: holds now
	Reached bool            `json:"reached"` // the goal has held long enough: a step with Continue waits for the learner
	Done    bool            `json:"done"`
}

// Observe checks a snapshot against the current step's goal and returns the
// progress, moving to the next step when the goal has held for long enough.
func (t *Tracker) Observe(snap *metrics.Job) Progress {
	if t.step == len(t.lesson.Steps) {
		return t.progress(nil, 0)
	}
	st := t.lesson.Steps[t.step]
	goal := &st.Goal
	met := make(map[string]bool, len(goal.conds))
	settling := settling(snap)
	if t.stepSince < 0 && snap.Timestamp > 0 { // a job's very first snapshot may not have one
		t.stepSince = snap.Timestamp
	}
	f := &facts{snap: snap, learner: &t.Learner, profiler: t.Profiler, checkpointer: t.Checkpointer, stepSince: t.stepSince}
	all := true
	for _, c := range goal.conds {
		met[c.text] = c.holds(f) && !(settling && c.kind == "metric")
		all = all && met[c.text]
	}
	if !t.reached {
		if !all || snap.State != metrics.StateRunning {
			t.since = -1
			return t.progress(met, 0)
		}
		if t.since < 0 {
			t.since = snap.Timestamp
		}
		held := time.Duration(snap.Timestamp-t.since) * time.Millisecond
		if held < goal.Hold() {
			return t.progress(met, held)
		}
		t.reached = true
	}
	if !st.Continue || t.Learner.Continued {
		t.Next()
		return t.progress(nil, 0)
	}
	return t.progress(met, goal.Hold())
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
		p.Reached = t.reached
		p.Holding = t.since >= 0 || t.reached
		p.Held = Duration{held}
		p.Need = Duration{t.lesson.Steps[t.step].Goal.Hold()}
	}
	return p
}

// Next moves to the next step, as when its goal is reached.
func (t *Tracker) Next() {
	if t.step < len(t.lesson.Steps) {
		t.step++
		t.hints, t.since, t.stepSince, t.reached = 0, -1, -1, false
		t.Learner.Picked, t.Learner.Answer, t.Learner.Continued = "", "", false
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
