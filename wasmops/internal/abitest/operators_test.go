package abitest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/wasmops/internal/abitest"
)

// op loads the example operator NAME from wasmops/NAME/NAME.wasm.
func op(t *testing.T, name string, cfg ...abitest.Config) *abitest.Operator {
	t.Helper()
	c := abitest.NewConfig()
	if len(cfg) > 0 {
		c = cfg[0]
	}
	return abitest.LoadFile(t, fmt.Sprintf("../../%s/%s.wasm", name, name), c)
}

// initOK calls flowlab_init if the module has it, and requires success.
func initOK(t *testing.T, o *abitest.Operator, config string) {
	t.Helper()
	if !o.Exports("flowlab_init") {
		return
	}
	res, err := o.Init(config)
	require.NoError(t, err)
	require.Equal(t, int32(0), res.Code, "flowlab_init failed: %s", res.Fail)
}

func process(t *testing.T, o *abitest.Operator, records ...abitest.Record) abitest.Result {
	t.Helper()
	res, err := o.Process(records...)
	require.NoError(t, err, "stderr: %s", &o.Stderr)
	require.Equal(t, int32(0), res.Code, "flowlab_process failed: %s", res.Fail)
	return res
}

func rec(ts int64, key, value string) abitest.Record {
	return abitest.Record{TS: ts, Key: key, Value: value}
}

func TestUpper(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"upper", "c-upper", "wat-upper"} {
		t.Run(name, func(t *testing.T) {
			o := op(t, name)
			initOK(t, o, "{}")
			res := process(t, o, rec(5, "k1", "hello, World 42"), rec(9, "", ""), rec(7, "K", "abcxyz{`@["))
			assert.Equal(t, []abitest.Record{
				rec(9, "k1", "HELLO, WORLD 42"),
				rec(9, "", ""),
				rec(9, "K", "ABCXYZ{`@["),
			}, res.Out)

			// The input buffer is reused: a second, larger batch works too.
			big := strings.Repeat("abc", 100_000)
			res = process(t, o, rec(1, "big", big))
			require.Len(t, res.Out, 1)
			assert.Equal(t, strings.ToUpper(big), res.Out[0].Value)
		})
	}
}

func TestUpper_Unicode(t *testing.T) {
	t.Parallel()
	o := op(t, "upper")
	initOK(t, o, "")
	res := process(t, o, rec(1, "k", "abc straße über ǆ"))
	assert.Equal(t, []abitest.Record{rec(1, "k", "ABC STRAßE ÜBER Ǆ")}, res.Out)
}

func TestUpper_Malformed(t *testing.T) {
	t.Parallel()
	batch := abitest.EncodeBatch(rec(1, "key", "value"))
	for _, name := range []string{"upper", "c-upper", "wat-upper"} {
		t.Run(name, func(t *testing.T) {
			o := op(t, name)
			initOK(t, o, "{}")
			res, err := o.ProcessBatch(batch[:len(batch)-1], 1)
			require.NoError(t, err)
			assert.Less(t, res.Code, int32(0))
			assert.Contains(t, res.Fail, "malformed batch")
		})
	}
}

func TestUpper_OutputQuota(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"upper", "c-upper", "wat-upper"} {
		t.Run(name, func(t *testing.T) {
			o := op(t, name, abitest.NewConfig().WithOutputQuota(2))
			initOK(t, o, "{}")
			res := process(t, o, rec(1, "a", "a"), rec(2, "b", "b"), rec(3, "c", "c"), rec(4, "d", "d"))
			assert.Len(t, res.Out, 2)
			assert.True(t, res.QuotaHit)
		})
	}
}

// Processing many batches must not grow memory: buffers are reused.
func TestUpper_MemoryStable(t *testing.T) {
	t.Parallel()
	if race {
		t.Skip("too slow on the interpreter, which -race uses")
	}
	o := op(t, "upper")
	initOK(t, o, "{}")
	batch := make([]abitest.Record, 100)
	for i := range batch {
		batch[i] = rec(int64(i), fmt.Sprint("key", i), strings.Repeat("value ", 20))
	}
	process(t, o, batch...)
	size := o.MemorySize()
	for range 2000 {
		process(t, o, batch...)
	}
	assert.Equal(t, size, o.MemorySize())
}

