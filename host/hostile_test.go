package host

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime"
	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
	"flowlab/wasmops"
)

// The hostile modules of wasmops/hostile (see its README) against the
// sandbox: each is either rejected at Compile, naming what is wrong, or
// stopped in its job with an error naming the operator and the reason, the
// job FAILED after its restart, while a well-behaved job on the same Host
// runs to its end undisturbed.

// hostileDir holds the hostile modules; a spec names them "NAME.wasm".
const hostileDir = "../wasmops/hostile"

// sandbox is the config of the hostile tests: limits small enough that each
// misbehaviour is caught within a fraction of a second, large enough for the
// Go upper module that runs beside them.
func sandbox() Config {
	return NewConfig().
		WithCallTimeout(200 * time.Millisecond).
		WithInitTimeout(200 * time.Millisecond).
		WithMemoryLimit(16 << 20).
		WithOutputQuota(5000)
}

// cachedHost returns a Host that keeps the default compilation cache, on disk
// in the user's cache directory and so shared by every test and run: a Go
// module takes seconds to compile (about 20 s under -race), a tenth of a
// second from the cache. The cache is keyed by the module's bytes, so
// sharing it changes no result.
func cachedHost(t testing.TB, cfg Config) *Host {
	t.Helper()
	h, err := New(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { h.Close(context.Background()) })
	return h
}

func hostileWasm(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(hostileDir, name+".wasm"))
	require.NoError(t, err)
	return b
}

func compileHostile(t testing.TB, h *Host, name string) *Module {
	t.Helper()
	m, err := h.Compile(context.Background(), name+".wasm", hostileWasm(t, name))
	require.NoError(t, err)
	return m
}

func compileBundled(t testing.TB, h *Host, name string) *Module {
	t.Helper()
	wasm, err := wasmops.FS.ReadFile(name + "/" + name + ".wasm")
	require.NoError(t, err)
	m, err := h.Compile(context.Background(), BundledPrefix+name, wasm)
	require.NoError(t, err)
	return m
}

// start starts a spec with the Host's resolver (bundled operators from
// wasmops.FS, NAME.wasm from wasmops/hostile).
func start(h *Host, yaml string) (*runtime.Job, error) {
	s, err := spec.Parse([]byte(yaml))
	if err != nil {
		return nil, err
	}
	return runtime.Start(context.Background(), s, h.Resolver(context.Background(), wasmops.FS, hostileDir))
}

// startJob starts a spec and cancels the job at the end of the test.
func startJob(t *testing.T, h *Host, yaml string) *runtime.Job {
	t.Helper()
	j, err := start(h, yaml)
	require.NoError(t, err)
	t.Cleanup(func() { j.Cancel(); <-j.Done() })
	return j
}

// wait waits for a job to end and returns its last snapshot.
func wait(t *testing.T, j *runtime.Job) *metrics.Job {
	t.Helper()
	select {
	case <-j.Done():
	case <-time.After(60 * time.Second):
		t.Fatalf("job %s did not end", j.Snapshot().Name)
	}
	return j.Snapshot()
}

// restartOnce is the restart strategy of the tests' jobs: two attempts.
const restartOnce = `restart: {strategy: fixed-delay, attempts: 1, delay: 10ms}`

// hostileSpec is generator -> NAME.wasm -> discard. The generator sends one
// record of 24 bytes (key-0, abc) per attempt.
func hostileSpec(name string) string {
	return fmt.Sprintf(`
name: hostile-%[1]s
%[2]s
tasks:
  - {name: source, operator: generator, config: {count: 1, keys: 1, value-size: 3}}
  - {name: hostile, operator: %[1]s.wasm}
  - {name: sink, operator: discard}
`, name, restartOnce)
}

// normalRecords is how many records the well-behaved job sends.
const normalRecords = 3000

// normalSpec is generator -> wasm:upper -> discard for about 0.3 s: the job
// that must not notice a hostile neighbour.
var normalSpec = fmt.Sprintf(`
name: normal
%s
tasks:
  - {name: source, operator: generator, config: {count: %d, rate: 10000, keys: 10, value-size: 3}}
  - {name: upper, operator: "wasm:upper"}
  - {name: sink, operator: discard}
`, restartOnce, normalRecords)

