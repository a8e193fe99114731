package doctor

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"flowlab/runtime/metrics"
)

const defaultHistory = 2 * time.Minute

// series is the compact history the varying load is read from: per task,
// its busy time in each interval between two snapshots of the current
// attempt, intervals shorter than resolution merged.
type series struct {
	span    int64    // ms of history kept
	ids     []string // vertex ids of the snapshots, in order
	attempt int      // Restarts and Since of the snapshots
	since   int64
	prev    *metrics.Job // the last snapshot added, for the next interval
	samples []sample     // oldest first

	// The swings found last, and at what snapshot time: finding them reads
	// the whole history, so it is done at most every swingsEvery.
	swings   []swing
	swingsAt int64
}

// swingsEvery is how often, in snapshot time, the series looks for swings
// again; a swing's period is seconds long.
const swingsEvery = 500 * time.Millisecond

// sample is one interval: the busy time of each task over it, the max over
// its subtasks as a graph node shows it, NaN when no subtask's is known.
type sample struct {
	from, to int64
	busy     []float32
}

func newSeries(span time.Duration) *series { return &series{span: span.Milliseconds()} }

// add takes the next snapshot. Intervals come from Flink's accumulated
// times (1.16+: accumulatedBusyTime and its siblings, which split the
// task's time) of consecutive snapshots: the busy share of the time they
// advanced, none if they did not; where a subtask has none, from its
// busyTimeMsPerSecond, an average over the metrics window. A new attempt
// (Restarts or Since) or a changed graph starts the series over: the
// counters start from zero.
func (sr *series) add(s *metrics.Job) {
	if s.State != metrics.StateRunning {
		sr.prev = nil
		return
	}
	if s.Restarts != sr.attempt || s.Since != sr.since || !sameGraph(sr.ids, s) {
		sr.ids = sr.ids[:0]
		for i := range s.Vertices {
			sr.ids = append(sr.ids, s.Vertices[i].ID)
		}
		sr.attempt, sr.since, sr.samples, sr.prev, sr.swings, sr.swingsAt = s.Restarts, s.Since, nil, nil, nil, 0
	}
	p := sr.prev
	sr.prev = s
	if p == nil || s.Timestamp <= p.Timestamp || len(p.Vertices) != len(s.Vertices) {
		return
	}
	cur := sample{from: p.Timestamp, to: s.Timestamp, busy: make([]float32, len(s.Vertices))}
	for i := range s.Vertices {
		b := math.NaN()
		subs, old := s.Vertices[i].Subtasks, p.Vertices[i].Subtasks
		for k := range subs {
			x := float64(subs[k].BusyTimeMsPerSecond)
			if accumulated(&subs[k]) && k < len(old) && old[k].Attempt == subs[k].Attempt {
				d := float64(subs[k].AccumulatedBusyTime - old[k].AccumulatedBusyTime)
				total := d + float64(subs[k].AccumulatedIdleTime-old[k].AccumulatedIdleTime+
					subs[k].AccumulatedBackPressuredTime-old[k].AccumulatedBackPressuredTime)
				if d < 0 || math.IsNaN(d) || total <= 0 {
					continue // counters reset, or not refreshed since the last snapshot
				}
				// The share of the time the counters advanced: Flink's REST
				// API answers them as its metric fetcher last fetched them,
				// not as of the snapshot.
				x = min(d*1000/total, 1000)
			}
			if !math.IsNaN(x) && !(x <= b) {
				b = x
			}
		}
		cur.busy[i] = float32(b)
	}
	if n := len(sr.samples); n > 0 && sr.samples[n-1].to == cur.from && cur.to-sr.samples[n-1].from <= resolution.Milliseconds() {
		last := &sr.samples[n-1]
		w0, w1 := float32(last.to-last.from), float32(cur.to-cur.from)
		for i, b := range cur.busy {
			switch a := last.busy[i]; {
			case isNaN32(a):
				last.busy[i] = b
			case !isNaN32(b):
				last.busy[i] = (a*w0 + b*w1) / (w0 + w1)
			}
		}
		last.to = cur.to
	} else {
		sr.samples = append(sr.samples, cur)
	}
	drop := 0
	for drop < len(sr.samples) && sr.samples[drop].to < s.Timestamp-sr.span {
		drop++
	}
	drop = max(drop, len(sr.samples)-maxSamples(sr.span))
	sr.samples = slices.Delete(sr.samples, 0, drop)
}

