package handlers

import (
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"flowlab/runtime/metrics"
)

// Checkpoints in Flink's shapes (rest_v1_dispatcher.yml of Flink 1.19:
// CheckpointingStatistics, CheckpointConfigInfo, CheckpointStatistics,
// TaskCheckpointStatisticsWithSubtaskDetails), read from the runtime's
// metrics.Checkpoints.

// externalPath is what Flink reports as the path of a checkpoint kept by
// the JobManagerCheckpointStorage, as Flowlab's are (in memory).
const externalPath = "<checkpoint-not-externally-addressable>"

// statsSummary is Flink's StatsSummaryDto: min, max and average (whole, as
// Flink's longs) and percentiles of some values. Without values, Flink's
// min, max and avg are 0 and its percentiles NaN, written here as null.
type statsSummary struct {
	Min  int64         `json:"min"`
	Max  int64         `json:"max"`
	Avg  int64         `json:"avg"`
	P50  metrics.Float `json:"p50"`
	P90  metrics.Float `json:"p90"`
	P95  metrics.Float `json:"p95"`
	P99  metrics.Float `json:"p99"`
	P999 metrics.Float `json:"p999"`
}

// summarize is the statsSummary of values.
func summarize(values []int64) statsSummary {
	nan := metrics.Float(math.NaN())
	if len(values) == 0 {
		return statsSummary{P50: nan, P90: nan, P95: nan, P99: nan, P999: nan}
	}
	sorted := slices.Sorted(slices.Values(values))
	var sum int64
	for _, v := range sorted {
		sum += v
	}
	return statsSummary{
		Min: sorted[0], Max: sorted[len(sorted)-1], Avg: sum / int64(len(sorted)),
		P50: quantile(sorted, 0.5), P90: quantile(sorted, 0.9), P95: quantile(sorted, 0.95),
		P99: quantile(sorted, 0.99), P999: quantile(sorted, 0.999),
	}
}

// quantile is the q-quantile (0 < q <= 1) of sorted values, estimated as
// Flink's histogram does (Apache Commons Math's Percentile, its default
// estimation): at position q*(n+1), interpolated between its neighbors,
// and the first or last value beyond them.
func quantile(sorted []int64, q float64) metrics.Float {
	n := len(sorted)
	pos := q * float64(n+1)
	switch {
	case pos < 1:
		return metrics.Float(sorted[0])
	case pos >= float64(n):
		return metrics.Float(sorted[n-1])
	}
	i := int(pos)
	lower, upper := float64(sorted[i-1]), float64(sorted[i])
	return metrics.Float(lower + (pos-float64(i))*(upper-lower))
}

// checkpointStats is Flink's CheckpointStatistics: one checkpoint, with the
// fields of its class (CompletedCheckpointStatistics,
// FailedCheckpointStatistics or PendingCheckpointStatistics). className is
// the name Flink's Jackson type info gives each class.
type checkpointStats struct {
	ClassName          string                         `json:"className"`
	ID                 int64                          `json:"id"`
	Status             string                         `json:"status"`
	IsSavepoint        bool                           `json:"is_savepoint"`
	SavepointFormat    *string                        `json:"savepointFormat"` // null: not a savepoint
	TriggerTimestamp   int64                          `json:"trigger_timestamp"`
	LatestAckTimestamp int64                          `json:"latest_ack_timestamp"` // -1 before any acknowledgement, as Flink's
	CheckpointedSize   int64                          `json:"checkpointed_size"`
	StateSize          int64                          `json:"state_size"`
	EndToEndDuration   int64                          `json:"end_to_end_duration"`
	AlignmentBuffered  int64                          `json:"alignment_buffered"`
	ProcessedData      int64                          `json:"processed_data"`
	PersistedData      int64                          `json:"persisted_data"`
	NumSubtasks        int                            `json:"num_subtasks"`
	NumAcknowledged    int                            `json:"num_acknowledged_subtasks"`
	CheckpointType     string                         `json:"checkpoint_type"` // CHECKPOINT or UNALIGNED_CHECKPOINT
	Tasks              map[string]taskCheckpointStats `json:"tasks"`           // by vertex id

	// CompletedCheckpointStatistics.
	ExternalPath *string `json:"external_path,omitempty"`
	Discarded    *bool   `json:"discarded,omitempty"`
	// FailedCheckpointStatistics.
	FailureTimestamp *int64  `json:"failure_timestamp,omitempty"`
	FailureMessage   *string `json:"failure_message,omitempty"`

	// Flowlab's own: the longest alignment of an acknowledged subtask (ms),
	// which Flink shows only per subtask.
	MaxAlignmentDuration int64 `json:"max_alignment_duration"`
}

