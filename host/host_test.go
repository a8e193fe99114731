package host

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime"
	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
)

func newHost(t testing.TB, cfg Config) *Host {
	t.Helper()
	h, err := New(context.Background(), cfg.WithCacheDir(t.TempDir()))
	require.NoError(t, err)
	t.Cleanup(func() { h.Close(context.Background()) })
	return h
}

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return b
}

func TestHost_Compile_Errors(t *testing.T) {
	h := newHost(t, NewConfig().WithMaxModuleSize(1000))
	tests := []struct {
		name string
		wasm []byte
		want string
	}{
		{"garbage", []byte("#!/bin/sh\nrm -rf /"), `operator "garbage": not a WebAssembly module (a .wasm file starts with \0asm; this one starts with "#!/bin/s")`},
		{"empty", nil, `operator "empty": not a WebAssembly module (a .wasm file starts with \0asm; this one starts with "")`},
		{"big", make([]byte, 1001), `operator "big": module is 1001 bytes, larger than the limit of 1000 bytes`},
		{"command", testdata(t, "command.wasm"), `operator "command": this is a command module (it exports _start but not flowlab_process): build it as a reactor, e.g. Go with -buildmode=c-shared and //go:wasmexport, C with -mexec-model=reactor or -Wl,--no-entry`},
		{"forbidden", testdata(t, "forbidden.wasm"), `operator "forbidden": import env.system is not allowed: operators may import only from "flowlab" and "wasi_snapshot_preview1"
import flowlab.emit has signature (i32, i32) -> (i32), want (i32, i32, i32, i32) -> (i32)
export flowlab_process has signature (i64) -> (i32), want (i32) -> (i32)`},
		{"truncated", testdata(t, "echo.wasm")[:100], `operator "truncated": invalid module: `},
	}
	for _, tt := range tests {
		_, err := h.Compile(context.Background(), tt.name, tt.wasm)
		require.Error(t, err, tt.name)
		if tt.name == "truncated" {
			assert.ErrorContains(t, err, tt.want)
			continue
		}
		assert.EqualError(t, err, tt.want, tt.name)
	}
}

// runJob runs a spec with the host's resolver (testdata as bundled operators) until it ends.
func runJob(t *testing.T, h *Host, yaml string) *runtime.Job {
	t.Helper()
	s, err := spec.Parse([]byte(yaml))
	require.NoError(t, err)
	j, err := runtime.Start(context.Background(), s, h.Resolver(context.Background(), nil, "testdata"))
	require.NoError(t, err)
	t.Cleanup(func() { j.Cancel(); <-j.Done() })
	return j
}

func TestOperator_EndToEnd(t *testing.T) {
	h := newHost(t, NewConfig())
	j := runJob(t, h, `
name: echo
tasks:
  - {name: source, operator: generator, parallelism: 2, config: {count: 5000, rate: 10000}}
  - {name: echo, operator: echo.wasm, parallelism: 2}
  - {name: sink, operator: discard}
`)
	<-j.Done()
	require.NoError(t, j.Err())
	snap := j.Snapshot()
	assert.Equal(t, metrics.StateFinished, snap.State)
	echo := snap.Vertices[1].Metrics
	assert.Equal(t, int64(10000), echo.NumRecordsIn)
	assert.Greater(t, echo.NumRecordsOut, int64(10000), "records plus timer records")
	assert.Equal(t, echo.NumRecordsOut, snap.Vertices[2].Metrics.NumRecordsIn)
}

func TestOperator_ConfigRejectedAtItsLine(t *testing.T) {
	h := newHost(t, NewConfig())
	s, err := spec.Parse([]byte(`
tasks:
  - {name: source, operator: generator}
  - name: echo
    operator: echo.wasm
    config: {mode: loud}
`))
	require.NoError(t, err)
	j, err := runtime.Start(context.Background(), s, h.Resolver(context.Background(), nil, "testdata"))
	require.NoError(t, err, "the job starts without waiting for the guest")
	<-j.Done()
	assert.EqualError(t, j.Err(), `task "echo" subtask 1/1: line 6: tasks[1].config: operator "echo.wasm": flowlab_init returned -1: config is not {}`)
	assert.Equal(t, metrics.StateFailed, j.Snapshot().State)
	assert.Zero(t, j.Snapshot().Restarts, "a rejected config is not retried")
}

func TestNew_Errors(t *testing.T) {
	for cfg, want := range map[*Config]string{
		ptr(NewConfig().WithCallTimeout(0)):   "host: call timeout must be positive, got 0s",
		ptr(NewConfig().WithOutputQuota(0)):   "host: output quota must be at least 1 record per call, got 0",
		ptr(NewConfig().WithStateLimit(-1)):   "host: log and state limits must not be negative, got 65536 and -1",
		ptr(NewConfig().WithMaxModuleSize(4)): "host: module size limit must be at least 8 bytes, got 4",
	} {
		_, err := New(context.Background(), *cfg)
		assert.EqualError(t, err, want)
	}
}

func ptr[T any](v T) *T { return &v }
