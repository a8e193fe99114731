package host_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/host"
	"flowlab/runtime"
	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
	"flowlab/wasmops"
)

// Every example operator of wasmops, end to end in a job: a test source
// ("input") sends known records through "wasm:NAME" into a test sink
// ("collect") that keeps what it receives. Only the public API is used.

// kv is a record as the tests write it.
type kv struct{ Key, Value string }

// input is a source that emits its records with timestamps 1000, 1001, ...,
// then keeps the job running for hold (so that timers can fire), then ends.
type input struct {
	recs []kv
	hold time.Duration
	next int
	end  time.Time
}

func (s *input) Emit(now time.Time, out runtime.SourceOutput) (time.Time, bool, error) {
	for ; s.next < len(s.recs); s.next++ {
		if !out.Available() {
			return now, false, nil
		}
		r := s.recs[s.next]
		if err := out.Emit(1000+int64(s.next), []byte(r.Key), []byte(r.Value)); err != nil {
			return now, false, err
		}
	}
	if s.end.IsZero() {
		s.end = now.Add(s.hold)
	}
	if now.Before(s.end) {
		return s.end, false, nil
	}
	return now, true, nil
}

// collector is a sink that keeps a copy of every record it receives, from
// all its subtasks and attempts, and their timestamps.
type collector struct {
	mu   sync.Mutex
	recs []kv
	ts   []int64
}

func (c *collector) Process(b runtime.Batch, _ runtime.Output) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return b.Each(func(r runtime.Record) error {
		c.recs = append(c.recs, kv{string(r.Key), string(r.Value)})
		c.ts = append(c.ts, r.TS)
		return nil
	})
}

func (c *collector) records() []kv {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.recs)
}

func (c *collector) timestamps() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.ts)
}

// newHost returns a Host with the default config: its compilation cache on
// disk, shared by every test and run, makes a Go module load in a tenth of a
// second instead of seconds (tens of seconds under -race).
func newHost(t testing.TB) *host.Host {
	t.Helper()
	h, err := host.New(context.Background(), host.NewConfig())
	require.NoError(t, err)
	t.Cleanup(func() { h.Close(context.Background()) })
	return h
}

// resolver resolves the bundled operators, NAME.wasm from testdata, plus
// "input", which sends recs (then holds the job for hold), and "collect",
// which keeps what it gets in sink.
func resolver(h *host.Host, recs []kv, hold time.Duration, sink *collector) runtime.Resolver {
	bundled := h.Resolver(context.Background(), wasmops.FS, "testdata")
	return func(name string) (runtime.OperatorType, error) {
		switch name {
		case "input":
			return func(runtime.TaskConfig) (runtime.Prepared, error) {
				return runtime.Prepared{NewSource: func(runtime.Context) (runtime.Source, error) {
					return &input{recs: recs, hold: hold}, nil
				}}, nil
			}, nil
		case "collect":
			return func(runtime.TaskConfig) (runtime.Prepared, error) {
				return runtime.Prepared{NewProcessor: func(runtime.Context) (runtime.Processor, error) { return sink, nil }}, nil
			}, nil
		}
		return bundled(name)
	}
}

// run runs a spec to its end with the resolver above and returns what
// "collect" kept.
func run(t *testing.T, h *host.Host, yaml string, recs []kv, hold time.Duration) ([]kv, *runtime.Job) {
	t.Helper()
	out, _, j := runTimed(t, h, yaml, recs, hold)
	return out, j
}

// runTimed is run that also returns the timestamps of what "collect" kept.
func runTimed(t *testing.T, h *host.Host, yaml string, recs []kv, hold time.Duration) ([]kv, []int64, *runtime.Job) {
	t.Helper()
	s, err := spec.Parse([]byte(yaml))
	require.NoError(t, err)
	sink := &collector{}
	j, err := runtime.Start(context.Background(), s, resolver(h, recs, hold, sink))
	require.NoError(t, err)
	t.Cleanup(func() { j.Cancel(); <-j.Done() })
	select {
	case <-j.Done():
	case <-time.After(60 * time.Second):
		t.Fatalf("job did not end: %+v", j.Snapshot())
	}
	return sink.records(), sink.timestamps(), j
}

