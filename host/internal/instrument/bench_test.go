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
