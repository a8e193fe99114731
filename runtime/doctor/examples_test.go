package doctor_test

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
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
// modules compile outside it, at once (a Go module takes about 10 s under
// -race the first time, a tenth of a second from the host's compilation
// cache on disk), and only run inside.
func resolver(t *testing.T, s *spec.Job) runtime.Resolver {
	t.Helper()
	types := map[string]runtime.OperatorType{}
	var wasm []string
	for _, task := range s.Tasks {
		if typ, err := runtime.Builtins(task.Operator); err == nil {
			types[task.Operator] = typ
		} else {
			wasm = append(wasm, task.Operator)
		}
	}
	if len(wasm) > 0 {
		h, err := host.New(context.Background(), host.NewConfig())
		require.NoError(t, err)
		t.Cleanup(func() { h.Close(context.Background()) })
		bundled := h.Resolver(context.Background(), wasmops.FS, "")
		compiled := make([]runtime.OperatorType, len(wasm))
		errs := make([]error, len(wasm))
		var wg sync.WaitGroup
		for i, name := range wasm {
			wg.Go(func() { compiled[i], errs[i] = bundled(name) })
		}
		wg.Wait()
		for i, name := range wasm {
			require.NoError(t, errs[i])
			types[name] = compiled[i]
		}
	}
	return func(name string) (runtime.OperatorType, error) { return types[name], nil }
}

// example parses an example job, changed by change if not nil.
func example(t *testing.T, name string, change func(*spec.Job)) *spec.Job {
	t.Helper()
	ex, ok := examples.Get(name)
	require.True(t, ok, name)
	s, err := spec.Parse([]byte(ex.YAML))
	require.NoError(t, err)
	if change != nil {
		change(s)
	}
	return s
}

// run runs a job for d of fake time (or until it ends), feeding a Doctor
// every snapshot; it returns the Doctor and every snapshot it was fed.
func run(t *testing.T, s *spec.Job, d time.Duration) (*doctor.Doctor, []*metrics.Job) {
	t.Helper()

	resolve := resolver(t, s)
	doc := doctor.New()
	var history []*metrics.Job
	synctest.Test(t, func(t *testing.T) {
		j, err := runtime.Start(context.Background(), s, resolve)
		require.NoError(t, err)
		defer func() { j.Cancel(); <-j.Done() }()
		for end := time.Now().Add(d); time.Now().Before(end); {
			select {
			case <-j.Updated():
			case <-j.Done():
			}
			snap := j.Snapshot()
			doc.Observe(snap)
			history = append(history, snap)

			if snap.State != metrics.StateRunning {
				break
			}
		}
	})
	return doc, history
}