// taskCheckpointStats is Flink's TaskCheckpointStatistics: one task's part
// of a checkpoint, summed over its acknowledged subtasks.
type taskCheckpointStats struct {
	ID                 int64  `json:"id"`
	Status             string `json:"status"`
	LatestAckTimestamp int64  `json:"latest_ack_timestamp"` // -1 before any acknowledgement
	CheckpointedSize   int64  `json:"checkpointed_size"`
	StateSize          int64  `json:"state_size"`
	EndToEndDuration   int64  `json:"end_to_end_duration"` // trigger to the latest acknowledgement; -1 before any
	AlignmentBuffered  int64  `json:"alignment_buffered"`
	ProcessedData      int64  `json:"processed_data"`
	PersistedData      int64  `json:"persisted_data"`
	NumSubtasks        int    `json:"num_subtasks"`
	NumAcknowledged    int    `json:"num_acknowledged_subtasks"`
}

// taskStats sums a task's acknowledged subtasks, as Flink's TaskStateStats.
func taskStats(cp *metrics.Checkpoint, t *metrics.TaskCheckpoint) taskCheckpointStats {
	out := taskCheckpointStats{ID: cp.ID, Status: cp.Status, LatestAckTimestamp: -1, EndToEndDuration: -1, NumSubtasks: len(t.Subtasks)}
	for _, st := range t.Subtasks {
		if !st.Acknowledged {
			continue
		}
		out.NumAcknowledged++
		out.LatestAckTimestamp = max(out.LatestAckTimestamp, st.AckTimestamp)
		out.CheckpointedSize += st.CheckpointedSize
		out.StateSize += st.StateSize
		out.ProcessedData += st.ProcessedData
		out.PersistedData += st.PersistedData
	}
	if out.NumAcknowledged > 0 {
		out.EndToEndDuration = max(0, out.LatestAckTimestamp-cp.TriggerTimestamp)
	}
	return out
}

// flinkCheckpoint is a checkpoint as Flink writes it; discarded says that
// a completed one has been subsumed by later ones.
func flinkCheckpoint(cp *metrics.Checkpoint, discarded bool) checkpointStats {
	out := checkpointStats{
		ID: cp.ID, Status: cp.Status, TriggerTimestamp: cp.TriggerTimestamp, LatestAckTimestamp: cp.LatestAckTimestamp,
		CheckpointedSize: cp.CheckpointedSize, StateSize: cp.StateSize, EndToEndDuration: cp.EndToEndDuration,
		AlignmentBuffered: cp.AlignmentBuffered, ProcessedData: cp.ProcessedData, PersistedData: cp.PersistedData,
		NumSubtasks: cp.NumSubtasks, NumAcknowledged: cp.NumAcknowledged, CheckpointType: "CHECKPOINT",
		Tasks: make(map[string]taskCheckpointStats, len(cp.Tasks)),
	}
	if cp.NumAcknowledged == 0 && cp.LatestAckTimestamp == 0 {
		out.LatestAckTimestamp = -1
	}
	if cp.Unaligned {
		out.CheckpointType = "UNALIGNED_CHECKPOINT"
	}
	for i := range cp.Tasks {
		t := &cp.Tasks[i]
		out.Tasks[t.VertexID] = taskStats(cp, t)
	}
	out.MaxAlignmentDuration = cp.MaxAlignment()
	switch cp.Status {
	case metrics.CheckpointCompleted:
		out.ClassName = "completed"
		path := externalPath
		out.ExternalPath, out.Discarded = &path, &discarded
	case metrics.CheckpointFailed:
		out.ClassName = "failed"
		ts, msg := cp.FailureTimestamp, cp.FailureMessage
		out.FailureTimestamp, out.FailureMessage = &ts, &msg
	default:
		out.ClassName = "in_progress"
	}
	return out
}

