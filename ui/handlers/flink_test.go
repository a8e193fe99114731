package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime"
	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
)

// checkShape checks a decoded JSON value against a schema of
// testdata/flink (see its README): every field the schema names is there,
// with its type. It returns what does not match, one line each.
func checkShape(t *testing.T, schema any, v any, path string) []string {
	t.Helper()
	switch s := schema.(type) {
	case string:
		if strings.HasSuffix(s, "?") {
			if v == nil {
				return nil
			}
			s = strings.TrimSuffix(s, "?")
		}
		ok := false
		switch s {
		case "string":
			_, ok = v.(string)
		case "boolean":
			_, ok = v.(bool)
		case "object":
			_, ok = v.(map[string]any)
		case "number":
			_, ok = v.(float64)
		case "integer":
			x, isNum := v.(float64)
			ok = isNum && x == math.Trunc(x)
		default:
			t.Fatalf("%s: unknown type %q in schema", path, s)
		}
		if !ok {
			return []string{fmt.Sprintf("%s: want %s, got %#v", path, s, v)}
		}
		return nil
	case map[string]any:
		switch {
		case s["ref"] != nil:
			name, nullable := strings.CutSuffix(s["ref"].(string), "?")
			if nullable && v == nil {
				return nil
			}
			return checkShape(t, loadShape(t, name), v, path)
		case s["enum"] != nil:
			if !slices.Contains(s["enum"].([]any), v) {
				return []string{fmt.Sprintf("%s: want one of %v, got %#v", path, s["enum"], v)}
			}
			return nil
		case s["array"] != nil:
			list, ok := v.([]any)
			if !ok {
				return []string{fmt.Sprintf("%s: want an array, got %#v", path, v)}
			}
			var bad []string
			for i, e := range list {
				bad = append(bad, checkShape(t, s["array"], e, fmt.Sprintf("%s[%d]", path, i))...)
			}
			return bad
		case s["map"] != nil:
			m, ok := v.(map[string]any)
			if !ok {
				return []string{fmt.Sprintf("%s: want an object, got %#v", path, v)}
			}
			var bad []string
			for k, e := range m {
				bad = append(bad, checkShape(t, s["map"], e, path+"."+k)...)
			}
			return bad
		case s["object"] != nil:
			m, ok := v.(map[string]any)
			if !ok {
				return []string{fmt.Sprintf("%s: want an object, got %#v", path, v)}
			}
			var bad []string
			for field, fs := range s["object"].(map[string]any) {
				name, optional := strings.CutSuffix(field, "?")
				e, present := m[name]
				if !present {
					if !optional {
						bad = append(bad, fmt.Sprintf("%s.%s: missing", path, name))
					}
					continue
				}
				bad = append(bad, checkShape(t, fs, e, path+"."+name)...)
			}
			return bad
		}
	}
	t.Fatalf("%s: bad schema %#v", path, schema)
	return nil
}

// loadShape reads the schema of testdata/flink/NAME.json.
func loadShape(t *testing.T, name string) any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "flink", name+".json"))
	require.NoError(t, err)
	var file struct {
		Source string
		Schema any
	}
	require.NoError(t, json.Unmarshal(data, &file), name)
	require.NotEmpty(t, file.Source, "%s names its source", name)
	return file.Schema
}

// assertShape gets path and checks its answer against the shape of testdata/flink/NAME.json.
func (c *client) assertShape(path, name string) any {
	c.t.Helper()
	res, data := c.do("GET", path, "", nil)
	require.Equal(c.t, http.StatusOK, res.StatusCode, "%s: %s", path, data)
	var v any
	require.NoError(c.t, json.Unmarshal(data, &v), string(data))
	assert.Empty(c.t, checkShape(c.t, loadShape(c.t, name), v, path), "%s: %s", path, data)
	return v
}

func TestCheckShape(t *testing.T) {
	schema := map[string]any{"object": map[string]any{"a": "integer", "b?": "string", "c": map[string]any{"array": "number"}, "d": "string?"}}
	var good, bad any
	require.NoError(t, json.Unmarshal([]byte(`{"a": 1, "c": [1.5], "d": null, "extra": true}`), &good))
	require.NoError(t, json.Unmarshal([]byte(`{"a": 1.5, "b": 2, "c": ["x"]}`), &bad))
	assert.Empty(t, checkShape(t, schema, good, "$"))
	assert.ElementsMatch(t, []string{`$.a: want integer, got 1.5`, `$.b: want string, got 2`, `$.c[0]: want number, got "x"`, `$.d: missing`},
		checkShape(t, schema, bad, "$"))
}

