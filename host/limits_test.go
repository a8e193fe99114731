package host

import (
	"context"
	"encoding/binary"
	"io/fs"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime"
	"flowlab/runtime/metrics"
)

// A guest that sets a million timers fails its call at the runtime's cap,
// naming it, in a job.
func TestOperator_Timers_Capped(t *testing.T) {
	h := cachedHost(t, sandbox())
	j := startJob(t, h, hostileSpec("timer-flood"))
	snap := wait(t, j)
	assert.Equal(t, metrics.StateFailed, snap.State)
	assert.Contains(t, j.Err().Error(), `operator "timer-flood.wasm": flowlab_process: timer: more than the limit of 10000 timers pending`)
}

// Keyed state counts what the host spends, not only key and value bytes: a
// guest storing 4-byte keys until state_put refuses holds no more heap than
// the limit (it held about 60 times the limit when only bytes counted).
// The deadline is raised as in TestOperator_State_EntriesCapped: the call
// ran past 200 ms under go test -race ./... (it is not what this tests).
func TestOperator_State_Accounting(t *testing.T) {
	const limit = 4 << 20
	h := cachedHost(t, sandbox().WithStateLimit(limit).WithCallTimeout(10*time.Second))
	m := compileHostile(t, h, "state-flood")
	op := newTestOperator(t, m, "{}") // the instance and its memory
	var before, after goruntime.MemStats
	goruntime.GC()
	goruntime.ReadMemStats(&before)
	require.NoError(t, op.Process(batch("k=v"), &recorder{}))
	goruntime.GC()
	goruntime.ReadMemStats(&after)
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d entries, %d bytes counted, %d bytes of heap", len(op.state), op.stateBytes, held)
	assert.LessOrEqual(t, op.stateBytes, limit)
	assert.Greater(t, len(op.state), limit/200, "the limit is reached, not an error")
	assert.Less(t, held, int64(limit)*5/4, "the heap the state holds is within its limit")
	goruntime.KeepAlive(op)
}

// The number of entries is capped whatever their size. The call that puts
// 100000 entries may take longer than the sandbox's 200 ms under -race on a
// loaded machine: the deadline is not what this tests.
func TestOperator_State_EntriesCapped(t *testing.T) {
	h := cachedHost(t, sandbox().WithStateLimit(1<<30).WithCallTimeout(10*time.Second))
	op := newTestOperator(t, compileHostile(t, h, "state-flood"), "{}")
	require.NoError(t, op.Process(batch("k=v"), &recorder{}))
	assert.Equal(t, maxStateEntries, len(op.state))
	_, ok := op.state[string(binary.LittleEndian.AppendUint32(nil, maxStateEntries-1))]
	assert.True(t, ok)
}

// Canceling a job stops a guest that runs far inside its deadline at once:
// the job ends CANCELED, though the loop would run for an hour.
func TestOperator_Cancel_StopsGuest(t *testing.T) {
	for _, name := range []string{"loop", "fib"} {
		t.Run(name, func(t *testing.T) {
			h := cachedHost(t, sandbox().WithCallTimeout(time.Hour))
			j := startJob(t, h, hostileSpec(name))
			waitBusy(t, j, 1)
			j.Cancel()
			assert.Equal(t, metrics.StateCanceled, wait(t, j).State)
		})
	}
}

// A restart stops the running guest too, and the job goes on.
func TestOperator_Restart_StopsGuest(t *testing.T) {
	h := cachedHost(t, sandbox().WithCallTimeout(time.Hour))
	j := startJob(t, h, hostileSpec("loop"))
	waitBusy(t, j, 1)
	since := j.Snapshot().Since
	j.Restart()
	for j.Snapshot().Since == since {
		select {
		case <-j.Updated():
		case <-time.After(30 * time.Second):
			t.Fatal("the job did not restart")
		}
	}
	assert.Equal(t, metrics.StateRunning, j.Snapshot().State)
	assert.Empty(t, j.Failures(), "a restart is not a failure")
}

