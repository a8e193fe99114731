package doctor

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"flowlab/runtime/metrics"
)

// graph is the job graph of one snapshot with each task's maxima over its
// subtasks, as its graph node shows them.
type graph struct {
	s     *metrics.Job
	tasks []*task
	edges []edge
	cands []*task // the bottleneck candidates
}

type task struct {
	i       int
	v       *metrics.Vertex
	in, out []int   // neighbor task indexes
	busy    float64 // max busyTimeMsPerSecond over subtasks; NaN if none is known
	bp      float64 // max backPressuredTimeMsPerSecond
}

type edge struct {
	from, to int
	e        *metrics.Edge
}

func newGraph(s *metrics.Job) *graph {
	g := &graph{s: s}
	byID := map[string]int{}
	for i := range s.Vertices {
		v := &s.Vertices[i]
		if len(v.Subtasks) == 0 {
			continue
		}
		// The maxima over subtasks, as metrics.NewVertex made them (NaN busy
		// if no subtask's is known).
		t := &task{i: len(g.tasks), v: v, busy: float64(v.Metrics.BusyTimeMsPerSecond), bp: v.Metrics.BackPressuredTimeMsPerSecond}
		byID[v.ID] = t.i
		g.tasks = append(g.tasks, t)
	}
	for i := range s.Edges {
		e := &s.Edges[i]
		from, ok1 := byID[e.Source]
		to, ok2 := byID[e.Target]
		if !ok1 || !ok2 || from == to {
			continue
		}
		g.edges = append(g.edges, edge{from, to, e})
		g.tasks[from].out = append(g.tasks[from].out, to)
		g.tasks[to].in = append(g.tasks[to].in, from)
	}
	g.cands = g.candidates()
	return g
}

func (t *task) name() string { return t.v.Name }

// unknown is true for a task with inputs whose busy time is not known yet.
func (t *task) unknown() bool { return len(t.in) > 0 && math.IsNaN(t.busy) }

// isBusy is true for a red task: busy above 500 ms/s (NaN is not).
func (t *task) isBusy() bool { return t.busy > busy }

// hot lists t's busy subtasks, busiest first, at most 8.
func (t *task) hot() []int {
	var hot []int
	for k := range t.v.Subtasks {
		if float64(t.v.Subtasks[k].BusyTimeMsPerSecond) > busy {
			hot = append(hot, k)
		}
	}
	slices.SortStableFunc(hot, func(a, b int) int {
		return cmp.Compare(t.v.Subtasks[b].BusyTimeMsPerSecond, t.v.Subtasks[a].BusyTimeMsPerSecond)
	})
	return hot[:min(len(hot), 8)]
}

// maxSub is the largest value of m over t's subtasks and the subtask it is
// of; NaN and -1 when every one is NaN.
func (t *task) maxSub(m func(*metrics.Subtask) float64) (float64, int) {
	best, at := nan(), -1
	for k := range t.v.Subtasks {
		if x := m(&t.v.Subtasks[k]); !math.IsNaN(x) && !(x <= best) {
			best, at = x, k
		}
	}
	return best, at
}

func subBusy(s *metrics.Subtask) float64    { return float64(s.BusyTimeMsPerSecond) }
func subBP(s *metrics.Subtask) float64      { return s.BackPressuredTimeMsPerSecond }
func subInPool(s *metrics.Subtask) float64  { return s.InPoolUsage }
func subOutPool(s *metrics.Subtask) float64 { return s.OutPoolUsage }

// reach lists the tasks reachable from the start tasks along next, going on
// only through tasks for which through holds; the start tasks are not
// listed unless reached again.
func (g *graph) reach(start []int, next func(*task) []int, through func(*task) bool) []int {
	seen := map[int]bool{}
	var order []int
	queue := slices.Clone(start)
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		for _, n := range next(g.tasks[i]) {
			if seen[n] {
				continue
			}
			seen[n] = true
			order = append(order, n)
			if through(g.tasks[n]) {
				queue = append(queue, n)
			}
		}
	}
	return order
}

func ins(t *task) []int  { return t.in }
func outs(t *task) []int { return t.out }