func TestFilter(t *testing.T) {
	t.Parallel()
	o := op(t, "filter")
	initOK(t, o, `{"contains": "x"}`)
	res := process(t, o, rec(1, "a", "box"), rec(2, "b", "bag"), rec(3, "c", "x"), rec(4, "d", ""))
	assert.Equal(t, []abitest.Record{rec(4, "a", "box"), rec(4, "c", "x")}, res.Out)
}

func TestFilter_NoConfig(t *testing.T) {
	t.Parallel()
	o := op(t, "filter")
	initOK(t, o, "{}")
	res := process(t, o, rec(1, "a", "box"), rec(2, "b", ""))
	assert.Len(t, res.Out, 2)
}

func TestOperators_Init_Errors(t *testing.T) {
	t.Parallel()
	tests := []struct{ op, config, want string }{
		{"filter", `{"contain": "x"}`, `config {"contain": "x"}: json: unknown field "contain"`},
		{"filter", `{"contains": 1}`, `config {"contains": 1}: json: cannot unmarshal number into Go struct field .contains of type string`},
		{"upper", `{"x": 1}`, `config {"x": 1}: this operator takes no config`},
		{"spin", `{"iterations": -1}`, `config {"iterations": -1}: iterations must not be negative, got -1`},
		{"sliding-window", `{"size": "1s", "slide": "2s"}`, `window: slide (2s) must not be longer than size (1s)`},
		{"sliding-window", `{"size": "10", "slide": "1s"}`, `config {"size": "10", "slide": "1s"}: duration "10": want a string such as "10s" or "250ms"`},
		{"sliding-window", `{"size": "1h", "slide": "1ms"}`, `window: size 1h0m0s with slide 1ms needs 3600000 partial aggregates per window, more than 100000: choose a slide that divides the size into fewer parts`},
	}
	for _, tt := range tests {
		t.Run(tt.op+tt.config, func(t *testing.T) {
			o := op(t, tt.op)
			res, err := o.Init(tt.config)
			require.NoError(t, err)
			assert.Equal(t, int32(-1), res.Code)
			assert.Equal(t, tt.want, res.Fail)
		})
	}
}

func TestTokenize(t *testing.T) {
	t.Parallel()
	o := op(t, "tokenize")
	initOK(t, o, "{}")
	res := process(t, o, rec(1, "line1", "  the quick\tbrown\n fox "), rec(2, "line2", ""), rec(3, "line3", "the\u00a0end"))
	var words []string
	for _, r := range res.Out {
		assert.Equal(t, r.Key, r.Value)
		assert.Equal(t, int64(3), r.TS)
		words = append(words, r.Key)
	}
	assert.Equal(t, []string{"the", "quick", "brown", "fox", "the", "end"}, words)
}

func TestCount(t *testing.T) {
	t.Parallel()
	o := op(t, "count")
	initOK(t, o, "{}")
	res := process(t, o, rec(1, "a", "x"), rec(2, "b", "x"), rec(3, "a", "x"))
	assert.Equal(t, []abitest.Record{rec(3, "a", "1"), rec(3, "b", "1"), rec(3, "a", "2")}, res.Out)
	res = process(t, o, rec(4, "a", "x"))
	assert.Equal(t, []abitest.Record{rec(4, "a", "3")}, res.Out)
	assert.Equal(t, map[string][]byte{"a/count": []byte("3"), "b/count": []byte("1")}, o.State)

	// State is the host's: a new instance (after a restart) goes on counting.
	o2 := op(t, "count")
	o2.State = o.State
	initOK(t, o2, "{}")
	res = process(t, o2, rec(5, "a", "x"), rec(6, "c", "x"))
	assert.Equal(t, []abitest.Record{rec(6, "a", "4"), rec(6, "c", "1")}, res.Out)
}

