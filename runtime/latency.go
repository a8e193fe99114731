package runtime

import (
	"math"
	"math/bits"
	"sync/atomic"

	"flowlab/runtime/metrics"
)

// Latency histogram buckets, in whole milliseconds (timestamps are ms, so
// nothing finer is known): one bucket per ms below latencyExact, then
// latencySubs buckets per doubling (each at most 1/latencySubs of its lower
// bound wide, 12.5%), up to latencyMaxMs; longer latencies fall in the last
// bucket, and the exact maximum is kept beside the buckets.
const (
	latencySubBits = 3
	latencySubs    = 1 << latencySubBits // buckets per doubling
	latencyExact   = 2 * latencySubs     // 0..15 ms: one bucket per ms
	latencyTopBit  = 24                  // latencyMaxMs = 2^24 ms, about 4.7 hours
	latencyMaxMs   = int64(1) << latencyTopBit
	latencyBuckets = latencyExact + (latencyTopBit-latencySubBits-1)*latencySubs
)

// latencyBucket is the bucket of a latency of ms milliseconds (>= 0).
func latencyBucket(ms int64) int {
	if ms < latencyExact {
		return int(max(ms, 0))
	}
	if ms >= latencyMaxMs {
		return latencyBuckets - 1
	}
	e := bits.Len64(uint64(ms)) - 1 // 2^e <= ms < 2^(e+1), e > latencySubBits
	sub := int(ms>>(e-latencySubBits)) & (latencySubs - 1)
	return latencyExact + (e-latencySubBits-1)*latencySubs + sub
}

// latencyBounds is the range of whole milliseconds [lo, hi] of bucket i.
func latencyBounds(i int) (lo, hi int64) {
	if i < latencyExact {
		return int64(i), int64(i)
	}
	e := (i-latencyExact)/latencySubs + latencySubBits + 1
	sub := int64((i - latencyExact) % latencySubs)
	width := int64(1) << (e - latencySubBits)
	lo = (latencySubs + sub) * width
	return lo, lo + width - 1
}

// latencyRecorder is a subtask's cumulative latency histogram since its
// attempt started: the loop adds, the sampler reads, both without a lock.
type latencyRecorder struct {
	counts [latencyBuckets]atomic.Uint64
	sum    atomic.Uint64 // of the latencies, in ms
	max    atomic.Int64  // the longest since the sampler last took it, in ms
}

// add records n records that were taken in at nowMs with timestamps from
// earliest to latest: the n latencies are spread evenly over
// [nowMs-latest, nowMs-earliest], as a buffer filled at a steady rate
// holds them, so one buffer costs a few bucket updates whatever its size.
func (r *latencyRecorder) add(nowMs, earliest, latest int64, n int) {
	if n <= 0 {
		return
	}
	lo, hi := max(nowMs-latest, 0), max(nowMs-earliest, 0)
	r.sum.Add(uint64((lo + hi) * int64(n) / 2))
	defer r.raise(hi) // after the counts: take reads the maximum first
	first, last := latencyBucket(lo), latencyBucket(hi)
	if first == last {
		r.counts[first].Add(uint64(n))
		return
	}
	// Bucket i gets the records whose latencies fall in it, rounded so that
	// the counts add up to n: those below its end minus those below its start.
	span := hi - lo + 1
	given := uint64(0)
	for i := first; i <= last; i++ {
		_, bhi := latencyBounds(i)
		upto := uint64(int64(n) * (min(bhi, hi) - lo + 1) / span)
		if i == last {
			upto = uint64(n)
		}
		r.counts[i].Add(upto - given)
		given = upto
	}
}

// raise makes ms the maximum if it is longer.
func (r *latencyRecorder) raise(ms int64) {
	for {
		old := r.max.Load()
		if ms <= old || r.max.CompareAndSwap(old, ms) {
			return
		}
	}
}

// latencyHist is a latency histogram over some span of time: counts per
// bucket, the sum and the maximum, in ms.
type latencyHist struct {
	counts [latencyBuckets]uint64
	sum    uint64
	max    int64
}

// latencyTick is the part of a histogram one tick added, sparse: most ticks
// touch a few buckets. Its slices are reused as the window's ring turns.
type latencyTick struct {
	buckets []uint8
	counts  []uint64
	sum     uint64
	max     int64
}

// take appends to t what r gained since prev (the histogram r had when last
// taken, which take then brings up to date) and resets r's maximum.
func (r *latencyRecorder) take(prev *latencyHist, t *latencyTick) {
	t.max = r.max.Swap(0) // first: the counts of records it is the latency of are in by then
	t.buckets, t.counts = t.buckets[:0], t.counts[:0]
	for i := range r.counts {
		c := r.counts[i].Load()
		if d := c - prev.counts[i]; d > 0 {
			t.buckets = append(t.buckets, uint8(i))
			t.counts = append(t.counts, d)
			prev.counts[i] = c
		}
	}
	sum := r.sum.Load()
	t.sum, prev.sum = sum-prev.sum, sum
}

// addTick merges one tick into h.
func (h *latencyHist) addTick(t *latencyTick) {
	for k, i := range t.buckets {
		h.counts[i] += t.counts[k]
	}
	h.sum += t.sum
	h.max = max(h.max, t.max)
}

// merge adds o into h.
func (h *latencyHist) merge(o *latencyHist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// quantile is the latency below which a fraction q of the records fall,
// interpolated linearly within its bucket and never above the maximum.
func (h *latencyHist) quantile(q float64, total uint64) float64 {
	rank := q * float64(total)
	seen := 0.0
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		if seen+float64(c) >= rank {
			lo, hi := latencyBounds(i)
			if i == len(h.counts)-1 {
				hi = max(hi, h.max) // the last bucket holds everything longer
			}
			v := float64(lo) + (rank-seen)/float64(c)*float64(hi-lo)
			return min(v, max(float64(h.max), float64(lo)))
		}
		seen += float64(c)
	}
	return float64(h.max)
}

// summary is Flink's latency histogram shape, nil for no records.
func (h *latencyHist) summary() *metrics.Latency {
	total := uint64(0)
	for _, c := range h.counts {
		total += c
	}
	if total == 0 {
		return nil
	}
	round := func(v float64) float64 { return math.Round(v*10) / 10 }
	return &metrics.Latency{
		P50:  round(h.quantile(0.50, total)),
		P95:  round(h.quantile(0.95, total)),
		P99:  round(h.quantile(0.99, total)),
		Max:  float64(h.max),
		Mean: round(float64(h.sum) / float64(total)),
	}
}