// failEngine resolves "fail" to an operator that fails at its first record.
type failEngine struct{ testEngine }

type failing struct{}

func (failing) Process(runtime.Batch, runtime.Output) error { return errors.New("boom") }

func (e failEngine) Resolve(name string) (runtime.OperatorType, error) {
	if name == "fail" {
		return func(runtime.TaskConfig) (runtime.Prepared, error) {
			return runtime.Prepared{NewProcessor: func(runtime.Context) (runtime.Processor, error) { return failing{}, nil }}, nil
		}, nil
	}
	return e.testEngine.Resolve(name)
}

const failSpec = `name: failing
metrics: {tick: 20ms, window: 200ms}
restart: {strategy: fixed-delay, attempts: 1, delay: 10ms}
tasks:
  - {name: source, operator: generator, config: {rate: 1000}}
  - {name: work, operator: fail, parallelism: 2}
`

// Every Flink endpoint answers in the shape of Flink's spec (testdata/flink).
func TestFlinkShapes(t *testing.T) {
	s := New(context.Background(), NewConfig().WithDefaultExample(""), failEngine{}, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		srv.Close()
		s.Close()
	})
	c := newClient(t, srv)
	jid := c.start(testSpec)
	var job struct {
		State    string
		Vertices []struct {
			ID      string
			Metrics struct{ NumRecordsIn int64 }
		}
	}
	require.Eventually(t, func() bool {
		c.getJSON("/jobs/"+jid, &job)
		return job.State == "RUNNING" && job.Vertices[1].Metrics.NumRecordsIn > 0
	}, 10*time.Second, 10*time.Millisecond)
	vid := job.Vertices[1].ID
	v := "/jobs/" + jid + "/vertices/" + vid

	for path, name := range map[string]string{
		"/overview":                    "ClusterOverviewWithVersion",
		"/config":                      "DashboardConfiguration",
		"/jobs":                        "JobIdsWithStatusOverview",
		"/jobs/overview":               "MultipleJobsDetails",
		"/jobs/" + jid:                 "JobDetailsInfo",
		"/jobs/" + jid + "/plan":       "JobPlanInfo",
		"/jobs/" + jid + "/config":     "JobConfigInfo",
		"/jobs/" + jid + "/exceptions": "JobExceptionsInfoWithHistory",
		"/jobs/" + jid + "/metrics":    "MetricCollectionResponseBody",
		"/jobs/" + jid + "/metrics?get=numRestarts,uptime": "MetricCollectionResponseBody",
		v:                   "JobVertexDetailsInfo",
		v + "/backpressure": "JobVertexBackPressureInfo",
		v + "/metrics":      "MetricCollectionResponseBody",
		v + "/metrics?get=0.numRecordsIn,0.busyTimeMsPerSecond":      "MetricCollectionResponseBody",
		v + "/subtasks/metrics":                                      "MetricCollectionResponseBody",
		v + "/subtasks/metrics?get=numRecordsIn,busyTimeMsPerSecond": "AggregatedMetricsResponseBody",
		v + "/subtasks/0/metrics":                                    "MetricCollectionResponseBody",
		v + "/subtasks/0/metrics?get=numRecordsIn,isBackPressured":   "MetricCollectionResponseBody",
		v + "/subtasktimes":                                          "SubtasksTimesInfo",
		v + "/watermarks":                                            "MetricCollectionResponseBody",
	} {
		c.assertShape(path, name)
	}
	// The plan in the job's details is the plan of /plan.
	details := c.assertShape("/jobs/"+jid, "JobDetailsInfo").(map[string]any)
	assert.Empty(t, checkShape(t, loadShape(t, "JsonPlan"), details["plan"], "plan"))

	// A job that failed: its exceptions, newest first, and no cancel.
	failed := c.start(failSpec)
	require.Eventually(t, func() bool {
		c.getJSON("/jobs/"+failed, &job)
		return job.State == "FAILED"
	}, 10*time.Second, 10*time.Millisecond)
	ex := c.assertShape("/jobs/"+failed+"/exceptions", "JobExceptionsInfoWithHistory").(map[string]any)
	history := ex["exceptionHistory"].(map[string]any)
	entries := history["entries"].([]any)
	require.Len(t, entries, 2, "the failure, then the failure after the restart")
	first := entries[0].(map[string]any)
	assert.Contains(t, first["stacktrace"], "boom")
	assert.Regexp(t, `^work \([12]/2\)$`, first["taskName"])
	assert.Equal(t, false, history["truncated"])
	assert.Contains(t, ex["root-exception"], "boom")
	ex = c.assertShape("/jobs/"+failed+"/exceptions?maxExceptions=1", "JobExceptionsInfoWithHistory").(map[string]any)
	history = ex["exceptionHistory"].(map[string]any)
	assert.Len(t, history["entries"], 1)
	assert.Equal(t, true, history["truncated"])
	res, data := c.do("PATCH", "/jobs/"+failed+"?mode=cancel", "", nil)
	assert.Equal(t, http.StatusConflict, res.StatusCode, "Flink's answer to cancelling a job that ended otherwise")
	assert.Contains(t, errorsOf(t, data)[0], "FAILED")
	var overview map[string]any
	c.getJSON("/overview", &overview)
	assert.Equal(t, 1.0, overview["jobs-running"])
	assert.Equal(t, 1.0, overview["jobs-failed"])

	// Cancel: 202 and {} (Flink's mode is case-insensitive).
	res, data = c.do("PATCH", "/jobs/"+jid+"?mode=CANCEL", "", nil)
	assert.Equal(t, http.StatusAccepted, res.StatusCode)
	assert.JSONEq(t, `{}`, string(data))
	require.Eventually(t, func() bool {
		c.getJSON("/jobs/"+jid, &job)
		return job.State == "CANCELED"
	}, 10*time.Second, 10*time.Millisecond)
	ended := c.assertShape("/jobs/"+jid, "JobDetailsInfo").(map[string]any)
	assert.Greater(t, ended["end-time"], 0.0)
	assert.Equal(t, ended["timestamps"].(map[string]any)["CANCELED"], ended["end-time"])
	res, _ = c.do("PATCH", "/jobs/"+jid+"?mode=cancel", "", nil)
	assert.Equal(t, http.StatusAccepted, res.StatusCode, "cancelling a canceled job again is fine")
}

