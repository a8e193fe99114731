package instrument

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// sample is what the listener on $sampled saw: its parameter and the
// names of the functions on the stack, innermost first ($sampled itself
// excluded).
type sample struct {
	param uint32
	stack []string
}

// sampler is a function listener factory that listens to $sampled only, as
// the host's profiler does, and sends every sample to c.
type sampler struct {
	c        chan sample
	mu       sync.Mutex
	listened []string // the functions a listener was asked for and given
}

func newSampler() *sampler { return &sampler{c: make(chan sample, 16)} }

func (s *sampler) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener {
	if !slices.Contains(def.ExportNames(), SampledExport) {
		return nil
	}
	s.mu.Lock()
	s.listened = append(s.listened, def.DebugName())
	s.mu.Unlock()
	return experimental.FunctionListenerFunc(func(_ context.Context, _ api.Module, def api.FunctionDefinition, params []uint64, it experimental.StackIterator) {
		var got sample
		got.param = uint32(params[0])
		first := true
		for it.Next() {
			d := it.Function().Definition()
			if first {
				// The innermost frame is $sampled itself.
				if !slices.Contains(d.ExportNames(), SampledExport) {
					got.stack = append(got.stack, "not $sampled: "+d.DebugName())
				}
				first = false
				continue
			}
			got.stack = append(got.stack, d.Name())
		}
		select {
		case s.c <- got:
		default: // the test is not waiting: drop it
		}
	})
}

// names is a "name" custom section naming functions 0, 1, ...
func names(fn ...string) []byte {
	entries := make([][]byte, len(fn))
	for i, n := range fn {
		entries[i] = cat(leb(uint32(i)), str(n))
	}
	sub := vec(entries...)
	return sec(secCustom, str("name"), []byte{0x01}, leb(uint32(len(sub))), sub)
}

// loopsModule exports "outer", which calls "inner" forever; inner counts
// down its parameter in a loop.
func loopsModule() []byte {
	return module(
		sec(secType, vec(typeNil, typeI32toNil)),
		sec(secFunction, vec([]byte{0}, []byte{1})),
		sec(secExport, vec(cat(str("outer"), []byte{0, 0}))),
		sec(secCode, vec(
			body(noLocals, 0x03, 0x40, 0x41, 0xA0, 0x8D, 0x06, 0x10, 0x01, 0x0C, 0x00, 0x0B, 0x0B), // loop  i32.const 100000  call $inner  br 0  end
			body(noLocals, 0x03, 0x40, // loop
				0x20, 0x00, 0x41, 0x01, 0x6B, 0x22, 0x00, // local.get 0  i32.const 1  i32.sub  local.tee 0
				0x0D, 0x00, 0x0B, 0x0B), // br_if 0  end
		)),
		names("outer", "inner"),
	)
}

// compileSampled compiles wasm, instrumented, with s listening to $sampled,
// and instantiates it.
func compileSampled(t *testing.T, ctx context.Context, r wazero.Runtime, wasm []byte, s *sampler) api.Module {
	t.Helper()
	out, err := Instrument(wasm)
	require.NoError(t, err)
	cm, err := r.CompileModule(experimental.WithFunctionListenerFactory(ctx, s), out)
	require.NoError(t, err)
	mod, err := r.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName(""))
	require.NoError(t, err)
	t.Cleanup(func() { mod.Close(ctx) })
	return mod
}

func mutableGlobal(t *testing.T, mod api.Module, name string) api.MutableGlobal {
	t.Helper()
	g, ok := mod.ExportedGlobal(name).(api.MutableGlobal)
	require.True(t, ok, "%s is not an exported mutable global", name)
	require.Equal(t, api.ValueTypeI32, g.Type())
	return g
}

