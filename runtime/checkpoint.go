package runtime

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"flowlab/runtime/internal/network"
	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
)

// completed is a completed checkpoint as restores need it: per task name,
// each subtask's snapshot.
type completed struct {
	id    int64
	tasks map[string][]subtaskSnapshot
}

// checkpoints is a job's checkpoint store: its statistics and the completed
// checkpoints it retains, over all attempts. Coordinators write it; any
// goroutine reads it.
type checkpoints struct {
	mu       sync.Mutex
	nextID   int64
	counts   struct{ restored, total, completed, failed int }
	history  []*metrics.Checkpoint // newest first, at most metrics.CheckpointHistory; pending ones are updated in place
	latest   struct{ completed, failed *metrics.Checkpoint }
	restored *metrics.RestoredCheckpoint
	retained []*completed // oldest first
}

// latestCompleted is the checkpoint a restart restores, nil for none.
func (c *checkpoints) latestCompleted() *completed {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.retained) == 0 {
		return nil
	}
	return c.retained[len(c.retained)-1]
}

// coordinator triggers one attempt's checkpoints and collects the
// subtasks' acknowledgements, as Flink's CheckpointCoordinator: at most one
// checkpoint in progress, the next triggered at the first interval tick
// after it ends.
type coordinator struct {
	store    *checkpoints
	cfg      spec.Checkpoint
	g        *graph
	subtasks [][]*subtask
	acks     chan ack
	done     <-chan struct{} // the attempt ended
}

// pending is a checkpoint in progress.
type pending struct {
	id      int64
	stats   *metrics.Checkpoint
	snaps   map[string][]subtaskSnapshot
	missing int
	acked   [][]bool
	timeout *time.Timer
}

func newCoordinator(store *checkpoints, cfg spec.Checkpoint, g *graph, subtasks [][]*subtask, done <-chan struct{}) *coordinator {
	c := &coordinator{store: store, cfg: cfg, g: g, subtasks: subtasks, done: done}
	n := 0
	for _, sts := range subtasks {
		n += len(sts)
	}
	c.acks = make(chan ack, 2*n)
	for _, sts := range subtasks {
		for _, st := range sts {
			st.cp = &barriers{coord: c, timeout: cfg.AlignedTimeout}
			if st.gate != nil {
				st.cp.ended = make([]bool, st.gate.Channels())
			} else {
				st.cp.triggers = make(chan network.Barrier, 1)
			}
		}
	}
	return c
}

// acknowledge sends a subtask's acknowledgement to the coordinator; sizing
// the snapshot is the asynchronous part of the subtask's checkpoint.
func (c *coordinator) acknowledge(a ack) {
	go func() {
		a.stats.StateSize = a.snap.size()
		a.stats.CheckpointedSize = a.stats.StateSize
		end := time.Now()
		a.stats.AsyncDuration = end.Sub(a.snappedAt).Milliseconds() - a.stats.SyncDuration
		a.stats.AckTimestamp = end.UnixMilli()
		select {
		case c.acks <- a:
		case <-c.done:
		}
	}()
}

// size is the bytes of a snapshot: keys, values, operator state, timers
// and in-flight data.
func (s *subtaskSnapshot) size() int64 {
	n := int64(len(s.state.Operator)) + 8*int64(len(s.timers))
	for k, v := range s.state.Keyed {
		n += int64(len(k) + len(v))
	}
	for _, o := range s.inFlight {
		n += int64(len(o.Data))
	}
	return n
}

