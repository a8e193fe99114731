// Package hub turns a job's metric snapshots into websocket frames. A Feed
// marshals one frame per metrics tick, keeps the last minutes of every
// task's busy and backpressured percentages, has the doctor diagnose every
// snapshot (the frames carry its findings), and hands the same prepared
// bytes to every Watcher through a mailbox of one frame: a slow watcher loses
// frames, and never slows the job or the other watchers.
package hub

import (
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"flowlab/runtime/doctor"
	"flowlab/runtime/metrics"
)

// Source is what a Feed needs of a job (a *runtime.Job is one).
type Source interface {
	// Snapshot is the latest snapshot; it is shared and never modified.
	Snapshot() *metrics.Job
	// Updated is closed when the next snapshot is published.
	Updated() <-chan struct{}
	// Done is closed when the job has ended and its last snapshot is published.
	Done() <-chan struct{}
}

// Frame is one message to watchers, marshaled once for all of them. The
// tasks' configs change rarely (a change restarts the job) and would only
// weigh on every frame: a frame carries them only for a watcher that has
// not yet been sent configs Config (WithConfig), so each watcher gets them
// in its first frame and in the first after each change, even when it
// loses frames.
type Frame struct {
	Seq       uint64                     // 1 for the first frame of a feed, then counting
	Data      []byte                     // the JSON text, without configs
	Msg       *websocket.PreparedMessage // Data as a websocket text message
	Published time.Time                  // when the feed saw the snapshot
	Config    uint64                     // which configs the job runs with: 1 for the first the feed saw, then counting changes

	full struct {
		once     sync.Once
		snap     *metrics.Job
		findings []doctor.Finding
		data     []byte
		msg      *websocket.PreparedMessage
	}
}

// WithConfig is the frame with every task's config, marshaled once, when
// first needed.
func (fr *Frame) WithConfig() ([]byte, *websocket.PreparedMessage) {
	fr.full.once.Do(func() {
		fr.full.data = marshalFrame(fr.full.snap, fr.full.findings, fr.Seq, true)
		fr.full.msg, _ = websocket.NewPreparedMessage(websocket.TextMessage, fr.full.data)
	})
	return fr.full.data, fr.full.msg
}

// Feed follows one job. It is safe for concurrent use.
type Feed struct {
	src  Source
	stop chan struct{} // closed by Stop
	done chan struct{} // closed when the feed's goroutine has returned

	mu        sync.Mutex
	watchers  map[*Watcher]struct{}
	hist      *history
	doctor    *doctor.Doctor
	snap      *metrics.Job // the latest snapshot
	seen      time.Time    // when it was seen
	frame     *Frame       // snap as a frame, marshaled on first need
	seq       uint64
	configKey string // configKey of the last frame
	config    uint64 // how many distinct configs frames have had
	stopped   bool
	lastWatch time.Time // when the last watcher left, or the feed started
}

// New starts following src, keeping capacity ticks of history.
func New(src Source, capacity int) *Feed {
	f := &Feed{
		src:       src,
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
		watchers:  map[*Watcher]struct{}{},
		hist:      newHistory(capacity),
		doctor:    doctor.New(),
		lastWatch: time.Now(),
	}
	go f.run()
	return f
}

// run publishes a frame per snapshot until the job ends or Stop is called.
func (f *Feed) run() {
	defer close(f.done)
	for {
		updated := f.src.Updated()
		f.publish(f.src.Snapshot())
		select {
		case <-updated:
		case <-f.src.Done():
			f.publish(f.src.Snapshot())
			return
		case <-f.stop:
			return
		}
	}
}

// publish records a new snapshot in the history and, if anyone watches,
// sends it to them as a frame.
func (f *Feed) publish(s *metrics.Job) {
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if s == nil || s == f.snap {
		return
	}
	f.hist.add(s)
	f.doctor.Observe(s)
	f.seq++
	f.snap, f.seen, f.frame = s, now, nil
	if len(f.watchers) == 0 {
		return
	}
	fr := f.latest()
	for w := range f.watchers {
		w.offer(fr)
	}
}

// latest is the latest snapshot as a frame; f.mu is held.
func (f *Feed) latest() *Frame {
	if f.frame == nil && f.snap != nil {
		if key := configKey(f.snap); key != f.configKey || f.config == 0 {
			f.configKey = key
			f.config++
		}
		findings := f.doctor.Findings()
		data := marshalFrame(f.snap, findings, f.seq, false)
		msg, _ := websocket.NewPreparedMessage(websocket.TextMessage, data) // fails only for a bad message type
		f.frame = &Frame{Seq: f.seq, Data: data, Msg: msg, Published: f.seen, Config: f.config}
		f.frame.full.snap, f.frame.full.findings = f.snap, findings
	}
	return f.frame
}

// Watch adds a watcher. It returns the history so far (a JSON message, see
// docs/API.md) and the watcher, whose mailbox already holds the latest frame.
func (f *Feed) Watch() (*Watcher, []byte) {
	w := &Watcher{feed: f, mailbox: make(chan *Frame, 1), closed: make(chan struct{})}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		close(w.closed)
		return w, f.hist.marshal()
	}
	f.watchers[w] = struct{}{}
	if fr := f.latest(); fr != nil {
		w.offer(fr)
	}
	return w, f.hist.marshal()
}

// Diagnosis is the doctor's findings on the snapshots seen so far.
func (f *Feed) Diagnosis() []doctor.Finding { return f.doctor.Findings() }

// Watchers is how many watchers the feed has now.
func (f *Feed) Watchers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.watchers)
}

// Unwatched is how long the feed has had no watcher; 0 while it has one.
func (f *Feed) Unwatched(now time.Time) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.watchers) > 0 {
		return 0
	}
	return now.Sub(f.lastWatch)
}

// Stop stops following the job and closes every watcher.
func (f *Feed) Stop() {
	f.mu.Lock()
	if !f.stopped {
		f.stopped = true
		close(f.stop)
		for w := range f.watchers {
			close(w.closed)
		}
		clear(f.watchers)
	}
	f.mu.Unlock()
	<-f.done
}

// Watcher receives a feed's frames.
type Watcher struct {
	feed    *Feed
	mailbox chan *Frame   // the newest frame not yet taken
	closed  chan struct{} // closed when the watcher is removed
}

// Frames delivers the newest frame not yet taken; older ones are dropped.
func (w *Watcher) Frames() <-chan *Frame { return w.mailbox }

// Closed is closed when the watcher is closed or its feed stopped.
func (w *Watcher) Closed() <-chan struct{} { return w.closed }

// Close removes the watcher from its feed.
func (w *Watcher) Close() {
	f := w.feed
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.watchers[w]; ok {
		delete(f.watchers, w)
		close(w.closed)
		if len(f.watchers) == 0 {
			f.lastWatch = time.Now()
		}
	}
}

// offer puts fr in the mailbox, replacing a frame not taken yet. Only the
// feed sends, under its lock, so the second send cannot fail.
func (w *Watcher) offer(fr *Frame) {
	select {
	case w.mailbox <- fr:
		return
	default:
	}
	select {
	case <-w.mailbox:
	default:
	}
	select {
	case w.mailbox <- fr:
	default:
	}
}