// TestSampleAtCheck asks a running guest for stack samples from another
// goroutine, as the profiler does: setting $sample and then $tick to 1 makes
// the next check call $sampled, whose listener sees the guest's stack.
func TestSampleAtCheck(t *testing.T) {
	ctx, r := newRuntime(t, wazero.NewRuntimeConfigCompiler())
	s := newSampler()
	mod := compileSampled(t, ctx, r, loopsModule(), s)
	assert.Len(t, s.listened, 1, "one listener, on $sampled only: %v", s.listened)
	stop := stopFlag(t, mod)
	req := mutableGlobal(t, mod, SampleExport)
	tick := mutableGlobal(t, mod, TickExport)
	assert.Equal(t, uint64(0), req.Get())
	assert.Equal(t, uint64(tickInterval), tick.Get())

	done := make(chan error, 1)
	go func() {
		_, err := mod.ExportedFunction("outer").Call(ctx)
		done <- err
	}()
	// Let it run a while: no sample is taken unless asked for.
	time.Sleep(20 * time.Millisecond)
	select {
	case got := <-s.c:
		t.Fatalf("a sample nobody asked for: %+v", got)
	default:
	}
	// A sample taken at outer's own loop header has no inner frame: ask
	// again until one lands in inner, as almost all do.
	var inInner *sample
	for i := 0; i < 100 && inInner == nil; i++ {
		req.Set(1)
		tick.Set(1)
		select {
		case got := <-s.c:
			assert.Equal(t, uint32(0xFFFFFFFF), got.param, "param at a check: -1")
			require.NotEmpty(t, got.stack)
			assert.Equal(t, "outer", got.stack[len(got.stack)-1], "outermost frame: %v", got.stack)
			if slices.Equal(got.stack, []string{"inner", "outer"}) {
				inInner = &got
			} else {
				assert.Equal(t, []string{"outer"}, got.stack)
			}
		case err := <-done:
			t.Fatalf("the call returned: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("no sample within 10s of the request")
		}
		// The request is cleared by $sampled, right after the listener.
		deadline := time.Now().Add(5 * time.Second)
		for req.Get() != 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		require.Equal(t, uint64(0), req.Get(), "the request is cleared")
	}
	require.NotNil(t, inInner, "no sample landed in inner")
	t.Logf("stack: %v", inInner.stack)

	stop.Set(1)
	select {
	case err := <-done:
		require.Error(t, err)
		assert.Contains(t, err.Error(), "unreachable")
	case <-time.After(20 * time.Second):
		t.Fatal("the call did not stop")
	}
}

// hostCallModule imports env.other and env.host (functions 0 and 1) and
// exports "run", which calls "middle", which calls env.host and adds 1 to
// its result.
func hostCallModule() []byte {
	typeToI32 := []byte{0x60, 0x00, 0x01, 0x7F}
	return module(
		sec(secType, vec(typeNil, typeToI32)),
		sec(secImport, vec(
			cat(str("env"), str("other"), []byte{0x00, 0x00}),
			cat(str("env"), str("host"), []byte{0x00, 0x01}),
		)),
		sec(secFunction, vec([]byte{1}, []byte{1})),
		sec(secExport, vec(cat(str("run"), []byte{0, 2}))),
		sec(secCode, vec(
			body(noLocals, 0x10, 0x03, 0x0B),                   // run: call $middle
			body(noLocals, 0x10, 0x01, 0x41, 0x01, 0x6A, 0x0B), // middle: call $host  i32.const 1  i32.add
		)),
		names("other", "host", "run", "middle"),
	)
}

// TestSampleAfterImportCall: a host function sets $sample during its call;
// right after it returns, the guest calls $sampled with the import's index,
// and the listener sees the calling function's stack.
func TestSampleAfterImportCall(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			ctx, r := newRuntime(t, e.cfg())
			ask := false
			_, err := r.NewHostModuleBuilder("env").
				NewFunctionBuilder().WithFunc(func(context.Context) {}).Export("other").
				NewFunctionBuilder().WithFunc(func(_ context.Context, m api.Module) uint32 {
				if ask {
					m.ExportedGlobal(SampleExport).(api.MutableGlobal).Set(1)
				}
				return 41
			}).Export("host").
				Instantiate(ctx)
			require.NoError(t, err)
			s := newSampler()
			mod := compileSampled(t, ctx, r, hostCallModule(), s)
			run := mod.ExportedFunction("run")

			res, err := run.Call(ctx)
			require.NoError(t, err)
			assert.Equal(t, []uint64{42}, res)
			require.Empty(t, s.c, "a sample nobody asked for")

			ask = true
			res, err = run.Call(ctx)
			require.NoError(t, err)
			assert.Equal(t, []uint64{42}, res, "the host function's result is kept")
			require.Len(t, s.c, 1, "one sample")
			got := <-s.c
			assert.Equal(t, sample{param: 1, stack: []string{"middle", "run"}}, got)
			assert.Equal(t, uint64(0), mod.ExportedGlobal(SampleExport).Get(), "the request is cleared")

			ask = false
			_, err = run.Call(ctx)
			require.NoError(t, err)
			assert.Empty(t, s.c, "one sample per request")
		})
	}
}

