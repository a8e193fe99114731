package handlers

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime"
	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
)

// cpEngine runs real jobs whose checkpoints and keyed state are made up
// (cpJob): the handlers' side of checkpoints, tested apart from the
// runtime's.
type cpEngine struct {
	testEngine
	mu   sync.Mutex
	jobs []*cpJob
}

func (e *cpEngine) Start(ctx context.Context, s *spec.Job, resolve runtime.Resolver, budget runtime.Budget) (Job, error) {
	rt, err := e.testEngine.Start(ctx, s, resolve, budget)
	if err != nil {
		return nil, err
	}
	j := &cpJob{Job: rt, state: map[string][]runtime.SubtaskState{}}
	e.mu.Lock()
	e.jobs = append(e.jobs, j)
	e.mu.Unlock()
	return j, nil
}

func (e *cpEngine) last() *cpJob {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.jobs[len(e.jobs)-1]
}

// cpJob is a real job with the checkpoints, state and checkpoint settings
// a test gives it.
type cpJob struct {
	Job
	mu    sync.Mutex
	cps   *metrics.Checkpoints
	state map[string][]runtime.SubtaskState // by task
	cp    *spec.Checkpoint                  // as last set
	sets  int                               // calls of SetCheckpointing
}

func (j *cpJob) Checkpoints() *metrics.Checkpoints {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.cps == nil {
		return &metrics.Checkpoints{}
	}
	return j.cps
}

func (j *cpJob) State(task string, max int) ([]runtime.SubtaskState, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []runtime.SubtaskState
	for _, st := range j.state[task] {
		st.Entries = st.Entries[:min(len(st.Entries), max)]
		out = append(out, st)
	}
	return out, nil
}

func (j *cpJob) SetCheckpointing(c *spec.Checkpoint) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.cp, j.sets = c, j.sets+1
	return nil
}

func (j *cpJob) Spec() *spec.Job {
	sp := *j.Job.Spec()
	j.mu.Lock()
	sp.Checkpoint = j.cp
	j.mu.Unlock()
	return &sp
}

func (j *cpJob) set() (*spec.Checkpoint, int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.cp, j.sets
}

func newCPServer(t *testing.T) (*cpEngine, *client) {
	eng := &cpEngine{}
	s := New(context.Background(), NewConfig().WithDefaultExample(""), eng, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		srv.Close()
		s.Close()
	})
	return eng, newClient(t, srv)
}

// checkpointsFixture is a job's checkpoints: 4 in progress (the source has
// acknowledged, the sink's second subtask not yet), 3 failed, 2 completed
// unaligned, 1 completed aligned and since subsumed; 1 restored.
func checkpointsFixture() *metrics.Checkpoints {
	const t0 = 1_700_000_000_000
	sub := func(i int, ack bool, e2e, state, align, persisted int64) metrics.SubtaskCheckpoint {
		s := metrics.SubtaskCheckpoint{Index: i, Acknowledged: ack}
		if ack {
			s.AckTimestamp, s.EndToEndDuration, s.SyncDuration, s.AsyncDuration = t0+e2e, e2e, 1, 2
			s.AlignmentDuration, s.StartDelay, s.StateSize, s.CheckpointedSize = align, 3, state, state
			s.ProcessedData, s.PersistedData, s.Unaligned = 100, persisted, persisted > 0
		}
		return s
	}
	cp := func(id int64, status string, unaligned bool, source, sink []metrics.SubtaskCheckpoint) metrics.Checkpoint {
		c := metrics.Checkpoint{ID: id, Status: status, Unaligned: unaligned, TriggerTimestamp: t0,
			Tasks: []metrics.TaskCheckpoint{{VertexID: "v-source", Name: "source", Subtasks: source}, {VertexID: "v-sink", Name: "sink", Subtasks: sink}}}
		for _, t := range c.Tasks {
			for _, s := range t.Subtasks {
				c.NumSubtasks++
				if s.Acknowledged {
					c.NumAcknowledged++
					c.LatestAckTimestamp = max(c.LatestAckTimestamp, s.AckTimestamp)
					c.EndToEndDuration = max(c.EndToEndDuration, s.EndToEndDuration)
					c.StateSize += s.StateSize
					c.CheckpointedSize += s.CheckpointedSize
					c.ProcessedData += s.ProcessedData
					c.PersistedData += s.PersistedData
				}
			}
		}
		return c
	}
	failed := cp(3, metrics.CheckpointFailed, false, []metrics.SubtaskCheckpoint{sub(0, false, 0, 0, 0, 0)}, []metrics.SubtaskCheckpoint{sub(0, false, 0, 0, 0, 0), sub(1, false, 0, 0, 0, 0)})
	failed.FailureTimestamp, failed.FailureMessage = t0+60_000, "Checkpoint expired before completing."
	history := []metrics.Checkpoint{
		cp(4, metrics.CheckpointInProgress, false, []metrics.SubtaskCheckpoint{sub(0, true, 10, 50, 0, 0)}, []metrics.SubtaskCheckpoint{sub(0, true, 30, 200, 25, 0), sub(1, false, 0, 0, 0, 0)}),
		failed,
		cp(2, metrics.CheckpointCompleted, true, []metrics.SubtaskCheckpoint{sub(0, true, 20, 50, 0, 0)}, []metrics.SubtaskCheckpoint{sub(0, true, 120, 300, 5, 4096), sub(1, true, 100, 300, 7, 1024)}),
		cp(1, metrics.CheckpointCompleted, false, []metrics.SubtaskCheckpoint{sub(0, true, 10, 50, 0, 0)}, []metrics.SubtaskCheckpoint{sub(0, true, 80, 250, 40, 0), sub(1, true, 60, 250, 30, 0)}),
	}
	return &metrics.Checkpoints{
		Enabled:  true,
		Config:   metrics.CheckpointConfig{IntervalMs: 5000, TimeoutMs: 600_000, AlignedTimeoutMs: 0, Retained: 1},
		Restored: 1, Total: 4, InProgress: 1, Completed: 2, Failed: 1,
		History: history, LatestCompleted: &history[2], LatestFailed: &history[1],
		LatestRestored: &metrics.RestoredCheckpoint{ID: 1, RestoreTimestamp: t0 + 90_000},
	}
}