// chain is the spec input -> wasm:NAME (with config) -> collect.
func chain(name, config string) string {
	return fmt.Sprintf(`
name: %[1]s
restart: {strategy: none}
tasks:
  - {name: input, operator: input}
  - {name: %[1]s, operator: "wasm:%[1]s", config: %[2]s}
  - {name: collect, operator: collect}
`, name, config)
}

// runChain runs input -> wasm:NAME -> collect and requires it to finish.
func runChain(t *testing.T, h *host.Host, name, config string, recs []kv, hold time.Duration) []kv {
	t.Helper()
	out, j := run(t, h, chain(name, config), recs, hold)
	require.NoError(t, j.Err())
	snap := j.Snapshot()
	assert.Equal(t, metrics.StateFinished, snap.State)
	assert.Equal(t, int64(len(recs)), snap.Vertices[1].Metrics.NumRecordsIn)
	assert.Equal(t, int64(len(out)), snap.Vertices[1].Metrics.NumRecordsOut)
	return out
}

func TestExamples_Upper(t *testing.T) {
	h := newHost(t)
	in := []kv{{"k1", "hello, World 42"}, {"", ""}, {"K", "abcxyz{`@["}, {"k2", "abc"}}
	want := []kv{{"k1", "HELLO, WORLD 42"}, {"", ""}, {"K", "ABCXYZ{`@["}, {"k2", "ABC"}}
	for _, name := range []string{"upper", "c-upper", "wat-upper"} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, want, runChain(t, h, name, "{}", in, 0))
		})
	}
	t.Run("upper/unicode", func(t *testing.T) {
		out := runChain(t, h, "upper", "{}", []kv{{"k", "abc straße über ǆ"}}, 0)
		assert.Equal(t, []kv{{"k", "ABC STRAßE ÜBER Ǆ"}}, out)
	})
}

// The C and WAT uppers work sixteen bytes at a time (Wasm SIMD), the last
// bytes of a value as the last lanes of the sixteen that end it: values of
// every length around a multiple of 16, of every byte, come out upper-cased
// in ASCII only, and the lower-case keys before them unchanged.
func TestExamples_Upper_SIMD(t *testing.T) {
	h := newHost(t)
	var in, want []kv
	for n := range 50 {
		v := make([]byte, n)
		for i := range v {
			v[i] = byte(n*7 + i*37) // every byte value, letters among them
		}
		w := bytes.Clone(v)
		for i, c := range w {
			if 'a' <= c && c <= 'z' {
				w[i] = c - 'a' + 'A'
			}
		}
		key := "abcdefghijklmnopqrstuvwxyz"[:n%27]
		in, want = append(in, kv{key, string(v)}), append(want, kv{key, string(w)})
	}
	for _, name := range []string{"c-upper", "wat-upper"} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, want, runChain(t, h, name, "{}", in, 0))
		})
	}
	// The Go upper works eight bytes at a time, as words that may overlap:
	// ASCII values of every length, and the same with a letter that is not
	// ASCII at the start, in the middle or at the end; the records it keeps
	// in place and those it emits anew come out in order.
	t.Run("upper", func(t *testing.T) {
		var in, want []kv
		for n := range 80 {
			v := make([]byte, n)
			for i := range v {
				v[i] = byte(' ' + (n+i*7)%95)
			}
			for _, v := range []string{string(v), "é" + string(v), string(v[:n/2]) + "é" + string(v[n/2:]), string(v) + "é"} {
				in, want = append(in, kv{"k", v}), append(want, kv{"k", strings.ToUpper(v)})
			}
		}
		assert.Equal(t, want, runChain(t, h, "upper", "{}", in, 0))
	})
}