// assertUndisturbed checks that the normal job finished, at the first
// attempt, with every record.
func assertUndisturbed(t *testing.T, j *runtime.Job) {
	t.Helper()
	snap := wait(t, j)
	require.NoError(t, j.Err())
	assert.Equal(t, metrics.StateFinished, snap.State)
	assert.Zero(t, snap.Restarts)
	assert.Equal(t, int64(normalRecords), snap.Vertices[0].Metrics.NumRecordsOut, "source out")
	assert.Equal(t, int64(normalRecords), snap.Vertices[1].Metrics.NumRecordsIn, "upper in")
	assert.Equal(t, int64(normalRecords), snap.Vertices[1].Metrics.NumRecordsOut, "upper out")
	assert.Equal(t, int64(normalRecords), snap.Vertices[2].Metrics.NumRecordsIn, "sink in")
}

// assertFailed checks that a job FAILED after its one restart with an error
// whose first line is one of want, followed by lines containing more.
func assertFailed(t *testing.T, j *runtime.Job, want []string, more ...string) {
	t.Helper()
	snap := wait(t, j)
	err := j.Err()
	require.Error(t, err)
	first, rest, _ := strings.Cut(err.Error(), "\n")
	if len(want) == 1 {
		assert.Equal(t, want[0], first)
	} else {
		assert.Contains(t, want, first)
	}
	for _, m := range more {
		assert.Contains(t, rest, m)
	}
	assert.Equal(t, metrics.StateFailed, snap.State)
	assert.Equal(t, 1, snap.Restarts)
	assert.Equal(t, err.Error(), snap.Failure)
}