// Without checkpoints the endpoints answer 404 as Flink's; with them, in
// Flink's shapes, from the job's metrics.Checkpoints.
func TestServer_Checkpoints(t *testing.T) {
	eng, c := newCPServer(t)
	jid := c.start(testSpec)
	base := "/jobs/" + jid + "/checkpoints"

	for _, path := range []string{base, base + "/config", base + "/details/1", base + "/details/1/subtasks/sink"} {
		res, data := c.do("GET", path, "", nil)
		assert.Equal(t, http.StatusNotFound, res.StatusCode, path)
		assert.Contains(t, errorsOf(t, data)[0], "Checkpointing is not enabled for this job ("+jid+").", path)
	}
	res, _ := c.do("GET", "/jobs/0123/checkpoints", "", nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)

	j := eng.last()
	j.mu.Lock()
	j.cps = checkpointsFixture()
	j.mu.Unlock()

	var stats struct {
		Counts  map[string]int
		Summary map[string]map[string]*float64
		Latest  struct {
			Completed, Savepoint, Failed *struct{ ID int64 }
			Restored                     *struct {
				ID               int64
				RestoreTimestamp int64  `json:"restore_timestamp"`
				ExternalPath     string `json:"external_path"`
			}
		}
		History []map[string]any
	}
	v := c.assertShape(base, "CheckpointingStatistics")
	data, err := json.Marshal(v)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &stats))
	assert.Equal(t, map[string]int{"restored": 1, "total": 4, "in_progress": 1, "completed": 2, "failed": 1}, stats.Counts)

	// The summary is over the completed checkpoints: end to end 120 and 80 ms.
	e2e := stats.Summary["end_to_end_duration"]
	for k, want := range map[string]float64{"min": 80, "max": 120, "avg": 100, "p50": 100, "p90": 120, "p99": 120, "p999": 120} {
		require.NotNil(t, e2e[k], k)
		assert.Equal(t, want, *e2e[k], k)
	}
	assert.Equal(t, 650.0, *stats.Summary["state_size"]["max"])
	assert.Equal(t, 5120.0, *stats.Summary["persisted_data"]["max"])

	require.NotNil(t, stats.Latest.Completed)
	assert.Equal(t, int64(2), stats.Latest.Completed.ID)
	assert.Nil(t, stats.Latest.Savepoint)
	assert.Equal(t, int64(3), stats.Latest.Failed.ID)
	assert.Equal(t, int64(1), stats.Latest.Restored.ID)
	assert.Equal(t, "<checkpoint-not-externally-addressable>", stats.Latest.Restored.ExternalPath)

	var ids, classes, statuses, types []any
	for _, h := range stats.History {
		ids, classes, statuses, types = append(ids, h["id"]), append(classes, h["className"]), append(statuses, h["status"]), append(types, h["checkpoint_type"])
	}
	assert.Equal(t, []any{4.0, 3.0, 2.0, 1.0}, ids, "newest first")
	assert.Equal(t, []any{"in_progress", "failed", "completed", "completed"}, classes)
	assert.Equal(t, []any{"IN_PROGRESS", "FAILED", "COMPLETED", "COMPLETED"}, statuses)
	assert.Equal(t, []any{"CHECKPOINT", "CHECKPOINT", "UNALIGNED_CHECKPOINT", "CHECKPOINT"}, types)
	inProgress, failed, second, first := stats.History[0], stats.History[1], stats.History[2], stats.History[3]
	assert.Equal(t, 2.0, inProgress["num_acknowledged_subtasks"])
	assert.Equal(t, 3.0, inProgress["num_subtasks"])
	assert.Equal(t, 25.0, inProgress["max_alignment_duration"], "Flowlab's: the longest alignment of an acknowledged subtask")
	assert.NotContains(t, inProgress, "external_path")
	assert.NotContains(t, inProgress, "failure_message")
	assert.Equal(t, -1.0, failed["latest_ack_timestamp"], "no acknowledgement, as Flink's")
	assert.Equal(t, "Checkpoint expired before completing.", failed["failure_message"])
	assert.Equal(t, 1_700_000_060_000.0, failed["failure_timestamp"])
	assert.Equal(t, false, second["discarded"])
	assert.Equal(t, true, first["discarded"], "subsumed: one checkpoint is retained")
	assert.Equal(t, "<checkpoint-not-externally-addressable>", first["external_path"])
	assert.Equal(t, false, first["is_savepoint"])
	assert.Contains(t, first, "savepointFormat")
	assert.Nil(t, first["savepointFormat"])
	assert.Equal(t, 40.0, first["max_alignment_duration"])
	tasks := first["tasks"].(map[string]any)
	require.Len(t, tasks, 2)
	sink := tasks["v-sink"].(map[string]any)
	assert.Equal(t, 500.0, sink["state_size"])
	assert.Equal(t, 80.0, sink["end_to_end_duration"], "trigger to the task's latest acknowledgement")

	config := c.assertShape(base+"/config", "CheckpointConfigInfo").(map[string]any)
	assert.Equal(t, "exactly_once", config["mode"])
	assert.Equal(t, 5000.0, config["interval"])
	assert.Equal(t, 600000.0, config["timeout"])
	assert.Equal(t, false, config["unaligned_checkpoints"])
	assert.Equal(t, "HashMapStateBackend", config["state_backend"])
	assert.Equal(t, "JobManagerCheckpointStorage", config["checkpoint_storage"])
	assert.Equal(t, map[string]any{"enabled": false, "delete_on_cancellation": true}, config["externalization"])

	details := c.assertShape(base+"/details/2", "CheckpointStatistics").(map[string]any)
	assert.Equal(t, 2.0, details["id"])
	assert.Equal(t, "completed", details["className"])
	tasks = details["tasks"].(map[string]any)
	require.Len(t, tasks, 2)
	sink = tasks["v-sink"].(map[string]any)
	assert.Equal(t, 600.0, sink["state_size"])
	assert.Equal(t, 5120.0, sink["persisted_data"])
	assert.Equal(t, 120.0, sink["end_to_end_duration"])
	assert.Equal(t, 2.0, sink["num_acknowledged_subtasks"])
	assert.Equal(t, false, details["discarded"])
	details = c.assertShape(base+"/details/1", "CheckpointStatistics").(map[string]any)
	assert.Equal(t, true, details["discarded"])
	c.assertShape(base+"/details/4", "CheckpointStatistics")
	c.assertShape(base+"/details/3", "CheckpointStatistics")

	// A task's subtasks, by vertex id or by name: a pending one has only
	// its index and status, as Flink's.
	for _, vid := range []string{"v-sink", "sink"} {
		sub := c.assertShape(base+"/details/4/subtasks/"+vid, "TaskCheckpointStatisticsWithSubtaskDetails").(map[string]any)
		assert.Equal(t, 1.0, sub["num_acknowledged_subtasks"])
		subtasks := sub["subtasks"].([]any)
		require.Len(t, subtasks, 2)
		assert.Equal(t, map[string]any{"className": "pending", "index": 1.0, "status": "pending_or_failed"}, subtasks[1])
		done := subtasks[0].(map[string]any)
		assert.Equal(t, "completed", done["status"])
		assert.Equal(t, 30.0, done["end_to_end_duration"])
		assert.Equal(t, map[string]any{"sync": 1.0, "async": 2.0}, done["checkpoint"])
		assert.Equal(t, map[string]any{"buffered": 0.0, "processed": 100.0, "persisted": 0.0, "duration": 25.0}, done["alignment"])
		assert.Equal(t, false, done["aborted"])
	}
	sub := c.assertShape(base+"/details/2/subtasks/sink", "TaskCheckpointStatisticsWithSubtaskDetails").(map[string]any)
	summary := sub["summary"].(map[string]any)
	assert.Equal(t, map[string]any{"min": 5.0, "max": 7.0, "avg": 6.0, "p50": 6.0, "p90": 7.0, "p95": 7.0, "p99": 7.0, "p999": 7.0},
		summary["alignment"].(map[string]any)["duration"])
	assert.Equal(t, 100.0, summary["end_to_end_duration"].(map[string]any)["min"])
	for _, d := range sub["subtasks"].([]any) {
		assert.Equal(t, true, d.(map[string]any)["unaligned_checkpoint"])
	}

	for path, want := range map[string]string{
		base + "/details/99":                             "Could not find checkpointing statistics for checkpoint 99.",
		base + "/details/2/subtasks/nope":                "There is no checkpoint statistics for task nope (tasks: source, sink).",
		"/jobs/0123/checkpoints/details/2":               "no such job",
		"/jobs/0123/checkpoints/config":                  "no such job",
		"/jobs/0123/checkpoints/details/2/subtasks/sink": "no such job",
	} {
		res, data := c.do("GET", path, "", nil)
		assert.Equal(t, http.StatusNotFound, res.StatusCode, path)
		assert.Contains(t, errorsOf(t, data)[0], want, path)
	}
	res, data = c.do("GET", base+"/details/latest", "", nil)
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Contains(t, errorsOf(t, data)[0], `checkpointid "latest": want the id of a checkpoint`)
}

