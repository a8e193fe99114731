package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"flowlab/runtime"
	"flowlab/runtime/metrics"
)

// Limits of pprof profiles: how long one records, and how many record at
// once in the server (each holds a request and a recording of at most
// runtime.MaxStackNodes frames).
const (
	maxProfileSeconds  = 60
	maxProfilesRunning = 8
)

// flinkFlameGraph is GET /jobs/{jid}/vertices/{vid}/flamegraph, Flink's:
// type=full|on_cpu|off_cpu (default full, as Flink's), subtaskindex=N for
// one subtask. The first request starts sampling and answers what there is.
func (s *Server) flinkFlameGraph(w http.ResponseWriter, r *http.Request) {
	j, _, v := s.vertex(w, r)
	if v == nil {
		return
	}
	typ := runtime.GraphType(r.URL.Query().Get("type"))
	if typ == "" {
		typ = runtime.GraphFull
	}
	subtask, ok := subtaskIndex(w, r, v)
	if !ok {
		return
	}
	s.touch(j)
	g, err := j.rt.FlameGraph(v.Name, subtask, typ)
	if err != nil {
		writeErrors(w, profileStatus(err), err.Error())
		return
	}
	writeJSON(w, http.StatusOK, g)
}

// profile is GET /jobs/{jid}/vertices/{vid}/profile?seconds=N: the task's
// samples over N seconds (default 10) as a gzipped pprof protobuf, for go
// tool pprof.
func (s *Server) profile(w http.ResponseWriter, r *http.Request) {
	j, _, v := s.vertex(w, r)
	if v == nil {
		return
	}
	seconds := 10
	if q := r.URL.Query().Get("seconds"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 || n > maxProfileSeconds {
			writeErrors(w, http.StatusBadRequest, fmt.Sprintf("seconds=%q: want a whole number from 1 to %d", q, maxProfileSeconds))
			return
		}
		seconds = n
	}
	subtask, ok := subtaskIndex(w, r, v)
	if !ok {
		return
	}
	s.mu.Lock()
	busy := s.profiles >= maxProfilesRunning
	if !busy {
		s.profiles++
	}
	s.mu.Unlock()
	if busy {
		writeErrors(w, http.StatusTooManyRequests, fmt.Sprintf("%d profiles are being recorded, the limit: try again in a minute", maxProfilesRunning))
		return
	}
	defer func() {
		s.mu.Lock()
		s.profiles--
		s.mu.Unlock()
	}()
	s.touch(j)
	rec, err := j.rt.Record(r.Context(), v.Name, subtask, time.Duration(seconds)*time.Second)
	if err != nil {
		writeErrors(w, profileStatus(err), err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", v.Name+".pb.gz"))
	_ = rec.Profile().Write(w) // the client went away
}

// profileStatus is the status of a request for a profile that failed: 429
// when too many tasks of the job are profiled, else 400.
func profileStatus(err error) int {
	if errors.Is(err, runtime.ErrTooManyProfiles) {
		return http.StatusTooManyRequests
	}
	return http.StatusBadRequest
}

// subtaskIndex reads subtaskindex, -1 if absent, or answers 400.
func subtaskIndex(w http.ResponseWriter, r *http.Request, v *metrics.Vertex) (int, bool) {
	q := r.URL.Query().Get("subtaskindex")
	if q == "" {
		return -1, true
	}
	i, err := strconv.Atoi(q)
	if err != nil || i < 0 || i >= v.Parallelism {
		writeErrors(w, http.StatusBadRequest, fmt.Sprintf("subtaskindex=%q: task %q has subtasks 0 to %d", q, v.Name, v.Parallelism-1))
		return 0, false
	}
	return i, true
}
