// Package handlers serves the playground over HTTP: the pages, the REST API
// (Flink's shapes under /jobs, the playground's under /api), the websocket
// frames of running jobs, uploads of Wasm operators and guided lessons, each
// browser session seeing only its own jobs, uploads and lessons. See docs/API.md.
package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"flowlab/runtime"
	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
	"flowlab/ui/hub"
	"flowlab/ui/static"
)

// Job is what the playground needs of a running job (a *runtime.Job is one).
type Job interface {
	Snapshot() *metrics.Job
	Updated() <-chan struct{}
	Done() <-chan struct{}
	Cancel()
	Spec() *spec.Job
	SetRate(task string, rate float64) error
	SetCost(task string, cost time.Duration) error
	SetParallelism(task string, n int) error
	SetConfig(task, field string, value any) error
	SetOperator(task, operator string) error
	SetPaused(paused bool)
	Restart()
	SetWindow(d time.Duration) error
	SetBufferDebloat(d *spec.BufferDebloat) error
	Logs(task string) ([]runtime.LogLine, error)
	Failures() []runtime.Failure
	FlameGraph(task string, subtask int, typ runtime.GraphType) (*runtime.FlameGraph, error)
	Record(ctx context.Context, task string, subtask int, d time.Duration) (*runtime.Recording, error)
	Checkpoints() *metrics.Checkpoints
	State(task string, max int) ([]runtime.SubtaskState, error)
	SetCheckpointing(c *spec.Checkpoint) error
}

// Engine starts jobs and compiles operators: the runtime and the Wasm host.
type Engine interface {
	// Start starts a job whose operators resolve finds, reserving the memory
	// it needs in budget (and releasing it as it shrinks or ends). Errors in
	// the spec are a spec.Errors; a reservation's error is returned wrapped.
	Start(ctx context.Context, s *spec.Job, resolve runtime.Resolver, budget runtime.Budget) (Job, error)
	// Resolve finds the built-in and bundled ("wasm:NAME") operators.
	Resolve(name string) (runtime.OperatorType, error)
	// Compile validates and compiles an uploaded module, saying in plain
	// words what is wrong with it.
	Compile(ctx context.Context, name string, wasm []byte) (runtime.OperatorType, error)
	// Operators lists the names Resolve knows: built-ins, then bundled ones.
	Operators() []string
}

// Server is the playground's HTTP handler.
type Server struct {
	cfg      Config
	eng      Engine
	log      *slog.Logger
	ctx      context.Context // jobs run until it is done
	cancel   context.CancelFunc
	mux      *http.ServeMux
	upgrader websocket.Upgrader
	reaped   chan struct{}    // closed when the reaper has returned
	written  func(*hub.Frame) // if set, called after each frame sent (benchmarks)

	mu       sync.Mutex
	sessions map[string]*session
	jobs     map[string]*job // every session's, by id
	running  int             // jobs running
	subtasks int             // subtasks of the running jobs
	memory   int64           // bytes reserved by the running jobs' budgets
	profiles int             // pprof profiles being recorded
	cluster  *cluster        // the cluster every visitor sees (flowlab attach), if any
	clusters int             // clusters followed by sessions

	starts      *perClient // job starts, by client
	newSessions *perClient // sessions started, by client
}

// New returns the playground's handler. Its jobs run until ctx is done or
// Close is called.
func New(ctx context.Context, cfg Config, eng Engine, log *slog.Logger) *Server {
	ctx, cancel := context.WithCancel(ctx)
	s := &Server{
		cfg: cfg, eng: eng, log: log, ctx: ctx, cancel: cancel,
		mux:      http.NewServeMux(),
		reaped:   make(chan struct{}),
		sessions: map[string]*session{},
		jobs:     map[string]*job{},

		starts:      newPerClient(cfg.startRate),
		newSessions: newPerClient(cfg.sessionRate),
	}
	s.upgrader = websocket.Upgrader{CheckOrigin: sameOrigin, ReadBufferSize: 512, WriteBufferSize: 16 << 10}
	if cfg.cluster != nil {
		s.cluster = s.follow(ctx, cfg.cluster)
	}
	s.routes()
	go s.reap()
	return s
}