// Two subtasks of each upper, fed by two generators over a rebalance edge:
// every record arrives, upper-cased.
func TestExamples_Upper_Parallel(t *testing.T) {
	h := newHost(t)
	for _, name := range []string{"upper", "c-upper", "wat-upper"} {
		t.Run(name, func(t *testing.T) {
			out, j := run(t, h, fmt.Sprintf(`
name: parallel
restart: {strategy: none}
network: {buffer-size: 1kb}
tasks:
  - {name: source, operator: generator, parallelism: 2, config: {count: 1000, value-size: 3}}
  - {name: upper, operator: "wasm:%s", parallelism: 2}
  - {name: collect, operator: collect}
edges:
  - {from: source, to: upper, partitioning: rebalance}
  - {from: upper, to: collect, partitioning: rebalance}
`, name), nil, 0)
			require.NoError(t, j.Err())
			require.Len(t, out, 2000)
			for _, r := range out {
				require.Equal(t, "ABC", r.Value)
				require.Regexp(t, `^key-\d+$`, r.Key)
			}
			upper := j.Snapshot().Vertices[1]
			assert.Equal(t, int64(2000), upper.Metrics.NumRecordsOut)
			for _, st := range upper.Subtasks {
				assert.Positive(t, st.NumRecordsIn, "each subtask got records")
			}
		})
	}
}

func TestExamples_Filter(t *testing.T) {
	h := newHost(t)
	in := []kv{{"a", "box"}, {"b", "bag"}, {"c", "x"}, {"d", ""}, {"e", "taxi"}}
	assert.Equal(t, []kv{{"a", "box"}, {"c", "x"}, {"e", "taxi"}}, runChain(t, h, "filter", "{contains: x}", in, 0))
	assert.Equal(t, in, runChain(t, h, "filter", "{}", in, 0), "without config every record passes")
}

// The filter looks for one byte eight bytes at a time, as words that may
// overlap, in values of 8 to 128 bytes, and with bytes.IndexByte in others:
// it finds it wherever it is, in values of every length, and only it (its
// neighbours, 'w' and 'y', and bytes with the high bit set do not match).
func TestExamples_Filter_OneByte(t *testing.T) {
	h := newHost(t)
	var in, want []kv
	for n := range 150 {
		none := strings.Repeat("wy\xf8", n)[:n]
		in = append(in, kv{"none", none})
		for i := range n {
			v := none[:i] + "x" + none[i+1:]
			in, want = append(in, kv{"at", v}), append(want, kv{"at", v})
		}
	}
	assert.Equal(t, want, runChain(t, h, "filter", "{contains: x}", in, 0))
}

func TestExamples_Tokenize(t *testing.T) {
	h := newHost(t)
	out := runChain(t, h, "tokenize", "{}", []kv{{"line1", "  the quick\tbrown\n fox "}, {"line2", ""}, {"line3", "the\u00a0end"}}, 0)
	var words []string
	for _, r := range out {
		assert.Equal(t, r.Key, r.Value)
		words = append(words, r.Key)
	}
	assert.Equal(t, []string{"the", "quick", "brown", "fox", "the", "end"}, words)
}

func TestExamples_Count(t *testing.T) {
	h := newHost(t)
	out := runChain(t, h, "count", "{}", []kv{{"a", "x"}, {"b", "x"}, {"a", "x"}, {"c", "x"}, {"a", "y"}, {"b", "z"}}, 0)
	assert.Equal(t, []kv{{"a", "1"}, {"b", "1"}, {"a", "2"}, {"c", "1"}, {"a", "3"}, {"b", "2"}}, out)
}

