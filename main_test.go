package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime/doctor"
	"flowlab/runtime/metrics"
)

func writeSpec(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "job.yaml")
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o644))
	return path
}

func TestRun_JSON(t *testing.T) {
	path := writeSpec(t, `
name: bounded
tasks:
  - {name: source, operator: generator, parallelism: 2, config: {count: 1000}}
  - {name: sink, operator: discard}
`)
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"flowlab", "run", "-job", path, "-json"}, &out))
	var snap struct {
		Name     string
		State    string
		Vertices []struct {
			ID           string
			Name         string
			Parallelism  int
			Backpressure map[string]any
			Metrics      map[string]any
			Latency      map[string]any
			Subtasks     []map[string]any
		}
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &snap))
	assert.Equal(t, "bounded", snap.Name)
	assert.Equal(t, metrics.StateFinished, snap.State)
	require.Len(t, snap.Vertices, 2)
	assert.Len(t, snap.Vertices[0].ID, 32)
	assert.Equal(t, 2, snap.Vertices[0].Parallelism)
	assert.Equal(t, 2000.0, snap.Vertices[1].Metrics["numRecordsIn"])
	assert.Contains(t, snap.Vertices[1].Backpressure, "backpressure-level")
	for _, name := range []string{"idleTimeMsPerSecond", "busyTimeMsPerSecond", "backPressuredTimeMsPerSecond",
		"softBackPressuredTimeMsPerSecond", "hardBackPressuredTimeMsPerSecond", "numRecordsIn", "numRecordsOut",
		"numRecordsInPerSecond", "numRecordsOutPerSecond", "buffers.inPoolUsage", "buffers.outPoolUsage",
		"buffers.inputExclusiveBuffersUsage", "buffers.inputFloatingBuffersUsage", "isBackPressured",
		"maxSoftBackPressureTimeMs", "maxHardBackPressureTimeMs"} {
		assert.Contains(t, snap.Vertices[1].Subtasks[0], name)
	}
	assert.Nil(t, snap.Vertices[0].Latency, "a source takes nothing in")
	for _, name := range []string{"p50", "p95", "p99", "max", "mean"} {
		assert.Contains(t, snap.Vertices[1].Latency, name)
		assert.Contains(t, snap.Vertices[1].Subtasks[0]["latency"], name)
	}
}

func TestRun_DurationCancels(t *testing.T) {
	path := writeSpec(t, `
name: endless
tasks:
  - {name: source, operator: generator, config: {rate: 100}}
  - {name: sink, operator: discard}
`)
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"flowlab", "run", "-job", path, "-duration", "300ms"}, &out))
	assert.Contains(t, out.String(), "endless  CANCELED")
	assert.Contains(t, out.String(), "source")
}

func TestRun_Errors(t *testing.T) {
	path := writeSpec(t, `
name: broken
tasks:
  - {name: source, operator: generator, parallelism: 0}
  - {name: sink, operator: dicsard}
`)
	err := run(t.Context(), []string{"flowlab", "run", "-job", path}, &bytes.Buffer{})
	require.Error(t, err)
	assert.Equal(t, path+`:4: tasks[0].parallelism: must be between 1 and 128, got 0`, err.Error())

	err = run(t.Context(), []string{"flowlab", "run"}, &bytes.Buffer{})
	assert.EqualError(t, err, "run: -job FILE is required")
	err = run(t.Context(), []string{"flowlab", "fly"}, &bytes.Buffer{})
	assert.ErrorContains(t, err, `unknown command "fly"`)
}

func TestBench(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"flowlab", "bench", "-duration", "200ms", "-warmup", "100ms", "-rounds", "1", "-buffer-size", "8kb", "-value-size", "100"}, &out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 4+len(contenders), out.String())
	assert.Contains(t, lines[0], "100 B values, 8kb buffers, 1 round(s)")
	assert.Regexp(t, `^ *MAP +MEDIAN REC/S +MIN REC/S +MAX REC/S +OF NATIVE +MIN-MAX +TARGET +BUSY NS/REC$`, lines[1])
	assert.Regexp(t, `^ *passthrough +[1-9]\d* +\d+ +\d+ +100% +100-100% +reference +\d+\.\d$`, lines[2])
	for i, c := range contenders[1:] {
		assert.Regexp(t, `^ *`+regexp.QuoteMeta(c.Name)+` +[1-9]\d* +\d+ +\d+ +\d+% +\d+-\d+% +>=\d+% (met|missed) +\d+\.\d$`, lines[3+i])
	}
	assert.Contains(t, lines[len(lines)-1], "BUSY NS/REC: MAP's busy time")
}

