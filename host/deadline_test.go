package host

import (
	goruntime "runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// stopFlag stands for an instance's stop global.
type stopFlag struct{ v atomic.Uint64 }

func (f *stopFlag) Get() uint64  { return f.v.Load() }
func (f *stopFlag) Set(v uint64) { f.v.Store(v) }

// The deadline counts the guest's own running time, read when the guest
// checks in: a call that spins past its limit is stopped, one that sleeps
// six times as long on its thread is not, nor is one that sleeps as long
// blocked on output (emit under backpressure) on whatever thread it wakes.
func TestDeadline_CountsRunningTime(t *testing.T) {
	if !threadClocks() {
		t.Skip("no thread CPU clock here: deadlines count wall time")
	}
	const limit = 50 * time.Millisecond
	for _, tt := range []struct {
		name    string
		work    func()
		blocked bool // the work is a wait on output, which the subtask measures
		locked  bool // on one thread
		want    stopReason
	}{
		{"spinning", func() {
			for start := time.Now(); time.Since(start) < time.Millisecond; {
			}
		}, false, false, expired},
		{"sleeping", func() { time.Sleep(time.Millisecond) }, false, true, running},
		{"blocked in emit", func() { time.Sleep(time.Millisecond) }, true, false, running},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.locked {
				goruntime.LockOSThread()
				defer goruntime.UnlockOSThread()
			}
			stop := &stopFlag{}
			asked := make(chan struct{}, 1)
			var waited atomic.Int64
			d := newDeadline(stop, func() {
				select {
				case asked <- struct{}{}:
				default:
				}
			}, func() time.Duration { return time.Duration(waited.Load()) }, nil)
			defer d.close()
			d.arm(limit)
			// The guest works, and checks in when asked, for six times
			// its limit, or until stopped (given ten seconds to get the
			// CPU time on a loaded machine).
			wall := 6 * limit
			if tt.want == expired {
				wall = 10 * time.Second
			}
			checkIns := 0
			for start := time.Now(); time.Since(start) < wall && stop.Get() == 0; {
				began := time.Now()
				tt.work()
				if tt.blocked {
					waited.Add(int64(time.Since(began)))
				}
				select {
				case <-asked:
					d.checkedIn()
					checkIns++
				default:
				}
			}
			assert.Equal(t, tt.want, d.disarm())
			assert.Positive(t, checkIns, "the guest was asked to check in")
			assert.Zero(t, stop.Get(), "disarm clears the stop flag")
		})
	}
}

// Between two check-ins the deadline counts the thread's CPU time if both
// were on the same thread, and otherwise (the goroutine moved, or the clock
// ran faster than the wall clock) the wall time less the time blocked on
// output. Scripted readings, 60 ms apart, against a limit of 100 ms.
func TestDeadline_Accounting(t *testing.T) {
	type reading struct {
		tid int
		cpu time.Duration
	}
	for _, tt := range []struct {
		name     string
		readings []reading
		blocked  bool // the 60 ms between readings are a wait on output
		want     stopReason
	}{
		{"one thread, little CPU", []reading{{7, 0}, {7, time.Millisecond}, {7, 2 * time.Millisecond}}, false, running},
		{"one thread, its CPU time", []reading{{7, 0}, {7, 55 * time.Millisecond}, {7, 110 * time.Millisecond}}, false, expired},
		{"moved between threads", []reading{{7, 0}, {8, 0}, {7, 0}}, false, expired},
		{"moved while reading", []reading{{7, 0}, {-1, 0}, {-1, 0}}, false, expired},
		{"a clock faster than the wall", []reading{{7, 0}, {7, -time.Hour}, {7, time.Hour}}, false, expired},
		{"moved, blocked on output", []reading{{7, 0}, {8, 0}, {9, 0}}, true, running},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var waited atomic.Int64
			d := newDeadline(&stopFlag{}, func() {}, func() time.Duration { return time.Duration(waited.Load()) }, nil)
			defer d.close()
			d.cpu = true
			next := 0
			d.clock = func() (int, time.Duration, bool) {
				r := tt.readings[next]
				next++
				return r.tid, r.cpu, true
			}
			d.arm(100 * time.Millisecond)
			for i := range tt.readings {
				if i > 0 {
					time.Sleep(60 * time.Millisecond)
					if tt.blocked {
						waited.Add(int64(60 * time.Millisecond))
					}
				}
				d.fire()
				d.checkedIn()
			}
			assert.Equal(t, tt.want, d.disarm())
		})
	}
}