// Behind a hash edge each key is counted by one of two subtasks: per key the
// counts arrive as 1, 2, ..., n, and the n add up to every record sent.
func TestExamples_Count_Hash(t *testing.T) {
	h := newHost(t)
	out, j := run(t, h, `
name: count
restart: {strategy: none}
network: {buffer-size: 1kb}
tasks:
  - {name: source, operator: generator, parallelism: 2, config: {count: 1500, keys: 20}}
  - {name: count, operator: "wasm:count", parallelism: 2}
  - {name: collect, operator: collect}
edges:
  - {from: source, to: count, partitioning: hash}
  - {from: count, to: collect, partitioning: rebalance}
`, nil, 0)
	require.NoError(t, j.Err())
	require.Len(t, out, 3000)
	last := map[string]int{}
	for _, r := range out {
		n, err := strconv.Atoi(r.Value)
		require.NoError(t, err)
		require.Equal(t, last[r.Key]+1, n, "key %s", r.Key)
		last[r.Key] = n
	}
	total := 0
	for _, n := range last {
		total += n
	}
	assert.Equal(t, 3000, total)
	assert.Len(t, last, 20)
}

// Modules that emit with emit_batch (ABI v1.1: testdata/batch.wasm, an
// echo, and the bundled uppers and count) and with emit (v1:
// testdata/upper-v1.wasm) in one job: every record arrives, through every
// partitioning, with its own timestamp through emit_batch.
func TestExamples_EmitBatch(t *testing.T) {
	h := newHost(t)
	const n = 600
	in := make([]kv, n)
	for i := range in {
		in[i] = kv{fmt.Sprintf("k%d", i%20), fmt.Sprintf("v%d", i)}
	}
	t.Run("timestamps", func(t *testing.T) {
		out, ts, j := runTimed(t, h, `
name: timestamps
restart: {strategy: none}
network: {buffer-size: 256b}
tasks:
  - {name: input, operator: input}
  - {name: echo, operator: batch.wasm, parallelism: 2}
  - {name: upper, operator: "wasm:wat-upper", parallelism: 2}
  - {name: collect, operator: collect}
edges:
  - {from: input, to: echo, partitioning: rebalance}
  - {from: echo, to: upper, partitioning: hash}
  - {from: upper, to: collect, partitioning: rebalance}
`, in, 0)
		require.NoError(t, j.Err())
		require.Len(t, out, n)
		seen := map[int]bool{}
		for i, r := range out {
			v, err := strconv.Atoi(strings.TrimPrefix(r.Value, "V"))
			require.NoError(t, err, r.Value)
			assert.Equal(t, kv{fmt.Sprintf("k%d", v%20), fmt.Sprintf("V%d", v)}, r)
			assert.Equal(t, int64(1000+v), ts[i], "the timestamp of %v", r)
			seen[v] = true
		}
		assert.Len(t, seen, n)
	})
	t.Run("v1 and v1.1", func(t *testing.T) {
		out, j := run(t, h, `
name: mixed
restart: {strategy: none}
network: {buffer-size: 256b}
tasks:
  - {name: input, operator: input}
  - {name: upper, operator: upper-v1.wasm, parallelism: 2}
  - {name: echo, operator: batch.wasm, parallelism: 2}
  - {name: count, operator: "wasm:count", parallelism: 2}
  - {name: collect, operator: collect}
edges:
  - {from: input, to: upper, partitioning: rebalance}
  - {from: upper, to: echo, partitioning: forward}
  - {from: echo, to: count, partitioning: hash}
  - {from: count, to: collect, partitioning: rebalance}
`, in, 0)
		require.NoError(t, j.Err())
		require.Len(t, out, n)
		last := map[string]int{}
		for _, r := range out {
			c, err := strconv.Atoi(r.Value)
			require.NoError(t, err)
			require.Equal(t, last[r.Key]+1, c, "key %s: one subtask counts it", r.Key)
			last[r.Key] = c
		}
		assert.Len(t, last, 20)
		for _, v := range j.Snapshot().Vertices[1:4] {
			assert.Equal(t, int64(n), v.Metrics.NumRecordsOut, v.Name)
		}
	})
}