// checkpointsOf is the job's checkpoint statistics, or nil after answering
// why there are none: a job of an attached cluster (whose checkpoints are
// the cluster's), or one without checkpoints (404, as Flink).
func (s *Server) checkpointsOf(w http.ResponseWriter, r *http.Request) (*job, *metrics.Checkpoints) {
	j := s.visibleJob(r, r.PathValue("jid"))
	switch {
	case j == nil:
		writeErrors(w, http.StatusNotFound, "no such job")
		return nil, nil
	case j.cluster != nil: // Flowlab reads only the cluster's metrics
		writeErrors(w, http.StatusNotFound, fmt.Sprintf("the checkpoints of a job of an attached cluster are the cluster's: GET %s/jobs/%s/checkpoints",
			j.cluster.c.Status().URL, j.id))
		return nil, nil
	}
	cps := j.rt.Checkpoints()
	if cps == nil || !cps.Enabled {
		writeErrors(w, http.StatusNotFound, fmt.Sprintf("Checkpointing is not enabled for this job (%s). "+
			`Turn it on in the spec (checkpoint: {interval: 5s}) or live: PATCH /api/jobs/%s {"checkpoint": {"interval": "5s"}}`, j.id, j.id))
		return nil, nil
	}
	return j, cps
}

// flinkCheckpoints is GET /jobs/{jid}/checkpoints, Flink's
// CheckpointingStatistics: counts, a summary of the completed checkpoints
// in the history, the latest of each kind and the history, newest first.
func (s *Server) flinkCheckpoints(w http.ResponseWriter, r *http.Request) {
	j, cps := s.checkpointsOf(w, r)
	if j == nil {
		return
	}
	retained := max(cps.Config.Retained, 1)
	history := make([]checkpointStats, 0, len(cps.History))
	var size, state, duration, buffered, processed, persisted []int64
	completed := 0
	for i := range cps.History {
		cp := &cps.History[i]
		if cp.Status == metrics.CheckpointCompleted {
			completed++
			size, state, duration = append(size, cp.CheckpointedSize), append(state, cp.StateSize), append(duration, cp.EndToEndDuration)
			buffered, processed, persisted = append(buffered, cp.AlignmentBuffered), append(processed, cp.ProcessedData), append(persisted, cp.PersistedData)
		}
		history = append(history, flinkCheckpoint(cp, completed > retained))
	}
	type restored struct {
		ID               int64  `json:"id"`
		RestoreTimestamp int64  `json:"restore_timestamp"`
		IsSavepoint      bool   `json:"is_savepoint"`
		ExternalPath     string `json:"external_path"`
	}
	latest := struct {
		Completed *checkpointStats `json:"completed"`
		Savepoint *checkpointStats `json:"savepoint"` // Flowlab takes no savepoints
		Failed    *checkpointStats `json:"failed"`
		Restored  *restored        `json:"restored"`
	}{}
	if cp := cps.LatestCompleted; cp != nil {
		c := flinkCheckpoint(cp, false)
		latest.Completed = &c
	}
	if cp := cps.LatestFailed; cp != nil {
		f := flinkCheckpoint(cp, false)
		latest.Failed = &f
	}
	if rc := cps.LatestRestored; rc != nil {
		latest.Restored = &restored{ID: rc.ID, RestoreTimestamp: rc.RestoreTimestamp, ExternalPath: externalPath}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"counts": map[string]int{"restored": cps.Restored, "total": cps.Total, "in_progress": cps.InProgress,
			"completed": cps.Completed, "failed": cps.Failed},
		"summary": map[string]statsSummary{
			"checkpointed_size": summarize(size), "state_size": summarize(state), "end_to_end_duration": summarize(duration),
			"alignment_buffered": summarize(buffered), "processed_data": summarize(processed), "persisted_data": summarize(persisted),
		},
		"latest":  latest,
		"history": history,
	})
}

