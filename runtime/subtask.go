package runtime

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"sync/atomic"
	"time"

	"flowlab/runtime/internal/network"
)

// costSlack is how far behind its cost schedule a subtask may fall and still
// catch up: sleeps overshoot a little and the next record's sleep is shortened
// by as much, so sub-millisecond costs add up exactly; beyond the slack the
// lag is real work (or a wait) and the schedule restarts.
const costSlack = 2 * time.Millisecond

// subtask is one parallel instance of a task: a single goroutine that takes
// input, calls the operator and writes output, like Flink's mailbox loop.
type subtask struct {
	task    *task
	index   int
	attempt int // the job's attempt this subtask runs in, from 0
	done    <-chan struct{}
	pause   *pauser
	logs    *Logs
	proc    Processor
	src     Source
	gate    *network.Gate // nil for sources
	debloat *debloater    // nil for sources and without buffer debloating
	writers []*network.Writer
	cp      *barriers           // nil while checkpoints are off
	replay  []network.Overtaken // in-flight data of the restored checkpoint, taken before the gate's

	clk         clock
	started     time.Time // when the attempt started the subtask; set before it runs
	in, out     int64     // records, owned by the loop
	inBytes     int64     // encoded bytes taken in and emitted, owned by the loop
	outBytes    int64
	inPub       atomic.Int64 // published once per batch for the sampler
	outPub      atomic.Int64
	inBytesPub  atomic.Int64
	outBytesPub atomic.Int64
	timer       *time.Timer
	timers      timerHeap
	pending     map[int64]bool // timers set, by UnixNano, to fire each once
	flushAt     time.Time
	busyUntil   time.Time
	tick        time.Duration // the metrics tick: the longest slice of cost spent at one cost
	window      *window       // owned by the sampler
	latency     latencyRecorder
	latencyPrev latencyHist // what latency held at the last tick, owned by the sampler

	// A source whose rate changed is asked again at once, not at the time
	// its last Emit asked for, which the old rate set (at 1e-6 records/s,
	// days away).
	rescheduled atomic.Bool
	wake        chan struct{} // wakes a waiting source after rescheduled is set

	// What the loop is doing, for the profiler: set at every step of the
	// loop, and in Emit only while profiled (once per record otherwise).
	phase    atomic.Uint32
	profiled atomic.Bool
}

func (s *subtask) Task() string     { return s.task.spec.Name }
func (s *subtask) Subtask() int     { return s.index }
func (s *subtask) Parallelism() int { return s.task.spec.Parallelism }
func (s *subtask) SetTimer(at time.Time) error {
	if s.pending == nil { // an operator may set timers as it starts
		s.pending = map[int64]bool{}
	}
	if s.pending[at.UnixNano()] {
		return nil
	}
	if len(s.pending) >= MaxTimers {
		return fmt.Errorf("more than the limit of %d timers pending", MaxTimers)
	}
	s.pending[at.UnixNano()] = true
	heap.Push(&s.timers, at)
	return nil
}

func (s *subtask) OutputWait() time.Duration { return s.clk.waited(waitHard, time.Now()) }
func (s *subtask) Logs() *Logs               { return s.logs }
func (s *subtask) Done() <-chan struct{}     { return s.done }

// failed wraps an error of the subtask's operator as a *SubtaskError.
func (s *subtask) failed(err error) error {
	return &SubtaskError{Task: s.task.spec.Name, Subtask: s.index, Parallelism: s.task.spec.Parallelism, Err: err}
}

// Emit implements Output for the operator: the record goes to every output.
func (s *subtask) Emit(ts int64, key, value []byte) error {
	if p, ok := s.enterEmit(); ok {
		defer s.phase.Store(p)
	}
	for _, w := range s.writers {
		if err := w.Emit(ts, key, value); err != nil {
			return err
		}
	}
	s.out++
	s.outBytes += int64(network.EncodedSize(key, value) * len(s.writers))
	return nil
}

// enterEmit marks the loop as emitting while it is profiled (a load of a
// flag otherwise) and returns the phase to restore.
func (s *subtask) enterEmit() (phase uint32, marked bool) {
	if !s.profiled.Load() {
		return 0, false
	}
	p := s.phase.Load()
	s.phase.Store(p | phaseEmitting)
	return p, true
}

