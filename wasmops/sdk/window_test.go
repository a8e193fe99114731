//go:build !wasip1

package sdk

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newWindow(t *testing.T, size, slide time.Duration) *windowOp[int64] {
	t.Helper()
	w := &windowOp[int64]{cfg: &Window{Size: Duration(size), Slide: Duration(slide)}, agg: Count()}
	require.NoError(t, w.start())
	return w
}

// fire fires the window at ts and returns what it emitted and the next timer.
func fire(w *windowOp[int64], ts int64) ([]localRecord, int64) {
	local.emits = nil
	var o Output
	next := w.fire(ts, &o)
	o.flush() // as at the end of a call
	return local.emits, next
}

func TestWindow_Fire(t *testing.T) {
	setup(t, 0)
	w := newWindow(t, 3*time.Second, time.Second)
	assert.Equal(t, int64(11_000), w.add(10_500, kv("a", "")))
	assert.Zero(t, w.add(10_500, kv("b", "")), "timer already set")
	assert.Zero(t, w.add(10_900, kv("a", "")))

	out, next := fire(w, 11_000)
	assert.Equal(t, emits("a", "2", "b", "1"), out)
	assert.Equal(t, int64(12_000), next)

	assert.Zero(t, w.add(11_200, kv("c", "")))
	assert.Zero(t, w.add(11_999, kv("b", "")))
	out, next = fire(w, 12_000)
	assert.Equal(t, emits("a", "2", "b", "2", "c", "1"), out)
	assert.Equal(t, int64(13_000), next)
	out, _ = fire(w, 13_000)
	assert.Equal(t, emits("a", "2", "b", "2", "c", "1"), out)
	out, next = fire(w, 14_000)
	assert.Equal(t, emits("b", "1", "c", "1"), out, "the window [11 s, 14 s)")
	assert.Zero(t, next, "nothing left")
	assert.Empty(t, w.panes)

	out, next = fire(w, 15_000)
	assert.Empty(t, out, "a stale timer does nothing")
	assert.Zero(t, next)
}

// With a slide that does not divide the size, panes are gcd(size, slide) long.
func TestWindow_Panes(t *testing.T) {
	setup(t, 0)
	w := newWindow(t, time.Second, 400*time.Millisecond)
	assert.Equal(t, int64(200), w.pane)
	assert.Equal(t, int64(400), w.add(100, kv("k", "")))
	assert.Zero(t, w.add(500, kv("k", "")))
	assert.Zero(t, w.add(900, kv("k", "")))
	var got []string
	for ts := int64(400); ts <= 2000; ts += 400 {
		out, _ := fire(w, ts)
		for _, r := range out {
			got = append(got, strconv.FormatInt(ts, 10)+":"+r.Value)
		}
	}
	// [-600, 400): 1; [-200, 800): 2; [200, 1200): 2; [600, 1600): 1; then none.
	assert.Equal(t, []string{"400:1", "800:2", "1200:2", "1600:1"}, got)
	assert.Zero(t, w.next)
}

// A timer that fires late fires every window due by then.
func TestWindow_LateTimer(t *testing.T) {
	setup(t, 0)
	w := newWindow(t, time.Second, 400*time.Millisecond)
	w.add(100, kv("k", ""))
	out, next := fire(w, 5000)
	assert.Equal(t, emits("k", "1", "k", "1"), out)
	assert.Zero(t, next)
}

// After a window fires, the next timer skips the windows that would be empty.
func TestWindow_SkipsEmptyWindows(t *testing.T) {
	setup(t, 0)
	w := newWindow(t, time.Second, 400*time.Millisecond)
	w.add(100, kv("a", ""))
	w.add(5000, kv("b", ""))
	_, next := fire(w, 400)
	assert.Equal(t, int64(800), next)
	_, next = fire(w, 800)
	assert.Equal(t, int64(5200), next)
	out, _ := fire(w, 5200)
	assert.Equal(t, emits("b", "1"), out)
}

func TestWindow_Reuse(t *testing.T) {
	setup(t, 0)
	w := newWindow(t, time.Second, time.Second)
	for i := range int64(10) {
		w.add(i*1000, kv("k", ""))
		fire(w, i*1000+1000)
	}
	assert.Len(t, w.free, 1, "one pane, recycled")
}

