package network

import (
	"fmt"
	"testing"
)

// BenchmarkCheckEmitBatch: a 32 KiB batch of a guest's output into one
// channel, as the host hands it over, checked and written in one walk or
// checked first (as for more than one writer). The receiver takes each
// buffer at once.
func BenchmarkCheckEmitBatch(b *testing.B) {
	for _, size := range []int{16, 100} {
		var batch []byte
		records := 0
		for next := AppendRecord(nil, 1, []byte("key-1"), make([]byte, size)); len(batch)+len(next) <= 32<<10; records++ {
			batch = append(batch, next...)
		}
		for _, walks := range []int{1, 2} {
			b.Run(fmt.Sprintf("value=%dB/walks=%d", size, walks), func(b *testing.B) {
				g := NewGate(1, 8, 0)
				w := NewWriter(NewPool(8, 32<<10), []*Channel{g.Channel(0)}, Forward, 0, false, nil)
				b.SetBytes(int64(len(batch)))
				b.ReportAllocs()
				for b.Loop() {
					var err error
					if walks == 1 {
						_, err = w.CheckEmitBatch(batch)
					} else if _, err = Check(batch, w.pool.size); err == nil {
						err = w.EmitBatch(batch)
					}
					if err != nil {
						b.Fatal(err)
					}
					for d, ok := g.Poll(); ok; d, ok = g.Poll() {
						g.Recycle(d)
					}
				}
				b.ReportMetric(float64(b.N*records)/b.Elapsed().Seconds(), "records/s")
			})
		}
	}
}