// blackChain lists the tasks upstream of c that wait on their output, nearest
// first, going up only through such tasks.
func (g *graph) blackChain(c *task) []int {
	var chain []int
	for _, i := range g.reach([]int{c.i}, ins, func(t *task) bool { return t.bp > waiting }) {
		if g.tasks[i].bp > waiting {
			chain = append(chain, i)
		}
	}
	return chain
}

// candidates are the busy tasks after backpressured ones: busy, not
// themselves backpressured, with a chain of waiting tasks upstream that
// holds a backpressured one. A candidate that waits on another candidate
// downstream is not one.
func (g *graph) candidates() []*task {
	var cs []*task
	for _, t := range g.tasks {
		if !t.isBusy() || t.bp > backpressured {
			continue
		}
		if slices.ContainsFunc(g.blackChain(t), func(i int) bool { return g.tasks[i].bp > backpressured }) {
			cs = append(cs, t)
		}
	}
	return slices.DeleteFunc(cs, func(a *task) bool {
		if a.bp <= waiting {
			return false
		}
		down := g.reach([]int{a.i}, outs, func(*task) bool { return true })
		return slices.ContainsFunc(cs, func(b *task) bool { return b != a && slices.Contains(down, b.i) })
	})
}

// bottlenecks: "the red after the black".
func (g *graph) bottlenecks() []Finding {
	cs := slices.Clone(g.cands)
	slices.SortStableFunc(cs, func(a, b *task) int { return cmp.Compare(b.busy, a.busy) })
	var fs []Finding
	for _, c := range cs {
		f := Finding{Kind: Bottleneck, Tasks: []string{c.name()}}
		hot := c.hot()
		for _, k := range hot {
			f.Subtasks = append(f.Subtasks, Subtask{c.name(), c.v.Subtasks[k].Subtask})
			f.Evidence = append(f.Evidence, subEvidence(c, k, "busyTimeMsPerSecond", subBusy(&c.v.Subtasks[k]),
				fmt.Sprintf("%s busy %s ms/s", subName(c, k), ms(subBusy(&c.v.Subtasks[k])))))
		}
		if in, k := c.maxSub(subInPool); k >= 0 {
			f.Evidence = append(f.Evidence, subEvidence(c, k, "buffers.inPoolUsage", in, usageText(c, k, "input", in)))
		}
		var black []string
		for _, i := range g.blackChain(c) {
			u := g.tasks[i]
			f.Tasks = append(f.Tasks, u.name())
			black = append(black, u.name())
			bp, k := u.maxSub(subBP)
			f.Evidence = append(f.Evidence, subEvidence(u, k, "backPressuredTimeMsPerSecond", bp,
				fmt.Sprintf("%s backpressured %s ms/s", subName(u, k), ms(bp))))
		}
		f.Title = c.name() + " is the bottleneck"
		var advice strings.Builder
		fmt.Fprintf(&advice, "%s is busy while %s upstream wait%s for it: the first busy task after the backpressured ones is the one that cannot keep up. ",
			c.name(), join(black), plural(len(black), "s", ""))
		if skewHot, _, ok := c.skewed(); ok {
			fmt.Fprintf(&advice, "Only %d of its %d subtasks %s busy: see the skew finding; more parallelism will not help then. ",
				len(skewHot), len(c.v.Subtasks), plural(len(skewHot), "is", "are"))
		} else {
			advice.WriteString("Make it faster (its flame graph shows where the time goes: per-record work, serialization, GC, a slow external system) or give it more parallelism. ")
		}
		if len(c.out) == 0 {
			advice.WriteString("A sink is often as fast as the system it writes to: check that system too.")
		}
		f.Advice = strings.TrimSpace(advice.String())
		fs = append(fs, f)
	}
	return fs
}

