package host

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"flowlab/host/internal/instrument"
	"flowlab/runtime"
	"flowlab/runtime/spec"
	"flowlab/wasmops"
)

// Run with
//
//	go test -run '^$' -bench . -benchmem ./host/
//
// Compare BenchmarkPipeline with runtime's BenchmarkPipeline/parallelism=1:
// the map=passthrough case here is the same job.

// mapOps are the map operators of BenchmarkPipeline: the built-in, then the
// bundled upper-casers in Go (SDK), C and WAT.
var mapOps = []string{runtime.OpPassthrough, "wasm:upper", "wasm:c-upper", "wasm:wat-upper"}

// BenchmarkPipeline measures records per second through generator ->
// MAP -> discard, 16-byte values, with a network exchange (rebalance) in front
// of MAP, for network buffers of 1, 8 and 32 KiB (about 26, 215 and 860
// records per batch, so per flowlab_process call). One op is one record.
func BenchmarkPipeline(b *testing.B) {
	ctx := context.Background()
	h := cachedHost(b, NewConfig())
	for _, name := range mapOps[1:] {
		compileBundled(b, h, name[len(BundledPrefix):]) // compiled once, outside the timings
	}
	resolve := h.Resolver(ctx, wasmops.FS, "")
	for _, size := range []string{"1kb", "8kb", "32kb"} {
		for _, op := range mapOps {
			b.Run(fmt.Sprintf("buffer=%s/map=%s", size, op), func(b *testing.B) {
				s, err := spec.Parse(fmt.Appendf(nil, `
name: bench
network: {buffer-size: %s}
tasks:
  - {name: source, operator: generator, config: {count: %d, value-size: 16}}
  - {name: map, operator: %q}
  - {name: sink, operator: discard}
edges:
  - {from: source, to: map, partitioning: rebalance}
  - {from: map, to: sink, partitioning: forward}
`, size, b.N, op))
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				j, err := runtime.Start(ctx, s, resolve)
				if err != nil {
					b.Fatal(err)
				}
				<-j.Done()
				if err := j.Err(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
			})
		}
	}
}

// BenchmarkGuest measures one flowlab_process call on a batch of 32 KiB (860
// records of 16-byte values, or 240 of 100-byte values) on plain wazero,
// outside the runtime, with the sandbox's instrumentation (deadline checks at
// function entries and loops) and without: what the sandbox costs. The
// contenders are the upper-casers in Go (SDK), C and WAT, and the Go filter
// configured to drop every record, as `flowlab bench` runs it. emit and
// emit_batch only count. One op is one call.
func BenchmarkGuest(b *testing.B) {
	for _, size := range []int{16, 100} {
		batch, records := benchBatch(32<<10, size)
		for _, op := range []struct {
			name, config string
			keeps        bool // every record
		}{
			{"upper", "{}", true},
			{"c-upper", "{}", true},
			{"wat-upper", "{}", true},
			{"filter", `{"contains": "#"}`, false},
		} {
			raw, err := wasmops.FS.ReadFile(op.name + "/" + op.name + ".wasm")
			if err != nil {
				b.Fatal(err)
			}
			instrumented, err := instrument.Instrument(raw)
			if err != nil {
				b.Fatal(err)
			}
			for _, v := range []struct {
				sandbox string
				wasm    []byte
			}{{"off", raw}, {"on", instrumented}} {
				b.Run(fmt.Sprintf("value=%dB/op=%s/sandbox=%s", size, op.name, v.sandbox), func(b *testing.B) {
					g := newGuest(b, v.wasm, op.config)
					ptr := g.call(b, exportInput, uint64(len(batch)))
					b.SetBytes(int64(len(batch)))
					b.ReportAllocs()
					g.emitted = 0
					start := time.Now()
					for b.Loop() {
						g.mem.Write(uint32(ptr), batch)
						if r := g.call(b, exportProcess, uint64(len(batch))); r != 0 {
							b.Fatalf("%s returned %d", exportProcess, r)
						}
					}
					b.ReportMetric(float64(b.N*records)/time.Since(start).Seconds(), "records/s")
					want := 0
					if op.keeps {
						want = b.N * records
					}
					if g.emitted != want {
						b.Fatalf("emitted %d records in %d calls of %d, want %d", g.emitted, b.N, records, want)
					}
				})
			}
		}
	}
}

// benchBatch is a batch of at most size bytes of records like the
// generator's (key-N, a lower-case value of valueSize bytes), and how many
// records it holds.
func benchBatch(size, valueSize int) ([]byte, int) {
	value := make([]byte, valueSize)
	for i := range value {
		value[i] = 'a' + byte(i%26)
	}
	var recs []runtime.Record
	n := 0
	for i := 0; ; i++ {
		key := fmt.Appendf(nil, "key-%d", i%100)
		if n+16+len(key)+valueSize > size {
			break
		}
		n += 16 + len(key) + valueSize
		recs = append(recs, runtime.Record{TS: int64(i), Key: key, Value: value})
	}
	return runtime.NewBatch(recs...).Bytes(), len(recs)
}

// guest is a module instantiated on plain wazero with the Host's runtime
// config, WASI, and flowlab imports that do nothing but count emitted
// records.
type guest struct {
	mod     api.Module
	mem     api.Memory
	fns     map[string]api.Function // as the host keeps them: wazero makes a call engine per ExportedFunction
	emitted int
}

func newGuest(b *testing.B, wasm []byte, config string) *guest {
	ctx := context.Background()
	rc := wazero.NewRuntimeConfigCompiler().WithMemoryLimitPages(NewConfig().memoryLimit / pageSize).WithMemoryCapacityFromMax(true)
	if dir := NewConfig().cacheDir; dir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(dir)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cache.Close(ctx) })
		rc = rc.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	b.Cleanup(func() { rt.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	g := &guest{fns: map[string]api.Function{}}
	hb := rt.NewHostModuleBuilder(importModule)
	for _, name := range importNames {
		sig := importSignatures[name]
		fn := func(_ context.Context, stack []uint64) {
			if len(sig.results) > 0 {
				stack[0] = 0
			}
		}
		switch name {
		case "emit":
			fn = func(_ context.Context, stack []uint64) { g.emitted++; stack[0] = 0 }
		case "emit_batch":
			fn = func(_ context.Context, stack []uint64) {
				data, _ := g.mem.Read(uint32(stack[0]), uint32(stack[1]))
				n, _ := scanBatch(data, len(data))
				g.emitted += n
				stack[0] = api.EncodeI32(int32(n))
			}
		}
		hb.NewFunctionBuilder().WithGoFunction(api.GoFunc(fn), sig.params, sig.results).Export(name)
	}
	if _, err := hb.Instantiate(ctx); err != nil {
		b.Fatal(err)
	}
	mod, err := rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithName("").WithStartFunctions().WithSysNanotime().WithSysWalltime())
	if err != nil {
		b.Fatal(err)
	}
	g.mod, g.mem = mod, mod.Memory()
	if mod.ExportedFunction(exportInitialize) != nil {
		g.call(b, exportInitialize)
	}
	if mod.ExportedFunction(exportInit) != nil {
		ptr := g.call(b, exportInput, uint64(len(config)))
		g.mem.Write(uint32(ptr), []byte(config))
		if r := g.call(b, exportInit, uint64(len(config))); r != 0 {
			b.Fatalf("%s returned %d", exportInit, r)
		}
	}
	return g
}