func TestCount_CorruptState(t *testing.T) {
	t.Parallel()
	o := op(t, "count")
	o.State["a/count"] = []byte("many")
	initOK(t, o, "{}")
	res, err := o.Process(rec(1, "a", "x"))
	require.NoError(t, err)
	assert.Equal(t, int32(-1), res.Code)
	assert.Equal(t, `state "count": the value for key "a" is "many", not a decimal integer`, res.Fail)
}

func TestSlidingWindow(t *testing.T) {
	t.Parallel()
	o := op(t, "sliding-window")
	initOK(t, o, `{"size": "3s", "slide": "1s"}`)

	// Processing time 10.5 s: the records land in the pane [10 s, 11 s),
	// part of the windows ending at 11, 12 and 13 s.
	o.Clock = 10_500
	res := process(t, o, rec(1, "a", ""), rec(2, "b", ""), rec(3, "a", ""))
	assert.Equal(t, []int64{11_000}, res.Timers)
	assert.Empty(t, res.Out)

	results, err := o.Advance(11_000)
	require.NoError(t, err)
	require.Len(t, results, 1)
	assert.Equal(t, []abitest.Record{rec(11_000, "a", "2"), rec(11_000, "b", "1")}, results[0].Out)
	assert.Equal(t, []int64{12_000}, results[0].Timers)

	o.Clock = 11_200
	process(t, o, rec(4, "b", ""), rec(5, "c", ""))

	results, err = o.Advance(14_000)
	require.NoError(t, err)
	var fired [][]abitest.Record
	for _, r := range results {
		fired = append(fired, r.Out)
	}
	assert.Equal(t, [][]abitest.Record{
		{rec(12_000, "a", "2"), rec(12_000, "b", "2"), rec(12_000, "c", "1")}, // [9, 12)
		{rec(13_000, "a", "2"), rec(13_000, "b", "2"), rec(13_000, "c", "1")}, // [10, 13)
		{rec(14_000, "b", "1"), rec(14_000, "c", "1")},                        // [11, 14)
	}, fired)
	assert.Empty(t, o.Pending(), "no timer once the window is empty")

	// A timer from before a restart, unknown to the instance, does nothing.
	res, err = o.Timer(20_000)
	require.NoError(t, err)
	assert.Equal(t, int32(0), res.Code)
	assert.Empty(t, res.Out)
}

func TestSlidingWindow_Defaults(t *testing.T) {
	t.Parallel()
	o := op(t, "sliding-window")
	initOK(t, o, `{}`)
	o.Clock = 100
	process(t, o, rec(1, "a", ""))
	results, err := o.Advance(20_000)
	require.NoError(t, err)
	assert.Len(t, results, 10, "size 10s, slide 1s: a record is in 10 windows")
}

func TestSpin(t *testing.T) {
	t.Parallel()
	o := op(t, "spin")
	initOK(t, o, `{"iterations": 1000}`)
	res := process(t, o, rec(1, "k", "v"), rec(2, "k2", "v2"))
	assert.Equal(t, []abitest.Record{rec(2, "k", "v"), rec(2, "k2", "v2")}, res.Out)
}

func TestPoison(t *testing.T) {
	t.Parallel()
	o := op(t, "poison")
	initOK(t, o, `{"fail-on": "bad"}`)
	res := process(t, o, rec(1, "k", "good"))
	assert.Equal(t, []abitest.Record{rec(1, "k", "good")}, res.Out)

	res, err := o.Process(rec(2, "k1", "fine"), rec(3, "k2", "bad"), rec(4, "k3", "fine"))
	require.NoError(t, err)
	assert.Equal(t, int32(-1), res.Code)
	assert.Equal(t, `poison record (key "k2", value "bad", ts 3): its value equals the configured fail-on "bad"`, res.Fail)
	assert.Equal(t, []abitest.Record{rec(4, "k1", "fine")}, res.Out, "records before the poison one were emitted")
}

func TestPoison_NoConfig(t *testing.T) {
	t.Parallel()
	o := op(t, "poison")
	initOK(t, o, `{}`)
	res := process(t, o, rec(1, "k", "bad"), rec(2, "k", ""))
	assert.Len(t, res.Out, 2)
}