// A summary of nothing is Flink's zeros, its percentiles (NaN in Flink) null.
func TestSummarize(t *testing.T) {
	empty := summarize(nil)
	assert.Zero(t, empty.Min+empty.Max+empty.Avg)
	assert.True(t, math.IsNaN(float64(empty.P50)))
	data, err := json.Marshal(empty)
	require.NoError(t, err)
	assert.JSONEq(t, `{"min":0,"max":0,"avg":0,"p50":null,"p90":null,"p95":null,"p99":null,"p999":null}`, string(data))

	// Commons Math's estimate: position q*(n+1), interpolated.
	values := []int64{40, 10, 30, 20}
	s := summarize(values)
	assert.Equal(t, statsSummary{Min: 10, Max: 40, Avg: 25, P50: 25, P90: 40, P95: 40, P99: 40, P999: 40}, s)
	assert.Equal(t, []int64{40, 10, 30, 20}, values, "not sorted in place")
	many := make([]int64, 100)
	for i := range many {
		many[i] = int64(i + 1)
	}
	s = summarize(many)
	assert.InDelta(t, 90.9, float64(s.P90), 1e-9)
	assert.InDelta(t, 99.99, float64(s.P99), 1e-9)
	assert.Equal(t, metrics.Float(100), s.P999)
	assert.Equal(t, metrics.Float(7), summarize([]int64{7}).P50)
}

