package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"time"

	"flowlab/examples"
	"flowlab/runtime"
	"flowlab/runtime/spec"
	"flowlab/ui/hub"
)

// start parses a spec and starts it in a session, within the limits and the
// rate of starts of the client (clientOf). If replace names a running job of
// the session, it is canceled to make room.
func (s *Server) start(client string, sess *session, data []byte, replace string) (*job, error) {
	s.mu.Lock()
	wait, ok := s.starts.takeLocked(client, time.Now())
	s.mu.Unlock()
	if !ok {
		return nil, &limitError{retryAfter: wait, msg: fmt.Sprintf(
			"this address started as many jobs as it may for now (%v): try again %s", s.cfg.startRate, retryText(wait))}
	}
	sp, err := spec.Parse(data)
	if err != nil {
		return nil, err
	}
	n := 0
	for _, t := range sp.Tasks {
		n += t.Parallelism
	}
	s.mu.Lock()
	old := s.jobs[replace]
	if old != nil && (old.sess != sess || !old.running) {
		old = nil
	}
	freedJobs, freedSubtasks := 0, 0
	if old != nil {
		freedJobs, freedSubtasks = 1, old.subtasks
	}
	if sess.runningLocked()-freedJobs >= s.cfg.jobsPerSession {
		s.mu.Unlock()
		return nil, &limitError{msg: fmt.Sprintf("this session already runs %d jobs, the most it may: stop one first", s.cfg.jobsPerSession)}
	}
	var evicted []*job // lessons' jobs paused while nobody watched them make room
	for s.running-freedJobs >= s.cfg.jobs || s.subtasks-freedSubtasks+n > s.cfg.subtasks {
		j := s.evictIdleLocked()
		if j == nil {
			break
		}
		evicted = append(evicted, j)
	}
	defer func() { // outside the lock: a job's budget takes it
		for _, j := range evicted {
			j.rt.Cancel()
		}
	}()
	switch {
	case s.running-freedJobs >= s.cfg.jobs:
		s.mu.Unlock()
		return nil, &limitError{msg: fmt.Sprintf("the server already runs %d jobs, the most it may: try again later", s.cfg.jobs)}
	case s.subtasks-freedSubtasks+n > s.cfg.subtasks:
		s.mu.Unlock()
		return nil, &limitError{msg: fmt.Sprintf("the job has %d subtasks, and the server may run only %d more now (at most %d in all)",
			n, max(0, s.cfg.subtasks-s.subtasks+freedSubtasks), s.cfg.subtasks)}
	}
	if old != nil {
		s.releaseLocked(old)
	}
	s.running++ // reserved while the job starts, in all and in the session
	s.subtasks += n
	sess.pending++
	s.mu.Unlock()
	if old != nil {
		old.rt.Cancel() // outside the lock: its budget takes it
	}

	budget := s.newBudget(sess)
	rt, err := s.eng.Start(s.ctx, sp, s.resolver(sess), budget)
	s.mu.Lock()
	defer s.mu.Unlock()
	sess.pending--
	if err != nil {
		s.running--
		s.subtasks -= n
		budget.endLocked()
		return nil, err
	}
	now := time.Now()
	j := &job{id: newID(), sess: sess, rt: rt, budget: budget, started: now, touched: now, running: true, subtasks: n, tickMs: sp.Metrics.Tick.Milliseconds()}
	j.feed = hub.New(rt, int(s.cfg.history/sp.Metrics.Tick))
	s.jobs[j.id] = j
	sess.jobs = append(sess.jobs, j)
	s.trimEndedLocked(sess)
	go func() {
		<-rt.Done()
		s.mu.Lock()
		s.releaseLocked(j)
		s.mu.Unlock()
	}()
	s.log.Info("job started", "job", j.id, "name", sp.Name, "subtasks", n)
	return j, nil
}

// releaseLocked stops counting a job as running, and releases its memory.
func (s *Server) releaseLocked(j *job) {
	if j.running {
		j.running = false
		s.running--
		s.subtasks -= j.subtasks
		j.budget.endLocked()
	}
}