// Windows of 200ms every 100ms: each record is in exactly two windows, so
// per key the counts of all windows fired add up to twice its records.
func TestExamples_SlidingWindow(t *testing.T) {
	h := newHost(t)
	var in []kv
	for i := range 8 {
		in = append(in, kv{[]string{"a", "b"}[min(i/5, 1)], "x"}) // 5 a, 3 b
	}
	out := runChain(t, h, "sliding-window", `{size: 200ms, slide: 100ms}`, in, 600*time.Millisecond)
	sums := map[string]int{}
	for _, r := range out {
		n, err := strconv.Atoi(r.Value)
		require.NoError(t, err)
		assert.Positive(t, n)
		sums[r.Key] += n
	}
	assert.Equal(t, map[string]int{"a": 10, "b": 6}, sums, "output %v", out)
}

func TestExamples_Spin(t *testing.T) {
	h := newHost(t)
	in := []kv{{"a", "1"}, {"b", "22"}, {"c", ""}}
	assert.Equal(t, in, runChain(t, h, "spin", "{iterations: 1000}", in, 0))
}

// hotspot enriches access-log lines, and makes up a line for filler; every
// implementation of its parse functions gives the same value.
func TestExamples_Hotspot(t *testing.T) {
	h := newHost(t)
	in := []kv{
		{"a", `2024-05-01T12:34:56.789Z 203.0.113.7 "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"`},
		{"b", `2024-05-01T00:00:00.000Z 10.1.2.3 "curl/8.5.0"`},
		{"key-1", "abcdefghijklmnop"},
	}
	var first []kv
	for _, config := range []string{"{}", "{geo: csv}", "{agent: rules}", "{geo: csv, agent: rules}"} {
		out := runChain(t, h, "hotspot", config, in, 0)
		require.Len(t, out, 3, config)
		assert.Regexp(t, `^ts=1714566896789 country=[A-Z]{2} browser=Firefox os=Linux$`, out[0].Value, config)
		assert.Regexp(t, `^ts=1714521600000 country=[A-Z]{2} browser=curl os=other$`, out[1].Value, config)
		assert.Regexp(t, `^ts=\d+ country=[A-Z]{2} browser=\w+ os=\w+$`, out[2].Value, config)
		if first == nil {
			first = out
		}
		assert.Equal(t, first, out, "config %s gives other values than {}", config)
	}
}

func TestExamples_Poison(t *testing.T) {
	h := newHost(t)
	in := []kv{{"a", "good"}, {"b", "also good"}}
	assert.Equal(t, in, runChain(t, h, "poison", "{fail-on: bad}", in, 0))
	none := []kv{{"a", "bad"}, {"b", ""}}
	assert.Equal(t, none, runChain(t, h, "poison", "{}", none, 0), "without config no record is poison")

	// With the poison record the job fails, naming the operator and the record.
	_, j := run(t, h, chain("poison", "{fail-on: bad}"), []kv{{"a", "good"}, {"b", "bad"}}, 0)
	assert.EqualError(t, j.Err(), `task "poison" subtask 1/1: operator "wasm:poison": flowlab_process returned -1: poison record (key "b", value "bad", ts 1001): its value equals the configured fail-on "bad"`)
	assert.Equal(t, metrics.StateFailed, j.Snapshot().State)
}