// run triggers checkpoints every interval until the attempt ends.
func (c *coordinator) run() {
	tick := time.NewTicker(c.cfg.Interval)
	defer tick.Stop()
	finals := make([][]*ack, len(c.subtasks)) // finished subtasks' last state, sized
	for i, sts := range c.subtasks {
		finals[i] = make([]*ack, len(sts))
	}
	var p *pending
	for {
		var timeout <-chan time.Time
		if p != nil {
			timeout = p.timeout.C
		}
		select {
		case <-c.done:
			if p != nil {
				p.timeout.Stop()
				c.fail(p, "the job attempt ended before the checkpoint completed")
			}
			return
		case <-tick.C:
			if p == nil {
				p = c.trigger(finals)
			}
		case <-timeout:
			c.fail(p, fmt.Sprintf("Checkpoint expired before completing: not acknowledged within the timeout of %v", c.cfg.Timeout))
			p = nil
		case a := <-c.acks:
			if a.final {
				final := a
				finals[a.task][a.subtask] = &final
				// Unless the subtask acknowledged the pending one before it
				// finished: its final state holds records after the barrier.
				if p != nil && p.id > a.id {
					a.stats.StartDelay, a.stats.AlignmentDuration = 0, 0
					c.record(p, a)
				}
			} else if p != nil && a.id == p.id {
				if a.err != nil {
					c.fail(p, fmt.Sprintf("Checkpoint declined by %s: %v", c.name(a), a.err))
					p.timeout.Stop()
					p = nil
					continue
				}
				c.record(p, a)
			}
			if p != nil && p.missing == 0 {
				p.timeout.Stop()
				c.complete(p)
				p = nil
			}
		}
	}
}

func (c *coordinator) name(a ack) string {
	t := c.g.tasks[a.task]
	return fmt.Sprintf("%s (%d/%d)", t.spec.Name, a.subtask+1, t.spec.Parallelism)
}

// trigger starts a checkpoint: each running source subtask is told to
// inject its barrier, and finished subtasks count as acknowledged with
// their last state. It returns nil when every source has finished.
func (c *coordinator) trigger(finals [][]*ack) *pending {
	running := false
	for i, sts := range c.subtasks {
		if len(c.g.tasks[i].inputs) > 0 {
			continue
		}
		for k := range sts {
			running = running || finals[i][k] == nil
		}
	}
	if !running {
		return nil
	}
	now := time.Now()
	st := c.store
	st.mu.Lock()
	st.nextID++
	id := st.nextID
	st.counts.total++
	stats := &metrics.Checkpoint{ID: id, Status: metrics.CheckpointInProgress, Unaligned: c.cfg.Mode == spec.Unaligned,
		TriggerTimestamp: now.UnixMilli()}
	p := &pending{id: id, stats: stats, snaps: map[string][]subtaskSnapshot{}, acked: make([][]bool, len(c.subtasks))}
	for i, sts := range c.subtasks {
		t := c.g.tasks[i]
		tc := metrics.TaskCheckpoint{VertexID: t.id, Name: t.spec.Name, Subtasks: make([]metrics.SubtaskCheckpoint, len(sts))}
		for k := range sts {
			tc.Subtasks[k].Index = k
		}
		stats.Tasks = append(stats.Tasks, tc)
		stats.NumSubtasks += len(sts)
		p.snaps[t.spec.Name] = make([]subtaskSnapshot, len(sts))
		p.acked[i] = make([]bool, len(sts))
	}
	p.missing = stats.NumSubtasks
	st.history = append([]*metrics.Checkpoint{stats}, st.history...)
	if len(st.history) > metrics.CheckpointHistory {
		st.history = st.history[:metrics.CheckpointHistory]
	}
	st.mu.Unlock()
	p.timeout = time.NewTimer(c.cfg.Timeout)
	b := network.Barrier{ID: id, Timestamp: now.UnixMilli(), Unaligned: c.cfg.Mode == spec.Unaligned}
	for i, sts := range c.subtasks {
		for k, s := range sts {
			if f := finals[i][k]; f != nil {
				c.record(p, ack{task: i, subtask: k, snap: f.snap, stats: metrics.SubtaskCheckpoint{
					AckTimestamp: now.UnixMilli(), StateSize: f.stats.StateSize, CheckpointedSize: f.stats.CheckpointedSize}})
				continue
			}
			if s.cp.triggers != nil {
				select {
				case s.cp.triggers <- b:
				default: // still holds an earlier trigger: it takes this one's place at the source
					select {
					case <-s.cp.triggers:
					default:
					}
					s.cp.triggers <- b
				}
				select {
				case s.wake <- struct{}{}:
				default:
				}
			}
		}
	}
	return p
}