func (g *guest) call(b *testing.B, name string, args ...uint64) int32 {
	fn := g.fns[name]
	if fn == nil {
		fn = g.mod.ExportedFunction(name)
		g.fns[name] = fn
	}
	res, err := fn.Call(context.Background(), args...)
	if err != nil {
		b.Fatal(err)
	}
	if len(res) == 0 {
		return 0
	}
	return api.DecodeI32(res[0])
}

// BenchmarkCompile measures Host.Compile of the Go upper module (2.2 MB) on
// a new Host each time: cold, with an empty cache directory, and cached, with
// a cache directory that already holds it (as after a restart of the
// process). Either way wazero decodes and validates the module; with the
// cache it reads the compiled code, and the Host the instrumented module,
// instead of making them.
func BenchmarkCompile(b *testing.B) {
	ctx := context.Background()
	wasm, err := wasmops.FS.ReadFile("upper/upper.wasm")
	if err != nil {
		b.Fatal(err)
	}
	compile := func(b *testing.B, dir func() string) {
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			h, err := New(ctx, NewConfig().WithCacheDir(dir()))
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := h.Compile(ctx, "upper", wasm); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			h.Close(ctx)
			b.StartTimer()
		}
	}
	b.Run("op=upper/cache=cold", func(b *testing.B) {
		compile(b, func() string {
			dir, err := os.MkdirTemp(b.TempDir(), "")
			if err != nil {
				b.Fatal(err)
			}
			return dir
		})
	})
	b.Run("op=upper/cache=disk", func(b *testing.B) {
		dir := b.TempDir()
		h, err := New(ctx, NewConfig().WithCacheDir(dir))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := h.Compile(ctx, "upper", wasm); err != nil {
			b.Fatal(err)
		}
		h.Close(ctx)
		compile(b, func() string { return dir })
	})
}