func TestBench_JSON(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"flowlab", "bench", "-duration", "200ms", "-warmup", "0s", "-rounds", "2", "-json"}, &out))
	var report benchReport
	require.NoError(t, json.Unmarshal(out.Bytes(), &report), out.String())
	assert.Equal(t, 16, report.ValueSize)
	require.Len(t, report.Contenders, len(contenders))
	for _, c := range report.Contenders {
		assert.Len(t, c.Rates, 2, c.Name)
		assert.Len(t, c.Ratios, 2, c.Name)
		assert.Positive(t, c.Median, c.Name) // it ran: records went into it
		assert.LessOrEqual(t, c.Min, c.Median, c.Name)
		assert.LessOrEqual(t, c.Median, c.Max, c.Name)
		assert.Len(t, c.BusyNsPerRecord, 2, c.Name)
		// Busy a part of the time, for records that each cost something:
		// between 1 ns and 1 ms each.
		assert.True(t, c.BusyNsPerRecordMedian > 1 && c.BusyNsPerRecordMedian < 1e6, "%s: %v ns per record", c.Name, c.BusyNsPerRecordMedian)
	}
	assert.InDeltaSlice(t, []float64{100, 100}, report.Contenders[0].Ratios, 1e-9)
}

func TestBench_Errors(t *testing.T) {
	for _, args := range [][]string{{"-rounds", "0"}, {"-duration", "0s"}, {"-value-size", "-1"}} {
		err := run(t.Context(), append([]string{"flowlab", "bench"}, args...), &bytes.Buffer{})
		assert.ErrorContains(t, err, "bench: "+args[0], args)
	}
}

func TestMedianMinMax(t *testing.T) {
	for _, tc := range []struct {
		xs             []float64
		median, lo, hi float64
	}{
		{[]float64{3}, 3, 3, 3},
		{[]float64{5, 1, 3}, 3, 1, 5},
		{[]float64{4, 1, 2, 3}, 2.5, 1, 4},
	} {
		median, lo, hi := medianMinMax(tc.xs)
		assert.Equal(t, []float64{tc.median, tc.lo, tc.hi}, []float64{median, lo, hi}, tc.xs)
	}
}

// flowlab run ends with the doctor's findings: on the hot-key example, the
// skew names the one subtask of count that gets the hot key.
func TestRun_Diagnosis(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"flowlab", "run", "-job", "examples/hot-key.yaml", "-duration", "6s", "-json"}, &out))
	var res struct {
		metrics.Job
		Diagnosis []doctor.Finding `json:"diagnosis"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &res))
	count := res.Vertices[1]
	require.Equal(t, "count", count.Name)
	hot := 0
	for i, st := range count.Subtasks {
		if st.NumRecordsIn > count.Subtasks[hot].NumRecordsIn {
			hot = i
		}
	}
	kinds := map[doctor.Kind]doctor.Finding{}
	for _, f := range res.Diagnosis {
		kinds[f.Kind] = f
	}
	require.Contains(t, kinds, doctor.Skew, "findings: %+v", res.Diagnosis)
	assert.Equal(t, []string{"count"}, kinds[doctor.Skew].Tasks)
	assert.Equal(t, []doctor.Subtask{{Task: "count", Subtask: hot}}, kinds[doctor.Skew].Subtasks)

	out.Reset()
	require.NoError(t, run(t.Context(), []string{"flowlab", "run", "-job", "examples/slow-sink.yaml", "-duration", "5s"}, &out))
	assert.Regexp(t, `(?m)^diagnosis: bottleneck: sink is the bottleneck\.`, out.String())
}