func TestHost_Compile_Hostile(t *testing.T) {
	h := cachedHost(t, sandbox())
	random := hostileWasm(t, "random")
	tests := []struct{ name, want string }{
		{"forbidden-import", `operator "forbidden-import": import env.system is not allowed: operators may import only from "flowlab" and "wasi_snapshot_preview1"`},
		{"command", `operator "command": this is a command module (it exports _start but not flowlab_process): build it as a reactor, e.g. Go with -buildmode=c-shared and //go:wasmexport, C with -mexec-model=reactor or -Wl,--no-entry`},
		{"random", fmt.Sprintf(`operator "random": not a WebAssembly module (a .wasm file starts with \0asm; this one starts with %q)`, random[:8])},
		{"wrong-signature", `operator "wrong-signature": import flowlab.emit has signature (i32, i32) -> (i32), want (i32, i32, i32, i32) -> (i32)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := h.Compile(context.Background(), tt.name, hostileWasm(t, tt.name))
			assert.Nil(t, m)
			assert.EqualError(t, err, tt.want)
		})
	}
}

// Modules whose shape would make wazero's compiler take minutes, built here
// (a few KB each), are rejected at Compile, naming the limit, the function
// and the amount; so is a start function with parameters.
func TestHost_Compile_Limits(t *testing.T) {
	h := cachedHost(t, sandbox())
	leb := func(v int) []byte { return binary.AppendUvarint(nil, uint64(v)) }
	// oneFunc is a module of one function of type ty and body code, and
	// the sections more between the function and code sections.
	oneFunc := func(ty []byte, code []byte, more ...byte) []byte {
		code = append([]byte{0x00}, code...) // no locals
		wasm := []byte("\x00asm\x01\x00\x00\x00")
		wasm = append(append(wasm, 0x01, byte(len(ty)+1), 0x01), ty...)
		wasm = append(wasm, 0x03, 0x02, 0x01, 0x00)
		wasm = append(wasm, more...)
		body := append(leb(len(code)), code...)
		wasm = append(append(wasm, 0x0A), leb(len(body)+1)...)
		return append(append(wasm, 0x01), body...)
	}
	nested := func(n int) []byte {
		code := bytes.Repeat([]byte{0x03, 0x40}, n) // loop
		return append(code, bytes.Repeat([]byte{0x0B}, n+1)...)
	}
	tests := []struct {
		name string
		wasm []byte
		want string
	}{
		// 10,001 nested loops took wazero 18 s to compile.
		{"nested", oneFunc([]byte{0x60, 0x00, 0x00}, nested(10001)),
			`operator "nested": invalid module: function 0: blocks nested 10001 deep, more than the limit of 1000`},
		{"start with a parameter", oneFunc([]byte{0x60, 0x01, 0x7F, 0x00}, []byte{0x0B}, 0x08, 0x01, 0x00),
			"the start function has signature (i32) -> (), want () -> ()"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := h.Compile(context.Background(), tt.name, tt.wasm)
			assert.Nil(t, m)
			if strings.HasPrefix(tt.want, "operator ") {
				assert.EqualError(t, err, tt.want)
			} else {
				assert.ErrorContains(t, err, tt.want)
			}
		})
	}
}

// A start function that never returns does not hang instantiation: the
// instrumenter exported it, and the host calls it under the start
// deadline. The job starts without waiting for it, and fails with it.
func TestHost_Resolver_StartLoop(t *testing.T) {
	h := cachedHost(t, sandbox())
	j := startJob(t, h, hostileSpec("start-loop"))
	assert.Equal(t, metrics.StateFailed, wait(t, j).State)
	assert.EqualError(t, j.Err(), `task "hostile" subtask 1/1: operator "start-loop.wasm": flowlab_start: stopped after running longer than the limit of 200ms per call (a loop that does not end?)`)
}

// A module rejected at Compile is reported at its line of the spec, and the
// job does not start.
func TestHost_Resolver_HostileRejectedAtItsLine(t *testing.T) {
	h := cachedHost(t, sandbox())
	s, err := spec.Parse([]byte(`
tasks:
  - {name: source, operator: generator}
  - {name: bad, operator: forbidden-import.wasm}
  - {name: worse, operator: random.wasm}
`))
	require.NoError(t, err)
	_, err = runtime.Start(context.Background(), s, h.Resolver(context.Background(), wasmops.FS, hostileDir))
	require.Error(t, err)
	lines := strings.Split(err.Error(), "\n")
	require.Len(t, lines, 2)
	assert.Equal(t, `line 4: tasks[1].operator: operator "forbidden-import.wasm": import env.system is not allowed: operators may import only from "flowlab" and "wasi_snapshot_preview1"`, lines[0])
	assert.True(t, strings.HasPrefix(lines[1], `line 5: tasks[2].operator: operator "random.wasm": not a WebAssembly module`), lines[1])
}

// Each hostile module that compiles is stopped in its job, with a clear
// error, on each of its two attempts; a normal job on the same Host,
// running meanwhile, finishes with every record.
func TestOperator_Hostile(t *testing.T) {
	h := cachedHost(t, sandbox())
	const prefix = `task "hostile" subtask 1/1: operator "`
	deadline := `.wasm": flowlab_process: stopped after running longer than the limit of 200ms per call (a loop that does not end?)`
	tests := []struct {
		name   string
		want   string   // the error's first line, after prefix+name
		or     string   // another first line as good as want
		more   []string // in the rest of the error
		stderr string   // a line the module wrote to stderr
		bomb   bool     // takes all the memory it can get
	}{
		{name: "loop", want: deadline},
		{name: "simd-loop", want: deadline},
		{name: "fib", want: deadline},
		{name: "memory-bomb", want: deadline, bomb: true},
		// Growing its table without end, it gets -1 at the instrumenter's
		// bound (100,000 entries, 800 kB) and spins.
		{name: "table-grow", want: deadline, bomb: true},
		// Growing the stack up to wazero's limit takes 0.1 to 0.4 s (seconds
		// under -race): either may come first.
		{name: "stack-overflow", want: `.wasm": flowlab_process: stack overflow`, or: deadline},
		{name: "flood", want: `.wasm": flowlab_process: emit: called again after it returned -1: the output quota of 5000 records per call is exhausted`},
		{name: "batch-flood", want: `.wasm": flowlab_process: emit_batch: called again after it returned -1: the output quota of 5000 records per call is exhausted`},
		{name: "batch-oob", want: `.wasm": flowlab_process: emit_batch: batch pointer 65520 with length 32 is outside guest memory of 65536 bytes`},
		{name: "batch-huge", want: `.wasm": flowlab_process: emit_batch: batch pointer 0 with length 1073741824 is outside guest memory of 65536 bytes`},
		{name: "batch-lie", want: `.wasm": flowlab_process: emit_batch: the record at offset 0 of a batch of 18 bytes has key_len 1 and val_len 1073741824, but only 2 bytes follow its header`},
		{name: "trap", want: `.wasm": flowlab_process: wasm error: unreachable`, more: []string{"wasm stack trace:"}},
		{name: "emit-oob", want: `.wasm": flowlab_process: emit: key pointer 268435456 with length 4 is outside guest memory of 65536 bytes`},
		{name: "emit-wrap", want: `.wasm": flowlab_process: emit: value pointer 4294967288 with length 16 is outside guest memory of 65536 bytes`},
		{name: "log-huge", want: `.wasm": flowlab_process: log: message pointer 0 with length 4294967295 is outside guest memory of 65536 bytes`},
		{name: "input-oob", want: `.wasm": flowlab_input(24) returned address 65528, but 24 bytes from there are outside guest memory of 65536 bytes`},
		// The Go runtime finds no more memory under the limit and aborts.
		{name: "alloc", want: `.wasm": flowlab_process: wasm error: unreachable`, more: []string{"runtime.abort", "runtime.throw", "runtime.mallocgc", "main.init.0.func1"}, stderr: "fatal error: out of memory", bomb: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ms goruntime.MemStats
			goruntime.GC()
			goruntime.ReadMemStats(&ms)
			base := ms.HeapInuse + uint64(mappedBytes())
			stop := make(chan struct{})
			peak := sampleHeap(stop)
			normal := startJob(t, h, normalSpec)
			j := startJob(t, h, hostileSpec(tt.name))
			want := []string{prefix + tt.name + tt.want}
			if tt.or != "" {
				want = append(want, prefix+tt.name+tt.or)
			}
			assertFailed(t, j, want, tt.more...)
			if tt.stderr != "" {
				logs, err := j.Logs("hostile")
				require.NoError(t, err)
				assert.True(t, slices.ContainsFunc(logs, func(l runtime.LogLine) bool {
					return l.Stream == runtime.StreamStderr && l.Text == tt.stderr
				}), "stderr has %q", tt.stderr)
			}
			close(stop)
			assertUndisturbed(t, normal)
			if tt.bomb {
				// Without the limit of 16 MiB per instance, the bomb
				// would take 4 GiB; with it, each of the instances of
				// both jobs (with garbage not yet collected) has 16 MiB.
				assert.Less(t, <-peak-base, uint64(256<<20), "growth of the heap and linear memory in use")
			}
		})
	}
}

// sampleHeap samples the Go heap in use and the linear memory mapped and
// open (memory_linux.go; elsewhere wazero keeps it on the heap) every 5 ms
// until stop is closed, then sends the largest sample.
func sampleHeap(stop <-chan struct{}) <-chan uint64 {
	peak := make(chan uint64, 1)
	go func() {
		var ms goruntime.MemStats
		var most uint64
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			goruntime.ReadMemStats(&ms)
			most = max(most, ms.HeapInuse+uint64(mappedBytes()))
			select {
			case <-stop:
				peak <- most
				return
			case <-tick.C:
			}
		}
	}()
	return peak
}