// networks: a backpressured task that no busy task downstream explains,
// with full output buffers, before a receiver that is neither busy nor
// backpressured, with empty input buffers: the link between them is slow.
func (g *graph) networks() []Finding {
	var fs []Finding
	for _, b := range g.tasks {
		if b.bp <= backpressured {
			continue
		}
		down := g.reach([]int{b.i}, outs, func(t *task) bool { return t.bp > waiting })
		if slices.ContainsFunc(g.cands, func(c *task) bool { return slices.Contains(down, c.i) }) {
			continue // a bottleneck downstream explains it
		}
		for _, e := range g.edges {
			r := g.tasks[e.to]
			if e.from != b.i || r.bp > waiting || r.isBusy() {
				continue
			}
			out, ko := b.maxSub(subOutPool)
			in, ki := r.maxSub(subInPool)
			if out < fullOutPool || in > emptyInPool { // false for NaN: usages unknown
				continue
			}
			f := Finding{Kind: Network, Tasks: []string{b.name(), r.name()},
				Title: fmt.Sprintf("the network between %s and %s is the bottleneck", b.name(), r.name())}
			bp, kb := b.maxSub(subBP)
			f.Evidence = append(f.Evidence,
				subEvidence(b, kb, "backPressuredTimeMsPerSecond", bp, fmt.Sprintf("%s backpressured %s ms/s", subName(b, kb), ms(bp))),
				subEvidence(b, ko, "buffers.outPoolUsage", out, usageText(b, ko, "output", out)),
				subEvidence(r, ki, "buffers.inPoolUsage", in, usageText(r, ki, "input", in)))
			rb, kr := r.maxSub(subBusy)
			f.Evidence = append(f.Evidence, subEvidence(r, kr, "busyTimeMsPerSecond", rb, fmt.Sprintf("%s busy %s ms/s", subName(r, kr), ms(rb))))
			if e.e.Bandwidth > 0 {
				f.Evidence = append(f.Evidence, Evidence{Task: b.name(), Metric: "bandwidth", Value: float64(e.e.Bandwidth),
					Text: fmt.Sprintf("the link from %s to %s carries %d bytes/s per channel", b.name(), r.name(), e.e.Bandwidth)})
			}
			var sent float64
			for k := range b.v.Subtasks {
				sent += b.v.Subtasks[k].NumBytesOutPerSecond
			}
			if sent > 0 {
				f.Evidence = append(f.Evidence, Evidence{Task: b.name(), Metric: "numBytesOutPerSecond", Value: sent,
					Text: fmt.Sprintf("%s sends %.0f bytes/s", b.name(), sent)})
			}
			f.Advice = fmt.Sprintf("Neither side is busy: %s waits for room in its output buffers, which wait to cross the network, "+
				"and %s waits for them to arrive. A faster task will not help; more bandwidth will: spread the channels over more "+
				"machines (more parallelism on both sides), or send fewer bytes (smaller records, filter or pre-aggregate before the shuffle).",
				b.name(), r.name())
			fs = append(fs, f)
		}
	}
	return fs
}

// skews: one or few subtasks busy while their siblings idle.
func (g *graph) skews() []Finding {
	var fs []Finding
	for _, t := range g.tasks {
		hot, cold, ok := t.skewed()
		if !ok {
			continue
		}
		f := Finding{Kind: Skew, Tasks: []string{t.name()}}
		var names []string
		for _, k := range hot {
			s := &t.v.Subtasks[k]
			f.Subtasks = append(f.Subtasks, Subtask{t.name(), s.Subtask})
			names = append(names, subName(t, k))
			f.Evidence = append(f.Evidence,
				subEvidence(t, k, "busyTimeMsPerSecond", subBusy(s), fmt.Sprintf("%s busy %s ms/s", subName(t, k), ms(subBusy(s)))),
				subEvidence(t, k, "numRecordsInPerSecond", s.NumRecordsInPerSecond, fmt.Sprintf("%s takes %.0f records/s", subName(t, k), s.NumRecordsInPerSecond)))
		}
		var coldBusy, coldRate []float64
		for _, k := range cold {
			coldBusy = append(coldBusy, subBusy(&t.v.Subtasks[k]))
			coldRate = append(coldRate, t.v.Subtasks[k].NumRecordsInPerSecond)
		}
		mb, mr := median(coldBusy), median(coldRate)
		f.Evidence = append(f.Evidence,
			Evidence{Task: t.name(), Metric: "busyTimeMsPerSecond", Value: mb,
				Text: fmt.Sprintf("its %d other subtask%s busy %s ms/s (median)", len(cold), plural(len(cold), "", "s"), ms(mb))},
			Evidence{Task: t.name(), Metric: "numRecordsInPerSecond", Value: mr,
				Text: fmt.Sprintf("they take %.0f records/s (median)", mr)},
			Evidence{Task: t.name(), Metric: "dataSkew", Value: t.v.DataSkew, Text: fmt.Sprintf("%s data skew %.0f%%", t.name(), t.v.DataSkew)})
		f.Title = fmt.Sprintf("%s is skewed: %s busy, its siblings idle", t.name(), join(names))
		f.Advice = "More parallelism will not help: a hot key goes to one subtask whatever the parallelism. " +
			"If the operator does not need its input keyed, rebalance instead of hashing; otherwise spread the hot key " +
			"(salt it and aggregate in two steps) or pre-aggregate before the shuffle (local or mini-batch aggregation). " +
			"If the records are even but some cost more, look at what the busy subtasks get."
		fs = append(fs, f)
	}
	slices.SortStableFunc(fs, func(a, b Finding) int { return cmp.Compare(b.Evidence[0].Value, a.Evidence[0].Value) })
	return fs
}

