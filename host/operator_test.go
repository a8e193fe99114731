package host

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime"
)

// The example operators of wasmops one call at a time, for what a job does
// not show: the timestamps of emits, a batch cut short, the memory of many
// calls, the operator's own state and timers. examples_test.go runs each of
// them in a job.

// uppers are the builds of the upper operator: Go, C and WAT, which emit
// with emit_batch (ABI v1.1), and testdata/upper-v1.wasm, the WAT one as it
// was in ABI v1, with emit.
var uppers = []string{"upper", "c-upper", "wat-upper", "upper-v1"}

// compileUpper compiles one of uppers.
func compileUpper(t *testing.T, h *Host, name string) *Module {
	t.Helper()
	if name != "upper-v1" {
		return compileBundled(t, h, name)
	}
	m, err := h.Compile(t.Context(), "upper-v1.wasm", testdata(t, "upper-v1.wasm"))
	require.NoError(t, err)
	return m
}

// Each upper keeps its records' timestamps (emit_batch), or stamps them with
// the batch's latest (emit, v1), and takes a batch larger than the last: the
// host asks the guest for a larger input buffer.
func TestOperator_Process_Upper(t *testing.T) {
	h := cachedHost(t, sandbox())
	big := strings.Repeat("abc", 100_000)
	for _, name := range uppers {
		t.Run(name, func(t *testing.T) {
			op := newTestOperator(t, compileUpper(t, h, name), "{}")
			out := &recorder{}
			require.NoError(t, op.Process(runtime.NewBatch(
				runtime.Record{TS: 5, Key: []byte("k1"), Value: []byte("\u1234hello, World 42")},
				runtime.Record{TS: 9},
				runtime.Record{TS: 7, Key: []byte("K"), Value: []byte("abcxyz{`@[")},
			), out))
			assert.Equal(t, []string{"k1=\u1234HELLO, WORLD 42", "=", "K=ABCXYZ{`@["}, out.recs)
			if name == "upper-v1" {
				assert.Equal(t, []int64{9, 9, 9}, out.ts)
			} else {
				assert.Equal(t, []int64{5, 9, 7}, out.ts)
			}

			out = &recorder{}
			require.NoError(t, op.Process(batch("big="+big), out))
			assert.Equal(t, []string{"big=" + strings.ToUpper(big)}, out.recs)
		})
	}
}

// A batch cut short is refused with flowlab.fail, not read past its end.
// The runtime sends only whole batches: this checks the operators' side of
// the ABI.
func TestOperator_Process_MalformedBatch(t *testing.T) {
	h := cachedHost(t, sandbox())
	whole := batch("key=value").Bytes()
	short := whole[:len(whole)-1]
	want := map[string]string{
		"upper":     "malformed batch: record at offset 0 has key_len 3 and val_len 5, but only 7 bytes follow its header",
		"c-upper":   "c-upper: malformed batch: a record runs past the end",
		"wat-upper": "wat-upper: malformed batch: a record runs past the end",
		"upper-v1":  "upper-v1: malformed batch: a record runs past the end",
	}
	for _, name := range uppers {
		t.Run(name, func(t *testing.T) {
			m := compileUpper(t, h, name)
			op := newTestOperator(t, m, "{}")
			in := op.inst
			ptr, err := in.reserve(len(short))
			require.NoError(t, err)
			in.mem.Write(ptr, short)
			in.out = &recorder{}
			_, err = in.call(in.process, exportProcess, uint64(len(short)))
			assert.EqualError(t, err, `operator "`+m.Name()+`": flowlab_process returned -1: `+want[name])
		})
	}
}

// Many batches leave the instance's memory as the first left it: the input
// buffer and the guest's own buffers are reused.
func TestOperator_Process_MemoryStable(t *testing.T) {
	h := cachedHost(t, sandbox())
	op := newTestOperator(t, compileBundled(t, h, "upper"), "{}")
	recs := make([]string, 100)
	for i := range recs {
		recs[i] = fmt.Sprintf("key%d=%s", i, strings.Repeat("value ", 20))
	}
	b := batch(recs...)
	out := &recorder{}
	require.NoError(t, op.Process(b, out))
	in, size := op.inst, op.inst.mem.Size()
	for range 2000 {
		out.recs, out.ts = out.recs[:0], out.ts[:0]
		require.NoError(t, op.Process(b, out))
	}
	assert.Same(t, in, op.inst)
	assert.Equal(t, size, in.mem.Size())
}

// A count that finds other than a number in its state fails the call,
// naming the key and the value.
func TestOperator_State_Corrupt(t *testing.T) {
	h := cachedHost(t, sandbox())
	op := newTestOperator(t, compileBundled(t, h, "count"), "{}")
	op.state["a/count"] = []byte("many")
	err := op.Process(batch("a=x"), &recorder{})
	assert.EqualError(t, err, `operator "wasm:count": flowlab_process returned -1: state "count": the value for key "a" is "many", not a decimal integer`)
}

