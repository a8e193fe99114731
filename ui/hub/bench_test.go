package hub

import (
	"sync"
	"testing"
	"time"
)

// BenchmarkFeed_FanOut publishes snapshots to 1000 watchers that drain
// their mailboxes; it reports the time from publishing a snapshot to the
// last watcher taking the frame.
func BenchmarkFeed_FanOut(b *testing.B) {
	const watchers = 1000
	job := newFakeJob()
	f := New(job, 3000)
	defer f.Stop()
	var wg sync.WaitGroup
	taken := make(chan time.Time, watchers)
	target := make([]uint64, 1)
	var mu sync.Mutex
	for range watchers {
		w, _ := f.Watch()
		<-w.Frames()
		wg.Go(func() {
			for {
				select {
				case fr := <-w.Frames():
					mu.Lock()
					want := target[0]
					mu.Unlock()
					if fr.Seq == want {
						taken <- time.Now()
					}
				case <-w.Closed():
					return
				}
			}
		})
	}
	var latency time.Duration
	b.ResetTimer()
	for i := range b.N {
		mu.Lock()
		target[0] = uint64(i + 2)
		mu.Unlock()
		start := time.Now()
		job.publish(snapshot(int64(i+1), 50, 50))
		var last time.Time
		for range watchers {
			last = <-taken
		}
		latency += last.Sub(start)
	}
	b.StopTimer()
	b.ReportMetric(float64(latency.Nanoseconds())/float64(b.N), "ns/publish-to-all")
	f.Stop()
	wg.Wait()
}