// record adds a subtask's acknowledgement to a pending checkpoint.
func (c *coordinator) record(p *pending, a ack) {
	if p.acked[a.task][a.subtask] {
		return
	}
	p.acked[a.task][a.subtask] = true
	p.missing--
	p.snaps[c.g.tasks[a.task].spec.Name][a.subtask] = a.snap
	st := c.store
	st.mu.Lock()
	defer st.mu.Unlock()
	s := a.stats
	s.Index = a.subtask
	s.Acknowledged = true
	s.EndToEndDuration = max(0, s.AckTimestamp-p.stats.TriggerTimestamp)
	p.stats.Tasks[a.task].Subtasks[a.subtask] = s
	cs := p.stats
	cs.NumAcknowledged++
	cs.LatestAckTimestamp = max(cs.LatestAckTimestamp, s.AckTimestamp)
	cs.EndToEndDuration = max(0, cs.LatestAckTimestamp-cs.TriggerTimestamp)
	cs.StateSize += s.StateSize
	cs.CheckpointedSize += s.CheckpointedSize
	cs.ProcessedData += s.ProcessedData
	cs.PersistedData += s.PersistedData
	cs.Unaligned = cs.Unaligned || s.Unaligned
}

func (c *coordinator) complete(p *pending) {
	st := c.store
	st.mu.Lock()
	defer st.mu.Unlock()
	p.stats.Status = metrics.CheckpointCompleted
	st.counts.completed++
	st.latest.completed = p.stats
	st.retained = append(st.retained, &completed{id: p.id, tasks: p.snaps})
	if n := len(st.retained) - max(1, c.cfg.Retained); n > 0 {
		st.retained = slices.Delete(st.retained, 0, n)
	}
}

func (c *coordinator) fail(p *pending, msg string) {
	st := c.store
	st.mu.Lock()
	defer st.mu.Unlock()
	p.stats.Status = metrics.CheckpointFailed
	p.stats.FailureTimestamp = time.Now().UnixMilli()
	p.stats.FailureMessage = msg
	p.stats.EndToEndDuration = max(0, p.stats.FailureTimestamp-p.stats.TriggerTimestamp)
	st.counts.failed++
	st.latest.failed = p.stats
}

// restore hands the subtasks of a new attempt the state of checkpoint cp:
// operator state, timers and in-flight data, redistributed where a task's
// parallelism changed. Tasks the checkpoint does not know start empty.
func restore(cp *completed, g *graph, subtasks [][]*subtask) error {
	for i, t := range g.tasks {
		old, ok := cp.tasks[t.spec.Name]
		if !ok {
			continue
		}
		snaps := old
		if len(old) != len(subtasks[i]) {
			var err error
			if snaps, err = rescale(old, len(subtasks[i]), g.spec.Network.BufferSize, keyedInputs(t)); err != nil {
				return fmt.Errorf("restoring checkpoint %d into %d subtasks of %s: %w", cp.id, len(subtasks[i]), t.spec.Name, err)
			}
		}
		for k, st := range subtasks[i] {
			snap := snaps[k]
			if sf, ok := st.operator().(Stateful); ok {
				if err := sf.RestoreState(snap.state); err != nil {
					return st.failed(fmt.Errorf("restoring checkpoint %d: %w", cp.id, err))
				}
			}
			for _, at := range snap.timers {
				if err := st.SetTimer(time.Unix(0, at)); err != nil {
					return st.failed(fmt.Errorf("restoring checkpoint %d: %w", cp.id, err))
				}
			}
			if len(t.inputs) > 0 {
				st.replay = snap.inFlight
			}
		}
	}
	return nil
}