// Many jobs, hostile and normal, started together on one Host: every
// hostile one fails, every normal one finishes with every record.
func TestHost_Hammer(t *testing.T) {
	h := cachedHost(t, sandbox())
	hostile := []string{"loop", "memory-bomb", "flood", "trap", "fib", "emit-wrap", "batch-flood", "batch-lie"}
	const normals = 4
	jobs := make([]*runtime.Job, len(hostile)+normals)
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	release := make(chan struct{})
	for i := range jobs {
		wg.Go(func() {
			<-release
			if i < len(hostile) {
				jobs[i], errs[i] = start(h, hostileSpec(hostile[i]))
			} else {
				jobs[i], errs[i] = start(h, normalSpec)
			}
		})
	}
	close(release)
	wg.Wait()
	for i, j := range jobs {
		require.NoError(t, errs[i])
		t.Cleanup(func() { j.Cancel(); <-j.Done() })
	}
	for i, j := range jobs {
		if i < len(hostile) {
			snap := wait(t, j)
			assert.Equal(t, metrics.StateFailed, snap.State, hostile[i])
			assert.ErrorContains(t, j.Err(), `operator "`+hostile[i]+`.wasm": flowlab_process: `)
		} else {
			assertUndisturbed(t, j)
		}
	}
}

// A poison record fails the job after its restarts, with a message naming
// the operator and the record.
func TestOperator_Poison(t *testing.T) {
	h := cachedHost(t, sandbox())
	normal := startJob(t, h, normalSpec)
	j := startJob(t, h, fmt.Sprintf(`
name: poison
%s
tasks:
  - {name: source, operator: generator, config: {count: 1, keys: 1, value-size: 3}}
  - {name: poison, operator: "wasm:poison", config: {fail-on: abc}}
  - {name: sink, operator: discard}
`, restartOnce))
	snap := wait(t, j)
	require.Error(t, j.Err())
	assert.Regexp(t, `^task "poison" subtask 1/1: operator "wasm:poison": flowlab_process returned -1: poison record \(key "key-0", value "abc", ts \d+\): its value equals the configured fail-on "abc"$`, j.Err().Error())
	assert.Equal(t, metrics.StateFailed, snap.State)
	assert.Equal(t, 1, snap.Restarts)
	assertUndisturbed(t, normal)
}