// flinkCheckpointConfig is GET /jobs/{jid}/checkpoints/config, Flink's
// CheckpointConfigInfo: Flowlab's settings, and Flink's values for what
// Flowlab does not vary (exactly-once, one checkpoint at a time, no pause
// between them, state in memory, no failed checkpoint tolerated).
func (s *Server) flinkCheckpointConfig(w http.ResponseWriter, r *http.Request) {
	j, cps := s.checkpointsOf(w, r)
	if j == nil {
		return
	}
	c := cps.Config
	writeJSON(w, http.StatusOK, map[string]any{
		"mode": "exactly_once", "interval": c.IntervalMs, "timeout": c.TimeoutMs, "min_pause": 0, "max_concurrent": 1,
		"externalization":       map[string]bool{"enabled": false, "delete_on_cancellation": true},
		"state_backend":         "HashMapStateBackend",
		"checkpoint_storage":    "JobManagerCheckpointStorage",
		"unaligned_checkpoints": c.Unaligned, "tolerable_failed_checkpoints": 0,
		"aligned_checkpoint_timeout": c.AlignedTimeoutMs, "checkpoints_after_tasks_finish": true,
		"state_changelog_enabled": false,
		"retained":                c.Retained, // Flowlab's own: state.checkpoints.num-retained
	})
}

// checkpoint finds {checkpointid} in the job's history, and whether it has
// been discarded (subsumed by the retained newer ones), or answers why not.
func (s *Server) checkpoint(w http.ResponseWriter, r *http.Request) (*metrics.Checkpoint, bool) {
	j, cps := s.checkpointsOf(w, r)
	if j == nil {
		return nil, false
	}
	text := r.PathValue("checkpointid")
	id, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, fmt.Sprintf("checkpointid %q: want the id of a checkpoint, a whole number", text))
		return nil, false
	}
	completed := 0
	for i := range cps.History {
		cp := &cps.History[i]
		if cp.Status == metrics.CheckpointCompleted {
			completed++
		}
		if cp.ID == id {
			return cp, completed > max(cps.Config.Retained, 1)
		}
	}
	writeErrors(w, http.StatusNotFound, fmt.Sprintf("Could not find checkpointing statistics for checkpoint %d. "+
		"Flowlab keeps the latest %d checkpoints.", id, metrics.CheckpointHistory))
	return nil, false
}

// flinkCheckpointDetails is GET /jobs/{jid}/checkpoints/details/{checkpointid}:
// one checkpoint of the history with each task's part (Flink's
// CheckpointStatistics).
func (s *Server) flinkCheckpointDetails(w http.ResponseWriter, r *http.Request) {
	if cp, discarded := s.checkpoint(w, r); cp != nil {
		writeJSON(w, http.StatusOK, flinkCheckpoint(cp, discarded))
	}
}