// A guest blocked in emit far longer than its call's limit, by a slow sink,
// is not stopped: blocked is not running. Its deadline asks it to check in
// while it is blocked; it does when emit returns, and counts from there.
// fanout emits 200 records for its one input record, about 70 buffers of
// 256 bytes: the call waits about 200 ms for the sink, four times its limit.
func TestOperator_BlockedInEmit_NotStopped(t *testing.T) {
	h := cachedHost(t, sandbox().WithCallTimeout(50*time.Millisecond))
	j := runJob(t, h, `
name: blocked
restart: {strategy: none}
network: {buffer-size: 256b}
tasks:
  - {name: source, operator: generator, config: {count: 1}}
  - {name: fanout, operator: fanout.wasm}
  - {name: sink, operator: discard, cost: 1ms}
`)
	snap := wait(t, j)
	assert.Equal(t, metrics.StateFinished, snap.State, "%v", j.Err())
	assert.Equal(t, int64(200), snap.Vertices[2].Metrics.NumRecordsIn)
}

// waitBusy waits until the job's vertex shows its guest running.
func waitBusy(t *testing.T, j *runtime.Job, vertex int) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		if v := j.Snapshot().Vertices; len(v) > vertex && v[vertex].Metrics.NumRecordsIn > 0 {
			return
		}
		select {
		case <-j.Updated():
		case <-deadline:
			t.Fatal("the guest did not start")
		}
	}
}

// The deadline counts the guest's own running time: a thread's CPU clock
// does not advance while it sleeps, and does while it works.
func TestThreadCPUTime(t *testing.T) {
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	_, t0, ok := threadCPUTime()
	if !ok {
		t.Skip("no thread CPU clock here: deadlines count wall time")
	}
	time.Sleep(200 * time.Millisecond)
	_, t1, _ := threadCPUTime()
	assert.Less(t, t1-t0, 100*time.Millisecond, "sleeping is not running")
	for t2 := t1; t2-t1 < 50*time.Millisecond; _, t2, _ = threadCPUTime() {
	}
}

// withCustomSection returns wasm with a custom section appended: the same
// module to run, other bytes to cache.
func withCustomSection(wasm []byte, content string) []byte {
	b := append([]byte{}, wasm...)
	b = append(b, 0)
	b = binary.AppendUvarint(b, uint64(2+len(content))) // LEB128, as Wasm's
	b = append(b, 1, 'x')
	return append(b, content...)
}

// cachedModules is how many compiled modules the host holds.
func cachedModules(h *Host) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.compiled)
}

// waitCollected runs the garbage collector until the host holds want
// compiled modules.
func waitCollected(t *testing.T, h *Host, want int) {
	t.Helper()
	for range 100 {
		goruntime.GC()
		if cachedModules(h) == want {
			return
		}
		time.Sleep(10 * time.Millisecond) // cleanups run on a goroutine of their own
	}
	t.Fatalf("the host holds %d compiled modules, want %d", cachedModules(h), want)
}

// Modules nobody uses any more are closed and forgotten: forty uploads of
// different bytes leave nothing behind once they are dropped, while a
// module in use stays.
func TestHost_Compile_ClosesUnused(t *testing.T) {
	h := newHost(t, sandbox().WithCacheDir(""))
	echo := testdata(t, "echo.wasm")
	kept, err := h.Compile(context.Background(), "kept", echo)
	require.NoError(t, err)
	op := newTestOperator(t, kept, "{}")
	kept = nil
	for i := range 40 {
		_, err := h.Compile(context.Background(), "upload", withCustomSection(echo, string(rune('a'+i%26))+string(rune('a'+i/26))))
		require.NoError(t, err)
	}
	waitCollected(t, h, 1)
	require.NoError(t, op.Process(batch("k=v"), &recorder{}), "the module in use still runs")
	goruntime.KeepAlive(op)
}

// The compilation cache directory is trimmed to its limit, oldest files
// first, and instrumented modules of other instrumenter versions go.
func TestHost_CacheTrimmed(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, instrumentDirPrefix+"0000000000000000")
	require.NoError(t, os.MkdirAll(old, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(old, "x.wasm"), []byte("old"), 0o644))
	h := cachedHost(t, sandbox().WithCacheDir(dir).WithCacheLimit(1<<20))
	assert.NoDirExists(t, old)
	echo := testdata(t, "echo.wasm")
	for i := range 30 {
		_, err := h.Compile(context.Background(), "upload", withCustomSection(echo, strings.Repeat("x", 60<<10)+string(rune('a'+i))))
		require.NoError(t, err)
	}
	assert.LessOrEqual(t, dirSize(t, dir), int64(1<<20))
	_, err := h.Compile(context.Background(), "echo", echo) // still works from a trimmed cache
	require.NoError(t, err)
}

func dirSize(t *testing.T, dir string) int64 {
	var n int64
	require.NoError(t, filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			info, _ := d.Info()
			n += info.Size()
		}
		return err
	}))
	return n
}
