package host

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// threadCPUTime is the id and the CPU time of the calling thread, false if
// the time cannot be read. The id is -1 if the goroutine moved to another
// thread while the time was read: whose time it is is not known.
func threadCPUTime() (tid int, cpu time.Duration, ok bool) {
	tid = unix.Gettid()
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0, 0, false
	}
	if unix.Gettid() != tid {
		tid = -1
	}
	return tid, time.Duration(ts.Nano()), true
}

// threadClocks reports whether this kernel lets a thread read its CPU time
// (a sandbox may forbid it): if not, deadlines count wall time.
var threadClocks = sync.OnceValue(func() bool {
	_, _, ok := threadCPUTime()
	return ok
})