// flinkCheckpointSubtasks is
// GET /jobs/{jid}/checkpoints/details/{checkpointid}/subtasks/{vid}, Flink's
// TaskCheckpointStatisticsWithSubtaskDetails: a task's part of a checkpoint,
// a summary over its acknowledged subtasks, and each subtask's numbers.
// {vid} is a vertex id or a task name.
func (s *Server) flinkCheckpointSubtasks(w http.ResponseWriter, r *http.Request) {
	cp, _ := s.checkpoint(w, r)
	if cp == nil {
		return
	}
	vid := r.PathValue("vid")
	i := slices.IndexFunc(cp.Tasks, func(t metrics.TaskCheckpoint) bool { return t.VertexID == vid || t.Name == vid })
	if i < 0 {
		names := make([]string, len(cp.Tasks))
		for k, t := range cp.Tasks {
			names[k] = t.Name
		}
		writeErrors(w, http.StatusNotFound, fmt.Sprintf("There is no checkpoint statistics for task %s (tasks: %s).", vid, strings.Join(names, ", ")))
		return
	}
	t := &cp.Tasks[i]

	type duration struct {
		Sync  int64 `json:"sync"`
		Async int64 `json:"async"`
	}
	type alignment struct {
		Buffered  int64 `json:"buffered"`
		Processed int64 `json:"processed"`
		Persisted int64 `json:"persisted"`
		Duration  int64 `json:"duration"`
	}
	type completed struct {
		AckTimestamp     int64     `json:"ack_timestamp"`
		EndToEndDuration int64     `json:"end_to_end_duration"`
		StateSize        int64     `json:"state_size"`
		CheckpointedSize int64     `json:"checkpointed_size"`
		Checkpoint       duration  `json:"checkpoint"`
		Alignment        alignment `json:"alignment"`
		StartDelay       int64     `json:"start_delay"`
		Unaligned        bool      `json:"unaligned_checkpoint"`
		Aborted          bool      `json:"aborted"`
	}
	// A subtask not acknowledged has only these, as Flink's
	// PendingSubtaskCheckpointStatistics.
	type subtask struct {
		ClassName string `json:"className"`
		Index     int    `json:"index"`
		Status    string `json:"status"`
		*completed
	}
	var size, state, e2e, sync, async, buffered, processed, persisted, align, delay []int64
	subtasks := make([]subtask, 0, len(t.Subtasks))
	for _, st := range t.Subtasks {
		if !st.Acknowledged {
			subtasks = append(subtasks, subtask{ClassName: "pending", Index: st.Index, Status: "pending_or_failed"})
			continue
		}
		subtasks = append(subtasks, subtask{ClassName: "completed", Index: st.Index, Status: "completed", completed: &completed{
			AckTimestamp: st.AckTimestamp, EndToEndDuration: st.EndToEndDuration, StateSize: st.StateSize, CheckpointedSize: st.CheckpointedSize,
			Checkpoint: duration{Sync: st.SyncDuration, Async: st.AsyncDuration},
			Alignment:  alignment{Processed: st.ProcessedData, Persisted: st.PersistedData, Duration: st.AlignmentDuration},
			StartDelay: st.StartDelay, Unaligned: st.Unaligned,
		}})
		size, state, e2e = append(size, st.CheckpointedSize), append(state, st.StateSize), append(e2e, st.EndToEndDuration)
		sync, async = append(sync, st.SyncDuration), append(async, st.AsyncDuration)
		buffered, processed, persisted = append(buffered, 0), append(processed, st.ProcessedData), append(persisted, st.PersistedData)
		align, delay = append(align, st.AlignmentDuration), append(delay, st.StartDelay)
	}
	type durationSummary struct {
		Sync  statsSummary `json:"sync"`
		Async statsSummary `json:"async"`
	}
	type alignmentSummary struct {
		Buffered  statsSummary `json:"buffered"`
		Processed statsSummary `json:"processed"`
		Persisted statsSummary `json:"persisted"`
		Duration  statsSummary `json:"duration"`
	}
	writeJSON(w, http.StatusOK, struct {
		taskCheckpointStats
		Summary  any       `json:"summary"`
		Subtasks []subtask `json:"subtasks"`
	}{
		taskCheckpointStats: taskStats(cp, t),
		Summary: struct {
			CheckpointedSize   statsSummary     `json:"checkpointed_size"`
			StateSize          statsSummary     `json:"state_size"`
			EndToEndDuration   statsSummary     `json:"end_to_end_duration"`
			CheckpointDuration durationSummary  `json:"checkpoint_duration"`
			Alignment          alignmentSummary `json:"alignment"`
			StartDelay         statsSummary     `json:"start_delay"`
		}{
			summarize(size), summarize(state), summarize(e2e),
			durationSummary{summarize(sync), summarize(async)},
			alignmentSummary{summarize(buffered), summarize(processed), summarize(persisted), summarize(align)},
			summarize(delay),
		},
		Subtasks: subtasks,
	})
}