// skewed tells whether t is busy in a few subtasks while its siblings idle:
// hot ones (busy, and above half the busiest; hottest first) are at most
// half, and cold ones (at most half the busiest) at least half of them.
func (t *task) skewed() (hot, cold []int, ok bool) {
	p := len(t.v.Subtasks)
	if p < 2 || !t.isBusy() {
		return nil, nil, false
	}
	for k := range t.v.Subtasks {
		b := subBusy(&t.v.Subtasks[k])
		switch {
		case b > busy && b > t.busy/2:
			hot = append(hot, k)
		case b <= t.busy/2:
			cold = append(cold, k)
		}
	}
	slices.SortStableFunc(hot, func(a, b int) int {
		return cmp.Compare(subBusy(&t.v.Subtasks[b]), subBusy(&t.v.Subtasks[a]))
	})
	return hot, cold, len(hot) > 0 && 2*len(hot) <= p && 2*len(cold) >= p
}

// legacySources: a source whose busy time is unknown may hide the bottleneck.
func (g *graph) legacySources() []Finding {
	var fs []Finding
	for _, t := range g.tasks {
		if len(t.in) > 0 || !slices.ContainsFunc(t.v.Subtasks, func(s metrics.Subtask) bool { return math.IsNaN(float64(s.BusyTimeMsPerSecond)) }) {
			continue
		}
		down := g.reach([]int{t.i}, outs, func(*task) bool { return true })
		busiest := -1
		for _, i := range down {
			if d := g.tasks[i]; d.isBusy() && (busiest < 0 || d.busy > g.tasks[busiest].busy) {
				busiest = i
			}
		}
		bp, kb := t.maxSub(subBP)
		f := Finding{Kind: LegacySource, Tasks: []string{t.name()}}
		f.Evidence = append(f.Evidence, Evidence{Task: t.name(), Metric: "busyTimeMsPerSecond", Value: nan(), Text: t.name() + " busy N/A"},
			subEvidence(t, kb, "backPressuredTimeMsPerSecond", bp, fmt.Sprintf("%s backpressured %s ms/s", subName(t, kb), ms(bp))),
			Evidence{Task: t.name(), Metric: "numRecordsOutPerSecond", Value: t.v.Metrics.NumRecordsOutPerSecond,
				Text: fmt.Sprintf("%s emits %.0f records/s", t.name(), t.v.Metrics.NumRecordsOutPerSecond)})
		advice := "A legacy SourceFunction emits from a thread of its own, so Flink cannot measure its busy time (N/A). " +
			"Port it to the Source API (FLIP-27) to see it. "
		switch {
		case bp > backpressured:
			f.Title = t.name() + " is a legacy source: its busy time is unknown"
			advice += "It is backpressured now, so the bottleneck is downstream of it, not in it."
		case busiest >= 0:
			d := g.tasks[busiest]
			f.Title = t.name() + " is a legacy source: its busy time is unknown"
			f.Tasks = append(f.Tasks, d.name())
			f.Evidence = append(f.Evidence, Evidence{Task: d.name(), Metric: "busyTimeMsPerSecond", Value: d.busy,
				Text: fmt.Sprintf("%s busy %s ms/s", d.name(), ms(d.busy))})
			advice += fmt.Sprintf("%s downstream is busy; whether %s could emit more, its numbers do not say.", d.name(), t.name())
		default:
			f.Title = t.name() + " may be the bottleneck: its busy time is unknown"
			advice += "It is not backpressured and nothing downstream is busy, so either the job keeps up with its input " +
				"or the source itself is slow (reading from an external system, or busy on its own thread). " +
				"Compare its output rate (numRecordsOutPerSecond) with what the system it reads offers, or look at its flame graph."
		}
		f.Advice = advice
		fs = append(fs, f)
	}
	return fs
}