func (s *Server) routes() {
	m := s.mux
	m.Handle("GET /static/", http.StripPrefix("/static/", static.Handler()))
	m.HandleFunc("GET /{$}", s.playgroundPage)
	m.HandleFunc("GET /new", s.editorPage)
	m.HandleFunc("GET /operators", s.operatorsPage)
	m.HandleFunc("GET /operators/new", s.operatorEditorPage)
	m.HandleFunc("GET /attach", s.attachPage)
	m.HandleFunc("GET /lessons", s.lessonsPage)
	m.HandleFunc("GET /lessons/{id}", s.lessonPage)

	m.HandleFunc("GET /overview", s.flinkOverview)
	m.HandleFunc("GET /config", s.flinkConfig)
	m.HandleFunc("GET /jobs", s.flinkJobs)
	m.HandleFunc("GET /jobs/overview", s.flinkJobsOverview)
	m.HandleFunc("GET /jobs/{jid}", s.flinkJob)
	m.HandleFunc("PATCH /jobs/{jid}", s.flinkCancel)
	m.HandleFunc("GET /jobs/{jid}/plan", s.flinkPlan)
	m.HandleFunc("GET /jobs/{jid}/config", s.flinkJobConfig)
	m.HandleFunc("GET /jobs/{jid}/exceptions", s.flinkExceptions)
	m.HandleFunc("GET /jobs/{jid}/checkpoints", s.flinkCheckpoints)
	m.HandleFunc("GET /jobs/{jid}/checkpoints/config", s.flinkCheckpointConfig)
	m.HandleFunc("GET /jobs/{jid}/checkpoints/details/{checkpointid}", s.flinkCheckpointDetails)
	m.HandleFunc("GET /jobs/{jid}/checkpoints/details/{checkpointid}/subtasks/{vid}", s.flinkCheckpointSubtasks)
	m.HandleFunc("GET /jobs/{jid}/metrics", s.flinkJobMetrics)
	m.HandleFunc("GET /jobs/{jid}/vertices/{vid}", s.flinkVertexDetails)
	m.HandleFunc("GET /jobs/{jid}/vertices/{vid}/backpressure", s.flinkBackpressure)
	m.HandleFunc("GET /jobs/{jid}/vertices/{vid}/metrics", s.flinkVertexMetrics)
	m.HandleFunc("GET /jobs/{jid}/vertices/{vid}/subtasks/metrics", s.flinkSubtaskMetrics)
	m.HandleFunc("GET /jobs/{jid}/vertices/{vid}/subtasks/{i}/metrics", s.flinkSubtaskIndexMetrics)
	m.HandleFunc("GET /jobs/{jid}/vertices/{vid}/subtasktimes", s.flinkSubtaskTimes)
	m.HandleFunc("GET /jobs/{jid}/vertices/{vid}/watermarks", s.flinkWatermarks)
	m.HandleFunc("GET /jobs/{jid}/vertices/{vid}/flamegraph", s.flinkFlameGraph)
	m.HandleFunc("GET /jobs/{jid}/vertices/{vid}/profile", s.profile)

	m.HandleFunc("POST /api/jobs", s.startJob)
	m.HandleFunc("PATCH /api/jobs/{jid}", s.changeJob)
	m.HandleFunc("DELETE /api/jobs/{jid}", s.cancelJob)
	m.HandleFunc("GET /api/jobs/{jid}/logs", s.jobLogs)
	m.HandleFunc("GET /api/jobs/{jid}/failures", s.jobFailures)
	m.HandleFunc("GET /api/jobs/{jid}/diagnosis", s.jobDiagnosis)
	m.HandleFunc("GET /api/jobs/{jid}/state", s.jobState)
	m.HandleFunc("GET /api/attach", s.attachedStatus)
	m.HandleFunc("POST /api/attach", s.attachCluster)
	m.HandleFunc("DELETE /api/attach", s.detachCluster)
	m.HandleFunc("GET /api/examples", s.listExamples)
	m.HandleFunc("POST /api/operators", s.uploadOperator)
	m.HandleFunc("GET /api/operators", s.listOperators)
	m.HandleFunc("POST /api/operators/build", s.buildOperator)
	m.HandleFunc("GET /api/operators/templates", s.listTemplates)
	m.HandleFunc("GET /api/lessons/{id}/progress", s.lessonProgress)
	m.HandleFunc("POST /api/lessons/{id}/pick", s.lessonPick)
	m.HandleFunc("POST /api/lessons/{id}/answer", s.lessonAnswer)
	m.HandleFunc("POST /api/lessons/{id}/hint", s.lessonHint)
	m.HandleFunc("POST /api/lessons/{id}/continue", s.lessonContinue)
	m.HandleFunc("POST /api/lessons/{id}/open", s.lessonOpen)
	m.HandleFunc("POST /api/lessons/{id}/start", s.lessonStart)
	m.HandleFunc("POST /api/lessons/{id}/reset", s.lessonReset)
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeErrors(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})

	m.HandleFunc("GET /ws/jobs/{jid}", s.watchJob)
}

// ServeHTTP sets the security headers, refuses cross-site changes and
// serves the request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !sameOrigin(r) {
		writeErrors(w, http.StatusForbidden, "cross-origin request refused")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Close cancels every job and waits for the server's goroutines.
func (s *Server) Close() {
	s.cancel()
	<-s.reaped
	s.mu.Lock()
	jobs := make([]*job, 0, len(s.jobs))
	for _, j := range s.jobs {
		jobs = append(jobs, j)
	}
	s.mu.Unlock()
	for _, j := range jobs {
		j.rt.Cancel()
		<-j.rt.Done()
		j.feed.Stop()
	}
	s.mu.Lock()
	clusters := []*cluster{s.cluster}
	for _, sess := range s.sessions {
		clusters = append(clusters, sess.cluster)
	}
	s.mu.Unlock()
	for _, cl := range clusters {
		if cl != nil {
			<-cl.done // s.ctx, done, has stopped its polling
		}
	}
}