// EmitBatch implements BatchOutput for the operator: the records go to every
// output, each writer taking the whole batch in turn, so each channel gets
// the same records in the same order as from Emit record by record. Canceled
// while waiting for a buffer, it returns 0 and ErrCanceled though part of the
// batch may be sent: the subtask is ending, and its counts with it.
func (s *subtask) EmitBatch(data []byte) (int, error) {
	if len(s.writers) == 1 { // it checks as it writes: one walk
		if p, ok := s.enterEmit(); ok {
			defer s.phase.Store(p)
		}
		n, err := s.writers[0].CheckEmitBatch(data)
		if err != nil {
			return 0, err
		}
		s.count(n, len(data))
		return n, nil
	}
	limit := math.MaxInt // what no writer takes is only counted, as by Emit
	for _, w := range s.writers {
		limit = min(limit, w.Pool().BufferSize())
	}
	n, err := network.Check(data, limit)
	if err != nil {
		return 0, err
	}
	if err := s.emitChecked(Batch{data: data, n: n}); err != nil {
		return 0, err
	}
	return n, nil
}

// emitChecked is EmitBatch of a batch known to be well formed with records
// that fit the outputs' buffers: one that came in through the gate, whose
// writers upstream had buffers of the same size.
func (s *subtask) emitChecked(b Batch) error {
	if p, ok := s.enterEmit(); ok {
		defer s.phase.Store(p)
	}
	for _, w := range s.writers {
		if err := w.EmitBatch(b.data); err != nil {
			return err
		}
	}
	s.count(b.n, len(b.data))
	return nil
}

// count adds n records of size bytes, sent to every writer, to the output
// counters.
func (s *subtask) count(n, size int) {
	s.out += int64(n)
	s.outBytes += int64(size * len(s.writers))
}

// publishOut publishes the output counters for the sampler.
func (s *subtask) publishOut() {
	s.outPub.Store(s.out)
	s.outBytesPub.Store(s.outBytes)
}

// run runs the subtask to its end and reports why it ended: nil when all its
// input has ended (or its source is done), an error naming the subtask otherwise.
func (s *subtask) run(ctx context.Context) (err error) {
	s.phase.Store(phaseLoop)
	defer func() {
		s.phase.Store(phaseOff)
		if c, ok := s.operator().(Closer); ok {
			err = errors.Join(err, c.Close())
		}
		if err != nil && ctx.Err() == nil {
			err = s.failed(err)
		}
	}()
	s.timer = time.NewTimer(time.Hour)
	defer s.timer.Stop()
	s.flushAt = time.Now().Add(s.task.flushEvery())
	switch {
	case s.src != nil && s.task.prepared.Legacy:
		// Like Flink's legacy SourceFunction: the emit loop has a goroutine
		// of its own and never asks whether the output is available.
		errc := make(chan error, 1)
		go func() { errc <- safely(func() error { return s.runSource(false) }) }()
		err = <-errc
	case s.src != nil:
		err = safely(func() error { return s.runSource(true) })
	default:
		err = safely(s.runProcessor)
	}
	if err == nil {
		s.finalAck()
		s.clk.begin(waitIdle, time.Now()) // a finished subtask waits for nothing, forever
	}
	return err
}

// safely runs fn, turning a panic into an error with its stack, so that a bug
// in an operator fails its job and nothing else.
func safely(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return fn()
}

func (s *subtask) operator() any {
	if s.src != nil {
		return s.src
	}
	return s.proc
}

// reschedule makes a source call Emit at once rather than when its last Emit
// asked to be called again; any goroutine may call it.
func (s *subtask) reschedule() {
	s.rescheduled.Store(true)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *subtask) runSource(checkOutput bool) error {
	var next time.Time
	for {
		now, err := s.housekeeping()
		if err != nil {
			return err
		}
		if s.rescheduled.Swap(false) {
			next = time.Time{}
		}
		if s.cp != nil {
			select {
			case b := <-s.cp.triggers:
				s.triggered(b)
			default:
			}
		}
		if s.pause.wait() != nil {
			if err := s.wait(waitIdle, time.Time{}); err != nil {
				return err
			}
			continue
		}
		if checkOutput && !s.outputAvailable() {
			if err := s.wait(waitSoft, time.Time{}); err != nil {
				return err
			}
			continue
		}
		if next.After(now) {
			if err := s.wait(waitIdle, next); err != nil {
				return err
			}
			continue
		}
		var done bool
		before := s.out
		s.phase.Store(phaseOperator)
		next, done, err = s.src.Emit(now, s)
		s.publishOut()
		if err == nil {
			s.phase.Store(phaseCost)
			err = s.spend(int(s.out - before)) // a source's cost is per record emitted
		}
		s.phase.Store(phaseLoop)
		if err != nil {
			return err
		}
		if done {
			return s.finish()
		}
	}
}