// trimEndedLocked forgets a session's oldest ended jobs beyond keptEnded.
func (s *Server) trimEndedLocked(sess *session) {
	ended := 0
	for _, j := range sess.jobs {
		if !j.running {
			ended++
		}
	}
	kept := sess.jobs[:0]
	for _, j := range sess.jobs {
		if !j.running && ended > keptEnded {
			ended--
			delete(s.jobs, j.id)
			go j.feed.Stop()
			continue
		}
		kept = append(kept, j)
	}
	sess.jobs = kept
}

// startJob is POST /api/jobs: the body is a spec in YAML or JSON;
// ?replace=JID cancels that job of the session first.
func (s *Server) startJob(w http.ResponseWriter, r *http.Request) {
	sess := s.needSession(w, r)
	if sess == nil {
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, spec.MaxSpecSize))
	if err != nil {
		bodyError(w, err, "the spec", spec.MaxSpecSize)
		return
	}
	j, err := s.start(clientOf(r), sess, data, r.URL.Query().Get("replace"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"jid": j.id})
}

// maxChangeSize is the largest body of PATCH /api/jobs/{jid}.
const maxChangeSize = 4 << 10

// change is the body of PATCH /api/jobs/{jid}: one or more live changes.
type change struct {
	Task        string         `json:"task"`
	Rate        *float64       `json:"rate"`
	Cost        *string        `json:"cost"`
	Parallelism *int           `json:"parallelism"`
	Config      map[string]any `json:"config"`
	Operator    *string        `json:"operator"`
	Paused      *bool          `json:"paused"`
	Restart     bool           `json:"restart"`
	Window      *string        `json:"window"`
	Debloat     *debloat       `json:"bufferDebloat"`
	Checkpoint  *checkpointing `json:"checkpoint"`
}

// debloat is a change of buffer debloating: on with a target and a period
// (Go durations; Flink's defaults when left out), or off.
type debloat struct {
	Off    bool   `json:"off"`
	Target string `json:"target"`
	Period string `json:"period"`
}

// spec is the debloating the change asks for: nil for off.
func (d debloat) spec() (*spec.BufferDebloat, error) {
	if d.Off {
		if d.Target != "" || d.Period != "" {
			return nil, errors.New(`bufferDebloat: "off" takes no target or period`)
		}
		return nil, nil
	}
	out := &spec.BufferDebloat{Target: spec.DefaultDebloatTarget, Period: spec.DefaultDebloatPeriod}
	for _, f := range []struct {
		name, text string
		to         *time.Duration
	}{{"target", d.Target, &out.Target}, {"period", d.Period, &out.Period}} {
		if f.text == "" {
			continue
		}
		v, err := time.ParseDuration(f.text)
		if err != nil {
			return nil, fmt.Errorf("bufferDebloat.%s %q is not a duration like 1s or 200ms", f.name, f.text)
		}
		*f.to = v
	}
	return out, nil
}

// checkpointing is a change of checkpoints: on with an interval, a mode and
// timeouts (Go durations), or off. A field left out keeps the job's
// setting while checkpoints are on, else takes the spec's default; the
// interval has none, so turning checkpoints on needs one.
type checkpointing struct {
	Off            bool   `json:"off"`
	Interval       string `json:"interval"`
	Mode           string `json:"mode"`
	Timeout        string `json:"timeout"`
	AlignedTimeout string `json:"aligned-timeout"`
	Retained       *int   `json:"retained"`
}