// Every finding on a Flowlab example job, as a Flink expert reads it.
func TestDoctor_Examples(t *testing.T) {
	for _, test := range []struct {
		name   string
		change func(*spec.Job)
		d      time.Duration
		check  func(t *testing.T, fs []doctor.Finding, last *metrics.Job)
	}{
		{name: "slow-sink", check: func(t *testing.T, fs []doctor.Finding, _ *metrics.Job) {
			require.Equal(t, []doctor.Kind{doctor.Bottleneck}, kinds(fs))
			assert.Equal(t, []string{"sink", "parse", "source"}, fs[0].Tasks)
			assert.Equal(t, []doctor.Subtask{{"sink", 0}}, fs[0].Subtasks)
		}},
		{name: "hot-key", check: func(t *testing.T, fs []doctor.Finding, last *metrics.Job) {
			require.Equal(t, []doctor.Kind{doctor.Bottleneck, doctor.Skew}, kinds(fs))
			hot := hottest(last, "count")
			assert.Equal(t, []string{"count", "source"}, fs[0].Tasks)
			assert.Equal(t, []doctor.Subtask{{"count", hot}}, fs[0].Subtasks)
			assert.Equal(t, []string{"count"}, fs[1].Tasks)
			assert.Equal(t, []doctor.Subtask{{"count", hot}}, fs[1].Subtasks)
			assert.Contains(t, fs[1].Advice, "More parallelism will not help")
		}},
		{name: "legacy-source", check: func(t *testing.T, fs []doctor.Finding, _ *metrics.Job) {
			require.Equal(t, []doctor.Kind{doctor.Bottleneck, doctor.LegacySource}, kinds(fs))
			assert.Equal(t, []string{"map", "source"}, fs[0].Tasks)
			assert.Equal(t, []string{"source"}, fs[1].Tasks)
		}},
		{name: "diamond", check: func(t *testing.T, fs []doctor.Finding, _ *metrics.Job) {
			// The slow branch backpressures the source; the fast branch is idle and not named.
			require.Equal(t, []doctor.Kind{doctor.Bottleneck}, kinds(fs))
			assert.Equal(t, []string{"slow", "source"}, fs[0].Tasks)
		}},
		{name: "bounded", check: func(t *testing.T, fs []doctor.Finding, _ *metrics.Job) {
			// Without cost, it ends at once in fake time: no second of data, no verdict.
			assert.Empty(t, fs)
		}},
		{name: "bounded", change: func(s *spec.Job) {
			s.Tasks[0].Config["rate"], s.Tasks[0].Config["count"] = 1000, 5000
		}, check: func(t *testing.T, fs []doctor.Finding, last *metrics.Job) {
			// 5 s at 1000 records/s: healthy, underutilized, and it stays so once it has finished.
			require.Equal(t, metrics.StateFinished, last.State)
			require.Equal(t, []doctor.Kind{doctor.Healthy}, kinds(fs))
			assert.Contains(t, fs[0].Advice, "underutilized")
		}},
		{name: "network", check: func(t *testing.T, fs []doctor.Finding, _ *metrics.Job) {
			require.Equal(t, []doctor.Kind{doctor.Network}, kinds(fs))
			assert.Equal(t, []string{"parse", "sink"}, fs[0].Tasks)
		}},
		{name: "wasm-pipeline", check: func(t *testing.T, fs []doctor.Finding, _ *metrics.Job) {
			// 1000 records/s is nothing for these operators; every word goes to one count subtask.
			require.Equal(t, []doctor.Kind{doctor.Healthy}, kinds(fs))
			assert.Contains(t, fs[0].Advice, "underutilized")
			assert.Contains(t, fs[0].Advice, "count's input is skewed")
		}},
		{name: "varying-load", d: 45 * time.Second, check: func(t *testing.T, fs []doctor.Finding, _ *metrics.Job) {
			// Averaged over the 60 s window, sliding looks like the bottleneck;
			// the busy time at each tick shows it moving to the sink and back every 10 s.
			require.Equal(t, []doctor.Kind{doctor.Bottleneck, doctor.VaryingLoad}, kinds(fs))
			assert.Equal(t, "sliding", fs[0].Tasks[0])
			assert.Contains(t, fs[0].Advice, "its load varies")
			assert.Equal(t, []string{"sliding", "sink"}, fs[1].Tasks)
			assert.InDelta(t, 10_000, fs[1].PeriodMs, 250)
		}},
	} {
		t.Run(test.name, func(t *testing.T) {
			s := example(t, test.name, test.change)
			if slices.ContainsFunc(s.Tasks, func(task spec.Task) bool { return strings.HasPrefix(task.Operator, host.BundledPrefix) }) {
				t.Parallel() // compile while the others run
			}
			d := cmp.Or(test.d, 15*time.Second)
			doc, history := run(t, s, d)
			last := history[len(history)-1]
			fs := doc.Findings()
			test.check(t, fs, last)
			for _, f := range fs {
				assert.NotEmpty(t, f.Title)
				assert.NotEmpty(t, f.Evidence)
				assert.NotEmpty(t, f.Advice)
				assert.LessOrEqual(t, f.Since, last.Timestamp-3000, "held for 3 s")
			}
			_, err := json.Marshal(fs)
			require.NoError(t, err)
		})
	}
}

// hottest is the subtask of task with the most records in.
func hottest(s *metrics.Job, task string) int {
	for _, v := range s.Vertices {
		if v.Name == task {
			return slices.MaxFunc(v.Subtasks, func(a, b metrics.Subtask) int { return cmp.Compare(a.NumRecordsIn, b.NumRecordsIn) }).Subtask
		}
	}
	return -1
}
