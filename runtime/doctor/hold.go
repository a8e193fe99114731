package doctor

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"flowlab/runtime/metrics"
)

// Config configures a Doctor: an immutable value, each WithX returns a copy.
type Config struct {
	hold    time.Duration
	history time.Duration
}

// NewConfig returns the defaults: a hold of 3 s and a history of 2 minutes.
func NewConfig() Config { return Config{hold: 3 * time.Second, history: defaultHistory} }

// WithHold sets how long (in snapshot time) a finding must hold before
// Findings reports it, and how long it stays after it last held. Default
// 3 s; 0 reports every verdict as it comes; negative is 0.
func (c Config) WithHold(d time.Duration) Config {
	c.hold = max(d, 0)
	return c
}

// WithHistory sets how much history the varying-load rule reads, which
// bounds the longest period it finds (0.4 of it). Default 2 minutes; at
// least 10 s.
func (c Config) WithHistory(d time.Duration) Config {
	c.history = max(d, 10*time.Second)
	return c
}

// Doctor diagnoses a job from the snapshots it is fed, keeping a bounded,
// compact history (one busy time per task per 250 ms over Config's history,
// plus the latest snapshot). A finding (identified by its kind and main
// tasks) is reported once it has held for the hold time and kept until it
// has been gone as long, so that a panel does not flicker; its Since is when
// it first held. Snapshots without a verdict (RESTARTING, paused, the first
// second of an attempt) change nothing: time without a verdict does not
// count as gone. When the job ends (FINISHED, CANCELED, FAILED), Findings
// keeps what it reported, or the last verdict if it reported nothing yet.
// Observe from one goroutine; Findings from any.
type Doctor struct {
	cfg Config

	mu      sync.Mutex
	sr      *series
	held    map[string]*held
	last    []Finding // the last verdict with data, for an ended job that had none held
	ended   bool
	ordered []Finding // what Findings returns
}

type held struct {
	f           Finding
	first, seen int64 // snapshot times it first and last held
	shown       bool
}

// New returns a Doctor with the defaults of NewConfig.
func New() *Doctor { return NewWithConfig(NewConfig()) }

// NewWithConfig returns a Doctor configured by c.
func NewWithConfig(c Config) *Doctor {
	return &Doctor{cfg: c, sr: newSeries(c.history), held: map[string]*held{}, ordered: []Finding{}}
}

// Observe feeds the next snapshot, oldest first. Snapshots are shared: the
// Doctor does not modify them and keeps only the latest.
func (d *Doctor) Observe(s *metrics.Job) {
	if s == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if metrics.Terminal(s.State) {
		if !d.ended && len(d.ordered) == 0 && d.last != nil {
			d.ordered = d.last
		}
		d.ended, d.sr.prev = true, nil
		return
	}
	d.ended = false
	d.sr.add(s)
	verdict, judged := diagnose(s, d.sr)
	now, hold := s.Timestamp, d.cfg.hold.Milliseconds()
	if !judged {
		// No verdict (restarting, paused, the first second of an attempt):
		// what is held stays, and the time without a verdict does not count
		// as gone.
		for _, h := range d.held {
			h.seen = max(h.seen, now)
		}
		return
	}
	if len(verdict) > 0 {
		d.last = verdict
	}
	for _, f := range verdict {
		k := f.key()
		h := d.held[k]
		if h == nil {
			h = &held{first: now}
			d.held[k] = h
		}
		h.f, h.seen = f, now
		h.f.Since = h.first
	}
	for k, h := range d.held {
		switch {
		case now-h.seen > hold || now < h.first: // gone long enough, or time went back (a new job)
			delete(d.held, k)
		case now-h.first >= hold:
			h.shown = true
		}
	}
	d.ordered = d.ordered[:0:0]
	for _, h := range d.held {
		if h.shown {
			d.ordered = append(d.ordered, h.f)
		}
	}
	slices.SortFunc(d.ordered, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(kindOrder[a.Kind], kindOrder[b.Kind]), cmp.Compare(a.Since, b.Since), cmp.Compare(a.key(), b.key()))
	})
}

// Findings is what the Doctor reports now, most important first (bottleneck,
// network, skew, legacy-source, varying-load, healthy), then oldest first.
// Never nil; a copy.
func (d *Doctor) Findings() []Finding {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.ordered)
}