func TestWindow_Check(t *testing.T) {
	tests := []struct {
		size, slide time.Duration
		want        string
	}{
		{0, time.Second, `window: size (0s) and slide (1s) must both be positive durations, as in {"size": "10s", "slide": "1s"}`},
		{time.Second, -time.Second, `window: size (1s) and slide (-1s) must both be positive durations, as in {"size": "10s", "slide": "1s"}`},
		{time.Second, 1500 * time.Microsecond, `window: size (1s) and slide (1.5ms) must be whole milliseconds`},
		{time.Second, 2 * time.Second, `window: slide (2s) must not be longer than size (1s)`},
		{time.Hour, time.Millisecond, `window: size 1h0m0s with slide 1ms needs 3600000 partial aggregates per window, more than 100000: choose a slide that divides the size into fewer parts`},
	}
	for _, tt := range tests {
		_, _, _, err := Window{Duration(tt.size), Duration(tt.slide)}.check()
		assert.EqualError(t, err, tt.want)
	}
	size, slide, pane, err := Window{Duration(10 * time.Second), Duration(4 * time.Second)}.check()
	assert.NoError(t, err)
	assert.Equal(t, []int64{10_000, 4_000, 2_000}, []int64{size, slide, pane})
}

// The operator as a module registers it: timers through the host, a custom
// aggregate.
func TestSlidingWindow(t *testing.T) {
	now := int64(1_000_250)
	h := setup(t, 0)
	h.now = func() int64 { return now }
	cfg := Window{Size: Duration(2 * time.Second), Slide: Duration(time.Second)}
	Config(&cfg)
	SlidingWindow(&cfg, Aggregate[int]{ // total value length
		Add:    func(n int, r Record) int { return n + len(r.Value) },
		Merge:  func(a, b int) int { return a + b },
		Append: func(dst []byte, n int) []byte { return strconv.AppendInt(dst, int64(n), 10) },
	})
	assert.Equal(t, int32(0), configure(`{"size": "3s"}`))
	assert.Equal(t, int32(0), feed(kv("a", "xx"), kv("b", "x"), kv("a", "xxx")))
	assert.Equal(t, []int64{1_001_000}, h.timers)
	assert.Equal(t, int32(0), callTimer(1_001_000))
	assert.Equal(t, emits("a", "5", "b", "1"), h.emits)
	assert.Equal(t, []int64{1_001_000, 1_002_000}, h.timers)

	h.emits = nil
	assert.Equal(t, int32(0), callTimer(1_003_000))
	assert.Equal(t, emits("a", "5", "b", "1", "a", "5", "b", "1"), h.emits)
	assert.Len(t, h.timers, 2, "the window is empty: no more timers")
}

func TestSlidingWindow_Errors(t *testing.T) {
	h := setup(t, 0)
	var cfg Window
	Config(&cfg)
	SlidingWindow(&cfg, Count())
	assert.Equal(t, int32(-1), configure(`{}`))
	assert.Equal(t, []string{`window: size (0s) and slide (0s) must both be positive durations, as in {"size": "10s", "slide": "1s"}`}, h.fails)
	assert.Panics(t, func() { SlidingWindow(&cfg, Aggregate[int]{}) })
}

func TestFloorDiv(t *testing.T) {
	for _, tt := range [][3]int64{{7, 2, 3}, {-7, 2, -4}, {-8, 2, -4}, {0, 5, 0}, {-1, 1000, -1}} {
		assert.Equal(t, tt[2], floorDiv(tt[0], tt[1]), "%d/%d", tt[0], tt[1])
	}
}

func TestTimerService(t *testing.T) {
	var s timerService
	assert.True(t, s.set([]byte("b"), 20))
	assert.False(t, s.set([]byte("a"), 20))
	assert.False(t, s.set([]byte("a"), 20))
	assert.True(t, s.set([]byte("c"), 10))
	assert.Equal(t, 3, s.pending())

	_, _, ok := s.pop(9)
	assert.False(t, ok)
	ts, keys, ok := s.pop(100)
	assert.True(t, ok)
	assert.Equal(t, int64(10), ts)
	assert.Equal(t, []string{"c"}, keys)
	ts, keys, ok = s.pop(100)
	assert.True(t, ok)
	assert.Equal(t, int64(20), ts)
	assert.Equal(t, []string{"a", "b"}, keys)
	_, _, ok = s.pop(100)
	assert.False(t, ok)
	assert.True(t, s.set([]byte("a"), 20), "a fired time can be set again")
}
