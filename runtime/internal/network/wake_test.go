package network

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkWake measures how long a receiver parked on an empty gate takes
// to run once a sender that goes on working has sent it a record: the
// handoff a pipeline pays each time its slower side has drained its input,
// or its faster side has run out of credit and is woken by a recycled
// buffer. One op is one record, sent after the sender has worked 300 µs; the
// metrics are the latency's median and 90th percentile.
//
// On the 2-vCPU Firecracker machine of 2026-12-04: a median of 129 to 141
// µs. Go puts the woken goroutine in the sender's P (runnext), where it
// waits until the other P steals it; a thread blocked in read(2) on a pipe
// woke in about 16 µs. With runtime.Gosched after the send the median was
// 18 to 22 µs, but a Gosched after every wake in the gate and the pool
// made the pipelines of host's BenchmarkPipeline shape 42% slower
// (geomean, 6 rounds: goroutines changed P at every wake); spinning up to
// 200 Gosched calls before parking changed nothing measurable.
func BenchmarkWake(b *testing.B) {
	g := NewGate(1, 2, 8)
	w := NewWriter(NewPool(10, 256), []*Channel{g.Channel(0)}, Forward, 0, true, nil)
	var sentAt atomic.Int64
	lat := make([]time.Duration, 0, b.N)
	n := b.N
	done := make(chan struct{})
	go func() {
		defer close(done)
		for len(lat) < n {
			<-g.Notify()
			now := time.Now().UnixNano()
			for d, ok := g.Poll(); ok; d, ok = g.Poll() {
				lat = append(lat, time.Duration(now-sentAt.Load()))
				g.Recycle(d)
			}
		}
	}()
	for range n {
		for start := time.Now(); time.Since(start) < 300*time.Microsecond; {
		}
		sentAt.Store(time.Now().UnixNano())
		if err := w.Emit(0, []byte("key"), []byte("value")); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*9/10].Microseconds()), "p90-µs")
}
