package doctor_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"flowlab/examples"
	"flowlab/host"
	"flowlab/runtime"
	"flowlab/runtime/doctor"
	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
	"flowlab/wasmops"
)

// resolver resolves the operators of s before a bubble starts: Wasm
// modules compile outside it (with the host's compilation cache on disk)
// and only run inside.
func resolver(t *testing.T, s *spec.Job) runtime.Resolver {
	t.Helper()
	types := map[string]runtime.OperatorType{}
	var bundled runtime.Resolver
	for _, task := range s.Tasks {
		if typ, err := runtime.Builtins(task.Operator); err == nil {
			types[task.Operator] = typ
			continue
		}
		if bundled == nil {
			h, err := host.New(context.Background(), host.NewConfig())
			require.NoError(t, err)
			t.Cleanup(func() { h.Close(context.Background()) })
			bundled = h.Resolver(context.Background(), wasmops.FS, "")
		}
		typ, err := bundled(task.Operator)
		require.NoError(t, err)
		types[task.Operator] = typ
	}
	return func(name string) (runtime.OperatorType, error) { return types[name], nil }
}

// runExample runs an example job for d of fake time, feeding a Doctor every snapshot.
func runExample(t *testing.T, name string, d time.Duration) (*doctor.Doctor, []*metrics.Job) {
	t.Helper()
	ex, ok := examples.Get(name)
	require.True(t, ok, name)
	s, err := spec.Parse([]byte(ex.YAML))
	require.NoError(t, err)
	resolve := resolver(t, s)
	doc := doctor.New()
	var history []*metrics.Job
	synctest.Test(t, func(t *testing.T) {
		j, err := runtime.Start(context.Background(), s, resolve)
		require.NoError(t, err)
		defer func() { j.Cancel(); <-j.Done() }()
		end := time.Now().Add(d)
		for time.Now().Before(end) {
			select {
			case <-j.Updated():
			case <-j.Done():
			}
			snap := j.Snapshot()
			doc.Observe(snap)
			history = append(history, snap)
			if snap.State != metrics.StateRunning && snap.State != metrics.StateCreated && snap.State != metrics.StateRestarting {
				break
			}
		}
	})
	return doc, history
}

func TestExplore(t *testing.T) {
	for _, name := range []string{"slow-sink", "hot-key", "legacy-source", "diamond", "bounded", "network", "wasm-pipeline", "varying-load"} {
		t.Run(name, func(t *testing.T) {
			d := 15 * time.Second
			if name == "varying-load" {
				d = 45 * time.Second
			}
			doc, hist := runExample(t, name, d)
			last := hist[len(hist)-1]
			for _, v := range last.Vertices {
				for _, s := range v.Subtasks {
					t.Logf("%s[%d] busy %v bp %v idle %v in %.0f inPool %.2f outPool %.2f", v.Name, s.Subtask, s.BusyTimeMsPerSecond, s.BackPressuredTimeMsPerSecond, s.IdleTimeMsPerSecond, s.NumRecordsInPerSecond, s.InPoolUsage, s.OutPoolUsage)
				}
			}
			for _, f := range doc.Findings() {
				t.Logf("%s: %s %v %v period %d", f.Kind, f.Title, f.Tasks, f.Subtasks, f.PeriodMs)
				for _, e := range f.Evidence {
					t.Logf("   %s", e.Text)
				}
				t.Logf("   advice: %s", f.Advice)
			}
		})
	}
}
