package instrument

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// engines are the wazero engines the semantic tests run on. The stop tests use
// only the compiler: the interpreter reads globals from Go code, which the
// race detector would flag when another goroutine sets the flag.
var engines = []struct {
	name string
	cfg  func() wazero.RuntimeConfig
}{
	{"compiler", wazero.NewRuntimeConfigCompiler},
	{"interpreter", wazero.NewRuntimeConfigInterpreter},
}

func newRuntime(t testing.TB, cfg wazero.RuntimeConfig) (context.Context, wazero.Runtime) {
	t.Helper()
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, cfg.WithCoreFeatures(allFeatures))
	t.Cleanup(func() { r.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	return ctx, r
}

// instantiate compiles and instantiates wasm without running any start
// function, then runs _initialize if the module has one (Go and C reactors).
func instantiate(t testing.TB, ctx context.Context, r wazero.Runtime, wasm []byte) api.Module {
	t.Helper()
	cm, err := r.CompileModule(ctx, wasm)
	require.NoError(t, err)
	mod, err := r.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName("").
		WithStartFunctions().WithSysNanotime())
	require.NoError(t, err)
	t.Cleanup(func() { mod.Close(ctx) })
	if init := mod.ExportedFunction("_initialize"); init != nil {
		_, err := init.Call(ctx)
		require.NoError(t, err)
	}
	return mod
}

func stopFlag(t testing.TB, mod api.Module) api.MutableGlobal {
	t.Helper()
	g, ok := mod.ExportedGlobal(StopExport).(api.MutableGlobal)
	require.True(t, ok, "%s is not an exported mutable global", StopExport)
	require.Equal(t, api.ValueTypeI32, g.Type())
	require.Equal(t, uint64(0), g.Get())
	return g
}

type call struct {
	fn   string
	args []uint64
	want []uint64
}

// callAll makes the calls and returns their results. A call whose want is
// nil is only checked against the reference results, if any.
func callAll(t *testing.T, ctx context.Context, mod api.Module, calls []call, ref [][]uint64) [][]uint64 {
	t.Helper()
	var results [][]uint64
	for i, c := range calls {
		fn := mod.ExportedFunction(c.fn)
		require.NotNil(t, fn, c.fn)
		got, err := fn.Call(ctx, c.args...)
		require.NoError(t, err, "%s%v", c.fn, c.args)
		if c.want != nil {
			assert.Equal(t, c.want, got, "%s%v", c.fn, c.args)
		}
		if ref != nil {
			assert.Equal(t, ref[i], got, "%s%v: instrumented differs from original", c.fn, c.args)
		}
		results = append(results, got)
	}
	return results
}

// trapsSoon checks that, with the stop flag set, calling fn repeatedly traps
// within tickInterval+1 calls: each call makes at least one check (at its
// entry), and the flag is polled every tickInterval checks.
func trapsSoon(t *testing.T, ctx context.Context, fn api.Function, args ...uint64) {
	t.Helper()
	var err error
	for i := 0; i <= tickInterval && err == nil; i++ {
		_, err = fn.Call(ctx, args...)
	}
	require.Error(t, err, "%s%v does not trap with the stop flag set", fn.Definition().Name(), args)
	assert.Contains(t, err.Error(), "unreachable")
}

// checkSame runs calls on the original and on the instrumented module, then
// checks that with the stop flag set every one of them traps (soon).
func checkSame(t *testing.T, name string, calls []call) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			in, out := instrumentCase(t, name)
			ctx, r := newRuntime(t, e.cfg())
			ref := callAll(t, ctx, instantiate(t, ctx, r, in), calls, nil)
			mod := instantiate(t, ctx, r, out)
			callAll(t, ctx, mod, calls, ref)

			stopFlag(t, mod).Set(1)
			for _, c := range calls {
				trapsSoon(t, ctx, mod.ExportedFunction(c.fn), c.args...)
			}
		})
	}
}

