package host_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime"
	"flowlab/runtime/spec"
	"flowlab/wasmops"
)

// The bundled count operator's keyed state, held by the host, is
// exactly-once across a restart and a rescale when the job checkpoints:
// every count ends equal to the records of its key, compared with a run
// that nothing interrupted.
func TestCheckpoint_WasmCountExactlyOnce(t *testing.T) {
	h := newHost(t)
	resolve := h.Resolver(context.Background(), wasmops.FS, "testdata")
	job := func(mode string) string {
		return fmt.Sprintf(`
checkpoint: {interval: 100ms, mode: %s}
network: {buffer-size: 1024}
tasks:
  - {name: src, operator: generator, parallelism: 2, config: {rate: 4000, count: 8000, keys: 50, skew: 1.2}}
  - {name: count, operator: "wasm:count", parallelism: 3}
  - {name: sink, operator: discard, cost: 200us}
edges:
  - {from: src, to: count, partitioning: hash}
  - {from: count, to: sink, partitioning: rebalance}
`, mode)
	}
	counts := func(j *runtime.Job) map[string]int64 {
		sts, err := j.State("count", 1000)
		require.NoError(t, err)
		out := map[string]int64{}
		for _, st := range sts {
			for _, e := range st.Entries {
				n, err := strconv.ParseInt(string(e.Value), 10, 64)
				require.NoError(t, err, "count of %s", e.Key)
				out[string(e.Key)] += n
			}
		}
		return out
	}
	runJob := func(mode string, change func(*runtime.Job)) (map[string]int64, *runtime.Job) {
		s, err := spec.Parse([]byte(job(mode)))
		require.NoError(t, err)
		j, err := runtime.Start(context.Background(), s, resolve)
		require.NoError(t, err)
		t.Cleanup(func() { j.Cancel(); <-j.Done() })
		if change != nil {
			time.Sleep(time.Second)
			change(j)
		}
		select {
		case <-j.Done():
		case <-time.After(time.Minute):
			t.Fatal("the job did not end")
		}
		require.NoError(t, j.Err())
		return counts(j), j
	}
	want, _ := runJob(spec.Aligned, nil)
	var total int64
	for k, n := range want {
		assert.True(t, strings.HasSuffix(k, "/count"), k)
		total += n
	}
	require.Equal(t, int64(16000), total)
	for _, mode := range []string{spec.Aligned, spec.Unaligned} {
		for name, change := range map[string]func(*runtime.Job){
			"restart": func(j *runtime.Job) { j.Restart() },
			"rescale": func(j *runtime.Job) { require.NoError(t, j.SetParallelism("count", 2)) },
		} {
			t.Run(mode+"/"+name, func(t *testing.T) {
				got, j := runJob(mode, change)
				assert.Equal(t, want, got)
				cps := j.Checkpoints()
				assert.Equal(t, 1, cps.Restored)
				assert.Positive(t, cps.Completed)
			})
		}
	}
}
