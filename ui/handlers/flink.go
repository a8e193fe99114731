package handlers

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"

	"flowlab/runtime/metrics"
)

// The endpoints Flink's REST API has, in Flink's shapes.

// flinkJobs is GET /jobs: the session's jobs.
func (s *Server) flinkJobs(w http.ResponseWriter, r *http.Request) {
	sess := s.lookup(r)
	type jobStatus struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	var jobs []*job
	if sess != nil {
		s.mu.Lock()
		jobs = slices.Clone(sess.jobs)
		s.mu.Unlock()
	}
	list := []jobStatus{}
	for _, j := range jobs {
		list = append(list, jobStatus{j.id, j.rt.Snapshot().State})
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": list})
}

// flinkVertex is a vertex of GET /jobs/{jid}.
type flinkVertex struct {
	ID           string                `json:"id"`
	Name         string                `json:"name"`
	Operator     string                `json:"operator"`
	Parallelism  int                   `json:"parallelism"`
	Status       string                `json:"status"`
	Busy         metrics.Float         `json:"busy"`
	BackPressure metrics.Float         `json:"backPressured"`
	DataSkew     float64               `json:"dataSkew"`
	Colors       metrics.Colors        `json:"colors"`
	Level        string                `json:"backpressure-level"`
	Metrics      metrics.VertexMetrics `json:"metrics"`
}

// flinkJob is GET /jobs/{jid}: the job and its vertices, like Flink's job details.
func (s *Server) flinkJob(w http.ResponseWriter, r *http.Request) {
	sess := s.lookup(r)
	j := s.jobOf(sess, r.PathValue("jid"))
	if j == nil {
		writeErrors(w, http.StatusNotFound, "no such job")
		return
	}
	snap := j.rt.Snapshot()
	vertices := make([]flinkVertex, len(snap.Vertices))
	for i, v := range snap.Vertices {
		vertices[i] = flinkVertex{
			ID: v.ID, Name: v.Name, Operator: v.Operator, Parallelism: v.Parallelism, Status: vertexStatus(snap.State),
			Busy: v.Busy, BackPressure: v.BackPressure, DataSkew: v.DataSkew, Colors: v.Colors,
			Level: v.Backpressure.Level, Metrics: v.Metrics,
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"jid": j.id, "id": j.id, "name": snap.Name, "state": snap.State,
		"start-time": j.started.UnixMilli(), "now": snap.Timestamp,
		"failure": snap.Failure, "restarts": snap.Restarts, "paused": snap.Paused, "windowMs": snap.WindowMs,
		"vertices": vertices, "edges": snap.Edges,
	})
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

// vertex finds a vertex of a job's latest snapshot by id, or by name.
func (s *Server) vertex(w http.ResponseWriter, r *http.Request) *metrics.Vertex {
	sess := s.lookup(r)
	j := s.jobOf(sess, r.PathValue("jid"))
	if j == nil {
		writeErrors(w, http.StatusNotFound, "no such job")
		return nil
	}
	snap := j.rt.Snapshot()
	vid := r.PathValue("vid")
	for i := range snap.Vertices {
		if v := &snap.Vertices[i]; v.ID == vid || v.Name == vid {
			return v
		}
	}
	writeErrors(w, http.StatusNotFound, "no such vertex")
	return nil
}

// flinkBackpressure is GET /jobs/{jid}/vertices/{vid}/backpressure, exactly Flink's.
func (s *Server) flinkBackpressure(w http.ResponseWriter, r *http.Request) {
	if v := s.vertex(w, r); v != nil {
		writeJSON(w, http.StatusOK, v.Backpressure)
	}
}

// aggregated is one metric of GET .../subtasks/metrics?get=..., as Flink
// aggregates subtask metrics.
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
// the subtasks (min, max, avg, sum and skew, or those named by agg=).
func (s *Server) flinkSubtaskMetrics(w http.ResponseWriter, r *http.Request) {
	v := s.vertex(w, r)
	if v == nil {
		return
	}
	get := r.URL.Query().Get("get")
	if get == "" {
		list := []map[string]string{}
		for _, m := range metrics.SubtaskMetrics {
			list = append(list, map[string]string{"id": m.Name})
		}
		writeJSON(w, http.StatusOK, list)
		return
	}
	aggs := map[string]bool{"min": true, "max": true, "avg": true, "sum": true, "skew": true}
	if a := r.URL.Query().Get("agg"); a != "" {
		clear(aggs)
		for _, name := range strings.Split(a, ",") {
			aggs[strings.TrimSpace(name)] = true
		}
	}
	list := []aggregated{}
	for _, name := range strings.Split(get, ",") {
		for _, m := range metrics.SubtaskMetrics {
			if m.Name == strings.TrimSpace(name) {
				list = append(list, aggregate(m, v.Subtasks, aggs))
			}
		}
	}
	writeJSON(w, http.StatusOK, list)
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

// flinkCancel is PATCH /jobs/{jid}?mode=cancel, Flink's cancel: it answers
// 202 at once, and the job ends in the state CANCELED.
func (s *Server) flinkCancel(w http.ResponseWriter, r *http.Request) {
	sess := s.lookup(r)
	j := s.jobOf(sess, r.PathValue("jid"))
	if j == nil {
		writeErrors(w, http.StatusNotFound, "no such job")
		return
	}
	if mode := r.URL.Query().Get("mode"); mode != "cancel" && mode != "" { // Flink's default mode is cancel
		writeErrors(w, http.StatusBadRequest, fmt.Sprintf("mode %q is not supported: use mode=cancel", mode))
		return
	}
	j.rt.Cancel()
	writeJSON(w, http.StatusAccepted, struct{}{})
}
