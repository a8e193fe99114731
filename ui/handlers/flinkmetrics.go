package handlers

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
)

// The vertex and metric endpoints of Flink's REST API, in Flink's shapes.

// flinkVertexDetails is GET /jobs/{jid}/vertices/{vid}, Flink's
// JobVertexDetailsInfo: the vertex, each subtask's current attempt, and
// their IO metrics aggregated.
func (s *Server) flinkVertexDetails(w http.ResponseWriter, r *http.Request) {
	_, snap, v := s.vertex(w, r)
	if v == nil {
		return
	}
	type subtaskDetails struct {
		Subtask        int              `json:"subtask"`
		Status         string           `json:"status"`
		Attempt        int              `json:"attempt"`
		Host           string           `json:"host"`
		Endpoint       string           `json:"endpoint"`
		StartTime      int64            `json:"start-time"`
		EndTime        int64            `json:"end-time"`
		Duration       int64            `json:"duration"`
		Metrics        ioMetrics        `json:"metrics"`
		TaskManagerID  string           `json:"taskmanager-id"`
		StatusDuration map[string]int64 `json:"status-duration"`
	}
	status := vertexStatus(snap.State)
	start, end, duration := attemptTimes(snap)
	subtasks := make([]subtaskDetails, len(v.Subtasks))
	ios := make([]ioMetrics, len(v.Subtasks))
	for i := range v.Subtasks {
		st := &v.Subtasks[i]
		ios[i] = subtaskIO(st)
		subtasks[i] = subtaskDetails{
			Subtask: st.Subtask, Status: status, Attempt: st.Attempt, Host: "localhost", Endpoint: "localhost",
			StartTime: start, EndTime: end, Duration: duration, Metrics: ios[i], TaskManagerID: "flowlab",
			StatusDuration: statusDurations(status, duration),
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": v.ID, "name": v.Name, "parallelism": v.Parallelism, "maxParallelism": spec.MaxParallelism,
		"now": snap.Timestamp, "subtasks": subtasks,
		"aggregated": map[string]any{
			"metrics": aggregateIO(ios),
			"status-duration": func() map[string]map[string]int64 {
				m := map[string]map[string]int64{}
				for _, st := range []string{"CREATED", "SCHEDULED", "DEPLOYING", "INITIALIZING", "RUNNING"} {
					d := statusDurations(status, duration)[st]
					m[st] = map[string]int64{"min": d, "max": d, "avg": d, "sum": d * int64(len(subtasks)),
						"median": d, "p25": d, "p75": d, "p95": d}
				}
				return m
			}(),
		},
	})
}

// statusDurations is how long a subtask has been in each state Flink times:
// Flowlab's subtasks start running at once, so all of it is RUNNING.
func statusDurations(status string, duration int64) map[string]int64 {
	m := map[string]int64{"CREATED": 0, "SCHEDULED": 0, "DEPLOYING": 0, "INITIALIZING": 0, "RUNNING": 0}
	if status == metrics.StateRunning {
		m["RUNNING"] = max(duration, 0)
	}
	return m
}

// aggregateIO folds the subtasks' IO metrics as Flink's
// AggregatedTaskDetailsInfo does: min, max, avg, sum and percentiles of
// each, in whole numbers. Unknown values (a legacy source's busy time) are
// left out.
func aggregateIO(ios []ioMetrics) map[string]map[string]int64 {
	fields := map[string]func(*ioMetrics) float64{
		"read-bytes":                     func(m *ioMetrics) float64 { return float64(m.ReadBytes) },
		"write-bytes":                    func(m *ioMetrics) float64 { return float64(m.WriteBytes) },
		"read-records":                   func(m *ioMetrics) float64 { return float64(m.ReadRecords) },
		"write-records":                  func(m *ioMetrics) float64 { return float64(m.WriteRecords) },
		"accumulated-backpressured-time": func(m *ioMetrics) float64 { return float64(m.AccBackPressuredTime) },
		"accumulated-idle-time":          func(m *ioMetrics) float64 { return float64(m.AccIdleTime) },
		"accumulated-busy-time":          func(m *ioMetrics) float64 { return float64(m.AccBusyTime) },
	}
	out := map[string]map[string]int64{}
	for name, get := range fields {
		var xs []float64
		for i := range ios {
			if x := get(&ios[i]); !math.IsNaN(x) {
				xs = append(xs, x)
			}
		}
		slices.Sort(xs)
		agg := map[string]int64{"min": 0, "max": 0, "avg": 0, "sum": 0, "median": 0, "p25": 0, "p75": 0, "p95": 0}
		if len(xs) > 0 {
			sum := 0.0
			for _, x := range xs {
				sum += x
			}
			q := func(p float64) int64 { return int64(xs[int(math.Ceil(p*float64(len(xs))))-1]) } // nearest rank
			agg = map[string]int64{"min": int64(xs[0]), "max": int64(xs[len(xs)-1]), "avg": int64(sum / float64(len(xs))),
				"sum": int64(sum), "median": q(0.5), "p25": q(0.25), "p75": q(0.75), "p95": q(0.95)}
		}
		out[name] = agg
	}
	return out
}

