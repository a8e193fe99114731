package host

import (
	goruntime "runtime"
	"sync"
	"time"
)

// deadline stops a guest call that runs too long, or whose subtask is
// canceled: it sets the instance's stop global, and the instrumented guest
// traps at its next function entry or loop iteration.
//
// The limit is on the guest's own running time, not on wall time, so that a
// guest is not stopped because a loaded machine gave it little of a core (60
// jobs starting at once on 2 cores). On Linux that is the CPU time of the
// thread the call is locked to. Reading it is a system call, which cost more
// than the rest of the host's work for a 32 KiB batch in a virtual machine,
// so a call that ends within checkAfter reads no clock at all. At checkAfter
// the guest is asked to check in (the sample function, see sampling.go) and
// reads its thread's CPU time on that thread; counting starts there, so a
// call runs at most checkAfter beyond its limit, and the guest is asked
// again when the rest of the limit could have run out. A guest blocked in a
// host function (emit, under backpressure) checks in when it returns: its
// clock stood still meanwhile. Elsewhere, and where the kernel hides thread
// clocks, it is wall time less the time blocked on output inside emit,
// which is the subtask's, not the guest's.
type deadline struct {
	stop    setter // the instance's stop global
	checkIn func() // asks the guest to call checkedIn at its next check
	wait    func() time.Duration
	cpu     bool // the thread's CPU time is counted

	mu       sync.Mutex
	timer    *time.Timer
	limit    time.Duration
	armed    bool
	stopped  stopReason
	canceled bool
	asked    bool          // the guest is asked to check in
	start    time.Duration // the clock's reading when counting began; -1 before the first check-in
	closed   chan struct{}
}

// checkAfter is how long a call runs before its thread's CPU time is first
// read.
const checkAfter = 10 * time.Millisecond

// stopReason is why a call was stopped.
type stopReason int

const (
	running  stopReason = iota // not stopped
	expired                    // past its limit
	canceled                   // its subtask was canceled
)

// setter is what the deadline does to a global (api.MutableGlobal).
type setter interface{ Set(v uint64) }

func newDeadline(stop setter, checkIn func(), wait func() time.Duration, done <-chan struct{}) *deadline {
	d := &deadline{stop: stop, checkIn: checkIn, wait: wait, cpu: threadClocks(), closed: make(chan struct{})}
	d.timer = time.AfterFunc(time.Hour, d.fire)
	d.timer.Stop()
	go func() {
		select {
		case <-done:
			d.mu.Lock()
			d.canceled = true
			if d.armed {
				d.stopped = canceled
				d.stop.Set(1)
			}
			d.mu.Unlock()
		case <-d.closed:
		}
	}()
	return d
}

// arm starts the deadline of a call on this goroutine, which it locks to
// its thread until disarm when the thread's CPU time is counted.
func (d *deadline) arm(limit time.Duration) {
	if d.cpu {
		goruntime.LockOSThread()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.armed, d.stopped, d.limit, d.asked = true, running, limit, false
	if d.canceled { // the call stops at its first check
		d.stopped = canceled
		d.stop.Set(1)
	}
	if d.cpu {
		d.start = -1
		d.timer.Reset(min(limit, checkAfter))
		return
	}
	d.start = d.wallLessWait()
	d.timer.Reset(limit)
}

func (d *deadline) wallLessWait() time.Duration {
	return time.Duration(time.Now().UnixNano()) - d.wait()
}

func (d *deadline) fire() {
	d.mu.Lock()
	if !d.armed || d.stopped != running {
		d.mu.Unlock()
		return
	}
	if d.cpu {
		d.asked = true
		d.mu.Unlock()
		// Outside the lock, which checkedIn takes. Should the call end
		// first, the next one's first check answers to nobody.
		d.checkIn()
		return
	}
	defer d.mu.Unlock()
	d.count(d.wallLessWait())
}

// checkedIn is the guest's answer to checkIn, on the thread it runs on.
func (d *deadline) checkedIn() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.asked || !d.armed || d.stopped != running {
		return
	}
	d.asked = false
	now, ok := threadCPUTime()
	if !ok { // not once threadClocks held; a guest that cannot be timed is not left running
		d.stopped = expired
		d.stop.Set(1)
		return
	}
	if d.start < 0 {
		d.start = now
	}
	d.count(now)
}

// count stops the call if the clock, now at now, has run for its limit, and
// otherwise sets the timer for the rest.
func (d *deadline) count(now time.Duration) {
	if used := now - d.start; used < d.limit {
		d.timer.Reset(d.limit - used)
		return
	}
	d.stopped = expired
	d.stop.Set(1)
}

// disarm ends the call's deadline and reports whether and why it was stopped.
func (d *deadline) disarm() stopReason {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.armed = false
	d.timer.Stop()
	if d.cpu {
		goruntime.UnlockOSThread()
	}
	if d.stopped != running {
		d.stop.Set(0) // the instance is discarded anyway; keep it consistent
	}
	return d.stopped
}

func (d *deadline) close() {
	d.timer.Stop()
	close(d.closed)
}