// BenchmarkInstantiate measures making a subtask's operator: a new instance
// (64 MiB memory limit, the default) with _initialize and flowlab_init run,
// and closing it; its linear memory mapped (memory_linux.go) or, as wazero
// does by itself, on the Go heap. Compare with
//
//	go test -run '^$' -bench Instantiate -count 6 ./host/ | benchstat -col /memory -
func BenchmarkInstantiate(b *testing.B) {
	for _, kind := range memoryKinds {
		h := cachedHost(b, kind.cfg(NewConfig()))
		for _, name := range []string{"upper", "c-upper", "wat-upper"} {
			m := compileBundled(b, h, name)
			b.Run(fmt.Sprintf("op=%s/memory=%s", name, kind.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					op, err := m.newOperator(newTestContext(), []byte("{}"))
					if err != nil {
						b.Fatal(err)
					}
					op.Close()
				}
			})
		}
	}
}

// BenchmarkJobStart measures a job's start (and restart) as a learner sees
// it: generator -> MAP with 8 subtasks -> discard, one record, from
// runtime.Start to FINISHED, so 8 instances made, run and closed, with
// their linear memory mapped or on the Go heap (see BenchmarkInstantiate).
func BenchmarkJobStart(b *testing.B) {
	ctx := context.Background()
	for _, kind := range memoryKinds {
		h := cachedHost(b, kind.cfg(NewConfig()))
		resolve := h.Resolver(ctx, wasmops.FS, "")
		for _, op := range []string{"wasm:upper", "wasm:wat-upper"} {
			compileBundled(b, h, op[len(BundledPrefix):])
			s, err := spec.Parse(fmt.Appendf(nil, `
name: start
tasks:
  - {name: source, operator: generator, config: {count: 1}}
  - {name: map, operator: %q, parallelism: 8}
  - {name: sink, operator: discard}
`, op))
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("map=%s/subtasks=8/memory=%s", op, kind.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					j, err := runtime.Start(ctx, s, resolve)
					if err != nil {
						b.Fatal(err)
					}
					<-j.Done()
					if err := j.Err(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkProfiled measures records per second through generator -> MAP ->
// discard (32 KiB buffers; MAP the upper-casers and hotspot, its fast
// config) with MAP's subtask sampled every
// runtime.SampleInterval for a flame graph, and without: what being profiled
// costs a guest. One op is one record. Compare with
//
//	go test -run '^$' -bench Profiled -count 6 ./host/ | benchstat -col /profiled -
func BenchmarkProfiled(b *testing.B) {
	ctx := context.Background()
	h := cachedHost(b, NewConfig())
	for _, name := range mapOps[1:] {
		compileBundled(b, h, name[len(BundledPrefix):])
	}
	compileBundled(b, h, "hotspot")
	resolve := h.Resolver(ctx, wasmops.FS, "")
	for _, op := range append(mapOps[1:], "wasm:hotspot") {
		for _, profiled := range []bool{false, true} {
			b.Run(fmt.Sprintf("map=%s/profiled=%v", op, profiled), func(b *testing.B) {
				s, err := spec.Parse(fmt.Appendf(nil, `
name: bench
tasks:
  - {name: source, operator: generator, config: {count: %d, value-size: 16}}
  - {name: map, operator: %q}
  - {name: sink, operator: discard}
`, b.N, op))
				if err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				start := time.Now()
				j, err := runtime.Start(ctx, s, resolve)
				if err != nil {
					b.Fatal(err)
				}
				if profiled {
					if _, err := j.FlameGraph("map", -1, runtime.GraphFull); err != nil {
						b.Fatal(err)
					}
				}
				<-j.Done()
				if err := j.Err(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
			})
		}
	}
}

// BenchmarkSampleStack measures what stack samples cost a guest: one op is
// one flowlab_process call of testdata/hotcold.wasm (a million loop
// iterations, three frames deep), with no samples asked, or with a sample
// asked again as soon as the last one is answered, hundreds of times more
// often than the profiler's one per runtime.SampleInterval. The cost of one
// sample is the difference in ns/op divided by samples/op.
func BenchmarkSampleStack(b *testing.B) {
	h := cachedHost(b, NewConfig())
	m, err := h.Compile(context.Background(), "hotcold", testdata(b, "hotcold.wasm"))
	if err != nil {
		b.Fatal(err)
	}
	batch := runtime.NewBatch(runtime.Record{Value: []byte("x")})
	for _, sampled := range []bool{false, true} {
		b.Run(fmt.Sprintf("sampled=%v", sampled), func(b *testing.B) {
			op, err := m.newOperator(newTestContext(), []byte("{}"))
			if err != nil {
				b.Fatal(err)
			}
			defer op.Close()
			var samples atomic.Int64
			stop := make(chan struct{})
			stopped := make(chan struct{})
			go func() {
				defer close(stopped)
				if !sampled {
					return
				}
				op.Sampling(true)
				answered := make(chan []runtime.Frame, 1)
				for {
					op.SampleStack(func(f []runtime.Frame) { answered <- f })
					if len(<-answered) > 0 {
						samples.Add(1)
					}
					select {
					case <-stop:
						return
					default:
					}
				}
			}()
			for b.Loop() {
				if err := op.Process(batch, discardOutput{}); err != nil {
					b.Fatal(err)
				}
			}
			close(stop)
			<-stopped
			b.ReportMetric(float64(samples.Load())/float64(b.N), "samples/op")
		})
	}
}

type discardOutput struct{}

func (discardOutput) Emit(int64, []byte, []byte) error { return nil }

// BenchmarkOperator_State measures keyed state through a Wasm module: one op
// is one flowlab_process call of the bundled count operator on a batch of
// 1000 records of 100 keys, each record a state_get and a state_put (and an
// emit). The host's share is the cost of those imports; compare before and
// after a change to them with
//
//	go test -run '^$' -bench Operator_State -count 10 ./host/ | benchstat -
func BenchmarkOperator_State(b *testing.B) {
	h := cachedHost(b, NewConfig())
	m := compileBundled(b, h, "count")
	recs := make([]runtime.Record, 1000)
	for i := range recs {
		recs[i] = runtime.Record{TS: int64(i), Key: fmt.Appendf(nil, "key-%d", i%100)}
	}
	batch := runtime.NewBatch(recs...)
	op, err := m.newOperator(newTestContext(), []byte("{}"))
	if err != nil {
		b.Fatal(err)
	}
	defer op.Close()
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		if err := op.Process(batch, discardOutput{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(recs))/time.Since(start).Seconds(), "records/s")
}

// BenchmarkOperator_StateImports measures the host's side of state_get and
// state_put alone, called as the guest calls them but without the guest: one
// op is a state_get and a state_put of an existing key (one of 100) with an
// 8-byte value, as count does per record.
func BenchmarkOperator_StateImports(b *testing.B) {
	h := cachedHost(b, NewConfig())
	m := compileBundled(b, h, "count")
	op, err := m.newOperator(newTestContext(), []byte("{}"))
	if err != nil {
		b.Fatal(err)
	}
	defer op.Close()
	in := op.inst
	const keys, keyLen, valueLen = 100, 8, 8
	// In the input buffer: the keys, then the value, then a buffer for
	// state_get.
	ptr, err := in.reserve(keys*keyLen + 2*valueLen)
	if err != nil {
		b.Fatal(err)
	}
	for i := range keys {
		in.mem.Write(ptr+uint32(i*keyLen), fmt.Appendf(nil, "key%05d", i))
	}
	val, dst := ptr+keys*keyLen, ptr+keys*keyLen+valueLen
	in.mem.Write(val, []byte("12345678"))
	stack := make([]uint64, 4)
	put := func(i int) {
		stack[0], stack[1], stack[2], stack[3] = uint64(ptr)+uint64(i*keyLen), keyLen, uint64(val), valueLen
		in.statePut(stack)
		if stack[0] != 0 {
			b.Fatal("state_put failed")
		}
	}
	for i := range keys {
		put(i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		stack[0], stack[1], stack[2], stack[3] = uint64(ptr)+uint64(i*keyLen), keyLen, uint64(dst), valueLen
		in.stateGet(stack)
		if stack[0] != valueLen {
			b.Fatal("state_get found no value")
		}
		put(i)
		if i++; i == keys {
			i = 0
		}
	}
}

// fullState is keyed state of n entries as count keeps it: keys
// "key-NNNNNN/count", values of 1 to 6 digits (for maxStateEntries, 12 MiB
// as counted).
func fullState(n int) map[string][]byte {
	keyed := make(map[string][]byte, n)
	for i := range n {
		keyed[fmt.Sprintf("key-%06d/count", i)] = fmt.Appendf(nil, "%d", i)
	}
	return keyed
}

// statefulOperator returns a count operator whose state is keyed.
func statefulOperator(b *testing.B, keyed map[string][]byte) *operator {
	h := cachedHost(b, NewConfig())
	op, err := compileBundled(b, h, "count").newOperator(newTestContext(), []byte("{}"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { op.Close() })
	if err := op.RestoreState(runtime.OperatorState{Keyed: keyed}); err != nil {
		b.Fatal(err)
	}
	return op
}

// BenchmarkOperator_SnapshotState measures what a checkpoint takes of a
// subtask's goroutine for its Wasm operator with the most keyed state it
// may hold (maxStateEntries entries), and with ten times as much (set
// directly, past the limit: how the copy scales): a copy of the map, whose
// values are shared. One op is one snapshot.
func BenchmarkOperator_SnapshotState(b *testing.B) {
	for _, n := range []int{maxStateEntries, 10 * maxStateEntries} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			op := statefulOperator(b, nil)
			op.state = fullState(n) // past the limit a restore would check
			b.ReportAllocs()
			for b.Loop() {
				s, err := op.SnapshotState()
				if err != nil || len(s.Keyed) != n {
					b.Fatal(err, len(s.Keyed))
				}
			}
		})
	}
}

// BenchmarkOperator_RestoreState measures restoring the state of
// BenchmarkOperator_SnapshotState: counting it against the limits and
// copying the map. One op is one restore.
func BenchmarkOperator_RestoreState(b *testing.B) {
	keyed := fullState(maxStateEntries)
	op := statefulOperator(b, nil)
	b.ReportAllocs()
	for b.Loop() {
		if err := op.RestoreState(runtime.OperatorState{Keyed: keyed}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOperator_ViewState measures a look at the state of
// BenchmarkOperator_SnapshotState from the UI, for max entries: the time
// it holds state_put off is about all of it. One op is one view.
func BenchmarkOperator_ViewState(b *testing.B) {
	op := statefulOperator(b, fullState(maxStateEntries))
	for _, max := range []int{0, 10, 100, 1000} {
		b.Run(fmt.Sprintf("max=%d", max), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if v := op.ViewState(max); v.Keys != maxStateEntries || len(v.Entries) != max {
					b.Fatal(v.Keys, len(v.Entries))
				}
			}
		})
	}
}
