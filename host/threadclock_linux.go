package host

import (
	goruntime "runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// threadClock is the CPU-time clock of one thread (clock_getcpuclockid):
// any thread of the process may read it.
type threadClock struct{ id int32 }

// lockThreadClock locks the goroutine to its thread and returns the
// thread's CPU-time clock.
func lockThreadClock() threadClock {
	goruntime.LockOSThread()
	if !threadClocks() {
		return threadClock{}
	}
	// MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED) of Linux's posix-timers.h.
	return threadClock{^int32(unix.Gettid())<<3 | 6}
}

func unlockThreadClock() { goruntime.UnlockOSThread() }

// now is the thread's CPU time, false if there is no clock.
func (c threadClock) now() (time.Duration, bool) {
	if c.id == 0 {
		return 0, false
	}
	var ts unix.Timespec
	if unix.ClockGettime(c.id, &ts) != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}

// threadClocks reports whether this kernel lets a thread's CPU time be read
// (a sandbox may forbid it): then the wall clock is used.
var threadClocks = sync.OnceValue(func() bool {
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	_, ok := threadClock{^int32(unix.Gettid())<<3 | 6}.now()
	return ok
})