// allElementForms is a module with an element segment of every form (flags
// 0 to 7) and a global initialized with ref.func: Instrument accepts it.
func allElementForms() []byte {
	return module(
		sec(secType, vec(typeNil)),
		sec(secFunction, vec([]byte{0})),
		sec(secTable, vec([]byte{0x70, 0x00, 0x0A})),
		sec(secGlobal, vec([]byte{0x70, 0x00, 0xD2, 0x00, 0x0B})),
		sec(secElement, vec(
			[]byte{0x00, 0x41, 0x00, 0x0B, 0x01, 0x00},
			[]byte{0x01, 0x00, 0x01, 0x00},
			[]byte{0x02, 0x00, 0x41, 0x01, 0x0B, 0x00, 0x01, 0x00},
			[]byte{0x03, 0x00, 0x01, 0x00},
			[]byte{0x04, 0x41, 0x02, 0x0B, 0x01, 0xD2, 0x00, 0x0B},
			[]byte{0x05, 0x70, 0x02, 0xD0, 0x70, 0x0B, 0xD2, 0x00, 0x0B},
			[]byte{0x06, 0x00, 0x41, 0x03, 0x0B, 0x70, 0x01, 0xD2, 0x00, 0x0B},
			[]byte{0x07, 0x70, 0x01, 0xD2, 0x00, 0x0B},
		)),
		sec(secCode, vec(body(noLocals, 0x0B))),
	)
}

func TestElementsAndGlobalsAccepted(t *testing.T) {
	in := allElementForms()
	require.NoError(t, compiles(in))
	out, err := Instrument(in)
	require.NoError(t, err)
	require.NoError(t, compiles(out))
}

