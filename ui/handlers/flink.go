package handlers

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
)

// The endpoints Flink's REST API has, in Flink's shapes.

// flinkVersion is the version of Flink whose REST API these endpoints
// follow (rest_v1_dispatcher.yml of Flink 1.19 and 1.20).
const flinkVersion = "1.19.0"

// Flink's execution states (of a vertex and a subtask) and job statuses, in
// Flink's order: maps keyed by them list every one, as Flink's do.
var (
	executionStates = []string{"CREATED", "SCHEDULED", "DEPLOYING", "RUNNING", "FINISHED", "CANCELING", "CANCELED",
		"FAILED", "RECONCILING", "INITIALIZING"}
	jobStatuses = []string{"INITIALIZING", "CREATED", "RUNNING", "FAILING", "FAILED", "CANCELLING", "CANCELED",
		"FINISHED", "RESTARTING", "SUSPENDED", "RECONCILING"}
)

// sessionJobs is the jobs of a request's session, oldest first, then
// those of the clusters it sees, oldest first.
func (s *Server) sessionJobs(r *http.Request) []*job {
	sess := s.lookup(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	var jobs []*job
	if sess != nil {
		jobs = slices.Clone(sess.jobs)
	}
	attached := s.clusterJobsLocked(sess)
	slices.Reverse(attached)
	return append(jobs, attached...)
}

// flinkJobs is GET /jobs: the session's jobs.
func (s *Server) flinkJobs(w http.ResponseWriter, r *http.Request) {
	type jobStatus struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	list := []jobStatus{}
	for _, j := range s.sessionJobs(r) {
		list = append(list, jobStatus{j.id, j.rt.Snapshot().State})
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": list})
}

// flinkOverview is GET /overview, Flink's ClusterOverviewWithVersion: the
// session's jobs by state. Flowlab has no task managers or slots: 0.
func (s *Server) flinkOverview(w http.ResponseWriter, r *http.Request) {
	counts := map[string]int{}
	for _, j := range s.sessionJobs(r) {
		counts[j.rt.Snapshot().State]++
	}
	running := counts[metrics.StateCreated] + counts[metrics.StateRunning] + counts[metrics.StateRestarting]
	writeJSON(w, http.StatusOK, map[string]any{
		"taskmanagers": 0, "taskmanagers-blocked": 0, "slots-total": 0, "slots-available": 0, "slots-free-and-blocked": 0,
		"jobs-running": running, "jobs-finished": counts[metrics.StateFinished],
		"jobs-cancelled": counts[metrics.StateCanceled], "jobs-failed": counts[metrics.StateFailed],
		"flink-version": flinkVersion, "flink-commit": "flowlab",
	})
}

// flinkConfig is GET /config, Flink's DashboardConfiguration.
func (s *Server) flinkConfig(w http.ResponseWriter, r *http.Request) {
	name, offset := time.Now().Zone()
	writeJSON(w, http.StatusOK, map[string]any{
		"refresh-interval": 1000, "timezone-name": name, "timezone-offset": offset * 1000,
		"flink-version": flinkVersion, "flink-revision": "flowlab",
		// Cancel through PATCH /jobs/{jid}; jobs are submitted and rescaled
		// through /api, not Flink's endpoints; there is no history server.
		"features": map[string]bool{"web-submit": false, "web-cancel": true, "web-rescale": false, "web-history": false},
	})
}

// times are a job's start and end (-1 while it runs) and its duration so
// far, in ms, as Flink's job details give them.
func times(j *job, snap *metrics.Job) (start, end, duration int64) {
	start, end = j.started.UnixMilli(), -1
	if metrics.Terminal(snap.State) {
		end = snap.Timestamp // the last snapshot is published as the job ends
	}
	return start, end, max(snap.Timestamp-start, 0)
}

// attemptTimes are the start of the subtasks of the job's current attempt
// (-1 before it starts), their end (-1 while running) and duration.
func attemptTimes(snap *metrics.Job) (start, end, duration int64) {
	start, end, duration = -1, -1, -1
	if snap.Since > 0 {
		start = snap.Since
		if metrics.Terminal(snap.State) {
			end = snap.Timestamp
		}
		duration = max(snap.Timestamp-start, 0)
	}
	return start, end, duration
}

// stateCounts maps every one of Flink's names to 0 but name, which gets n.
func stateCounts(names []string, name string, n int) map[string]int {
	m := make(map[string]int, len(names))
	for _, s := range names {
		m[s] = 0
	}
	m[name] += n
	return m
}

// ioMetrics is Flink's IOMetricsInfo: the records and bytes a vertex or
// subtask read and wrote, and the ms it spent busy, backpressured and idle
// since it started. Flowlab counts them all: complete.
type ioMetrics struct {
	ReadBytes            int64         `json:"read-bytes"`
	ReadBytesComplete    bool          `json:"read-bytes-complete"`
	WriteBytes           int64         `json:"write-bytes"`
	WriteBytesComplete   bool          `json:"write-bytes-complete"`
	ReadRecords          int64         `json:"read-records"`
	ReadRecordsComplete  bool          `json:"read-records-complete"`
	WriteRecords         int64         `json:"write-records"`
	WriteRecordsComplete bool          `json:"write-records-complete"`
	AccBackPressuredTime int64         `json:"accumulated-backpressured-time"`
	AccIdleTime          int64         `json:"accumulated-idle-time"`
	AccBusyTime          metrics.Float `json:"accumulated-busy-time"` // null where Flink writes "NaN" (a legacy source)
}

func vertexIO(m *metrics.VertexMetrics) ioMetrics {
	return ioMetrics{
		ReadBytes: m.NumBytesIn, WriteBytes: m.NumBytesOut, ReadRecords: m.NumRecordsIn, WriteRecords: m.NumRecordsOut,
		ReadBytesComplete: true, WriteBytesComplete: true, ReadRecordsComplete: true, WriteRecordsComplete: true,
		AccBackPressuredTime: m.AccumulatedBackPressuredTime, AccIdleTime: m.AccumulatedIdleTime, AccBusyTime: m.AccumulatedBusyTime,
	}
}

func subtaskIO(st *metrics.Subtask) ioMetrics {
	return ioMetrics{
		ReadBytes: st.NumBytesIn, WriteBytes: st.NumBytesOut, ReadRecords: st.NumRecordsIn, WriteRecords: st.NumRecordsOut,
		ReadBytesComplete: true, WriteBytesComplete: true, ReadRecordsComplete: true, WriteRecordsComplete: true,
		AccBackPressuredTime: st.AccumulatedBackPressuredTime, AccIdleTime: st.AccumulatedIdleTime, AccBusyTime: st.AccumulatedBusyTime,
	}
}

// vertexMetrics is a vertex's metrics in GET /jobs/{jid}: Flowlab's
// (the max of the time metrics, sums of counts and rates) and Flink's
// IOMetricsInfo, side by side.
type vertexMetrics struct {
	metrics.VertexMetrics
	ioMetrics
}

// flinkVertex is a vertex of GET /jobs/{jid}: Flink's JobDetailsVertexInfo
// and what a Flowlab graph node shows.
type flinkVertex struct {
	ID             string         `json:"id"`
	Name           string         `json:"name"`
	Operator       string         `json:"operator"`
	Parallelism    int            `json:"parallelism"`
	MaxParallelism int            `json:"maxParallelism"`
	Status         string         `json:"status"`
	StartTime      int64          `json:"start-time"`
	EndTime        int64          `json:"end-time"`
	Duration       int64          `json:"duration"`
	Tasks          map[string]int `json:"tasks"`
	Busy           metrics.Float  `json:"busy"`
	BackPressure   metrics.Float  `json:"backPressured"`
	DataSkew       float64        `json:"dataSkew"`
	Colors         metrics.Colors `json:"colors"`
	Level          string         `json:"backpressure-level"`
	Metrics        vertexMetrics  `json:"metrics"`
	// End-to-end latency of the records the task took in over the metrics
	// window (ms); null for a source or when none came in.
	Latency *metrics.Latency `json:"latency"`
}

// jobSnapshot finds the request's job and its latest snapshot, or answers 404.
func (s *Server) jobSnapshot(w http.ResponseWriter, r *http.Request) (*job, *metrics.Job) {
	j := s.visibleJob(r, r.PathValue("jid"))
	if j == nil {
		writeErrors(w, http.StatusNotFound, "no such job")
		return nil, nil
	}
	return j, j.rt.Snapshot()
}

// flinkJob is GET /jobs/{jid}: Flink's JobDetailsInfo, and what the
// playground shows of the job.
func (s *Server) flinkJob(w http.ResponseWriter, r *http.Request) {
	j, snap := s.jobSnapshot(w, r)
	if j == nil {
		return
	}
	vstart, vend, vduration := attemptTimes(snap)
	vertices := make([]flinkVertex, len(snap.Vertices))
	statusCounts := stateCounts(executionStates, "", 0)
	for i, v := range snap.Vertices {
		status := vertexStatus(snap.State)
		statusCounts[status]++
		vertices[i] = flinkVertex{
			ID: v.ID, Name: v.Name, Operator: v.Operator, Parallelism: v.Parallelism, MaxParallelism: spec.MaxParallelism,
			Status: status, StartTime: vstart, EndTime: vend, Duration: vduration,
			Tasks: stateCounts(executionStates, status, v.Parallelism),
			Busy:  v.Busy, BackPressure: v.BackPressure, DataSkew: v.DataSkew, Colors: v.Colors,
			Level: v.Backpressure.Level, Metrics: vertexMetrics{v.Metrics, vertexIO(&v.Metrics)},
			Latency: v.Latency,
		}
	}
	delete(statusCounts, "")
	start, end, duration := times(j, snap)
	writeJSON(w, http.StatusOK, map[string]any{
		"jid": j.id, "id": j.id, "name": snap.Name, "state": snap.State, "isStoppable": false,
		"start-time": start, "end-time": end, "duration": duration, "now": snap.Timestamp,
		"maxParallelism": -1, // Flink's for a job that sets none: each vertex has its own
		"timestamps":     statusTimestamps(j, snap), "status-counts": statusCounts, "plan": plan(j, snap),
		"failure": snap.Failure, "restarts": snap.Restarts, "paused": snap.Paused, "windowMs": snap.WindowMs,
		"vertices": vertices, "edges": snap.Edges,
	})
}

// statusTimestamps is when the job last reached each of Flink's job
// statuses, 0 for those it has not: CREATED and INITIALIZING when it was
// started, RUNNING when its current attempt started, RESTARTING at its last
// failure (or, for a restart that was asked for, when the attempt started),
// and its final status (and FAILING or CANCELLING) when it ended.
func statusTimestamps(j *job, snap *metrics.Job) map[string]int64 {
	ts := make(map[string]int64, len(jobStatuses))
	for _, st := range jobStatuses {
		ts[st] = 0
	}
	start, end, _ := times(j, snap)
	ts["INITIALIZING"], ts["CREATED"] = start, start
	if snap.Since > 0 {
		ts[metrics.StateRunning] = snap.Since
	}
	if snap.Restarts > 0 || snap.State == metrics.StateRestarting {
		ts[metrics.StateRestarting] = snap.Since
		if f := j.rt.Failures(); len(f) > 0 {
			ts[metrics.StateRestarting] = f[len(f)-1].Time.UnixMilli()
		}
	}
	switch snap.State {
	case metrics.StateFailed:
		ts["FAILING"], ts[metrics.StateFailed] = end, end
	case metrics.StateCanceled:
		ts["CANCELLING"], ts[metrics.StateCanceled] = end, end
	case metrics.StateFinished:
		ts[metrics.StateFinished] = end
	}
	return ts
}

// plan is the job's dataflow plan as Flink's JsonPlanGenerator writes it:
// a node per vertex, each with its inputs and how they are partitioned.
func plan(j *job, snap *metrics.Job) map[string]any {
	type input struct {
		Num          int    `json:"num"`
		ID           string `json:"id"`
		ShipStrategy string `json:"ship_strategy"`
		Exchange     string `json:"exchange"`
	}
	type node struct {
		ID                  string         `json:"id"`
		Parallelism         int            `json:"parallelism"`
		Operator            string         `json:"operator"`
		OperatorStrategy    string         `json:"operator_strategy"`
		Description         string         `json:"description"`
		Inputs              []input        `json:"inputs,omitempty"`
		OptimizerProperties map[string]any `json:"optimizer_properties"`
	}
	nodes := make([]node, len(snap.Vertices))
	for i, v := range snap.Vertices {
		nodes[i] = node{ID: v.ID, Parallelism: v.Parallelism, Operator: v.Operator, OperatorStrategy: "(none)",
			Description: v.Name, OptimizerProperties: map[string]any{}}
		for _, e := range snap.Edges {
			if e.Target == v.ID {
				nodes[i].Inputs = append(nodes[i].Inputs, input{Num: len(nodes[i].Inputs), ID: e.Source,
					ShipStrategy: strings.ToUpper(e.Partitioning), Exchange: "pipelined_bounded"})
			}
		}
	}
	return map[string]any{"jid": j.id, "name": snap.Name, "type": "STREAMING", "nodes": nodes}
}

// flinkPlan is GET /jobs/{jid}/plan, Flink's JobPlanInfo.
func (s *Server) flinkPlan(w http.ResponseWriter, r *http.Request) {
	if j, snap := s.jobSnapshot(w, r); j != nil {
		writeJSON(w, http.StatusOK, map[string]any{"plan": plan(j, snap)})
	}
}

// flinkJobsOverview is GET /jobs/overview, Flink's MultipleJobsDetails:
// each job of the session with its subtasks counted by execution state.
func (s *Server) flinkJobsOverview(w http.ResponseWriter, r *http.Request) {
	type details struct {
		JID              string         `json:"jid"`
		Name             string         `json:"name"`
		State            string         `json:"state"`
		StartTime        int64          `json:"start-time"`
		EndTime          int64          `json:"end-time"`
		Duration         int64          `json:"duration"`
		LastModification int64          `json:"last-modification"`
		Tasks            map[string]int `json:"tasks"`
	}
	list := []details{}
	for _, j := range slices.Backward(s.sessionJobs(r)) { // newest first, as Flink lists them
		snap := j.rt.Snapshot()
		start, end, duration := times(j, snap)
		tasks := map[string]int{"total": 0}
		for _, st := range executionStates {
			tasks[strings.ToLower(st)] = 0
		}
		for _, v := range snap.Vertices {
			tasks["total"] += v.Parallelism
			tasks[strings.ToLower(vertexStatus(snap.State))] += v.Parallelism
		}
		list = append(list, details{JID: j.id, Name: snap.Name, State: snap.State, StartTime: start, EndTime: end,
			Duration: duration, LastModification: max(start, snap.Since, end), Tasks: tasks})
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": list})
}

// flinkJobConfig is GET /jobs/{jid}/config, Flink's JobConfigInfo: the
// spec's job-wide settings as user-config.
func (s *Server) flinkJobConfig(w http.ResponseWriter, r *http.Request) {
	j, snap := s.jobSnapshot(w, r)
	if j == nil {
		return
	}
	if j.cluster != nil { // Flowlab knows only what the cluster's metrics say
		writeErrors(w, http.StatusNotFound, fmt.Sprintf("the config of a job of an attached cluster is the cluster's: GET %s/jobs/%s/config",
			j.cluster.c.Status().URL, j.id))
		return
	}
	sp := j.rt.Spec()
	restart := "Restart deactivated."
	if rs := sp.Restart; rs.Strategy == spec.FixedDelay {
		restart = fmt.Sprintf("Restart with fixed delay (%v). #%d restart attempts.", rs.Delay, rs.Attempts)
	}
	n := sp.Network
	user := map[string]string{
		"metrics.window": sp.Metrics.Window.String(), "metrics.tick": sp.Metrics.Tick.String(),
		"network.buffer-size": strconv.Itoa(n.BufferSize), "network.buffers-per-channel": strconv.Itoa(n.BuffersPerChannel),
		"network.floating-buffers-per-gate": strconv.Itoa(n.FloatingBuffersPerGate), "network.buffer-timeout": n.BufferTimeout.String(),
		"restart.strategy": sp.Restart.Strategy, "restart.attempts": strconv.Itoa(sp.Restart.Attempts), "restart.delay": sp.Restart.Delay.String(),
	}
	if d := n.BufferDebloat; d != nil {
		user["network.buffer-debloat.target"], user["network.buffer-debloat.period"] = d.Target.String(), d.Period.String()
	}
	if c := sp.Checkpoint; c != nil {
		user["checkpoint.interval"], user["checkpoint.mode"], user["checkpoint.timeout"] = c.Interval.String(), c.Mode, c.Timeout.String()
		user["checkpoint.aligned-timeout"], user["checkpoint.retained"] = c.AlignedTimeout.String(), strconv.Itoa(c.Retained)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"jid": j.id, "name": snap.Name,
		"execution-config": map[string]any{
			"execution-mode": "PIPELINED", "restart-strategy": restart, "object-reuse-mode": false,
			"job-parallelism": 1,    // a task's parallelism when its spec gives none
			"user-config":     user, // buffer-debloat's and checkpoint's only when they are on
		},
	})
}

// flinkExceptions is GET /jobs/{jid}/exceptions[?maxExceptions=N], Flink's
// JobExceptionsInfoWithHistory: the job's failures, newest first, each one
// the root of its restart (Flowlab keeps only the failure that caused it).
func (s *Server) flinkExceptions(w http.ResponseWriter, r *http.Request) {
	j, snap := s.jobSnapshot(w, r)
	if j == nil {
		return
	}
	limit := 20 // Flink's web UI asks for 10; its handler's default is 20
	if v := r.URL.Query().Get("maxExceptions"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeErrors(w, http.StatusBadRequest, fmt.Sprintf("maxExceptions: want a non-negative integer, got %q", v))
			return
		}
		limit = n
	}
	type rootException struct {
		ExceptionName        string            `json:"exceptionName"`
		Stacktrace           string            `json:"stacktrace"`
		Timestamp            int64             `json:"timestamp"`
		TaskName             *string           `json:"taskName"`
		Location             *string           `json:"location"`
		TaskManagerID        *string           `json:"taskManagerId"`
		FailureLabels        map[string]string `json:"failureLabels"`
		ConcurrentExceptions []any             `json:"concurrentExceptions"`
	}
	type executionException struct {
		Exception     string `json:"exception"`
		Task          string `json:"task"`
		Location      string `json:"location"`
		Timestamp     int64  `json:"timestamp"`
		TaskManagerID string `json:"taskManagerId"`
	}
	parallelism := map[string]int{}
	for _, v := range snap.Vertices {
		parallelism[v.Name] = v.Parallelism
	}
	failures := j.rt.Failures()
	entries, all := []rootException{}, []executionException{}
	for _, f := range slices.Backward(failures) {
		if len(entries) == limit {
			break
		}
		e := rootException{ExceptionName: "flowlab.JobFailure", Timestamp: f.Time.UnixMilli(),
			FailureLabels: map[string]string{}, ConcurrentExceptions: []any{}}
		if f.Subtask >= 0 {
			e.ExceptionName = "flowlab.OperatorFailure"
			task := fmt.Sprintf("%s (%d/%d)", f.Task, f.Subtask+1, max(parallelism[f.Task], f.Subtask+1))
			location, tm := "localhost", "flowlab"
			e.TaskName, e.Location, e.TaskManagerID = &task, &location, &tm
			all = append(all, executionException{Exception: e.ExceptionName + ": " + f.Message, Task: task,
				Location: location, Timestamp: e.Timestamp, TaskManagerID: tm})
		}
		e.Stacktrace = e.ExceptionName + ": " + f.Message
		entries = append(entries, e)
	}
	truncated := len(entries) < len(failures)
	body := map[string]any{
		"root-exception": nil, "timestamp": nil, "all-exceptions": all, "truncated": truncated,
		"exceptionHistory": map[string]any{"entries": entries, "truncated": truncated},
	}
	if len(failures) > 0 {
		last := failures[len(failures)-1]
		body["root-exception"] = "flowlab.JobFailure: " + last.Message
		if last.Subtask >= 0 {
			body["root-exception"] = "flowlab.OperatorFailure: " + last.Message
		}
		body["timestamp"] = last.Time.UnixMilli()
	}
	writeJSON(w, http.StatusOK, body)
}

// vertexStatus is a vertex's status in a job of the given state: Flink's
// execution states are the job's, but for CREATED and RESTARTING.
func vertexStatus(state string) string {
	switch state {
	case metrics.StateCreated, metrics.StateRestarting:
		return "SCHEDULED"
	}
	return state
}

// vertex finds a vertex of a job's latest snapshot by id, or by name, or
// answers 404.
func (s *Server) vertex(w http.ResponseWriter, r *http.Request) (*job, *metrics.Job, *metrics.Vertex) {
	j, snap := s.jobSnapshot(w, r)
	if j == nil {
		return nil, nil, nil
	}
	vid := r.PathValue("vid")
	for i := range snap.Vertices {
		if v := &snap.Vertices[i]; v.ID == vid || v.Name == vid {
			return j, snap, v
		}
	}
	writeErrors(w, http.StatusNotFound, "no such vertex")
	return nil, nil, nil
}

// flinkBackpressure is GET /jobs/{jid}/vertices/{vid}/backpressure, exactly Flink's.
func (s *Server) flinkBackpressure(w http.ResponseWriter, r *http.Request) {
	if _, _, v := s.vertex(w, r); v != nil {
		writeJSON(w, http.StatusOK, v.Backpressure)
	}
}

// flinkCancel is PATCH /jobs/{jid}?mode=cancel, Flink's cancel: it answers
// 202 {} at once, and the job ends in the state CANCELED. As in Flink, mode
// is case-insensitive and defaults to cancel, and a job that already ended
// otherwise (FINISHED, FAILED) answers 409.
func (s *Server) flinkCancel(w http.ResponseWriter, r *http.Request) {
	j, snap := s.jobSnapshot(w, r)
	if j == nil {
		return
	}
	if mode := r.URL.Query().Get("mode"); !strings.EqualFold(mode, "cancel") && mode != "" {
		writeErrors(w, http.StatusBadRequest, fmt.Sprintf("mode %q is not supported: use mode=cancel", mode))
		return
	}
	if j.cluster != nil {
		writeError(w, http.StatusForbidden, errReadOnly)
		return
	}
	if metrics.Terminal(snap.State) && snap.State != metrics.StateCanceled {
		writeErrors(w, http.StatusConflict, fmt.Sprintf(
			"Job cancellation failed because the job has already reached another terminal state (%s).", snap.State))
		return
	}
	j.rt.Cancel()
	writeJSON(w, http.StatusAccepted, struct{}{})
}