func (s *subtask) runProcessor() error {
	if err := s.replayInFlight(); err != nil {
		return err
	}
	ended := 0
	for {
		_, err := s.housekeeping()
		if err != nil {
			return err
		}
		// An unaligned barrier is taken even while the output is full.
		if !s.outputAvailable() && !s.gate.HasPriority() {
			if err := s.wait(waitSoft, time.Time{}); err != nil {
				return err
			}
			continue
		}
		s.phase.Store(phaseInput)
		d, ok := s.gate.Poll()
		s.phase.Store(phaseLoop)
		if !ok {
			if err := s.wait(waitIdle, time.Time{}); err != nil {
				return err
			}
			continue
		}
		switch d.Event {
		case network.EndOfPartition:
			if s.cp != nil {
				s.onEnded(d.Channel)
			}
			if ended++; ended == s.gate.Channels() {
				return s.finish()
			}
			continue
		case network.CheckpointBarrier:
			if s.cp != nil {
				s.onBarrier(d)
			}
			continue
		}
		if s.cp != nil {
			s.onData(d)
		}
		err = s.take(d.Data(), d.Records(), d.EarliestTS(), d.LatestTS())
		s.phase.Store(phaseRecycle)
		s.gate.Recycle(d)
		s.phase.Store(phaseLoop)
		s.publishOut()
		if err != nil {
			return err
		}
	}
}

// take counts, measures and processes one input buffer.
func (s *subtask) take(data []byte, n int, earliest, latest int64) error {
	// The clock now, not housekeeping's: timers fired since may have
	// waited for output.
	s.latency.add(time.Now().UnixMilli(), earliest, latest, n)
	s.in += int64(n)
	s.inBytes += int64(len(data))
	s.inPub.Store(s.in)
	s.inBytesPub.Store(s.inBytes)
	s.phase.Store(phaseCost)
	if err := s.spend(n); err != nil {
		return err
	}
	s.phase.Store(phaseOperator)
	return s.proc.Process(Batch{data: data, n: n, latest: latest}, s)
}

// replayInFlight takes the in-flight data of the restored checkpoint, which
// came before anything the gate will bring.
func (s *subtask) replayInFlight() error {
	for len(s.replay) > 0 {
		o := s.replay[0]
		s.replay = s.replay[1:]
		if _, err := s.housekeeping(); err != nil {
			return err
		}
		err := s.take(o.Data, o.Records, o.Earliest, o.Latest)
		s.phase.Store(phaseLoop)
		s.publishOut()
		if err != nil {
			return err
		}
	}
	s.replay = nil
	return nil
}

// finish ends the subtask's output: what the operator still holds, then
// everything buffered, then end-of-partition downstream.
func (s *subtask) finish() error {
	if f, ok := s.operator().(Finisher); ok {
		s.phase.Store(phaseOperator)
		err := f.Finish(s)
		s.phase.Store(phaseLoop)
		if err != nil {
			return err
		}
		s.publishOut()
	}
	for _, w := range s.writers {
		w.Finish()
	}
	return nil
}

// housekeeping runs what is due between batches: timers and the flush of
// partial buffers. It returns the time it read.
func (s *subtask) housekeeping() (time.Time, error) {
	select {
	case <-s.done:
		return time.Time{}, context.Canceled
	default:
	}
	now := time.Now()
	for len(s.timers) > 0 && !s.timers[0].After(now) {
		at := heap.Pop(&s.timers).(time.Time)
		delete(s.pending, at.UnixNano())
		if h, ok := s.operator().(TimerHandler); ok {
			s.phase.Store(phaseTimer)
			err := h.OnTimer(at, s)
			s.phase.Store(phaseLoop)
			if err != nil {
				return now, err
			}
			s.publishOut()
		}
	}
	if !now.Before(s.flushAt) {
		s.phase.Store(phaseFlush)
		s.flush()
		s.phase.Store(phaseLoop)
		s.flushAt = now.Add(s.task.flushEvery())
	}
	if s.cp != nil {
		s.checkAlignedTimeout(now)
	}
	return now, nil
}

func (s *subtask) flush() {
	for _, w := range s.writers {
		w.Flush()
	}
}

// Available implements SourceOutput. A legacy source is never told of its
// output, so it blocks in Emit instead: hard backpressure, as in Flink; it
// is told only that a checkpoint waits to be taken, so that it returns
// between two records, as Flink's legacy sources yield the checkpoint lock.
func (s *subtask) Available() bool {
	if s.task.prepared.Legacy {
		return s.cp == nil || len(s.cp.triggers) == 0
	}
	return s.outputAvailable()
}