// The details of a running job: Flink's fields with Flowlab's numbers.
func TestFlinkJobDetails(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithDefaultExample(""))
	c := newClient(t, srv)
	jid := c.start(testSpec)
	type io struct {
		ReadRecords  int64   `json:"read-records"`
		WriteRecords int64   `json:"write-records"`
		ReadBytes    int64   `json:"read-bytes"`
		WriteBytes   int64   `json:"write-bytes"`
		Busy         float64 `json:"accumulated-busy-time"`
		Idle         int64   `json:"accumulated-idle-time"`
		BackPressure int64   `json:"accumulated-backpressured-time"`
		NumRecordsIn int64   `json:"numRecordsIn"` // Flowlab's, kept beside Flink's
	}
	var job struct {
		State        string
		StartTime    int64            `json:"start-time"`
		EndTime      int64            `json:"end-time"`
		Duration     int64            `json:"duration"`
		Now          int64            `json:"now"`
		StatusCounts map[string]int   `json:"status-counts"`
		Timestamps   map[string]int64 `json:"timestamps"`
		Vertices     []struct {
			Name      string
			Status    string
			Tasks     map[string]int
			StartTime int64 `json:"start-time"`
			Duration  int64
			Metrics   io
			Latency   *struct{ P50, P95, P99, Max, Mean *float64 }
		}
	}
	require.Eventually(t, func() bool {
		c.getJSON("/jobs/"+jid, &job)
		return job.State == "RUNNING" && job.Vertices[1].Metrics.ReadRecords > 100 && job.Vertices[0].Metrics.BackPressure > 0
	}, 10*time.Second, 10*time.Millisecond, "the source is backpressured")
	assert.Equal(t, int64(-1), job.EndTime)
	assert.Equal(t, job.Now-job.StartTime, job.Duration)
	assert.Equal(t, 2, job.StatusCounts["RUNNING"])
	assert.Len(t, job.StatusCounts, 10, "every execution state")
	assert.Len(t, job.Timestamps, 11, "every job status")
	assert.Equal(t, job.StartTime, job.Timestamps["CREATED"])
	assert.GreaterOrEqual(t, job.Timestamps["RUNNING"], job.StartTime)
	source, sink := job.Vertices[0], job.Vertices[1]
	assert.Equal(t, 2, source.Tasks["RUNNING"])
	assert.Equal(t, job.Timestamps["RUNNING"], sink.StartTime)
	assert.Equal(t, sink.Metrics.NumRecordsIn, sink.Metrics.ReadRecords)
	assert.Equal(t, int64(0), source.Metrics.ReadRecords)
	assert.Positive(t, source.Metrics.WriteRecords)
	// 16 bytes of header, "key-N" and 16 bytes of value.
	assert.GreaterOrEqual(t, sink.Metrics.ReadBytes, sink.Metrics.ReadRecords*37)
	assert.LessOrEqual(t, sink.Metrics.ReadBytes, sink.Metrics.ReadRecords*38)
	assert.Positive(t, sink.Metrics.Busy, "the sink is the bottleneck")
	assert.Nil(t, source.Latency, "a source takes nothing in")
	require.NotNil(t, sink.Latency)
	for _, v := range []*float64{sink.Latency.P50, sink.Latency.P95, sink.Latency.P99, sink.Latency.Max, sink.Latency.Mean} {
		require.NotNil(t, v, "p50, p95, p99, max, mean: %+v", sink.Latency)
	}
	assert.LessOrEqual(t, *sink.Latency.P50, *sink.Latency.P99)
	assert.LessOrEqual(t, *sink.Latency.P99, *sink.Latency.Max)
}

