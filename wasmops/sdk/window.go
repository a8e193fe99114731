package sdk

import (
	"slices"
	"strconv"
	"time"
)

// Window is the configuration of a sliding window: each window is Size long
// and a new one starts every Slide, as in Flink's
// SlidingProcessingTimeWindows. Windows are aligned to the Unix epoch: with
// size 10s and slide 1s, a window ends at every whole second and holds the 10
// seconds before it. As JSON: {"size": "10s", "slide": "1s"}.
type Window struct {
	Size  Duration `json:"size"`
	Slide Duration `json:"slide"`
}

// maxPanes bounds Size / gcd(Size, Slide), the number of partial aggregates
// a window merges when it fires.
const maxPanes = 100_000

// check validates w and returns size, slide and pane length in milliseconds.
func (w Window) check() (size, slide, pane int64, err error) {
	size, slide = w.Size.D().Milliseconds(), w.Slide.D().Milliseconds()
	switch {
	case w.Size.D() <= 0 || w.Slide.D() <= 0:
		return 0, 0, 0, errorString("window: size (" + w.Size.String() + ") and slide (" + w.Slide.String() + `) must both be positive durations, as in {"size": "10s", "slide": "1s"}`)
	case w.Size.D()%time.Millisecond != 0 || w.Slide.D()%time.Millisecond != 0:
		return 0, 0, 0, errorString("window: size (" + w.Size.String() + ") and slide (" + w.Slide.String() + ") must be whole milliseconds")
	case slide > size:
		return 0, 0, 0, errorString("window: slide (" + w.Slide.String() + ") must not be longer than size (" + w.Size.String() + ")")
	}
	pane = gcd(size, slide)
	if size/pane > maxPanes {
		return 0, 0, 0, errorString("window: size " + w.Size.String() + " with slide " + w.Slide.String() + " needs " +
			strconv.FormatInt(size/pane, 10) + " partial aggregates per window, more than " + strconv.Itoa(maxPanes) +
			": choose a slide that divides the size into fewer parts")
	}
	return size, slide, pane, nil
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Aggregate says how a window aggregates the records of one key. A is the
// type of the accumulator; its zero value is the aggregate of no records.
type Aggregate[A any] struct {
	// Add returns acc with r added.
	Add func(acc A, r Record) A
	// Merge returns the aggregate of the records of a and of b.
	Merge func(a, b A) A
	// Append appends the output value for a window's aggregate to dst.
	Append func(dst []byte, acc A) []byte
}

// Count is the aggregate that counts records; the output value is the count
// in decimal.
func Count() Aggregate[int64] {
	return Aggregate[int64]{
		Add:    func(n int64, _ Record) int64 { return n + 1 },
		Merge:  func(a, b int64) int64 { return a + b },
		Append: func(dst []byte, n int64) []byte { return strconv.AppendInt(dst, n, 10) },
	}
}

// SlidingWindow registers the module's operator as a sliding window on
// processing time, like Flink's window operator with
// SlidingProcessingTimeWindows: each record goes into the windows that contain
// the time it is processed at, and when a window ends (on a timer) the
// operator emits, per key with records in the window, one record: the key
// and agg's output value, in order of key. w is read when the task starts,
// after the config is decoded, so it can be the value given to Config.
//
// Records are kept once, in panes of gcd(size, slide) aggregated per key; a
// firing merges the size/pane panes of its window for every key. So the cost
// of a sliding window lands when it fires, every slide, and grows with the
// number of keys times size/slide: exactly what makes a sliding window a
// bottleneck in Flink. Window contents live in the instance: they are lost if
// it is restarted after a failure.
func SlidingWindow[A any](w *Window, agg Aggregate[A]) {
	if w == nil || agg.Add == nil || agg.Merge == nil || agg.Append == nil {
		panic("sdk.SlidingWindow: need a window and an aggregate with Add, Merge and Append")
	}
	register(&windowOp[A]{cfg: w, agg: agg}, false)
}

// windowOp is the sliding window: the operator and its pure core.
type windowOp[A any] struct {
	cfg               *Window
	agg               Aggregate[A]
	size, slide, pane int64
	panes             map[int64]*pane[A] // by start
	cur               *pane[A]           // the pane of the last record
	next              int64              // end of the next window to fire; 0: no timer set
	free              []*pane[A]         // emptied panes to reuse
	merged            pane[A]            // scratch for a firing
	keys              []string           // scratch for a firing
	val               []byte             // scratch for a firing
}

// pane holds the aggregates per key of the records processed in [start,
// start+pane).
type pane[A any] struct {
	start int64
	index map[string]int32
	accs  []A
}

func (p *pane[A]) reset() {
	clear(p.index)
	clear(p.accs) // drop references held by accumulators
	p.accs = p.accs[:0]
}

func (*windowOp[A]) kind() string { return "SlidingWindow" }

func (w *windowOp[A]) start() error {
	var err error
	if w.size, w.slide, w.pane, err = w.cfg.check(); err != nil {
		return err
	}
	w.panes = map[int64]*pane[A]{}
	w.merged.index = map[string]int32{}
	w.cur, w.next = nil, 0
	return nil
}

func (w *windowOp[A]) process(in *Batch) error {
	now := hostNow()
	for in.Next() {
		if t := w.add(now, in.Record()); t != 0 {
			hostTimer(t)
		}
	}
	return in.err()
}

func (w *windowOp[A]) timer(ts int64) error {
	t := w.fire(ts, &out)
	if t != 0 {
		hostTimer(t)
	}
	return nil
}

// add adds r, processed at now, to its pane. It returns the time of a timer
// to set, or 0 if none is needed.
func (w *windowOp[A]) add(now int64, r Record) int64 {
	start := floorDiv(now, w.pane) * w.pane
	p := w.cur
	if p == nil || p.start != start {
		if p = w.panes[start]; p == nil {
			p = w.newPane(start)
			w.panes[start] = p
		}
		w.cur = p
	}
	if i, ok := p.index[string(r.Key)]; ok {
		p.accs[i] = w.agg.Add(p.accs[i], r)
	} else {
		var zero A
		p.index[string(r.Key)] = int32(len(p.accs))
		p.accs = append(p.accs, w.agg.Add(zero, r))
	}
	if end := w.firstEnd(start); w.next == 0 || end < w.next {
		w.next = end
		return end
	}
	return 0
}

func (w *windowOp[A]) newPane(start int64) *pane[A] {
	var p *pane[A]
	if n := len(w.free); n > 0 {
		p, w.free = w.free[n-1], w.free[:n-1]
	} else {
		p = &pane[A]{index: map[string]int32{}}
	}
	p.start = start
	return p
}

// firstEnd is the end of the first window that contains the pane starting
// at start.
func (w *windowOp[A]) firstEnd(start int64) int64 {
	return floorDiv(start, w.slide)*w.slide + w.slide
}

// fire emits the windows that end at or before ts and are due, evicts the
// panes no later window needs, and returns the time of the next timer to
// set, or 0 if none is needed (no panes left, or a timer is already set).
func (w *windowOp[A]) fire(ts int64, o *Output) int64 {
	if w.next == 0 || ts < w.next {
		return 0 // a timer from before a restart, or one already handled
	}
	for w.next != 0 && w.next <= ts && !o.stopped {
		end := w.next
		w.emit(end, o)
		w.evict(end + w.slide - w.size)
		w.next = 0
		if len(w.panes) > 0 {
			w.next = max(end+w.slide, w.firstEnd(w.earliest()))
		}
	}
	return w.next
}

// emit emits the aggregate per key of the window [end-size, end).
func (w *windowOp[A]) emit(end int64, o *Output) {
	m := &w.merged
	m.reset()
	w.keys = w.keys[:0]
	for start := end - w.size; start < end; start += w.pane {
		p := w.panes[start]
		if p == nil {
			continue
		}
		for k, i := range p.index {
			if j, ok := m.index[k]; ok {
				m.accs[j] = w.agg.Merge(m.accs[j], p.accs[i])
			} else {
				m.index[k] = int32(len(m.accs))
				m.accs = append(m.accs, p.accs[i])
				w.keys = append(w.keys, k)
			}
		}
	}
	slices.Sort(w.keys)
	for _, k := range w.keys {
		w.val = w.agg.Append(w.val[:0], m.accs[m.index[k]])
		if !o.Emit(stringBytes(k), w.val) {
			return
		}
	}
}

// evict drops the panes that start before start.
func (w *windowOp[A]) evict(start int64) {
	for s, p := range w.panes {
		if s < start {
			delete(w.panes, s)
			if w.cur == p {
				w.cur = nil
			}
			p.reset()
			w.free = append(w.free, p)
		}
	}
}

func (w *windowOp[A]) earliest() int64 {
	first := true
	var e int64
	for s := range w.panes {
		if first || s < e {
			e, first = s, false
		}
	}
	return e
}

// floorDiv is a/b rounded toward negative infinity, for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