// Checkpoints are turned on, changed and off live, as buffer debloating:
// a field left out keeps the job's setting.
func TestServer_ChangeJob_Checkpoint(t *testing.T) {
	eng, c := newCPServer(t)
	jid := c.start(testSpec)
	j := eng.last()
	config := func() map[string]string { return c.userConfig(jid) }
	assert.NotContains(t, config(), "checkpoint.interval")

	status, data := c.patch(jid, `{"checkpoint": {"interval": "5s"}}`)
	require.Equal(t, http.StatusOK, status, string(data))
	cp, _ := j.set()
	assert.Equal(t, &spec.Checkpoint{Interval: 5 * time.Second, Mode: spec.Aligned, Timeout: spec.DefaultCheckpointTimeout, Retained: 1}, cp)
	assert.Equal(t, "5s", config()["checkpoint.interval"])
	assert.Equal(t, "aligned", config()["checkpoint.mode"])

	status, data = c.patch(jid, `{"checkpoint": {"mode": "unaligned", "timeout": "60s", "aligned-timeout": "0s"}}`)
	require.Equal(t, http.StatusOK, status, string(data))
	cp, _ = j.set()
	assert.Equal(t, &spec.Checkpoint{Interval: 5 * time.Second, Mode: spec.Unaligned, Timeout: time.Minute, Retained: 1}, cp, "the interval kept")
	res, page := c.do("GET", "/?job="+jid, "", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Regexp(t, `data-testid="control-checkpoint" data-interval="5s"`, string(page))
	assert.Contains(t, string(page), `<option value="unaligned" selected>unaligned, every 5s</option>`, "the page shows the job's setting")

	status, data = c.patch(jid, `{"checkpoint": {"off": true}}`)
	require.Equal(t, http.StatusOK, status, string(data))
	cp, sets := j.set()
	assert.Nil(t, cp)
	assert.Equal(t, 3, sets)
	assert.NotContains(t, config(), "checkpoint.interval")
	_, page = c.do("GET", "/?job="+jid, "", nil)
	assert.Contains(t, string(page), `<option value="off" selected>off</option>`)
	assert.Contains(t, string(page), `data-interval="5s"`, "the interval offered")

	for change, want := range map[string]string{
		`{"checkpoint": {"interval": "soon"}}`:                  `checkpoint.interval "soon" is not a duration like 5s or 500ms`,
		`{"checkpoint": {"interval": "5s", "timeout": "1"}}`:    `checkpoint.timeout "1" is not a duration like 5s or 500ms`,
		`{"checkpoint": {"interval": "5s", "mode": "exactly"}}`: `checkpoint.mode: want aligned or unaligned, got "exactly"`,
		`{"checkpoint": {"mode": "unaligned"}}`:                 `turning them on needs an interval`,
		`{"checkpoint": {"off": true, "interval": "1s"}}`:       `checkpoint: off takes no interval, mode, timeout, aligned-timeout or retained`,
		`{"checkpoint": {"interval": "1s", "every": "2s"}}`:     `unknown field "every"`,
		`{"checkpoint": 5}`:                                     `the change is not valid: checkpoint: want an object, got number`,
		`{"checkpoint": {"interval": "1s", "retained": "3"}}`:   `checkpoint.retained: want a whole number, got string`,
	} {
		status, data := c.patch(jid, change)
		assert.Equal(t, http.StatusBadRequest, status, change)
		assert.Contains(t, strings.Join(errorsOf(t, data), "\n"), want, change)
	}
	_, sets = j.set()
	assert.Equal(t, 3, sets, "nothing refused reached the job")
}

// The keyed state of a task's subtasks: text as it is, bytes in hex, long
// values cut; a task without keyed state has subtasks without keys.
func TestServer_JobState(t *testing.T) {
	eng, c := newCPServer(t)
	jid := c.start(testSpec)
	j := eng.last()
	long := strings.Repeat("é", 200) // 400 bytes
	j.mu.Lock()
	j.state["sink"] = []runtime.SubtaskState{
		{Subtask: 0, StateView: runtime.StateView{Keys: 3, Bytes: 1234, Entries: []runtime.StateEntry{
			{Key: []byte("user-1/count"), Value: []byte("42")},
			{Key: []byte("user-2/count"), Value: []byte{0x2a, 0, 0, 0, 0, 0, 0, 0}},
			{Key: []byte("user-3/name"), Value: []byte(long)},
		}}},
		{Subtask: 1},
	}
	j.state["source"] = []runtime.SubtaskState{{Subtask: 0}, {Subtask: 1}}
	j.mu.Unlock()

	type body struct {
		Task     string
		Subtasks []struct {
			Subtask, Keys int
			Bytes         int64
			Entries       []struct{ Key, Value string }
		}
	}
	var b body
	require.Equal(t, http.StatusOK, c.getJSON("/api/jobs/"+jid+"/state?task=sink", &b))
	assert.Equal(t, "sink", b.Task)
	require.Len(t, b.Subtasks, 2)
	s0 := b.Subtasks[0]
	assert.Equal(t, 3, s0.Keys)
	assert.Equal(t, int64(1234), s0.Bytes)
	require.Len(t, s0.Entries, 3)
	assert.Equal(t, "user-1/count", s0.Entries[0].Key)
	assert.Equal(t, "42", s0.Entries[0].Value)
	assert.Equal(t, "0x2a00000000000000", s0.Entries[1].Value)
	assert.Equal(t, strings.Repeat("é", 128)+"… (400 bytes)", s0.Entries[2].Value)
	assert.NotNil(t, b.Subtasks[1].Entries)
	assert.Empty(t, b.Subtasks[1].Entries)

	res, data := c.do("GET", "/api/jobs/"+jid+"/state?task=source", "", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.JSONEq(t, `{"task": "source", "subtasks": [{"subtask": 0, "keys": 0, "bytes": 0, "entries": []}, {"subtask": 1, "keys": 0, "bytes": 0, "entries": []}]}`, string(data))

	b = body{}
	require.Equal(t, http.StatusOK, c.getJSON("/api/jobs/"+jid+"/state?task=sink&limit=1", &b))
	assert.Len(t, b.Subtasks[0].Entries, 1)

	for path, want := range map[string]struct {
		status int
		msg    string
	}{
		"?task=nope":           {http.StatusNotFound, `no task "nope" in job "test" (tasks: source, sink)`},
		"":                     {http.StatusBadRequest, `task: name a task of job "test" (tasks: source, sink)`},
		"?task=sink&limit=101": {http.StatusBadRequest, `limit="101": want a whole number of entries from 0 to 100`},
		"?task=sink&limit=x":   {http.StatusBadRequest, `limit="x"`},
	} {
		res, data := c.do("GET", "/api/jobs/"+jid+"/state"+path, "", nil)
		assert.Equal(t, want.status, res.StatusCode, path)
		assert.Contains(t, errorsOf(t, data)[0], want.msg, path)
	}
	res, _ = c.do("GET", "/api/jobs/0123/state?task=sink", "", nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
}

func TestStateText(t *testing.T) {
	for in, want := range map[string]string{
		"":                             "",
		"user-1/count":                 "user-1/count",
		"tab\there":                    "0x7461620968657265",
		"\xff":                         "0xff",
		"naïve ✓":                      "naïve ✓",
		strings.Repeat("a", 256):       strings.Repeat("a", 256),
		strings.Repeat("a", 257):       strings.Repeat("a", 256) + "… (257 bytes)",
		"x" + strings.Repeat("é", 200): "x" + strings.Repeat("é", 127) + "… (401 bytes)", // not cut mid-rune
	} {
		assert.Equal(t, want, stateText([]byte(in)), "%q", in)
	}
	bin := slices.Repeat([]byte{0}, 300)
	assert.Equal(t, "0x"+strings.Repeat("00", 256)+"… (300 bytes)", stateText(bin))
}

// The real runtime behind the endpoints: a job with checkpoints answers
// with completed ones, and Flink's job-level checkpoint gauges count them.
func TestServer_Checkpoints_Runtime(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithDefaultExample(""))
	c := newClient(t, srv)
	jid := c.start("checkpoint: {interval: 50ms}\n" + testSpec)
	var stats struct {
		Counts  struct{ Completed int }
		History []struct {
			ID     int64
			Status string
		}
	}
	require.Eventually(t, func() bool {
		c.getJSON("/jobs/"+jid+"/checkpoints", &stats)
		return stats.Counts.Completed >= 2
	}, 20*time.Second, 20*time.Millisecond)
	require.NotEmpty(t, stats.History)
	var values []struct{ ID, Value string }
	c.getJSON("/jobs/"+jid+"/metrics?get=numberOfCompletedCheckpoints,lastCheckpointDuration", &values)
	require.Len(t, values, 2)
	n, err := strconv.Atoi(values[0].Value)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, n, 2)
	d, err := strconv.ParseInt(values[1].Value, 10, 64)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, d, int64(0))
	var state struct {
		Task     string
		Subtasks []struct{ Subtask, Keys int }
	}
	c.getJSON("/api/jobs/"+jid+"/state?task=sink", &state)
	assert.Equal(t, "sink", state.Task)
	assert.Len(t, state.Subtasks, 1)
}