func TestSemanticsHandWritten(t *testing.T) {
	checkSame(t, "semantics", []call{
		{"sum", []uint64{0}, []uint64{0}},
		{"sum", []uint64{100}, []uint64{5050}},
		{"sum", []uint64{100000}, []uint64{5000050000}},
		{"fib", []uint64{0}, []uint64{0}},
		{"fib", []uint64{20}, []uint64{6765}},
		{"even", []uint64{1000}, []uint64{1}},
		{"even", []uint64{1001}, []uint64{0}},
		{"primes", []uint64{1000}, []uint64{168}},
		{"primes", []uint64{65536}, []uint64{6542}},
		{"burn", []uint64{20}, []uint64{10946}},
	})
}

func TestSemanticsNestedLoops(t *testing.T) {
	checkSame(t, "nested_loops", []call{
		{"nested", []uint64{10}, []uint64{100}},
		{"typed", []uint64{5}, []uint64{2}},
	})
}

func TestSemanticsTailCalls(t *testing.T) {
	checkSame(t, "tailcall", []call{
		{"count", []uint64{100000}, []uint64{42}},
	})
}

func TestSemanticsC(t *testing.T) {
	checkSame(t, "cguest", []call{
		{"fib", []uint64{20}, []uint64{6765}},
		{"checksum", []uint64{4096}, nil},
	})
}

func TestSemanticsGo(t *testing.T) {
	checkSame(t, "goguest", []call{
		{"fib", []uint64{20}, []uint64{6765}},
		{"word_score", []uint64{1000}, nil},
	})
}

// gcPressure runs the garbage collector in a loop until the test ends. Each
// cycle stops the world, which must wait for every goroutine running guest
// code to leave it: without the instrumentation's periodic exits a spinning
// guest would block the collector, and with it the goroutine that is to set
// the stop flag, forever.
func gcPressure(t *testing.T) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
				runtime.GC()
			}
		}
	}()
	t.Cleanup(func() { close(done); <-stopped })
}

var runaways = []struct {
	module, fn string
	args       []uint64
}{
	{"semantics", "spin", nil},                    // (loop br 0)
	{"semantics", "burn", []uint64{60}},           // loop-free exponential recursion
	{"tailcall", "forever", []uint64{0}},          // loop-free infinite tail recursion
	{"cguest", "spin", nil},                       // C for(;;)
	{"goguest", "spin", nil},                      // Go for {}
	{"nested_loops", "nested", []uint64{1 << 31}}, // long nested loops
	{"semantics", "sum", []uint64{0xFFFFFFFF}},    // long but finite loop
}

// stopAfter calls fn, sets the stop flag from another goroutine 50 ms later,
// and checks that the call traps. The timeout is generous: this is a
// functional test, not a timing test.
func stopAfter(t *testing.T, module, fn string, args ...uint64) {
	_, out := instrumentCase(t, module)
	ctx, r := newRuntime(t, wazero.NewRuntimeConfigCompiler())
	mod := instantiate(t, ctx, r, out)
	flag := stopFlag(t, mod)
	f := mod.ExportedFunction(fn)
	require.NotNil(t, f)

	setAt := make(chan time.Time, 1)
	go func() {
		time.Sleep(50 * time.Millisecond)
		flag.Set(1)
		setAt <- time.Now()
	}()
	done := make(chan error, 1)
	go func() {
		_, err := f.Call(ctx, args...)
		done <- err
	}()
	select {
	case err := <-done:
		stoppedAt := time.Now()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "unreachable")
		t.Logf("stopped %v after the flag was set", stoppedAt.Sub(<-setAt))
	case <-time.After(20 * time.Second):
		t.Fatal("the call did not stop within 20s of the flag being set")
	}
}

// TestRunawayStopped stops runaway calls of every shape, all at once (more
// spinning guests than GOMAXPROCS on a small machine) while the garbage
// collector runs continuously.
func TestRunawayStopped(t *testing.T) {
	gcPressure(t)
	for _, c := range runaways {
		t.Run(c.module+"/"+c.fn, func(t *testing.T) {
			t.Parallel()
			stopAfter(t, c.module, c.fn, c.args...)
		})
	}
}

// TestRunawayStoppedOneP stops a spinning guest with GOMAXPROCS=1: the
// goroutine that sets the flag only runs because the guest's periodic exits
// from compiled code let the scheduler preempt it.
func TestRunawayStoppedOneP(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	gcPressure(t)
	stopAfter(t, "semantics", "spin")
	stopAfter(t, "semantics", "burn", 60)
}
