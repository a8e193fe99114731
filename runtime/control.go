package runtime

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
)

// errRestart ends an attempt so that a fresh one starts at once, without
// counting as a failure: a restart or a rescale asked for while it runs.
var errRestart = errors.New("restart requested")

// RateSetter is a source whose rate can change while it runs.
type RateSetter interface {
	Rate() float64 // records per second, 0 for as fast as possible
	SetRate(recordsPerSecond float64)
}

// SetRate changes the rate of a source task, in records per second per
// subtask (0 for as fast as possible), from now on and across restarts.
func (j *Job) SetRate(task string, rate float64) error {
	if math.IsNaN(rate) || rate < 0 || rate > maxRate {
		return fmt.Errorf("rate must be between 0 and %g records per second, got %g", float64(maxRate), rate)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	t, i, err := j.task(task)
	if err != nil {
		return err
	}
	noRate := fmt.Errorf("task %q has no rate: only the sources %s and %s do", task, OpGenerator, OpLegacyGenerator)
	if t.prepared.NewSource == nil {
		return noRate
	}
	var subtasks []*subtask
	if j.subtasks != nil {
		for _, st := range j.subtasks[i] {
			if _, ok := st.src.(RateSetter); !ok {
				return noRate
			}
		}
		subtasks = j.subtasks[i]
	}
	t.rate = &rate
	for _, st := range subtasks {
		st.src.(RateSetter).SetRate(rate)
		st.reschedule() // the new rate takes effect now, not at the old rate's next record
	}
	return nil
}

// SetCost changes a task's simulated cost per record, within a metrics tick:
// the rest of a batch being spent at the old cost is spent at the new one.
func (j *Job) SetCost(task string, cost time.Duration) error {
	if cost < 0 || cost > spec.MaxCost {
		return fmt.Errorf("cost must be between 0 and %v, got %v", spec.MaxCost, cost)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	t, _, err := j.task(task)
	if err != nil {
		return err
	}
	t.cost.Store(int64(cost))
	return nil
}

// SetParallelism rescales a task: the job's subtasks restart at once with n
// subtasks for it, as Flink's adaptive scheduler restarts a job to rescale
// it. Forward edges of the task whose ends would differ in parallelism
// become rebalance edges. Live changes (rates, costs, the window) carry over.
func (j *Job) SetParallelism(task string, n int) error {
	if n < 1 || n > spec.MaxParallelism {
		return fmt.Errorf("parallelism must be between 1 and %d, got %d", spec.MaxParallelism, n)
	}
	j.mu.Lock()
	t, _, err := j.task(task)
	j.mu.Unlock()
	if err != nil {
		return err
	}
	if err := j.checkRescale(t); err != nil {
		return err
	}
	return j.reconfigure(task, func(s *spec.Job, i int) {
		s.Tasks[i].Parallelism = n
		for k, e := range s.Edges {
			if e.Partitioning == spec.Forward && (e.From == task || e.To == task) &&
				s.Tasks[s.TaskIndex(e.From)].Parallelism != s.Tasks[s.TaskIndex(e.To)].Parallelism {
				s.Edges[k].Partitioning = spec.Rebalance
			}
		}
	})
}

// SetConfig changes one field of a task's operator config (a generator's
// skew, say). The operator checks the new config, and the job's subtasks
// restart at once with it, as for a rescale.
func (j *Job) SetConfig(task, field string, value any) error {
	return j.reconfigure(task, func(s *spec.Job, i int) {
		config := maps.Clone(s.Tasks[i].Config)
		if config == nil {
			config = map[string]any{}
		}
		config[field] = value
		s.Tasks[i].Config = config
	})
}

// SetOperator replaces a task's operator (with one uploaded, say), keeping
// its config; the job's subtasks restart at once with it.
func (j *Job) SetOperator(task, operator string) error {
	return j.reconfigure(task, func(s *spec.Job, i int) { s.Tasks[i].Operator = operator })
}

// SetBufferDebloat turns buffer debloating on with d, or off with nil; the
// job's subtasks restart at once with it, as for a rescale. Target and
// period must be within the spec's bounds for network.buffer-debloat.
func (j *Job) SetBufferDebloat(d *spec.BufferDebloat) error {
	if d != nil {
		if err := d.Check(); err != nil {
			return err
		}
		d = &spec.BufferDebloat{Target: d.Target, Period: d.Period}
	}
	return j.reconfigure("", func(s *spec.Job, _ int) { s.Network.BufferDebloat = d })
}

// reconfigure changes the spec of a task (of the job as a whole if task is
// "", i is then -1) and restarts the job with it. An invalid change is an
// error and changes nothing.
func (j *Job) reconfigure(task string, change func(s *spec.Job, i int)) error {
	j.mu.Lock()
	if task != "" {
		if _, _, err := j.task(task); err != nil {
			j.mu.Unlock()
			return err
		}
	}
	if err := j.ended(); err != nil {
		j.mu.Unlock()
		return err
	}
	s, old := j.specLocked(), j.graph
	j.mu.Unlock()

	change(s, s.TaskIndex(task))
	g, err := compile(s, j.resolve) // outside the lock: Wasm configs are checked by running the module
	if err != nil {
		var errs spec.Errors
		if errors.As(err, &errs) && len(errs) == 1 {
			return errors.New(errs[0].Field + ": " + errs[0].Msg) // no line: the spec was not typed
		}
		return err
	}
	f := g.footprint()
	grow := f.Total() - old.footprint().Total()
	if grow > 0 {
		if err := j.reserve(grow, f); err != nil {
			return err
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	err = j.ended()
	if err == nil && j.graph != old {
		err = errors.New("the job was changed meanwhile: try again")
	}
	if err != nil {
		j.budget.Release(max(grow, 0))
		return err
	}
	j.budget.Release(max(-grow, 0))
	for _, t := range g.tasks {
		t.cost.Store(old.tasks[old.spec.TaskIndex(t.spec.Name)].cost.Load())
	}
	j.graph, j.subtasks = g, nil
	j.restartLocked()
	return nil
}

// Restart replaces every subtask and operator with fresh ones, at once; it
// does not count as a failure.
func (j *Job) Restart() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.restartLocked()
}

func (j *Job) restartLocked() {
	if j.endAttempt != nil {
		j.endAttempt(errRestart)
	}
}

// SetPaused pauses or resumes the job's sources. Paused sources emit nothing
// and count as idle, so the tasks downstream drain and turn idle too.
func (j *Job) SetPaused(paused bool) { j.pause.set(paused) }

// SetWindow changes the window the time metrics average over, from one tick
// to spec.MaxWindowTicks ticks. A longer window fills as time passes.
func (j *Job) SetWindow(d time.Duration) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := (spec.Metrics{Window: d, Tick: j.tick}).CheckWindow(); err != nil {
		return fmt.Errorf("window: %w", err)
	}
	j.window = d
	for _, sts := range j.subtasks {
		for _, st := range sts {
			st.window.resize(d, j.tick)
		}
	}
	return nil
}

// Spec is the job's spec with the live changes applied: rates, costs,
// parallelism and window.
func (j *Job) Spec() *spec.Job {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.specLocked()
}

func (j *Job) specLocked() *spec.Job {
	s := *j.graph.spec
	s.Metrics.Window = j.window
	s.Tasks = slices.Clone(s.Tasks)
	s.Edges = slices.Clone(s.Edges)
	for i, t := range j.graph.tasks {
		s.Tasks[i].Cost = time.Duration(t.cost.Load())
		if t.rate != nil {
			s.Tasks[i].Config = maps.Clone(s.Tasks[i].Config)
			if s.Tasks[i].Config == nil {
				s.Tasks[i].Config = map[string]any{}
			}
			s.Tasks[i].Config["rate"] = *t.rate
		}
	}
	return &s
}

// Logs is what the operators of a task have logged, all subtasks merged,
// oldest first.
func (j *Job) Logs(task string) ([]LogLine, error) {
	j.mu.Lock()
	if _, _, err := j.task(task); err != nil {
		j.mu.Unlock()
		return nil, err
	}
	logs := j.logs[task]
	j.mu.Unlock()
	var lines []LogLine
	for _, l := range logs {
		lines = append(lines, l.Lines()...)
	}
	slices.SortStableFunc(lines, func(a, b LogLine) int { return a.Time.Compare(b.Time) })
	return lines, nil
}

// logsOf returns the logs of a subtask, kept across attempts and rescales.
func (j *Job) logsOf(task string, subtask int) *Logs {
	j.mu.Lock()
	defer j.mu.Unlock()
	logs := j.logs[task]
	for len(logs) <= subtask {
		logs = append(logs, NewLogs(len(logs)))
	}
	j.logs[task] = logs
	return logs[subtask]
}

// maxFailures is how many failures a job keeps.
const maxFailures = 100

// Failure is one failure of a subtask, which restarted or failed the job.
type Failure struct {
	Time    time.Time `json:"time"`
	Task    string    `json:"task"`
	Subtask int       `json:"subtask"`
	Message string    `json:"message"`
}

// Failures are the job's failures, oldest first, at most the last 100.
func (j *Job) Failures() []Failure {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.failures)
}

func (j *Job) addFailure(err error) {
	f := Failure{Time: time.Now(), Subtask: -1, Message: err.Error()}
	var se *SubtaskError
	if errors.As(err, &se) {
		f.Task, f.Subtask, f.Message = se.Task, se.Subtask, se.Err.Error()
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.failures) == maxFailures {
		j.failures = slices.Delete(j.failures, 0, 1)
	}
	j.failures = append(j.failures, f)
}

// SubtaskError is why a subtask failed.
type SubtaskError struct {
	Task        string
	Subtask     int // from 0
	Parallelism int
	Err         error
}

func (e *SubtaskError) Error() string {
	return fmt.Sprintf("task %q subtask %d/%d: %v", e.Task, e.Subtask+1, e.Parallelism, e.Err)
}

func (e *SubtaskError) Unwrap() error { return e.Err }

// task finds a task of the current graph by name; j.mu is held.
func (j *Job) task(name string) (*task, int, error) {
	for i, t := range j.graph.tasks {
		if t.spec.Name == name {
			return t, i, nil
		}
	}
	names := make([]string, len(j.graph.tasks))
	for i, t := range j.graph.tasks {
		names[i] = t.spec.Name
	}
	return nil, -1, fmt.Errorf("no task %q in job %q (tasks: %s)", name, j.graph.spec.Name, strings.Join(names, ", "))
}

// ended is an error once the job has ended; j.mu is held.
func (j *Job) ended() error {
	switch j.state {
	case metrics.StateFinished, metrics.StateCanceled, metrics.StateFailed:
		return fmt.Errorf("job %q has ended (%s)", j.graph.spec.Name, j.state)
	}
	return nil
}

// pauser holds sources back while the job is paused. Sources read it once
// per emit, so reading takes no lock.
type pauser struct {
	mu      sync.Mutex                    // serializes set
	resumed atomic.Pointer[chan struct{}] // nil while running; closed on resume
}

func (p *pauser) set(paused bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch cur := p.resumed.Load(); {
	case paused && cur == nil:
		ch := make(chan struct{})
		p.resumed.Store(&ch)
	case !paused && cur != nil:
		p.resumed.Store(nil)
		close(*cur)
	}
}

// wait is nil while running, else a channel closed on resume.
func (p *pauser) wait() <-chan struct{} {
	if ch := p.resumed.Load(); ch != nil {
		return *ch
	}
	return nil
}