// maxSamples bounds the samples of span ms: merged up to resolution, two
// consecutive ones span more than it.
func maxSamples(span int64) int { return int(2*span/resolution.Milliseconds()) + 2 }

// accumulated tells whether a subtask reports accumulated times (Flink
// 1.16+, Flowlab) rather than leaving them zero or unknown.
func accumulated(s *metrics.Subtask) bool {
	return !math.IsNaN(float64(s.AccumulatedBusyTime)) && float64(s.AccumulatedBusyTime)+float64(s.AccumulatedIdleTime+s.AccumulatedBackPressuredTime) > 0
}

func sameGraph(ids []string, s *metrics.Job) bool {
	if len(ids) != len(s.Vertices) {
		return false
	}
	for i := range ids {
		if ids[i] != s.Vertices[i].ID {
			return false
		}
	}
	return true
}

func isNaN32(x float32) bool { return x != x }

// grid resamples task i's busy time onto steps of equal length (at least
// resolution, else the median interval), each the time-weighted mean of
// the intervals over it; a step without data repeats the one before.
func (sr *series) grid(i int) ([]float64, int64) {
	if len(sr.samples) == 0 {
		return nil, 0
	}
	lengths := make([]int64, len(sr.samples))
	for k, s := range sr.samples {
		lengths[k] = s.to - s.from
	}
	slices.Sort(lengths)
	step := max(resolution.Milliseconds(), lengths[len(lengths)/2])
	t0 := sr.samples[0].from
	n := int((sr.samples[len(sr.samples)-1].to - t0) / step)
	if n <= 0 {
		return nil, step
	}
	sum, weight := make([]float64, n), make([]float64, n)
	for _, s := range sr.samples {
		b := float64(s.busy[i])
		if math.IsNaN(b) {
			continue
		}
		for k := max(int((s.from-t0)/step), 0); k < n; k++ {
			lo, hi := t0+int64(k)*step, t0+int64(k+1)*step
			if lo >= s.to {
				break
			}
			if w := float64(min(hi, s.to) - max(lo, s.from)); w > 0 {
				sum[k] += b * w
				weight[k] += w
			}
		}
	}
	xs := make([]float64, 0, n)
	for k := range n {
		switch {
		case weight[k] > 0:
			xs = append(xs, sum[k]/weight[k])
		case len(xs) > 0:
			xs = append(xs, xs[len(xs)-1])
		}
	}
	return xs, step
}

// swing is a task (by vertex index) whose busy time varies with a period.
type swing struct {
	vertex   int
	lo, hi   float64 // 10th and 90th percentile of busy time, ms/s
	r        float64 // autocorrelation at the period
	periodMs int64
}

// period finds the period of xs, in steps, by autocorrelation: after the
// first lag at which it turns negative, the shortest lag that comes within
// 90% of the highest peak, if that peak is at least minAutocorr and the
// series holds 2.5 periods; 0 if there is none.
func period(xs []float64) (lag int, r float64) {
	n := len(xs)
	var mean float64
	for _, x := range xs {
		mean += x
	}
	mean /= float64(n)
	var variance float64
	for _, x := range xs {
		variance += (x - mean) * (x - mean)
	}
	if variance == 0 {
		return 0, 0
	}
	maxLag := n * 2 / 5
	ac := make([]float64, maxLag+2)
	for l := 1; l < len(ac) && l < n; l++ {
		var c float64
		for k := 0; k+l < n; k++ {
			c += (xs[k] - mean) * (xs[k+l] - mean)
		}
		ac[l] = c / float64(n-l) / (variance / float64(n)) // unbiased, so later lags are not penalized
	}
	first := slices.IndexFunc(ac[1:], func(r float64) bool { return r < 0 }) + 1
	if first <= 0 || first > maxLag {
		return 0, 0
	}
	peak := slices.Max(ac[first : maxLag+1])
	if peak < minAutocorr {
		return 0, 0
	}
	for l := first; l <= maxLag; l++ {
		if ac[l] >= 0.9*peak && ac[l] >= ac[l-1] && ac[l] >= ac[l+1] {
			return l, ac[l]
		}
	}
	return 0, 0
}