// spec is the checkpointing the change asks for of a job whose settings
// are current (nil: off): nil for off.
func (c checkpointing) spec(current *spec.Checkpoint) (*spec.Checkpoint, error) {
	change := spec.CheckpointChange{Off: c.Off, Mode: c.Mode, Retained: c.Retained}
	for _, f := range []struct {
		name, text string
		to         **time.Duration
	}{{"interval", c.Interval, &change.Interval}, {"timeout", c.Timeout, &change.Timeout}, {"aligned-timeout", c.AlignedTimeout, &change.AlignedTimeout}} {
		if f.text == "" {
			continue
		}
		v, err := time.ParseDuration(f.text)
		if err != nil {
			return nil, fmt.Errorf("checkpoint.%s %q is not a duration like 5s or 500ms", f.name, f.text)
		}
		*f.to = &v
	}
	return change.Apply(current)
}

// ownJob is the job {jid} of the request's session, which it may change;
// if there is none, it answers why and returns nil.
func (s *Server) ownJob(w http.ResponseWriter, r *http.Request) *job {
	j := s.visibleJob(r, r.PathValue("jid"))
	switch {
	case j == nil:
		writeErrors(w, http.StatusNotFound, "no such job")
		return nil
	case j.cluster != nil:
		writeError(w, http.StatusForbidden, errReadOnly)
		return nil
	}
	return j
}

// changeJob is PATCH /api/jobs/{jid}.
func (s *Server) changeJob(w http.ResponseWriter, r *http.Request) {
	j := s.ownJob(w, r)
	if j == nil {
		return
	}
	var c change
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxChangeSize))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		bodyError(w, err, "the change", maxChangeSize)
		return
	}
	if err := s.apply(j, c); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"jid": j.id})
}

// apply makes the changes of c, stopping at the first error. Changes of
// one job are made one request after the other: a change that restarts the
// job (a rescale, a config) would fail if another were made meanwhile.
func (s *Server) apply(j *job, c change) error {
	j.changing.Lock()
	defer j.changing.Unlock()
	needTask := c.Rate != nil || c.Cost != nil || c.Parallelism != nil || c.Config != nil || c.Operator != nil
	if needTask && c.Task == "" {
		return errors.New(`"task" is required to change a rate, cost, parallelism, config or operator`)
	}
	if c.Rate != nil {
		if err := j.rt.SetRate(c.Task, *c.Rate); err != nil {
			return err
		}
	}
	if c.Cost != nil {
		d, err := time.ParseDuration(*c.Cost)
		if err != nil {
			return fmt.Errorf("cost %q is not a duration like 500us or 2ms", *c.Cost)
		}
		if err := j.rt.SetCost(c.Task, d); err != nil {
			return err
		}
	}
	if c.Parallelism != nil {
		if err := s.rescale(j, c.Task, *c.Parallelism); err != nil {
			return err
		}
	}
	for _, field := range slices.Sorted(maps.Keys(c.Config)) {
		if err := j.rt.SetConfig(c.Task, field, c.Config[field]); err != nil {
			return err
		}
	}
	if c.Operator != nil {
		if err := j.rt.SetOperator(c.Task, *c.Operator); err != nil {
			return err
		}
	}
	if c.Window != nil {
		d, err := time.ParseDuration(*c.Window)
		if *c.Window == "tick" {
			d, err = time.Duration(j.tickMs)*time.Millisecond, nil
		}
		if err != nil {
			return fmt.Errorf("window %q is not a duration like 2s, or tick", *c.Window)
		}
		if err := j.rt.SetWindow(d); err != nil {
			return err
		}
	}
	if c.Debloat != nil {
		d, err := c.Debloat.spec()
		if err != nil {
			return err
		}
		if err := j.rt.SetBufferDebloat(d); err != nil {
			return err
		}
	}
	if c.Checkpoint != nil {
		cp, err := c.Checkpoint.spec(j.rt.Spec().Checkpoint)
		if err != nil {
			return err
		}
		if err := j.rt.SetCheckpointing(cp); err != nil {
			return err
		}
	}
	if c.Paused != nil {
		s.mu.Lock()
		j.idlePaused = false // the learner's to resume now
		s.mu.Unlock()
		j.rt.SetPaused(*c.Paused)
	}
	if c.Restart {
		j.rt.Restart()
	}
	return nil
}