// flinkSubtaskTimes is GET /jobs/{jid}/vertices/{vid}/subtasktimes,
// Flink's SubtasksTimesInfo: when each subtask reached each execution
// state (0 for those it has not) and how long it has run.
func (s *Server) flinkSubtaskTimes(w http.ResponseWriter, r *http.Request) {
	_, snap, v := s.vertex(w, r)
	if v == nil {
		return
	}
	type subtaskTimes struct {
		Subtask    int              `json:"subtask"`
		Host       string           `json:"host"`
		Endpoint   string           `json:"endpoint"`
		Duration   int64            `json:"duration"`
		Timestamps map[string]int64 `json:"timestamps"`
	}
	start, end, duration := attemptTimes(snap)
	status := vertexStatus(snap.State)
	list := make([]subtaskTimes, len(v.Subtasks))
	for i, st := range v.Subtasks {
		ts := map[string]int64{}
		for _, state := range executionStates {
			ts[state] = 0
		}
		if start > 0 {
			for _, state := range []string{"CREATED", "SCHEDULED", "DEPLOYING", "INITIALIZING", "RUNNING"} {
				ts[state] = start
			}
		}
		if end > 0 {
			ts[status] = end
			if status == metrics.StateCanceled {
				ts["CANCELING"] = end
			}
		}
		list[i] = subtaskTimes{Subtask: st.Subtask, Host: "localhost", Endpoint: "localhost", Duration: duration, Timestamps: ts}
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": v.ID, "name": v.Name, "now": snap.Timestamp, "subtasks": list})
}

// flinkWatermarks is GET /jobs/{jid}/vertices/{vid}/watermarks: Flowlab's
// jobs have no watermarks, and Flink answers such a vertex with none.
func (s *Server) flinkWatermarks(w http.ResponseWriter, r *http.Request) {
	if _, _, v := s.vertex(w, r); v != nil {
		writeJSON(w, http.StatusOK, []metric{})
	}
}

// metric is one entry of Flink's MetricCollectionResponseBody: without
// get=, only ids; with it, the value as text, as Flink's metric store keeps it.
type metric struct {
	ID    string  `json:"id"`
	Value *string `json:"value,omitempty"`
}

// metricList answers Flink's metric endpoints from the metrics there are,
// in order: without get=, their ids; with get=a,b, the values of those of
// them that exist (Flink leaves out the others).
func metricList(r *http.Request, ids []string, value func(i int) string) []metric {
	list := []metric{}
	get := r.URL.Query().Get("get")
	if get == "" {
		for _, id := range ids {
			list = append(list, metric{ID: id})
		}
		return list
	}
	for _, name := range strings.Split(get, ",") {
		name = strings.TrimSpace(name)
		if i := slices.Index(ids, name); i >= 0 {
			v := value(i)
			list = append(list, metric{ID: name, Value: &v})
		}
	}
	return list
}

// flinkVertexMetrics is GET /jobs/{jid}/vertices/{vid}/metrics: every
// subtask's metrics, named as Flink names a task's: "0.numRecordsIn".
func (s *Server) flinkVertexMetrics(w http.ResponseWriter, r *http.Request) {
	_, _, v := s.vertex(w, r)
	if v == nil {
		return
	}
	n := len(metrics.SubtaskMetrics)
	ids := make([]string, 0, len(v.Subtasks)*n)
	for _, st := range v.Subtasks {
		for _, m := range metrics.SubtaskMetrics {
			ids = append(ids, strconv.Itoa(st.Subtask)+"."+m.Name)
		}
	}
	writeJSON(w, http.StatusOK, metricList(r, ids, func(i int) string {
		return metrics.SubtaskMetrics[i%n].Text(&v.Subtasks[i/n])
	}))
}

// flinkSubtaskIndexMetrics is GET /jobs/{jid}/vertices/{vid}/subtasks/{i}/metrics:
// one subtask's metrics. A subtask the vertex does not have has none, as in Flink.
func (s *Server) flinkSubtaskIndexMetrics(w http.ResponseWriter, r *http.Request) {
	_, _, v := s.vertex(w, r)
	if v == nil {
		return
	}
	i, err := strconv.Atoi(r.PathValue("i"))
	if err != nil || i < 0 {
		writeErrors(w, http.StatusBadRequest, fmt.Sprintf("subtask index: want a non-negative integer, got %q", r.PathValue("i")))
		return
	}
	if i >= len(v.Subtasks) {
		writeJSON(w, http.StatusOK, []metric{})
		return
	}
	ids := make([]string, len(metrics.SubtaskMetrics))
	for k, m := range metrics.SubtaskMetrics {
		ids[k] = m.Name
	}
	writeJSON(w, http.StatusOK, metricList(r, ids, func(k int) string {
		return metrics.SubtaskMetrics[k].Text(&v.Subtasks[i])
	}))
}

// flinkJobMetrics is GET /jobs/{jid}/metrics: the job's metrics Flowlab
// has, Flink's numRestarts, uptime and downtime (ms; -1 once it has ended).
func (s *Server) flinkJobMetrics(w http.ResponseWriter, r *http.Request) {
	j, snap := s.jobSnapshot(w, r)
	if j == nil {
		return
	}
	uptime, downtime := int64(0), int64(0)
	switch {
	case metrics.Terminal(snap.State):
		uptime, downtime = -1, -1
	case snap.State == metrics.StateRunning && snap.Since > 0:
		uptime = max(snap.Timestamp-snap.Since, 0)
	case snap.State == metrics.StateRestarting:
		if f := j.rt.Failures(); len(f) > 0 {
			downtime = max(snap.Timestamp-f[len(f)-1].Time.UnixMilli(), 0)
		}
	}
	ids := []string{"numRestarts", "uptime", "downtime"}
	values := []int64{int64(snap.Restarts), uptime, downtime}
	if cps := j.rt.Checkpoints(); cps.Enabled {
		// Flink's checkpoint gauges of a job: -1 before the first.
		last := metrics.Checkpoint{EndToEndDuration: -1, CheckpointedSize: -1, StateSize: -1, ProcessedData: -1, PersistedData: -1}
		if cps.LatestCompleted != nil {
			last = *cps.LatestCompleted
		}
		restored := int64(-1)
		if cps.LatestRestored != nil {
			restored = cps.LatestRestored.RestoreTimestamp
		}
		ids = append(ids, "totalNumberOfCheckpoints", "numberOfInProgressCheckpoints", "numberOfCompletedCheckpoints",
			"numberOfFailedCheckpoints", "lastCheckpointDuration", "lastCheckpointSize", "lastCheckpointFullSize",
			"lastCheckpointProcessedData", "lastCheckpointPersistedData", "lastCheckpointRestoreTimestamp")
		values = append(values, int64(cps.Total), int64(cps.InProgress), int64(cps.Completed), int64(cps.Failed),
			last.EndToEndDuration, last.CheckpointedSize, last.StateSize, last.ProcessedData, last.PersistedData, restored)
	}
	writeJSON(w, http.StatusOK, metricList(r, ids, func(i int) string { return strconv.FormatInt(values[i], 10) }))
}

// aggregated is one metric of GET .../subtasks/metrics?get=..., as Flink
// aggregates subtask metrics (AggregatedMetric): numbers, not text.
type aggregated struct {
	ID   string         `json:"id"`
	Min  *metrics.Float `json:"min,omitempty"`
	Max  *metrics.Float `json:"max,omitempty"`
	Avg  *metrics.Float `json:"avg,omitempty"`
	Sum  *metrics.Float `json:"sum,omitempty"`
	Skew *metrics.Float `json:"skew,omitempty"`
}

// flinkSubtaskMetrics is GET /jobs/{jid}/vertices/{vid}/subtasks/metrics:
// without get, the metrics there are; with get=a,b, each aggregated over
// the subtasks (those of subtasks=0-1,3, or all) by min, max, avg, sum and
// skew, or those of agg=max,avg (any case, as Flink's AggregationMode).
func (s *Server) flinkSubtaskMetrics(w http.ResponseWriter, r *http.Request) {
	_, _, v := s.vertex(w, r)
	if v == nil {
		return
	}
	q := r.URL.Query()
	aggs := map[string]bool{"min": true, "max": true, "avg": true, "sum": true, "skew": true}
	if a := q.Get("agg"); a != "" {
		chosen := map[string]bool{}
		for _, name := range strings.Split(a, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if !aggs[name] {
				writeErrors(w, http.StatusBadRequest, fmt.Sprintf("agg: not a valid aggregation: %q (min, max, sum, avg, skew)", name))
				return
			}
			chosen[name] = true
		}
		aggs = chosen
	}
	subtasks := v.Subtasks
	if sel := q.Get("subtasks"); sel != "" {
		set, err := parseRanges(sel)
		if err != nil {
			writeErrors(w, http.StatusBadRequest, "subtasks: "+err.Error())
			return
		}
		subtasks = nil
		for _, st := range v.Subtasks {
			if set[st.Subtask] {
				subtasks = append(subtasks, st)
			}
		}
	}
	get := q.Get("get")
	if get == "" {
		list := []metric{}
		for _, m := range metrics.SubtaskMetrics {
			list = append(list, metric{ID: m.Name})
		}
		writeJSON(w, http.StatusOK, list)
		return
	}
	list := []aggregated{}
	for _, name := range strings.Split(get, ",") {
		for _, m := range metrics.SubtaskMetrics {
			if m.Name == strings.TrimSpace(name) {
				list = append(list, aggregate(m, subtasks, aggs))
			}
		}
	}
	writeJSON(w, http.StatusOK, list)
}

// maxSubtask is the highest subtask index there can be: ranges of
// subtasks= are cut there, so neither "0-2000000000" nor many ranges are a
// loop.
const maxSubtask = spec.MaxParallelism - 1

// parseRanges parses Flink's list of subtask ranges, "1,3,5-9".
func parseRanges(s string) (map[int]bool, error) {
	set := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(strings.TrimSpace(hi))
		}
		if err != nil || a < 0 || b < a {
			return nil, fmt.Errorf("%q is not a subtask index or range (like 0-1,3)", part)
		}
		for i := a; i <= min(b, maxSubtask); i++ {
			set[i] = true
		}
	}
	return set, nil
}

// aggregate folds one metric over the subtasks; NaN values (busy time of a
// legacy source) are left out, and a fold of nothing is null.
func aggregate(m metrics.SubtaskMetric, subtasks []metrics.Subtask, aggs map[string]bool) aggregated {
	var values []float64
	for i := range subtasks {
		if x := m.Get(&subtasks[i]); !math.IsNaN(x) {
			values = append(values, x)
		}
	}
	lo, hi, sum := math.NaN(), math.NaN(), 0.0
	for i, x := range values {
		if i == 0 || x < lo {
			lo = x
		}
		if i == 0 || x > hi {
			hi = x
		}
		sum += x
	}
	avg := math.NaN()
	if len(values) > 0 {
		avg = sum / float64(len(values))
	} else {
		sum = math.NaN()
	}
	skew := metrics.Skew(values)
	a := aggregated{ID: m.Name}
	set := func(name string, dst **metrics.Float, x float64) {
		if aggs[name] {
			f := metrics.Float(x)
			*dst = &f
		}
	}
	set("min", &a.Min, lo)
	set("max", &a.Max, hi)
	set("avg", &a.Avg, avg)
	set("sum", &a.Sum, sum)
	set("skew", &a.Skew, skew)
	return a
}
