package runtime

import (
	"math"
	"time"

	"flowlab/runtime/metrics"
)

// point is a subtask's cumulative counters at one tick.
type point struct {
	t        time.Time
	waits    [waitKinds]time.Duration
	longest  [waitKinds]time.Duration // longest single wait during the tick ending at t
	in, out  int64
	inBytes  int64
	outBytes int64
	latency  latencyTick // the latencies of the records taken in during the tick ending at t
}

// window keeps the points of the last metrics.window, so every metric is an
// average over it (Flink's MeterView and TimerGauge over a time span).
type window struct {
	points []point // ring: window/tick + 1 points
	head   int     // oldest
	n      int
}

func newWindow(d, tick time.Duration) *window {
	return &window{points: make([]point, int(d/tick)+1)}
}

// resize makes the window d long, keeping the latest points that fit.
func (w *window) resize(d, tick time.Duration) {
	points := make([]point, int(d/tick)+1)
	keep := min(w.n, len(points))
	for i := range keep {
		points[i] = w.points[(w.head+w.n-keep+i)%len(w.points)]
	}
	w.points, w.head, w.n = points, 0, keep
}

// reset starts the window over at t with zero counters.
func (w *window) reset(t time.Time) {
	w.head, w.n = 0, 0
	w.add(point{t: t})
}

func (w *window) add(p point) { *w.next() = p }

// next makes room for a point and returns it, still holding what the
// slot held before (whose latency slices the new point may reuse).
func (w *window) next() *point {
	if w.n == len(w.points) {
		w.head = (w.head + 1) % len(w.points)
		w.n--
	}
	p := &w.points[(w.head+w.n)%len(w.points)]
	w.n++
	return p
}

// metrics adds the point sampled now and derives Flink's subtask metrics
// over the window; it adds the latencies over the window to lat, for the
// task's latency over all its subtasks.
func (s *subtask) metrics(now time.Time, lat *latencyHist) metrics.Subtask {
	cs := s.clk.sample(now)
	w := s.window
	slot := w.next()
	tick := slot.latency
	s.latency.take(&s.latencyPrev, &tick)
	*slot = point{t: now, waits: cs.total, longest: cs.longest, in: s.inPub.Load(), out: s.outPub.Load(),
		inBytes: s.inBytesPub.Load(), outBytes: s.outBytesPub.Load(), latency: tick}
	last := *slot
	base := w.points[w.head]
	var longest [waitKinds]time.Duration
	var own latencyHist
	for i := 1; i < w.n; i++ {
		p := &w.points[(w.head+i)%len(w.points)]
		for k := range longest {
			longest[k] = max(longest[k], p.longest[k])
		}
		own.addTick(&p.latency)
	}
	m := metrics.Subtask{
		Subtask:                   s.index,
		Attempt:                   s.attempt,
		NumRecordsIn:              last.in,
		NumRecordsOut:             last.out,
		IsBackPressured:           cs.kind == waitSoft || cs.kind == waitHard,
		MaxSoftBackPressureTimeMs: longest[waitSoft].Milliseconds(),
		MaxHardBackPressureTimeMs: longest[waitHard].Milliseconds(),
		NumBytesIn:                last.inBytes,
		NumBytesOut:               last.outBytes,
	}
	// Accumulated times since the attempt started: the waits as measured,
	// busy what is left, like Flink's TaskIOMetricGroup.
	idle, bp := cs.total[waitIdle], cs.total[waitSoft]+cs.total[waitHard]
	m.AccumulatedIdleTime = idle.Milliseconds()
	m.AccumulatedBackPressuredTime = bp.Milliseconds()
	if !s.started.IsZero() {
		m.AccumulatedBusyTime = metrics.Float(max(now.Sub(s.started)-idle-bp, 0).Milliseconds())
	}
	if dt := last.t.Sub(base.t).Seconds(); dt > 0 {
		// Whole milliseconds per second, as Flink reports them, rounded so
		// that the parts still add up: soft + hard = backpressured, and
		// idle + backpressured <= 1000.
		perSecond := func(d time.Duration) float64 { return d.Seconds() * 1000 / dt }
		idle := perSecond(last.waits[waitIdle] - base.waits[waitIdle])
		soft := perSecond(last.waits[waitSoft] - base.waits[waitSoft])
		hard := perSecond(last.waits[waitHard] - base.waits[waitHard])
		bp := math.Round(soft + hard)
		m.SoftBackPressuredTimeMsPerSecond = math.Round(soft)
		m.HardBackPressuredTimeMsPerSecond = bp - m.SoftBackPressuredTimeMsPerSecond
		m.IdleTimeMsPerSecond = min(math.Round(idle), 1000-bp)
		m.NumRecordsInPerSecond = float64(last.in-base.in) / dt
		m.NumRecordsOutPerSecond = float64(last.out-base.out) / dt
		m.NumBytesInPerSecond = float64(last.inBytes-base.inBytes) / dt
		m.NumBytesOutPerSecond = float64(last.outBytes-base.outBytes) / dt
	}
	m.BackPressuredTimeMsPerSecond = m.SoftBackPressuredTimeMsPerSecond + m.HardBackPressuredTimeMsPerSecond
	m.BusyTimeMsPerSecond = metrics.Float(1000 - min(m.IdleTimeMsPerSecond+m.BackPressuredTimeMsPerSecond, 1000))
	if s.task.prepared.Legacy {
		m.BusyTimeMsPerSecond = metrics.Float(math.NaN())
		m.AccumulatedBusyTime = metrics.Float(math.NaN())
	}
	if s.gate != nil {
		m.InPoolUsage, m.InputExclusiveBuffersUsage, m.InputFloatingBuffersUsage = s.gate.Usage()
		if d := s.debloat; d != nil {
			m.DebloatedBufferSize = d.size.Load()
			m.EstimatedTimeToConsumeBuffersMs = d.consumeMs.Load()
		}
		m.Latency = own.summary()
		lat.merge(&own)
	}
	used, total := 0, 0
	for _, wr := range s.writers {
		used += wr.Pool().Used()
		total += wr.Pool().Buffers()
	}
	if total > 0 {
		m.OutPoolUsage = float64(used) / float64(total)
	}
	return m
}

