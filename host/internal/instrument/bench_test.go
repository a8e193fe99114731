package instrument

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"
)

// BenchmarkInstrument instruments the 1.9 MB Go wasip1 module.
func BenchmarkInstrument(b *testing.B) {
	in := readInput(b, "goguest")
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Instrument(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGuestLoop measures what the checks cost at run time on a tight
// loop (sum of 1..1e6) and on a call-heavy recursion (fib 25), against the
// original module and against wazero's WithCloseOnContextDone.
func BenchmarkGuestLoop(b *testing.B) {
	ctx := context.Background()
	in := readInput(b, "semantics")
	out, err := Instrument(in)
	if err != nil {
		b.Fatal(err)
	}
	for _, v := range []struct {
		name      string
		wasm      []byte
		closeDone bool
	}{
		{"original", in, false},
		{"instrumented", out, false},
		{"closeOnContextDone", in, true},
	} {
		for _, fn := range []struct {
			name string
			arg  uint64
		}{{"sum", 1_000_000}, {"fib", 25}} {
			b.Run(fn.name+"/"+v.name, func(b *testing.B) {
				r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(v.closeDone))
				defer r.Close(ctx)
				mod, err := r.InstantiateWithConfig(ctx, v.wasm, wazero.NewModuleConfig())
				if err != nil {
					b.Fatal(err)
				}
				f := mod.ExportedFunction(fn.name)
				for b.Loop() {
					if _, err := f.Call(ctx, fn.arg); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// importLoopModule imports env.nop, () -> (), and exports "calls", which
// calls it n times in a loop: the cost of the sample point after every call
// of an import.
func importLoopModule() []byte {
	return module(
		sec(secType, vec(typeNil, typeI32toNil)),
		sec(secImport, vec(cat(str("env"), str("nop"), []byte{0x00, 0x00}))),
		sec(secFunction, vec([]byte{1})),
		sec(secExport, vec(cat(str("calls"), []byte{0, 1}))),
		sec(secCode, vec(body(noLocals, 0x03, 0x40, // loop
			0x10, 0x00, // call $nop
			0x20, 0x00, 0x41, 0x01, 0x6B, 0x22, 0x00, // local.get 0  i32.const 1  i32.sub  local.tee 0
			0x0D, 0x00, 0x0B, 0x0B))), // br_if 0  end
	)
}

// BenchmarkGuestImportCall measures a guest calling a host function that
// does nothing, 1000 times in a loop, original and instrumented.
func BenchmarkGuestImportCall(b *testing.B) {
	ctx := context.Background()
	in := importLoopModule()
	out, err := Instrument(in)
	if err != nil {
		b.Fatal(err)
	}
	for _, v := range []struct {
		name string
		wasm []byte
	}{{"original", in}, {"instrumented", out}} {
		b.Run(v.name, func(b *testing.B) {
			r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
			defer r.Close(ctx)
			_, err := r.NewHostModuleBuilder("env").NewFunctionBuilder().WithFunc(func(context.Context) {}).Export("nop").Instantiate(ctx)
			if err != nil {
				b.Fatal(err)
			}
			mod, err := r.InstantiateWithConfig(ctx, v.wasm, wazero.NewModuleConfig())
			if err != nil {
				b.Fatal(err)
			}
			f := mod.ExportedFunction("calls")
			for b.Loop() {
				if _, err := f.Call(ctx, 1000); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
