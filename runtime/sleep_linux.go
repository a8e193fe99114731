package runtime

import (
	"time"

	"golang.org/x/sys/unix"
)

// sleepInSyscall blocks its goroutine's thread in the nanosleep system call
// until t, where time.Sleep or a Ticker would wait on a Go timer. The
// profiler samples on it: a Go timer fires when a P runs the timer heap it
// is in, and a P that runs a guest in compiled code runs nothing else until
// the guest leaves it (at the end of its call, mostly), while an idle P may
// sleep until sysmon wakes it, up to 10 ms later. So a timer's tick came mostly when the guest had just
// finished, and its sample said "wait for input". A thread in a system call
// is woken by the kernel and takes an idle P at once, or waits for one.
// Measured on TestSampling_HeavyAndLight's job (the guest busy about half
// the time) with one of the two cores taken by a busy loop: 14 of 600
// samples on-CPU with a Ticker, 200 and 247 with sleepInSyscall; with
// GOMAXPROCS=1, 3 of 600 with a Ticker, 575 of 601 with sleepInSyscall
// (where the guest's calls, sharing the one P, took 98% of the time).
func sleepInSyscall(t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	ts := unix.NsecToTimespec(int64(d))
	for unix.Nanosleep(&ts, &ts) == unix.EINTR { // a signal: sleep what is left
	}
}