// Metric values are text, as Flink's metric store keeps them; aggregates are numbers.
func TestFlinkMetrics(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithDefaultExample(""))
	c := newClient(t, srv)
	jid := c.start(testSpec)
	v := "/jobs/" + jid + "/vertices/source"
	var values []struct{ ID, Value string }
	require.Eventually(t, func() bool {
		c.getJSON(v+"/metrics?get=0.numRecordsOut,1.numRecordsOut", &values)
		return len(values) == 2 && values[0].Value != "0" && values[1].Value != "0"
	}, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, "0.numRecordsOut", values[0].ID)
	_, err := strconv.ParseInt(values[0].Value, 10, 64)
	assert.NoError(t, err, "a counter is an integer")

	var ids []map[string]string
	c.getJSON(v+"/metrics", &ids)
	assert.Contains(t, ids, map[string]string{"id": "1.busyTimeMsPerSecond"})
	assert.Len(t, ids, 2*len(metrics.SubtaskMetrics), "every metric of both subtasks")

	c.getJSON(v+"/subtasks/1/metrics?get=busyTimeMsPerSecond,isBackPressured,buffers.outPoolUsage,numBytesOut,nope", &values)
	require.Len(t, values, 4, "unknown metrics are left out, as Flink does")
	assert.Regexp(t, `^\d+\.\d+$`, values[0].Value, "busyTimeMsPerSecond is a double")
	assert.Contains(t, []string{"true", "false"}, values[1].Value)
	assert.Regexp(t, `^\d+\.\d+(E-?\d+)?$`, values[2].Value, "a usage is a float")
	assert.Regexp(t, `^\d+$`, values[3].Value)
	c.getJSON(v+"/subtasks/7/metrics", &values)
	assert.Empty(t, values, "a subtask the vertex does not have has no metrics")
	res, _ := c.do("GET", v+"/subtasks/x/metrics", "", nil)
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)

	c.getJSON("/jobs/"+jid+"/metrics?get=numRestarts", &values)
	assert.Equal(t, []struct{ ID, Value string }{{"numRestarts", "0"}}, values)

	var watermarks []any
	assert.Equal(t, http.StatusOK, c.getJSON(v+"/watermarks", &watermarks))
	assert.Empty(t, watermarks, "no watermarks, as Flink answers a job without them")
}