func (s *subtask) outputAvailable() bool {
	for _, w := range s.writers {
		if !w.Pool().Available() {
			return false
		}
	}
	return true
}

// wait blocks until something may have changed: input or an output buffer
// arrived (by kind), a timer or the flush is due, or until is reached. The
// time is accounted to kind.
func (s *subtask) wait(kind waitKind, until time.Time) error {
	now := time.Now()
	wake := s.flushAt
	if len(s.writers) == 0 || wake.IsZero() {
		wake = now.Add(time.Hour)
	}
	if len(s.timers) > 0 && s.timers[0].Before(wake) {
		wake = s.timers[0]
	}
	if !until.IsZero() && until.Before(wake) {
		wake = until
	}
	if d := s.alignedDeadline(); !d.IsZero() && d.Before(wake) {
		wake = d
	}
	if !wake.After(now) {
		return nil
	}
	var input, urgent, free <-chan struct{}
	switch kind {
	case waitIdle:
		if s.gate != nil {
			input = s.gate.Notify()
		} else {
			input = s.pause.wait() // a paused source waits for resume
		}
	case waitSoft:
		for _, w := range s.writers {
			if !w.Pool().Available() {
				free = w.Pool().Freed()
				break
			}
		}
		if free == nil {
			return nil // a buffer came back since the caller looked: nothing to wait for
		}
		if s.gate != nil && s.cp != nil {
			urgent = s.gate.Urgent()
		}
	}
	s.clk.begin(kind, now)
	s.timer.Reset(wake.Sub(now))
	var err error
	select {
	case <-input:
	case <-urgent:
	case <-s.wake:
	case <-free:
	case <-s.timer.C:
	case <-s.done:
		err = context.Canceled
	}
	s.timer.Stop()
	s.clk.end(time.Now())
	s.busyUntil = time.Time{}
	return err
}

// acquire waits for an output buffer mid-record: hard backpressure. Partial
// buffers of other channels are still flushed on time meanwhile, as Flink's
// output flusher does.
func (s *subtask) acquire(p *network.Pool) *network.Buffer {
	for {
		now := time.Now()
		if !now.Before(s.flushAt) {
			s.flush()
			s.flushAt = now.Add(s.task.flushEvery())
		}
		s.clk.begin(waitHard, now)
		s.timer.Reset(s.flushAt.Sub(now))
		canceled := false
		select {
		case <-p.Freed(): // also for a buffer the flush above got back at once
		case <-s.timer.C:
		case <-s.done:
			canceled = true
		}
		s.timer.Stop()
		s.clk.end(time.Now())
		s.busyUntil = time.Time{}
		if canceled {
			return nil
		}
		if b := p.TryGet(); b != nil {
			return b
		}
	}
}

// spend spends the task's simulated cost for n records as time, counted as
// busy. Sleeps are scheduled against a running deadline so that overshoot
// is paid back by the next record. The time is spent in slices of at most
// a metrics tick, and the cost is read again after each, so a cost changed
// while a large batch is in hand applies to the rest of it within a tick;
// while the cost stays put, the slices add up to exactly n times it.
func (s *subtask) spend(n int) error {
	c := time.Duration(s.task.cost.Load())
	if c <= 0 || n <= 0 {
		return nil
	}
	owed := c * time.Duration(n)
	now := time.Now()
	if s.busyUntil.IsZero() || now.Sub(s.busyUntil) > costSlack {
		s.busyUntil = now
	}
	for {
		slice := owed
		if s.tick > 0 {
			slice = min(owed, s.tick)
		}
		owed -= slice
		s.busyUntil = s.busyUntil.Add(slice)
		if d := time.Until(s.busyUntil); d > 0 {
			s.timer.Reset(d)
			select {
			case <-s.timer.C:
			case <-s.done:
				s.timer.Stop()
				return context.Canceled
			}
		}
		if owed <= 0 {
			return nil
		}
		if changed := time.Duration(s.task.cost.Load()); changed != c {
			// What is left of the batch, in records, at the new cost.
			owed = time.Duration(float64(owed) / float64(c) * float64(changed))
			c = changed
			if owed <= 0 {
				return nil
			}
		}
	}
}

// timerHeap orders operator timers, earliest first.
type timerHeap []time.Time

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].Before(h[j]) }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(time.Time)) }
func (h *timerHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