// recorder is an Output that keeps what it is given: records as key=value,
// and their timestamps.
type recorder struct {
	recs []string
	ts   []int64
}

func (r *recorder) Emit(ts int64, key, value []byte) error {
	r.recs = append(r.recs, string(key)+"="+string(value))
	r.ts = append(r.ts, ts)
	return nil
}

func batch(kvs ...string) runtime.Batch {
	var recs []runtime.Record
	for _, s := range kvs {
		k, v, _ := strings.Cut(s, "=")
		recs = append(recs, runtime.Record{TS: 1, Key: []byte(k), Value: []byte(v)})
	}
	return runtime.NewBatch(recs...)
}

// newTestOperator makes a subtask's operator outside a job.
func newTestOperator(t *testing.T, m *Module, config string) *operator {
	t.Helper()
	op, err := m.newOperator(newTestContext(), []byte(config))
	require.NoError(t, err)
	t.Cleanup(func() { op.Close() })
	return op
}

// After a failed call, a trap or a timeout the instance is closed and
// dropped; the next call gets a fresh one, which works.
func TestOperator_Process_FreshInstanceAfterFailure(t *testing.T) {
	h := cachedHost(t, sandbox())
	many := make([]string, 1000)
	for i := range many {
		many[i] = "k=v"
	}
	tests := []struct {
		name, op, config string
		bad              runtime.Batch
		want             string
	}{
		{"failed call", "poison", `{"fail-on": "bad"}`, batch("a=good", "b=bad"),
			`operator "wasm:poison": flowlab_process returned -1: poison record (key "b", value "bad", ts 1): its value equals the configured fail-on "bad"`},
		// 1000 records of 10^6 iterations each run for seconds.
		{"timeout", "spin", `{"iterations": 1000000}`, batch(many...),
			`operator "wasm:spin": flowlab_process: stopped after running longer than the limit of 200ms per call (a loop that does not end?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newTestOperator(t, compileBundled(t, h, tt.op), tt.config)
			first := op.inst
			out := &recorder{}
			require.NoError(t, op.Process(batch("a=x"), out))
			assert.Same(t, first, op.inst, "the instance is kept while calls succeed")

			err := op.Process(tt.bad, out)
			require.Error(t, err)
			assert.Equal(t, tt.want, strings.SplitN(err.Error(), "\n", 2)[0])
			assert.Nil(t, op.inst, "discarded")
			assert.True(t, first.mod.IsClosed(), "closed")

			require.NoError(t, op.Process(batch("b=y"), out))
			require.NotNil(t, op.inst)
			assert.NotSame(t, first, op.inst, "a fresh instance")
			assert.Equal(t, "b=y", out.recs[len(out.recs)-1])
		})
	}
	t.Run("trap", func(t *testing.T) {
		op := newTestOperator(t, compileHostile(t, h, "trap"), "{}")
		var seen []*instance
		for range 3 {
			in := op.inst
			if in == nil {
				var err error
				in, err = op.instance()
				require.NoError(t, err)
			}
			assert.NotContains(t, seen, in)
			seen = append(seen, in)
			err := op.Process(batch("k=v"), &recorder{})
			assert.ErrorContains(t, err, `operator "trap.wasm": flowlab_process: wasm error: unreachable`)
			assert.Nil(t, op.inst)
			assert.True(t, in.mod.IsClosed())
		}
	})
}

// Keyed state is the host's: it survives the instance.
func TestOperator_State_SurvivesInstance(t *testing.T) {
	h := cachedHost(t, sandbox())
	op := newTestOperator(t, compileBundled(t, h, "count"), "{}")
	out := &recorder{}
	require.NoError(t, op.Process(batch("a=x", "b=x", "a=x"), out))
	first := op.inst
	op.discard() // as after a failure
	require.NoError(t, op.Process(batch("a=x", "c=x"), out))
	assert.NotSame(t, first, op.inst)
	assert.Equal(t, []string{"a=1", "b=1", "a=2", "a=3", "c=1"}, out.recs)
	assert.Equal(t, map[string][]byte{"a/count": []byte("3"), "b/count": []byte("1"), "c/count": []byte("1")}, op.state)
}

// The memory bomb grows its memory up to the limit and no further; the
// deadline then stops its writing loop.
func TestOperator_Process_MemoryBomb(t *testing.T) {
	h := cachedHost(t, sandbox().WithMemoryLimit(4<<20))
	op := newTestOperator(t, compileHostile(t, h, "memory-bomb"), "{}")
	in := op.inst
	assert.Equal(t, uint32(64<<10), in.mem.Size())
	err := op.Process(batch("k=v"), &recorder{})
	assert.EqualError(t, err, `operator "memory-bomb.wasm": flowlab_process: stopped after running longer than the limit of 200ms per call (a loop that does not end?)`)
	assert.Equal(t, uint32(4<<20), in.mem.Size(), "grown to the limit")
	assert.Nil(t, op.inst)
}

// Unbounded recursion ends in a trap once the stack reaches wazero's limit.
func TestOperator_Process_StackOverflow(t *testing.T) {
	h := cachedHost(t, sandbox().WithCallTimeout(time.Minute))
	op := newTestOperator(t, compileHostile(t, h, "stack-overflow"), "{}")
	err := op.Process(batch("k=v"), &recorder{})
	assert.EqualError(t, err, `operator "stack-overflow.wasm": flowlab_process: stack overflow`)
	assert.Nil(t, op.inst)
}

// A call may emit up to the quota. An operator that stops at emit's -1 fails
// the call with the quota as the reason; one that goes on emitting is stopped
// at once.
func TestOperator_Process_OutputQuota(t *testing.T) {
	h := cachedHost(t, sandbox().WithOutputQuota(10))
	twenty, twentyUpper := make([]string, 20), make([]string, 20)
	for i := range twenty {
		twenty[i], twentyUpper[i] = fmt.Sprintf("k%d=v", i), fmt.Sprintf("k%d=V", i)
	}

	for _, name := range uppers {
		t.Run(name, func(t *testing.T) {
			m := compileUpper(t, h, name)
			op := newTestOperator(t, m, "{}")
			out := &recorder{}
			require.NoError(t, op.Process(batch(twenty[:10]...), out), "exactly the quota")
			assert.Len(t, out.recs, 10)
			out.recs = nil
			err := op.Process(batch(twenty...), out)
			assert.EqualError(t, err, `operator "`+m.Name()+`": flowlab_process: emitted more than the limit of 10 records in one call`)
			assert.Equal(t, twentyUpper[:10], out.recs, "emit and emit_batch alike emit up to the quota")
			assert.Nil(t, op.inst)
		})
	}

	for name, want := range map[string]string{
		"flood":       `emit: called again after it returned -1: the output quota of 10 records per call is exhausted`,
		"batch-flood": `emit_batch: called again after it returned -1: the output quota of 10 records per call is exhausted`,
	} {
		t.Run(name, func(t *testing.T) {
			flood := newTestOperator(t, compileHostile(t, h, name), "{}")
			out := &recorder{}
			start := time.Now()
			err := flood.Process(batch("k=v"), out)
			assert.EqualError(t, err, `operator "`+name+`.wasm": flowlab_process: `+want)
			assert.Len(t, out.recs, 10)
			assert.Less(t, time.Since(start), 200*time.Millisecond, "stopped before the deadline")
		})
	}
}

// emitInInit is this module, assembled by hand:
//
//	(module
//	  (import "flowlab" "emit" (func $emit (param i32 i32 i32 i32) (result i32)))
//	  (memory (export "memory") 1)
//	  (func (export "flowlab_input") (param i32) (result i32) (i32.const 1024))
//	  (func (export "flowlab_process") (param i32) (result i32) (i32.const 0))
//	  (func (export "flowlab_init") (param i32) (result i32)
//	    (drop (call $emit (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
//	    (i32.const 0)))
const emitInInit = "\x00asm\x01\x00\x00\x00" +
	"\x01\x0e\x02\x60\x04\x7f\x7f\x7f\x7f\x01\x7f\x60\x01\x7f\x01\x7f" + // types: (i32 i32 i32 i32) -> i32, (i32) -> i32
	"\x02\x10\x01\x07flowlab\x04emit\x00\x00" + // import flowlab.emit of type 0
	"\x03\x04\x03\x01\x01\x01" + // functions 1, 2, 3 of type 1
	"\x05\x03\x01\x00\x01" + // memory of 1 page
	"\x07\x3b\x04\x06memory\x02\x00\x0dflowlab_input\x00\x01\x0fflowlab_process\x00\x02\x0cflowlab_init\x00\x03" +
	"\x0a\x1c\x03" + // code of 3 functions
	"\x05\x00\x41\x80\x08\x0b" + // i32.const 1024
	"\x04\x00\x41\x00\x0b" + // i32.const 0
	"\x0f\x00\x41\x00\x41\x00\x41\x00\x41\x00\x10\x00\x1a\x41\x00\x0b" // call $emit (0, 0, 0, 0), drop, i32.const 0

// Only flowlab_process and flowlab_timer have an output to emit to.
func TestOperator_Emit_OutsideProcess(t *testing.T) {
	h := cachedHost(t, sandbox())
	m, err := h.Compile(context.Background(), "emit-in-init", []byte(emitInInit))
	require.NoError(t, err)
	_, err = m.newOperator(newTestContext(), []byte("{}"))
	assert.EqualError(t, err, `operator "emit-in-init": flowlab_init: emit: records may be emitted only from flowlab_process and flowlab_timer`)
}

// Jobs that start together compile the same module together. wazero v1.12
// publishes a module read from the file cache before it is ready
// (wazero/wazero#2547): an instance made from it at that moment panicked in
// ExportedFunction. Compile lets one compilation of a module run at a time.
func TestHost_Compile_Concurrent(t *testing.T) {
	wasm, err := wasmops.FS.ReadFile("upper/upper.wasm")
	require.NoError(t, err)
	compileBundled(t, cachedHost(t, sandbox()), "upper") // in the file cache
	start := time.Now()
	for i := 0; i < 20 && time.Since(start) < 3*time.Second; i++ {
		h := cachedHost(t, sandbox())
		var wg sync.WaitGroup
		release := make(chan struct{})
		for range 4 {
			wg.Go(func() {
				<-release
				m, err := h.Compile(context.Background(), "upper", wasm)
				if !assert.NoError(t, err) {
					return
				}
				op, err := m.newOperator(newTestContext(), []byte("{}"))
				if assert.NoError(t, err) {
					op.Close()
				}
			})
		}
		close(release)
		wg.Wait()
	}
}