// rescale splits the snapshots of a task's old subtasks among n new ones:
// keyed state by the key groups of the record keys (as a hash edge routes
// them), operator state by subtask index, and every timer to every subtask
// (timers are not keyed: one that finds nothing to do does nothing).
// In-flight records go by key too when byKey (every input is a hash edge),
// else each old subtask's to one new subtask. A state key held by two old
// subtasks cannot be split: an error.
func rescale(old []subtaskSnapshot, n, bufferSize int, byKey bool) ([]subtaskSnapshot, error) {
	out := make([]subtaskSnapshot, n)
	timers := map[int64]bool{}
	batches := make([][]byte, n)
	for k, s := range old {
		if k < n {
			out[k].state.Operator = s.state.Operator
		}
		for key, v := range s.state.Keyed {
			to := &out[network.KeyChannel([]byte(RecordKey(key)), n)]
			if to.state.Keyed == nil {
				to.state.Keyed = map[string][]byte{}
			}
			if _, ok := to.state.Keyed[key]; ok { // copies of a key go to the same subtask
				return nil, fmt.Errorf("state key %q is held by more than one old subtask (%d among them): the task's input is not partitioned by key", key, k)
			}
			to.state.Keyed[key] = v
		}
		for _, at := range s.timers {
			timers[at] = true
		}
		for _, o := range s.inFlight {
			if !byKey {
				out[k%n].inFlight = append(out[k%n].inFlight, o)
				continue
			}
			r := network.NewReader(o.Data)
			for rec, ok := r.Next(); ok; rec, ok = r.Next() {
				i := network.KeyChannel(rec.Key, n)
				if len(batches[i])+network.EncodedSize(rec.Key, rec.Value) > bufferSize {
					out[i].inFlight = append(out[i].inFlight, overtaken(batches[i]))
					batches[i] = nil
				}
				batches[i] = network.AppendRecord(batches[i], rec.TS, rec.Key, rec.Value)
			}
		}
	}
	sorted := slices.Sorted(maps.Keys(timers))
	for i := range out {
		out[i].timers = sorted
		if len(batches[i]) > 0 {
			out[i].inFlight = append(out[i].inFlight, overtaken(batches[i]))
		}
	}
	return out, nil
}

// keyedInputs reports whether every input of t is partitioned by key.
func keyedInputs(t *task) bool { return unkeyedInput(t) == nil }

// unkeyedInput is an input of t not partitioned by key, nil if none is.
func unkeyedInput(t *task) *edge {
	for _, e := range t.inputs {
		if e.part != network.Hash {
			return e
		}
	}
	return nil
}

// checkRescale refuses to rescale a task whose keyed state in the latest
// checkpoint is not partitioned by key: fed otherwise than by hash edges,
// each of its subtasks may hold state for any key, which no split keeps.
func (j *Job) checkRescale(t *task) error {
	cp, e := j.checkpoints.latestCompleted(), unkeyedInput(t)
	if cp == nil || e == nil {
		return nil
	}
	for _, s := range cp.tasks[t.spec.Name] {
		if len(s.state.Keyed) > 0 {
			return fmt.Errorf("%s keeps keyed state, and its input from %s is partitioned by %s, not by key: each of its subtasks may hold state for any key, which a rescale cannot split. Partition its inputs by hash to rescale it",
				t.spec.Name, e.from.spec.Name, e.spec.Partitioning)
		}
	}
	return nil
}

// overtaken describes an encoded batch of records as in-flight data.
func overtaken(data []byte) network.Overtaken {
	o := network.Overtaken{Data: data}
	r := network.NewReader(data)
	for rec, ok := r.Next(); ok; rec, ok = r.Next() {
		if o.Records == 0 || rec.TS < o.Earliest {
			o.Earliest = rec.TS
		}
		o.Latest = max(o.Latest, rec.TS)
		o.Records++
	}
	return o
}

// SubtaskState is one subtask's keyed state, as Job.State reports it.
type SubtaskState struct {
	Subtask int
	StateView
}

