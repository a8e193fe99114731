package abitest_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/wasmops/internal/abitest"
)

// The hostile modules of wasmops/hostile do what wasmops/hostile/README.md
// says they do; these tests check that against the harness, so that a host
// test that uses them tests what it means to.

func hostile(t *testing.T, name string, cfg abitest.Config) *abitest.Operator {
	t.Helper()
	return abitest.LoadFile(t, "../../hostile/"+name+".wasm", cfg)
}

func TestHostile_Runaway(t *testing.T) {
	t.Parallel()
	cfg := abitest.NewConfig().WithTimeout(200 * time.Millisecond).WithMemoryLimit(4 << 20).WithOutputQuota(10)
	tests := []struct {
		name  string
		check func(t *testing.T, o *abitest.Operator, res abitest.Result)
	}{
		{"loop", nil},
		{"memory-bomb", func(t *testing.T, o *abitest.Operator, _ abitest.Result) {
			assert.LessOrEqual(t, o.MemorySize(), uint32(4<<20), "grew, up to the limit")
			assert.Greater(t, o.MemorySize(), uint32(64<<10), "grew, up to the limit")
		}},
		{"flood", func(t *testing.T, _ *abitest.Operator, res abitest.Result) {
			assert.True(t, res.QuotaHit)
			assert.Len(t, res.Out, 10)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := hostile(t, tt.name, cfg)
			res, err := o.Process(abitest.KV("k", "v"))
			require.ErrorContains(t, err, "stopped after the deadline of 200ms")
			if tt.check != nil {
				tt.check(t, o, res)
			}
		})
	}
}

func TestHostile_Errors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, want string }{
		{"trap", "unreachable"},
		{"stack-overflow", "stack overflow"},
		{"emit-oob", "emit: key pointer 268435456 with length 4 is outside guest memory of 65536 bytes"},
		{"emit-wrap", "emit: value pointer 4294967288 with length 16 is outside guest memory of 65536 bytes"},
		{"log-huge", "log: message pointer 0 with length 4294967295 is outside guest memory of 65536 bytes"},
		{"input-oob", "flowlab_input(18) returned address 65528, but 18 bytes from there are outside guest memory of 65536 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := hostile(t, tt.name, abitest.NewConfig())
			_, err := o.Process(abitest.KV("k", "v"))
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestHostile_Load_Errors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, want string }{
		{"forbidden-import", "import env.system is not allowed: only flowlab and wasi_snapshot_preview1"},
		{"command", "a command module (exports _start, not flowlab_process): build it as a reactor\nmissing export flowlab_input (i32) -> (i32)\nmissing export flowlab_process (i32) -> (i32)"},
		{"wrong-signature", "import flowlab.emit has signature (i32, i32) -> (i32), want (i32, i32, i32, i32) -> (i32)"},
		{"random", "compile: invalid magic number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wasm, err := os.ReadFile("../../hostile/" + tt.name + ".wasm")
			require.NoError(t, err)
			_, err = abitest.Load(context.Background(), wasm, abitest.NewConfig())
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
		})
	}
}

// fib computes fib(45) without a loop: it runs for many seconds and a
// context deadline does not stop it, so only its shape is checked here.
func TestHostile_Fib(t *testing.T) {
	t.Parallel()
	o := hostile(t, "fib", abitest.NewConfig())
	assert.True(t, o.Exports("flowlab_process"))
}

func TestHostile_GoAlloc(t *testing.T) {
	t.Parallel()
	o := hostile(t, "alloc", abitest.NewConfig().WithMemoryLimit(32<<20))
	_, err := o.Process(abitest.KV("k", "v"))
	require.ErrorContains(t, err, "unreachable", "the Go runtime aborts")
	assert.Contains(t, o.Stderr.String(), "out of memory")
}
