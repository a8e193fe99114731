package host

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// threadCPUTime is the CPU time of the calling thread, false if it cannot
// be read.
func threadCPUTime() (time.Duration, bool) {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}

// threadClocks reports whether this kernel lets a thread read its CPU time
// (a sandbox may forbid it): if not, deadlines count wall time.
var threadClocks = sync.OnceValue(func() bool {
	_, ok := threadCPUTime()
	return ok
})