// varyingLoad: busy time that swings by at least minSwing with a period
// of at least minPeriod, in the fine-grained series rather than the
// averages over the metrics window.
func (sr *series) varyingLoad(g *graph) (Finding, bool) {
	if !sameGraph(sr.ids, g.s) || sr.since != g.s.Since || sr.attempt != g.s.Restarts {
		return Finding{}, false
	}
	if now := g.s.Timestamp; sr.swingsAt == 0 || now < sr.swingsAt || now-sr.swingsAt >= swingsEvery.Milliseconds() {
		sr.swings, sr.swingsAt = sr.findSwings(g), now
	}
	swings := sr.swings
	if len(swings) == 0 {
		return Finding{}, false
	}
	main := swings[0]
	f := Finding{Kind: VaryingLoad, PeriodMs: main.periodMs}
	var names []string
	for _, s := range swings {
		t := g.taskOf(s.vertex)
		name := t.name()
		f.Tasks = append(f.Tasks, name)
		names = append(names, name)
		f.Evidence = append(f.Evidence,
			Evidence{Task: name, Metric: "busyTimeMsPerSecond", Value: s.hi,
				Text: fmt.Sprintf("%s busy %s to %s ms/s, every %s", name, ms(s.lo), ms(s.hi), seconds(s.periodMs))},
			Evidence{Task: name, Metric: "busyTimeMsPerSecond", Value: t.busy,
				Text: fmt.Sprintf("%s busy %s ms/s averaged over the %s metrics window", name, ms(t.busy), seconds(g.s.WindowMs))},
			Evidence{Task: name, Metric: "autocorrelation", Value: s.r,
				Text: fmt.Sprintf("autocorrelation %.2f at %s", s.r, seconds(s.periodMs))})
	}
	if len(swings) > 1 {
		f.Title = fmt.Sprintf("the load varies every %s: the bottleneck moves between %s", seconds(main.periodMs), join(names))
	} else {
		f.Title = fmt.Sprintf("the load of %s varies every %s", g.taskOf(main.vertex).name(), seconds(main.periodMs))
	}
	f.Advice = fmt.Sprintf("Busy time swings from near idle to busy every %s (a window firing, timers, bursts in the input). "+
		"An average over the %s metrics window hides it: look at a short window or the task's timeline. "+
		"Size the tasks for the peaks, or spread the work (smaller slides, fewer keys per firing), "+
		"or accept that latency rises at each peak if the job keeps up on average.",
		seconds(main.periodMs), seconds(g.s.WindowMs))
	return f, true
}

// findSwings looks for the tasks of g whose busy time swings, the widest
// first.
func (sr *series) findSwings(g *graph) []swing {
	var swings []swing
	for vi := range g.s.Vertices {
		if g.taskOf(vi) == nil {
			continue
		}
		xs, step := sr.grid(vi)
		if len(xs) < 8 {
			continue
		}
		sorted := slices.Sorted(slices.Values(xs))
		lo, hi := sorted[len(sorted)/10], sorted[len(sorted)*9/10]
		if hi-lo < minSwing {
			continue
		}
		lag, r := period(xs)
		if p := int64(lag) * step; lag > 0 && p >= minPeriod.Milliseconds() {
			swings = append(swings, swing{vi, lo, hi, r, p})
		}
	}
	slices.SortStableFunc(swings, func(a, b swing) int { return cmp.Compare(b.hi-b.lo, a.hi-a.lo) })
	return swings
}

func (g *graph) taskOf(vertex int) *task {
	for _, t := range g.tasks {
		if t.v == &g.s.Vertices[vertex] {
			return t
		}
	}
	return nil
}

func seconds(ms int64) string {
	return fmt.Sprintf("%.3gs", float64(ms)/1000)
}