// A failed call keeps what it emitted before it failed: the records before
// the poison one, and none after it.
func TestOperator_Process_EmittedBeforeFailure(t *testing.T) {
	h := cachedHost(t, sandbox())
	op := newTestOperator(t, compileBundled(t, h, "poison"), `{"fail-on": "bad"}`)
	out := &recorder{}
	err := op.Process(batch("k1=fine", "k2=bad", "k3=fine"), out)
	assert.EqualError(t, err, `operator "wasm:poison": flowlab_process returned -1: poison record (key "k2", value "bad", ts 1): its value equals the configured fail-on "bad"`)
	assert.Equal(t, []string{"k1=fine"}, out.recs)
}

// timerContext is a testContext that keeps the timers the operator sets, as
// the runtime does: each time once.
type timerContext struct {
	testContext
	pending []int64 // in milliseconds, sorted
}

func (c *timerContext) SetTimer(at time.Time) error {
	ms := at.UnixMilli()
	if i, found := slices.BinarySearch(c.pending, ms); !found {
		c.pending = slices.Insert(c.pending, i, ms)
	}
	return nil
}

// newTimerOperator makes a subtask's operator outside a job, with its
// timers kept in the returned context.
func newTimerOperator(t *testing.T, m *Module, config string) (*operator, *timerContext) {
	t.Helper()
	ctx := &timerContext{testContext: newTestContext()}
	op, err := m.newOperator(ctx, []byte(config))
	require.NoError(t, err)
	t.Cleanup(func() { op.Close() })
	return op, ctx
}

// fireUntil sleeps to each timer due by until, earliest first, and fires it
// (with the timers those calls set). It returns what each firing emitted.
func fireUntil(t *testing.T, op *operator, ctx *timerContext, until int64) []*recorder {
	t.Helper()
	var fired []*recorder
	for len(ctx.pending) > 0 && ctx.pending[0] <= until {
		at := time.UnixMilli(ctx.pending[0])
		ctx.pending = ctx.pending[1:]
		time.Sleep(time.Until(at))
		out := &recorder{}
		require.NoError(t, op.OnTimer(at, out))
		fired = append(fired, out)
	}
	return fired
}

// The sliding window on synctest's clock, which now_ms reads and which
// starts at a whole second (base here): records count in the pane of their
// processing time; each slide a timer emits the counts of the window that
// ends and sets the next, until the window is empty.
func TestOperator_SlidingWindow(t *testing.T) {
	h := cachedHost(t, sandbox())
	m := compileBundled(t, h, "sliding-window")
	synctest.Test(t, func(t *testing.T) {
		base := time.Now().UnixMilli()
		require.Zero(t, base%3000)
		op, ctx := newTimerOperator(t, m, `{"size": "3s", "slide": "1s"}`)

		// At base+0.5 s the records land in the pane [base, base+1 s),
		// part of the windows ending at base+1, 2 and 3 s.
		time.Sleep(500 * time.Millisecond)
		out := &recorder{}
		require.NoError(t, op.Process(batch("a=", "b=", "a="), out))
		assert.Empty(t, out.recs)
		assert.Equal(t, []int64{base + 1000}, ctx.pending)

		fired := fireUntil(t, op, ctx, base+1000)
		require.Len(t, fired, 1)
		assert.Equal(t, []string{"a=2", "b=1"}, fired[0].recs)
		assert.Equal(t, []int64{base + 1000, base + 1000}, fired[0].ts)
		assert.Equal(t, []int64{base + 2000}, ctx.pending)

		time.Sleep(200 * time.Millisecond)
		require.NoError(t, op.Process(batch("b=", "c="), &recorder{}))

		var recs [][]string
		for _, out := range fireUntil(t, op, ctx, base+4000) {
			recs = append(recs, out.recs)
		}
		assert.Equal(t, [][]string{
			{"a=2", "b=2", "c=1"}, // [base-1 s, base+2 s)
			{"a=2", "b=2", "c=1"}, // [base, base+3 s)
			{"b=1", "c=1"},        // [base+1 s, base+4 s)
		}, recs)
		assert.Empty(t, ctx.pending, "no timer once the window is empty")

		// A timer the instance does not know (set before a restart) does nothing.
		out = &recorder{}
		require.NoError(t, op.OnTimer(time.UnixMilli(base+10_000), out))
		assert.Empty(t, out.recs)
	})
}

// By default (size 10 s, slide 1 s) a record is in 10 windows.
func TestOperator_SlidingWindow_Defaults(t *testing.T) {
	h := cachedHost(t, sandbox())
	m := compileBundled(t, h, "sliding-window")
	synctest.Test(t, func(t *testing.T) {
		base := time.Now().UnixMilli()
		op, ctx := newTimerOperator(t, m, "{}")
		time.Sleep(100 * time.Millisecond)
		require.NoError(t, op.Process(batch("a=x"), &recorder{}))
		fired := fireUntil(t, op, ctx, base+20_000)
		assert.Len(t, fired, 10)
		for _, out := range fired {
			assert.Equal(t, []string{"a=1"}, out.recs)
		}
		assert.Empty(t, ctx.pending)
	})
}