// subtasks= picks subtasks by Flink's ranges; agg= names are Flink's, in any case.
func TestFlinkSubtaskMetrics_Query(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithDefaultExample(""))
	c := newClient(t, srv)
	jid := c.start(strings.Replace(testSpec, "parallelism: 2", "parallelism: 4", 1))
	v := "/jobs/" + jid + "/vertices/source/subtasks/"
	var per []struct{ Value string }
	var counts [4]float64
	require.Eventually(t, func() bool {
		for i := range counts {
			c.getJSON(v+strconv.Itoa(i)+"/metrics?get=numRecordsOut", &per)
			n, _ := strconv.ParseFloat(per[0].Value, 64)
			counts[i] = n
		}
		return !slices.Contains(counts[:], 0)
	}, 10*time.Second, 10*time.Millisecond)
	c.do("PATCH", "/api/jobs/"+jid, "application/json", strings.NewReader(`{"paused": true}`))
	time.Sleep(300 * time.Millisecond) // records in flight arrive
	for i := range counts {
		c.getJSON(v+strconv.Itoa(i)+"/metrics?get=numRecordsOut", &per)
		counts[i], _ = strconv.ParseFloat(per[0].Value, 64)
	}

	var aggs []map[string]any
	require.Equal(t, http.StatusOK, c.getJSON(v+"metrics?get=numRecordsOut&agg=SUM,Max&subtasks=0-1,3", &aggs))
	require.Len(t, aggs, 1)
	assert.Equal(t, map[string]any{"id": "numRecordsOut", "sum": counts[0] + counts[1] + counts[3], "max": max(counts[0], counts[1], counts[3])},
		aggs[0], "numbers, only those asked for")
	c.getJSON(v+"metrics?get=numRecordsOut&agg=min&subtasks=2", &aggs)
	assert.Equal(t, counts[2], aggs[0]["min"])

	for query, msg := range map[string]string{
		"get=numRecordsOut&agg=median":   "not a valid aggregation",
		"get=numRecordsOut&subtasks=x":   "subtasks",
		"get=numRecordsOut&subtasks=3-1": "subtasks",
	} {
		res, data := c.do("GET", v+"metrics?"+query, "", nil)
		assert.Equal(t, http.StatusBadRequest, res.StatusCode, query)
		assert.Contains(t, errorsOf(t, data)[0], msg, query)
	}
}

// Another session's job is not there, on any of Flink's endpoints.
func TestFlinkEndpoints_Isolation(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithDefaultExample(""))
	alice, bob := newClient(t, srv), newClient(t, srv)
	jid := alice.start(testSpec)
	bob.start("tasks: [{name: source, operator: generator, config: {rate: 10}}]")
	for _, path := range []string{"/plan", "/config", "/exceptions", "/metrics", "/vertices/sink", "/vertices/sink/metrics",
		"/vertices/sink/subtasks/0/metrics", "/vertices/sink/subtasktimes", "/vertices/sink/watermarks"} {
		res, _ := bob.do("GET", "/jobs/"+jid+path, "", nil)
		assert.Equal(t, http.StatusNotFound, res.StatusCode, path)
	}
	var overview struct {
		Jobs []struct{ JID string }
	}
	bob.getJSON("/jobs/overview", &overview)
	require.Len(t, overview.Jobs, 1)
	assert.NotEqual(t, jid, overview.Jobs[0].JID)
	var counts map[string]any
	bob.getJSON("/overview", &counts)
	assert.Equal(t, 1.0, counts["jobs-running"])
}

// Ranges of subtasks= end at the highest subtask index there can be, so
// that a huge range or many of them cost nothing.
func TestParseRanges(t *testing.T) {
	set, err := parseRanges("0-1,3")
	require.NoError(t, err)
	assert.Equal(t, map[int]bool{0: true, 1: true, 3: true}, set)
	set, err = parseRanges("0-2000000000," + strings.Repeat("5-9999999,", 1000) + "7")
	require.NoError(t, err)
	assert.Len(t, set, spec.MaxParallelism)
	for _, bad := range []string{"", "x", "3-1", "-1", "1-x"} {
		_, err := parseRanges(bad)
		assert.Error(t, err, bad)
	}
}