// A config the operator rejects fails the job as it starts, at its line,
// without restarts: the job starts without waiting for the guest.
func TestExamples_Config_Errors(t *testing.T) {
	h := newHost(t)
	tests := []struct{ name, config, want string }{
		{"filter", `{contain: x}`, `operator "wasm:filter": flowlab_init returned -1: config {"contain":"x"}: json: unknown field "contain"`},
		{"upper", `{x: 1}`, `operator "wasm:upper": flowlab_init returned -1: config {"x":1}: this operator takes no config`},
		{"spin", `{iterations: -1}`, `operator "wasm:spin": flowlab_init returned -1: config {"iterations":-1}: iterations must not be negative, got -1`},
		{"filter", `{contains: 1}`, `operator "wasm:filter": flowlab_init returned -1: config {"contains":1}: json: cannot unmarshal number into Go struct field .contains of type string`},
		{"sliding-window", `{size: 1s, slide: 2s}`, `operator "wasm:sliding-window": flowlab_init returned -1: window: slide (2s) must not be longer than size (1s)`},
		{"sliding-window", `{size: "10", slide: 1s}`, `operator "wasm:sliding-window": flowlab_init returned -1: config {"size":"10","slide":"1s"}: duration "10": want a string such as "10s" or "250ms"`},
		{"sliding-window", `{size: 1h, slide: 1ms}`, `operator "wasm:sliding-window": flowlab_init returned -1: window: size 1h0m0s with slide 1ms needs 3600000 partial aggregates per window, more than 100000: choose a slide that divides the size into fewer parts`},
		{"hotspot", `{geo: fast}`, `operator "wasm:hotspot": flowlab_init returned -1: config {"geo":"fast"}: geo must be "index" or "csv", got "fast"`},
		{"c-upper", `{x: 1}`, `operator "wasm:c-upper" takes no config: it does not export flowlab_init`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := spec.Parse([]byte(chain(tt.name, tt.config)))
			require.NoError(t, err)
			j, err := runtime.Start(context.Background(), s, resolver(h, nil, 0, &collector{}))
			if tt.name == "c-upper" { // known without running it
				assert.EqualError(t, err, "line 6: tasks[1].config: "+tt.want)
				return
			}
			require.NoError(t, err)
			<-j.Done()
			assert.EqualError(t, j.Err(), `task "`+tt.name+`" subtask 1/1: line 6: tasks[1].config: `+tt.want)
			assert.Equal(t, 0, j.Snapshot().Restarts)
		})
	}
}

// These are the example operators, each tested above: a new one needs a test.
func TestExamples_Bundled(t *testing.T) {
	assert.Equal(t, []string{
		"wasm:c-upper", "wasm:count", "wasm:filter", "wasm:hotspot", "wasm:poison", "wasm:sliding-window",
		"wasm:spin", "wasm:tokenize", "wasm:upper", "wasm:wat-upper",
	}, host.Bundled(wasmops.FS))
}

// A job whose operator is the Go example "wasm:upper", bundled in wasmops.FS.
func ExampleHost_Resolver() {
	ctx := context.Background()
	h, err := host.New(ctx, host.NewConfig().WithCallTimeout(time.Second))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close(ctx)
	s, err := spec.Parse([]byte(`
name: upper
tasks:
  - {name: source, operator: generator, config: {count: 1000}}
  - {name: upper, operator: "wasm:upper"}
  - {name: sink, operator: discard}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	j, err := runtime.Start(ctx, s, h.Resolver(ctx, wasmops.FS, ""))
	if err != nil {
		fmt.Println(err)
		return
	}
	<-j.Done()
	snap := j.Snapshot()
	fmt.Println(snap.State, j.Err())
	for _, v := range snap.Vertices {
		fmt.Println(v.Name, v.Operator, v.Metrics.NumRecordsIn, v.Metrics.NumRecordsOut)
	}
	// Output:
	// FINISHED <nil>
	// source generator 0 1000
	// upper wasm:upper 1000 1000
	// sink discard 1000 0
}

// A module that imports anything but the ABI's functions is rejected before
// it runs, naming the import.
func ExampleHost_Compile() {
	ctx := context.Background()
	h, err := host.New(ctx, host.NewConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close(ctx)
	wasm, err := os.ReadFile("../wasmops/hostile/forbidden-import.wasm")
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = h.Compile(ctx, "system", wasm)
	fmt.Println(err)
	// Output:
	// operator "system": import env.system is not allowed: operators may import only from "flowlab" and "wasi_snapshot_preview1"
}

func TestReadBundled(t *testing.T) {
	wasm, err := host.ReadBundled(wasmops.FS, "wasm:upper")
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(wasm, []byte("\x00asm")))
	_, err = host.ReadBundled(wasmops.FS, "wasm:../upper")
	assert.EqualError(t, err, `invalid bundled operator name "wasm:../upper": want wasm:NAME`)
	_, err = host.ReadBundled(wasmops.FS, "wasm:nope")
	assert.ErrorContains(t, err, `no bundled operator "wasm:nope" (bundled: wasm:c-upper, wasm:count,`)
}
