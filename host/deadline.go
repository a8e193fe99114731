package host

import (
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
// thread the call runs on. Reading it is a system call, which cost more than
// the rest of the host's work for a 32 KiB batch in a virtual machine, so a
// call that ends within checkAfter reads no clock at all. At checkAfter the
// guest is asked to check in (the sample function, see sampling.go) and
// reads its thread's CPU time on that thread; counting starts there, so a
// call runs at most checkAfter beyond its limit, and the guest is asked
// again when the rest of the limit could have run out. A guest blocked in a
// host function (emit, under backpressure) checks in when it returns: its
// clock stood still meanwhile.
//
// The call is not locked to its thread (runtime.LockOSThread): a locked
// guest call was once left runnable and never run again, for 9 minutes,
// under go test -race ./... . So between two check-ins on different threads
// (Go moved the goroutine, at a preemption or after a block), or whose CPU
// time ran faster than the wall clock, the interval counts as wall time less
// the time blocked on output inside emit. Elsewhere, and where the kernel
// hides thread clocks, that is all there is.
type deadline struct {
	stop    setter // the instance's stop global
	checkIn func() // asks the guest to call checkedIn at its next check
	wait    func() time.Duration
	cpu     bool                              // the thread's CPU time is counted
	clock   func() (int, time.Duration, bool) // threadCPUTime

	mu       sync.Mutex
	timer    *time.Timer
	limit    time.Duration
	armed    bool
	stopped  stopReason
	canceled bool
	asked    bool // the guest is asked to check in
	closed   chan struct{}

	// The running time counted so far, and the last reading: its thread
	// (-1 for none), that thread's CPU time and the wall time less waits.
	counting bool
	used     time.Duration
	tid      int
	cpuAt    time.Duration
	wallAt   time.Duration
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
	d := &deadline{stop: stop, checkIn: checkIn, wait: wait, cpu: threadClocks(), clock: threadCPUTime, closed: make(chan struct{})}
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

// arm starts the deadline of a call.
func (d *deadline) arm(limit time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.armed, d.stopped, d.limit, d.asked = true, running, limit, false
	if d.canceled { // the call stops at its first check
		d.stopped = canceled
		d.stop.Set(1)
	}
	d.counting, d.used = false, 0
	if d.cpu {
		d.timer.Reset(min(limit, checkAfter))
		return
	}
	d.account(-1, 0) // counting starts now, on wall time
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
	d.account(-1, 0)
}

// checkedIn is the guest's answer to checkIn, on the thread it runs on.
func (d *deadline) checkedIn() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.asked || !d.armed || d.stopped != running {
		return
	}
	d.asked = false
	tid, cpu, ok := d.clock()
	if !ok { // not once threadClocks held; a guest that cannot be timed is not left running
		d.stopped = expired
		d.stop.Set(1)
		return
	}
	d.account(tid, cpu)
}

// account adds the running time since the last reading (none at the first):
// thread tid's CPU time, now cpu, if the last reading was on the same thread
// and the clock did not run faster than the wall clock, else the wall time
// less waits. It then stops the call if that reaches its limit, and
// otherwise sets the timer for the rest.
func (d *deadline) account(tid int, cpu time.Duration) {
	wall := d.wallLessWait()
	if d.counting {
		ran := wall - d.wallAt
		if c := cpu - d.cpuAt; tid >= 0 && tid == d.tid && c >= 0 && c <= ran {
			ran = c
		}
		d.used += ran
	}
	d.counting, d.tid, d.cpuAt, d.wallAt = true, tid, cpu, wall
	if d.used < d.limit {
		d.timer.Reset(d.limit - d.used)
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
	if d.stopped != running {
		d.stop.Set(0) // the instance is discarded anyway; keep it consistent
	}
	return d.stopped
}

func (d *deadline) close() {
	d.timer.Stop()
	close(d.closed)
}
