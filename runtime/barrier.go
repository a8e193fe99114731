package runtime

import (
	"maps"
	"slices"
	"time"

	"flowlab/runtime/internal/network"
	"flowlab/runtime/metrics"
)

// barriers is a subtask's part in checkpoints, owned by its loop; nil
// while checkpoints are off.
type barriers struct {
	coord    *coordinator
	timeout  time.Duration // aligned-timeout, 0 for none
	triggers chan network.Barrier
	ended    []bool    // input channels that ended
	cur      *aligning // the checkpoint under way here, if any
	last     int64     // the latest checkpoint acknowledged or abandoned here
	// An aligned barrier this subtask sent that may still wait for credit
	// downstream: at the aligned timeout it is made to overtake.
	sent     network.Barrier
	sentOpen bool
}

// aligning is one checkpoint at a subtask with inputs, from its first
// barrier until it acknowledges.
type aligning struct {
	barrier network.Barrier
	first   time.Time // the first barrier arrived
	seen    []bool    // a barrier (or the end) came on the channel
	nSeen   int
	// Once snapped (unaligned, as its barrier then says), every buffer
	// taken from a channel whose barrier has not come yet is in-flight data.
	snapped   bool
	inFlight  [][]network.Overtaken // per channel, in order
	processed int64                 // bytes taken in since the first barrier until the last
	ack       ack
}

// ack is what a subtask reports of a checkpoint to its coordinator.
type ack struct {
	id            int64
	task, subtask int
	final         bool // the subtask finished: its state stands for every later checkpoint
	snap          subtaskSnapshot
	stats         metrics.SubtaskCheckpoint
	snappedAt     time.Time
	err           error // the checkpoint was declined
}

// subtaskSnapshot is one subtask's part of a checkpoint.
type subtaskSnapshot struct {
	state    OperatorState
	timers   []int64             // UnixNano, ascending
	inFlight []network.Overtaken // input to take before new input, in order per channel
}

// snapshot takes the subtask's state for checkpoint b: the operator's and
// its timers (Flink's synchronous part).
func (s *subtask) snapshot(b network.Barrier, now time.Time) ack {
	a := ack{id: b.ID, task: s.task.index, subtask: s.index, snappedAt: now}
	if sf, ok := s.operator().(Stateful); ok {
		s.phase.Store(phaseOperator)
		a.snap.state, a.err = sf.SnapshotState()
		s.phase.Store(phaseLoop)
	}
	a.snap.timers = slices.Sorted(maps.Keys(s.pending))
	a.stats.SyncDuration = time.Since(now).Milliseconds()
	a.stats.Unaligned = b.Unaligned
	return a
}

// forward sends barrier b on every output.
func (s *subtask) forward(b network.Barrier) {
	for _, w := range s.writers {
		w.Barrier(b)
	}
	if s.cp.timeout > 0 && !b.Unaligned && len(s.writers) > 0 {
		s.cp.sent, s.cp.sentOpen = b, true
	}
}

// triggered takes a source's snapshot and sends the barrier.
func (s *subtask) triggered(b network.Barrier) {
	now := time.Now()
	a := s.snapshot(b, now)
	a.stats.StartDelay = max(0, now.UnixMilli()-b.Timestamp)
	s.forward(b)
	s.cp.last = b.ID
	s.cp.coord.acknowledge(a)
}

// onBarrier handles a barrier taken from input channel ch.
func (s *subtask) onBarrier(d network.Delivery) {
	cp := s.cp
	b := d.Barrier
	if b.ID <= cp.last || cp.cur != nil && b.ID < cp.cur.barrier.ID {
		return // of a checkpoint abandoned here
	}
	now := time.Now()
	if cp.cur != nil && b.ID > cp.cur.barrier.ID {
		s.abandon() // a later checkpoint started: this one failed elsewhere
	}
	if cp.cur == nil {
		s.beginAligning(b, now)
	}
	al := cp.cur
	if !al.seen[d.Channel] {
		al.seen[d.Channel] = true
		al.nSeen++
	}
	switch {
	case al.snapped:
		s.barrierAfterSnapshot(d)
	case b.Unaligned:
		s.snapUnaligned(now)
		s.barrierAfterSnapshot(d)
	default:
		s.gate.Block(d.Channel)
	}
	s.progress(now)
}

func (s *subtask) beginAligning(b network.Barrier, now time.Time) {
	n := s.gate.Channels()
	al := &aligning{barrier: b, first: now, seen: make([]bool, n), inFlight: make([][]network.Overtaken, n)}
	for ch, ended := range s.cp.ended {
		if ended {
			al.seen[ch] = true
			al.nSeen++
		}
	}
	s.cp.cur = al
}