// Keyed state, as the State tab of the task drawer shows it.

// Limits of GET /api/jobs/{jid}/state: entries per subtask (by default and
// at most), and the bytes of a key or value shown (the rest is cut).
const (
	stateEntries    = 20
	maxStateEntries = 100
	maxStateBytes   = 256
)

// stateText is a key or value of keyed state as text: itself when it is
// printable UTF-8, else "0x" and its bytes in hex; cut to maxStateBytes
// bytes, then "…" and its length ("… (4096 bytes)").
func stateText(b []byte) string {
	text := printable(b)
	cut := b
	if len(cut) > maxStateBytes {
		cut = cut[:maxStateBytes]
		for text && !utf8.Valid(cut) { // not in the middle of a rune
			cut = cut[:len(cut)-1]
		}
	}
	out := string(cut)
	if !text {
		out = "0x" + hex.EncodeToString(cut)
	}
	if len(cut) < len(b) {
		out += fmt.Sprintf("… (%d bytes)", len(b))
	}
	return out
}

// printable reports whether b is UTF-8 text without control characters.
func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// jobState is GET /api/jobs/{jid}/state?task=NAME[&limit=N]: the keyed
// state of each subtask of the task as it runs, with up to N entries each
// (default 20, at most 100).
func (s *Server) jobState(w http.ResponseWriter, r *http.Request) {
	j := s.visibleJob(r, r.PathValue("jid"))
	switch {
	case j == nil:
		writeErrors(w, http.StatusNotFound, "no such job")
		return
	case j.cluster != nil:
		writeErrors(w, http.StatusNotFound, errClusterState.Error())
		return
	}
	q := r.URL.Query()
	limit := stateEntries
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxStateEntries {
			writeErrors(w, http.StatusBadRequest, fmt.Sprintf("limit=%q: want a whole number of entries from 0 to %d", v, maxStateEntries))
			return
		}
		limit = n
	}
	snap := j.rt.Snapshot()
	task := q.Get("task")
	names := make([]string, len(snap.Vertices))
	for i, v := range snap.Vertices {
		names[i] = v.Name
	}
	switch {
	case task == "":
		writeErrors(w, http.StatusBadRequest, fmt.Sprintf("task: name a task of job %q (tasks: %s)", snap.Name, strings.Join(names, ", ")))
		return
	case !slices.Contains(names, task):
		writeErrors(w, http.StatusNotFound, fmt.Sprintf("no task %q in job %q (tasks: %s)", task, snap.Name, strings.Join(names, ", ")))
		return
	}
	states, err := j.rt.State(task, limit)
	if err != nil { // the job ended, say
		writeErrors(w, http.StatusConflict, err.Error())
		return
	}
	type entry struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	type subtask struct {
		Subtask int     `json:"subtask"`
		Keys    int     `json:"keys"`
		Bytes   int64   `json:"bytes"`
		Entries []entry `json:"entries"`
	}
	out := make([]subtask, 0, len(states))
	for _, st := range states {
		sub := subtask{Subtask: st.Subtask, Keys: st.Keys, Bytes: st.Bytes, Entries: make([]entry, 0, min(len(st.Entries), limit))}
		for _, e := range st.Entries[:min(len(st.Entries), limit)] {
			sub.Entries = append(sub.Entries, entry{Key: stateText(e.Key), Value: stateText(e.Value)})
		}
		out = append(out, sub)
	}
	writeJSON(w, http.StatusOK, map[string]any{"task": task, "subtasks": out})
}