// rescale changes a task's parallelism within the subtask limit.
func (s *Server) rescale(j *job, task string, n int) error {
	sp := j.rt.Spec()
	i := sp.TaskIndex(task)
	if i < 0 {
		return fmt.Errorf("no task %q", task)
	}
	delta := n - sp.Tasks[i].Parallelism
	s.mu.Lock()
	if j.running && delta > 0 && s.subtasks+delta > s.cfg.subtasks {
		s.mu.Unlock()
		return &limitError{msg: fmt.Sprintf("the server may run only %d more subtasks now (at most %d in all)", max(0, s.cfg.subtasks-s.subtasks), s.cfg.subtasks)}
	}
	if j.running {
		s.subtasks += delta
		j.subtasks += delta
	}
	s.mu.Unlock()
	err := j.rt.SetParallelism(task, n)
	if err != nil {
		s.mu.Lock()
		if j.running {
			s.subtasks -= delta
			j.subtasks -= delta
		}
		s.mu.Unlock()
	}
	return err
}

// stateCanceling is Flink's state of a job canceled but not yet ended.
const stateCanceling = "CANCELING"

// cancelWait is how long DELETE /api/jobs/{jid} waits for the job to end
// before it answers that the job is still canceling.
const cancelWait = time.Second

// cancelJob is DELETE /api/jobs/{jid}: the job is canceled and stays
// listed with its final state. It answers 200 with the final state if the
// job ended within cancelWait, else 202 with the state CANCELING: an
// operator that does not stop must not hold the request.
func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request) {
	j := s.ownJob(w, r)
	if j == nil {
		return
	}
	j.rt.Cancel()
	t := time.NewTimer(cancelWait)
	defer t.Stop()
	select {
	case <-j.rt.Done():
		writeJSON(w, http.StatusOK, map[string]string{"jid": j.id, "state": j.rt.Snapshot().State})
	case <-t.C:
		writeJSON(w, http.StatusAccepted, map[string]string{"jid": j.id, "state": stateCanceling})
	}
}

// jobLogs is GET /api/jobs/{jid}/logs?task=NAME: the task's operator logs.
func (s *Server) jobLogs(w http.ResponseWriter, r *http.Request) {
	j := s.visibleJob(r, r.PathValue("jid"))
	if j == nil {
		writeErrors(w, http.StatusNotFound, "no such job")
		return
	}
	lines, err := j.rt.Logs(r.URL.Query().Get("task"))
	if err != nil {
		writeError(w, http.StatusNotFound, err)
		return
	}
	if lines == nil {
		lines = []runtime.LogLine{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"lines": lines})
}

// jobFailures is GET /api/jobs/{jid}/failures.
func (s *Server) jobFailures(w http.ResponseWriter, r *http.Request) {
	j := s.visibleJob(r, r.PathValue("jid"))
	if j == nil {
		writeErrors(w, http.StatusNotFound, "no such job")
		return
	}
	failures := j.rt.Failures()
	if failures == nil {
		failures = []runtime.Failure{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"failures": failures})
}

// jobDiagnosis is GET /api/jobs/{jid}/diagnosis: the doctor's findings,
// each having held for a few seconds (see runtime/doctor).
func (s *Server) jobDiagnosis(w http.ResponseWriter, r *http.Request) {
	j := s.visibleJob(r, r.PathValue("jid"))
	if j == nil {
		writeErrors(w, http.StatusNotFound, "no such job")
		return
	}
	writeJSON(w, http.StatusOK, j.feed.Diagnosis())
}

// listExamples is GET /api/examples: the gallery.
func (s *Server) listExamples(w http.ResponseWriter, r *http.Request) {
	type example struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		YAML        string `json:"yaml"`
	}
	list := []example{}
	for _, ex := range examples.All() {
		list = append(list, example{ex.Name, ex.Description, ex.YAML})
	}
	writeJSON(w, http.StatusOK, map[string]any{"examples": list})
}