// sample publishes a snapshot every metrics tick until stop is closed.
func (j *Job) sample(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(j.tick)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			j.publish(now)
		case <-stop:
			return
		}
	}
}

// rateLocked is the rate of task i if it is a source with one: its
// subtasks' while they run; before they start (or while the job restarts)
// the rate set live, else the configured one, so that a snapshot never
// shows a generator without its rate.
func (j *Job) rateLocked(i int, t *task) (float64, bool) {
	if j.subtasks != nil {
		rs, ok := j.subtasks[i][0].src.(RateSetter)
		if !ok {
			return 0, false
		}
		return rs.Rate(), true
	}
	if t.prepared.NewSource == nil || (t.spec.Operator != OpGenerator && t.spec.Operator != OpLegacyGenerator) {
		return 0, false
	}
	if t.rate != nil {
		return *t.rate, true
	}
	rate, err := (&config{m: t.spec.Config}).number("rate", 0, 0, maxRate)
	return rate, err == nil
}

// publish samples every subtask of the current attempt and publishes a snapshot.
func (j *Job) publish(now time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	g := j.graph
	snap := &metrics.Job{
		Name:      g.spec.Name,
		State:     j.state,
		Failure:   j.failure,
		Restarts:  j.restarts,
		Paused:    j.pause.wait() != nil,
		Since:     j.started.UnixMilli(),
		WindowMs:  j.window.Milliseconds(),
		Timestamp: now.UnixMilli(),
		Vertices:  make([]metrics.Vertex, len(g.tasks)),
		Edges:     make([]metrics.Edge, len(g.edges)),
	}
	last := j.checkpoints.lastCompleted()
	for i, t := range g.tasks {
		subs := make([]metrics.Subtask, t.spec.Parallelism)
		var lat latencyHist // of the task: its subtasks' histograms merged
		for k := range subs {
			subs[k].Subtask, subs[k].Attempt = k, j.restarts // the attempt about to start
			if j.subtasks != nil {
				subs[k] = j.subtasks[i][k].metrics(now, &lat)
			}
			if c, ok := last[t.spec.Name]; ok && k < len(c) {
				s := &subs[k]
				s.LastCheckpointDuration, s.LastCheckpointSize = c[k].EndToEndDuration, c[k].StateSize
				s.LastCheckpointAlignmentDuration, s.CheckpointStartDelayNanos = c[k].AlignmentDuration, c[k].StartDelay*int64(time.Millisecond)
			}
		}
		v := metrics.NewVertex(t.id, t.spec.Name, t.spec.Operator, subs, snap.Timestamp)
		v.Latency = lat.summary()
		v.Config = t.spec.Config // replaced, never modified, by a change of config
		if c := time.Duration(t.cost.Load()); c > 0 {
			v.Cost = c.String()
		}
		if rate, ok := j.rateLocked(i, t); ok {
			v.Rate = &rate
		}
		snap.Vertices[i] = v
	}
	for i, e := range g.edges {
		snap.Edges[i] = metrics.Edge{Source: e.from.id, Target: e.to.id, Partitioning: e.spec.Partitioning, Bandwidth: e.spec.Bandwidth}
	}
	j.snap = snap
	close(j.updated)
	j.updated = make(chan struct{})
}
