package handlers

import (
	"slices"
	"sync"

	"flowlab/lessons"
)

// lessonRun is a session's run of a lesson: the lesson's job and the
// tracker that follows the learner through its steps. follow observes every
// snapshot of the job, so a goal is checked even while no page asks.
type lessonRun struct {
	lesson *lessons.Lesson
	job    *job
	stop   chan struct{} // closed when the run is replaced or its session forgotten

	mu       sync.Mutex
	tracker  *lessons.Tracker
	progress lessons.Progress // as of the last snapshot observed
}

func newLessonRun(l *lessons.Lesson, j *job, uploaded []string) *lessonRun {
	r := &lessonRun{lesson: l, job: j, stop: make(chan struct{}), tracker: lessons.NewTracker(l)}
	r.tracker.Learner.Uploaded = uploaded
	if p, ok := j.rt.(lessons.Profiler); ok { // flame graph goals (hottest, flame) read the job's
		r.tracker.Profiler = p
	}
	r.tracker.Checkpointer = j.rt // checkpoint and state goals
	r.observeLocked()
	return r
}

// follow observes the job's snapshots until the job ends or the run stops.
func (r *lessonRun) follow() {
	rt := r.job.rt
	for {
		updated := rt.Updated()
		r.observe()
		select {
		case <-updated:
		case <-rt.Done():
			r.observe()
			return
		case <-r.stop:
			return
		}
	}
}

// update changes what the learner has done with f, unless f fails, then
// observes the latest snapshot: an answer that meets a goal moves on at once.
func (r *lessonRun) update(f func(t *lessons.Tracker) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := f(r.tracker); err != nil {
		return err
	}
	r.observeLocked()
	return nil
}

// observe checks the job's latest snapshot against the goal.
func (r *lessonRun) observe() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.observeLocked()
}

func (r *lessonRun) observeLocked() {
	r.progress = r.tracker.Observe(r.job.rt.Snapshot())
}

// uploaded notes an operator the learner has uploaded.
func (r *lessonRun) uploaded(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.tracker.Learner.Uploaded, name) {
		r.tracker.Learner.Uploaded = append(r.tracker.Learner.Uploaded, name)
	}
}

// step is the learner's step, nil when the lesson is done.
func (r *lessonRun) stepLocked() *lessons.Step {
	if r.progress.Done {
		return nil
	}
	return r.lesson.Steps[r.progress.Step]
}

// progressJSON is the answer of the lesson API: docs/API.md.
type progressJSON struct {
	lessons.Progress
	Lesson   string          `json:"lesson"`
	JID      string          `json:"jid"`
	State    string          `json:"state"` // of the job
	Steps    int             `json:"steps"`
	HeldMs   int64           `json:"heldMs"`
	NeedMs   int64           `json:"needMs"`
	Revealed []string        `json:"revealed"` // the hints revealed in this step
	Learner  lessons.Learner `json:"learner"`
}

func (r *lessonRun) json() progressJSON {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := progressJSON{
		Progress: r.progress, Lesson: r.lesson.ID, JID: r.job.id, State: r.job.rt.Snapshot().State,
		Steps: len(r.lesson.Steps), HeldMs: r.progress.Held.Milliseconds(), NeedMs: r.progress.Need.Milliseconds(),
		Revealed: []string{}, Learner: r.tracker.Learner,
	}
	if st := r.stepLocked(); st != nil {
		p.Revealed = st.Hints[:r.progress.Hints]
	}
	p.Learner.Uploaded = slices.Clone(p.Learner.Uploaded)
	return p
}