// Code, segments and exports that refer to the added function or globals
// (invalid in the original module) are rejected, and so are modules that
// already export one of the added names.
func TestSampleRejections(t *testing.T) {
	oneFunc := func(code ...byte) []byte {
		return module(
			sec(secType, vec(typeNil)),
			sec(secFunction, vec([]byte{0})),
			sec(secCode, vec(body(noLocals, code...))),
		)
	}
	withElem := func(seg []byte) []byte {
		return module(
			sec(secType, vec(typeNil)),
			sec(secFunction, vec([]byte{0})),
			sec(secTable, vec([]byte{0x70, 0x00, 0x01})),
			sec(secElement, vec(seg)),
			sec(secCode, vec(body(noLocals, 0x0B))),
		)
	}
	withGlobal := func(g []byte) []byte {
		return module(
			sec(secType, vec(typeNil)),
			sec(secFunction, vec([]byte{0})),
			sec(secGlobal, vec(g)),
			sec(secCode, vec(body(noLocals, 0x0B))),
		)
	}
	export := func(name string, kind, idx byte) []byte {
		return module(
			sec(secType, vec(typeNil)),
			sec(secFunction, vec([]byte{0})),
			sec(secExport, vec(cat(str(name), []byte{kind, idx}))),
			sec(secCode, vec(body(noLocals, 0x0B))),
		)
	}
	for _, c := range []struct {
		name string
		wasm []byte
		want string // the whole error, or a part of it after "..."
	}{
		{"call $sampled", oneFunc(0x41, 0x00, 0x10, 0x01, 0x0B), "section 10 at offset 18: function 0 at offset 21: instruction at offset 25 uses function 1, which does not exist (module has 1)"},
		{"return_call $sampled", oneFunc(0x41, 0x00, 0x12, 0x01, 0x0B), "...instruction at offset 25 uses function 1, which does not exist (module has 1)"},
		{"ref.func $sampled", oneFunc(0xD2, 0x01, 0x1A, 0x0B), "...instruction at offset 23 uses function 1, which does not exist (module has 1)"},
		{"call past $sampled", oneFunc(0x10, 0x80, 0x01, 0x0B), "...instruction at offset 23 uses function 128, which does not exist (module has 1)"},
		{"global.get $sample", oneFunc(0x23, 0x02, 0x1A, 0x0B), "...instruction at offset 23 uses global 2, which does not exist (module has 0)"},
		{"global.set $sample", oneFunc(0x41, 0x01, 0x24, 0x02, 0x0B), "...instruction at offset 25 uses global 2, which does not exist (module has 0)"},
		{"global.set $tick", oneFunc(0x41, 0x01, 0x24, 0x01, 0x0B), "...instruction at offset 25 uses global 1, which does not exist (module has 0)"},
		{"element index", withElem([]byte{0x00, 0x41, 0x00, 0x0B, 0x01, 0x01}),
			"section 9 at offset 24: segment 0 at offset 27: item at offset 32: function 1 does not exist (module has 1)"},
		{"declared element", withElem([]byte{0x03, 0x00, 0x01, 0x01}), "...segment 0 at offset 27: item at offset 30: function 1 does not exist (module has 1)"},
		{"element ref.func", withElem([]byte{0x04, 0x41, 0x00, 0x0B, 0x01, 0xD2, 0x01, 0x0B}),
			"...segment 0 at offset 27: ref.func at offset 32 uses function 1, which does not exist (module has 1)"},
		{"element offset global", withElem([]byte{0x00, 0x23, 0x02, 0x0B, 0x00}),
			"...segment 0 at offset 27: global.get at offset 28 uses global 2, which does not exist (module has 0)"},
		{"global ref.func", withGlobal([]byte{0x70, 0x00, 0xD2, 0x01, 0x0B}),
			"section 6 at offset 18: global 0 at offset 21: ref.func at offset 23 uses function 1, which does not exist (module has 1)"},
		{"global global.get", withGlobal([]byte{0x7F, 0x00, 0x23, 0x01, 0x0B}),
			"...global 0 at offset 21: global.get at offset 23 uses global 1, which does not exist (module has 1)"},
		{"exported $sampled", export("f", 0x00, 0x01), `section 7 at offset 18: export "f" at offset 21: function 1 does not exist (module has 1)`},
		{"exported $sample", export("g", 0x03, 0x02), `section 7 at offset 18: export "g" at offset 21: global 2 does not exist (module has 0)`},
		{"already exports flowlab_sampled", export(SampledExport, 0x00, 0x00), `module already exports "flowlab_sampled" (export 0 at offset 21)`},
		{"already exports flowlab_sample", export(SampleExport, 0x00, 0x00), `module already exports "flowlab_sample" (export 0 at offset 21)`},
		{"already exports flowlab_tick", export(TickExport, 0x00, 0x00), `module already exports "flowlab_tick" (export 0 at offset 21)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := Instrument(c.wasm)
			require.Error(t, err)
			assert.Nil(t, out)
			if rest, ok := strings.CutPrefix(c.want, "..."); ok {
				assert.Contains(t, err.Error(), rest)
			} else {
				assert.EqualError(t, err, c.want)
			}
			// wazero rejects them too, but for the names.
			if !strings.HasPrefix(c.name, "already exports") {
				assert.Error(t, compiles(c.wasm), "wazero accepts it")
			}
		})
	}
}