// barrierAfterSnapshot ends the in-flight data of a channel with what its
// barrier overtook, once the snapshot is taken unaligned.
func (s *subtask) barrierAfterSnapshot(d network.Delivery) {
	al := s.cp.cur
	al.inFlight[d.Channel] = append(al.inFlight[d.Channel], d.Overtaken...)
}

// snapUnaligned takes the snapshot now, while channels without their
// barrier still bring data from before it, and sends the barrier on ahead
// of the output's queued data.
func (s *subtask) snapUnaligned(now time.Time) {
	al := s.cp.cur
	al.barrier.Unaligned = true
	s.snapNow(now)
	s.gate.Unblock()
}

// snapNow takes the snapshot of the checkpoint under way and forwards its
// barrier.
func (s *subtask) snapNow(now time.Time) {
	al := s.cp.cur
	al.snapped = true
	al.ack = s.snapshot(al.barrier, now)
	al.ack.stats.StartDelay = max(0, al.first.UnixMilli()-al.barrier.Timestamp)
	al.ack.stats.AlignmentDuration = now.Sub(al.first).Milliseconds()
	s.forward(al.barrier)
}

// progress completes the checkpoint under way once every channel brought
// its barrier (or ended).
func (s *subtask) progress(now time.Time) {
	al := s.cp.cur
	if al == nil || al.nSeen < len(al.seen) {
		return
	}
	if !al.snapped {
		s.snapNow(now)
		s.gate.Unblock()
	}
	a := al.ack
	a.stats.ProcessedData = al.processed
	for _, buffers := range al.inFlight {
		a.snap.inFlight = append(a.snap.inFlight, buffers...)
		for _, o := range buffers {
			a.stats.PersistedData += int64(len(o.Data))
		}
	}
	s.cp.cur, s.cp.last = nil, al.barrier.ID
	s.cp.coord.acknowledge(a)
}

// abandon drops the checkpoint under way.
func (s *subtask) abandon() {
	s.cp.last = s.cp.cur.barrier.ID
	s.cp.cur = nil
	s.gate.Unblock()
}

// onData notes a buffer taken from channel ch for the checkpoint under way:
// bytes processed during alignment and, unaligned, in-flight data.
func (s *subtask) onData(d network.Delivery) {
	al := s.cp.cur
	if al == nil {
		return
	}
	al.processed += int64(len(d.Data())) // not every barrier came: progress ends al at the last
	if al.snapped && !al.seen[d.Channel] {
		al.inFlight[d.Channel] = append(al.inFlight[d.Channel], d.Copy())
	}
}

// onEnded notes that input channel ch ended: it brings no more barriers,
// and no more in-flight data.
func (s *subtask) onEnded(ch int) {
	s.cp.ended[ch] = true
	al := s.cp.cur
	if al == nil {
		return
	}
	if !al.seen[ch] {
		al.seen[ch] = true
		al.nSeen++
	}
	s.progress(time.Now())
}

// alignedDeadline is when the aligned timeout runs out for what this
// subtask is doing, zero if it does not apply.
func (s *subtask) alignedDeadline() time.Time {
	cp := s.cp
	if cp == nil || cp.timeout == 0 {
		return time.Time{}
	}
	var b network.Barrier
	switch {
	case cp.cur != nil && !cp.cur.snapped:
		b = cp.cur.barrier
	case cp.sentOpen:
		b = cp.sent
	default:
		return time.Time{}
	}
	return time.UnixMilli(b.Timestamp).Add(cp.timeout)
}

// checkAlignedTimeout switches to unaligned what has waited past the
// aligned timeout: an alignment under way, and a barrier sent that still
// waits for credit.
func (s *subtask) checkAlignedTimeout(now time.Time) {
	deadline := s.alignedDeadline()
	if deadline.IsZero() || now.Before(deadline) {
		return
	}
	cp := s.cp
	if cp.cur != nil && !cp.cur.snapped {
		s.snapUnaligned(now)
		s.progress(now)
		return
	}
	cp.sentOpen = false
	for _, w := range s.writers {
		w.PromoteBarrier(cp.sent.ID)
	}
}

// finalAck reports a finished subtask's state, which stands for it in every
// checkpoint from now on.
func (s *subtask) finalAck() {
	if s.cp == nil {
		return
	}
	a := s.snapshot(network.Barrier{ID: s.cp.last}, time.Now())
	a.final = true // for checkpoints after a.id
	s.cp.coord.acknowledge(a)
}