// Checkpoints reports the job's checkpoint statistics (a copy).
func (j *Job) Checkpoints() *metrics.Checkpoints {
	j.mu.Lock()
	cfg := j.graph.spec.Checkpoint
	j.mu.Unlock()
	st := &j.checkpoints
	st.mu.Lock()
	defer st.mu.Unlock()
	out := &metrics.Checkpoints{Enabled: cfg != nil,
		Restored: st.counts.restored, Total: st.counts.total, Completed: st.counts.completed, Failed: st.counts.failed}
	out.InProgress = out.Total - out.Completed - out.Failed
	if cfg != nil {
		out.Config = metrics.CheckpointConfig{IntervalMs: cfg.Interval.Milliseconds(), TimeoutMs: cfg.Timeout.Milliseconds(),
			Unaligned: cfg.Mode == spec.Unaligned, AlignedTimeoutMs: cfg.AlignedTimeout.Milliseconds(), Retained: cfg.Retained}
	}
	now := time.Now().UnixMilli()
	index := map[*metrics.Checkpoint]*metrics.Checkpoint{}
	for _, c := range st.history {
		cc := copyCheckpoint(c)
		if cc.Status == metrics.CheckpointInProgress {
			cc.EndToEndDuration = max(0, now-cc.TriggerTimestamp)
		}
		index[c] = &cc
		out.History = append(out.History, cc)
	}
	pick := func(c *metrics.Checkpoint) *metrics.Checkpoint {
		if c == nil {
			return nil
		}
		if cc, ok := index[c]; ok {
			return cc
		}
		cc := copyCheckpoint(c)
		return &cc
	}
	out.LatestCompleted, out.LatestFailed = pick(st.latest.completed), pick(st.latest.failed)
	if st.restored != nil {
		r := *st.restored
		out.LatestRestored = &r
	}
	return out
}

func copyCheckpoint(c *metrics.Checkpoint) metrics.Checkpoint {
	cc := *c
	cc.Tasks = slices.Clone(c.Tasks)
	for i := range cc.Tasks {
		cc.Tasks[i].Subtasks = slices.Clone(c.Tasks[i].Subtasks)
	}
	return cc
}

// State looks at the keyed state of every subtask of task as it runs, with
// up to max entries each. A task whose operator keeps no keyed state
// reports subtasks without keys.
func (j *Job) State(task string, max int) ([]SubtaskState, error) {
	j.mu.Lock()
	_, i, err := j.task(task)
	var sts []*subtask
	if err == nil && i < len(j.subtasks) {
		sts = j.subtasks[i]
	}
	j.mu.Unlock()
	if err != nil {
		return nil, err
	}
	out := make([]SubtaskState, len(sts))
	for k, st := range sts {
		out[k].Subtask = k
		if v, ok := st.operator().(StateViewer); ok {
			out[k].StateView = v.ViewState(max)
		}
	}
	return out, nil
}

// SetCheckpointing changes the job's checkpoint settings (nil turns
// checkpoints off) and restarts it from its latest completed checkpoint.
func (j *Job) SetCheckpointing(c *spec.Checkpoint) error {
	if c != nil {
		if err := c.Check(); err != nil {
			return err
		}
		cc := *c
		c = &cc
	}
	return j.reconfigure("", func(s *spec.Job, _ int) { s.Checkpoint = c })
}

// runCoordinator starts the coordinator of an attempt, if checkpoints are
// on, and returns a function that waits for it to end after ctx is done.
func (j *Job) runCoordinator(ctx context.Context, g *graph, subtasks [][]*subtask) (wait func()) {
	cfg := g.spec.Checkpoint
	if cfg == nil {
		return func() {}
	}
	c := newCoordinator(&j.checkpoints, *cfg, g, subtasks, ctx.Done())
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		c.run()
	}()
	return func() { <-ended }
}

// restoredFrom counts a restore of checkpoint cp.
func (c *checkpoints) restoredFrom(cp *completed, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts.restored++
	c.restored = &metrics.RestoredCheckpoint{ID: cp.id, RestoreTimestamp: at.UnixMilli()}
}

// lastCompleted is the subtasks' numbers of the latest completed checkpoint,
// by task name.
func (c *checkpoints) lastCompleted() map[string][]metrics.SubtaskCheckpoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.latest.completed == nil {
		return nil
	}
	out := map[string][]metrics.SubtaskCheckpoint{}
	for _, t := range c.latest.completed.Tasks {
		out[t.Name] = t.Subtasks // never modified once completed
	}
	return out
}

// discard drops the retained checkpoints.
func (c *checkpoints) discard() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.retained = nil
}