// healthy: no task backpressured above Flink's high level, and nothing
// else found. How busy the busiest task is says how much room is left.
func (g *graph) healthy() (Finding, bool) {
	var top, worst *task
	for _, t := range g.tasks {
		if t.bp > backpressured {
			return Finding{}, false
		}
		if !math.IsNaN(t.busy) && (top == nil || t.busy > top.busy) {
			top = t
		}
		if worst == nil || t.bp > worst.bp {
			worst = t
		}
	}
	f := Finding{Kind: Healthy, Title: "no backpressure"}
	var advice strings.Builder
	if worst.bp > waiting {
		f.Title = "a little backpressure, which is fine"
		bp, k := worst.maxSub(subBP)
		f.Evidence = append(f.Evidence, subEvidence(worst, k, "backPressuredTimeMsPerSecond", bp,
			fmt.Sprintf("%s backpressured %s ms/s (low)", subName(worst, k), ms(bp))))
		advice.WriteString("Some backpressure now and then is how a job absorbs spikes; it matters when it lasts and is high. ")
	}
	if top != nil {
		f.Tasks = []string{top.name()}
		b, k := top.maxSub(subBusy)
		f.Evidence = append(f.Evidence, subEvidence(top, k, "busyTimeMsPerSecond", b,
			fmt.Sprintf("the busiest task, %s, busy %s ms/s", subName(top, k), ms(b))))
		switch {
		case len(top.in) == 0 && b > saturated:
			fmt.Fprintf(&advice, "%s is a source that emits as fast as it can: it is working, not a bottleneck.", top.name())
		case b > saturated:
			fmt.Fprintf(&advice, "%s is close to its limit: a spike in the input will backpressure the job; give it room (parallelism) if spikes matter.", top.name())
		case b < underused:
			fmt.Fprintf(&advice, "The job is underutilized: its busiest task works %s of the time. Lower parallelism or smaller machines would cost less.", pct(b/1000))
		default:
			advice.WriteString("The job keeps up with room for spikes.")
		}
	}
	for _, t := range g.tasks {
		if t.v.DataSkew >= skewedData && len(t.v.Subtasks) > 1 {
			f.Evidence = append(f.Evidence, Evidence{Task: t.name(), Metric: "dataSkew", Value: t.v.DataSkew,
				Text: fmt.Sprintf("%s data skew %.0f%%", t.name(), t.v.DataSkew)})
			fmt.Fprintf(&advice, " %s's input is skewed: its busiest subtask will be the first to saturate.", t.name())
		}
	}
	f.Advice = strings.TrimSpace(advice.String())
	return f, true
}

func subEvidence(t *task, k int, metric string, value float64, text string) Evidence {
	e := Evidence{Task: t.name(), Metric: metric, Value: value, Text: text}
	if k >= 0 && len(t.v.Subtasks) > 1 {
		i := t.v.Subtasks[k].Subtask
		e.Subtask = &i
	}
	return e
}

// subName is "sink" for a task of one subtask, "count[2]" for subtask 2 of many.
func subName(t *task, k int) string {
	if k < 0 || len(t.v.Subtasks) == 1 {
		return t.name()
	}
	return fmt.Sprintf("%s[%d]", t.name(), t.v.Subtasks[k].Subtask)
}

func usageText(t *task, k int, side string, u float64) string {
	if math.IsNaN(u) {
		return fmt.Sprintf("%s %s buffer usage unknown", t.name(), side)
	}
	return fmt.Sprintf("%s %s buffers %s full", subName(t, k), side, pct(u))
}

func ms(x float64) string {
	if math.IsNaN(x) {
		return "N/A"
	}
	return fmt.Sprintf("%.0f", x)
}

func pct(x float64) string { return fmt.Sprintf("%.0f%%", x*100) }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func join(names []string) string {
	switch len(names) {
	case 0:
		return "the tasks"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return nan()
	}
	s := slices.Sorted(slices.Values(xs))
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int { return cmp.Compare(kindOrder[a.Kind], kindOrder[b.Kind]) })
}
