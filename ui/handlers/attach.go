package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"flowlab/runtime"
	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
	"flowlab/ui/attach"
	"flowlab/ui/components"
	"flowlab/ui/hub"
)

// A Flink cluster's jobs are shown read-only: Flowlab never changes the cluster.
var errReadOnly = errors.New("the job runs on an attached Flink cluster, and Flowlab never changes it")

// cluster is a Flink cluster followed by the server (flowlab attach) or by a
// session (the playground's "Watch a Flink cluster" form). Its jobs are jobs
// of no session, listed beside the session's own.
type cluster struct {
	c      *attach.Cluster
	cancel context.CancelFunc
	done   chan struct{} // closed when polling and syncing have stopped

	jobs map[string]*job // by id; guarded by Server.mu
}

// follow polls c until ctx is done or the cluster is detached, keeping a
// job record, with its feed (history and doctor), for each job c follows.
func (s *Server) follow(ctx context.Context, c *attach.Cluster) *cluster {
	ctx, cancel := context.WithCancel(ctx)
	cl := &cluster{c: c, cancel: cancel, done: make(chan struct{}), jobs: map[string]*job{}}
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		c.Run(ctx)
	}()
	go func() {
		defer close(cl.done)
		for {
			changed := c.Changed()
			s.syncCluster(cl)
			select {
			case <-changed:
			case <-ctx.Done():
				<-polled
				s.mu.Lock()
				jobs := cl.jobs
				cl.jobs = map[string]*job{}
				s.mu.Unlock()
				for _, j := range jobs {
					j.feed.Stop()
				}
				return
			}
		}
	}()
	return cl
}

// syncCluster adds a job record for each job the cluster follows, and
// forgets those it no longer does.
func (s *Server) syncCluster(cl *cluster) {
	followed := cl.c.Jobs()        // each with a snapshot
	tick := cl.c.Status().Interval // the history's resolution
	s.mu.Lock()
	var gone []*job
	for id, j := range cl.jobs {
		if !slices.ContainsFunc(followed, func(aj *attach.Job) bool { return aj.ID() == id }) {
			delete(cl.jobs, id)
			gone = append(gone, j)
		}
	}
	for _, aj := range followed {
		if cl.jobs[aj.ID()] != nil {
			continue
		}
		cl.jobs[aj.ID()] = &job{
			id: aj.ID(), cluster: cl, rt: clusterJob{aj, aj.Snapshot().Name}, feed: hub.New(aj, int(s.cfg.history/tick)),
			started: aj.StartTime(), touched: time.Now(), tickMs: tick.Milliseconds(),
		}
	}
	s.mu.Unlock()
	for _, j := range gone {
		j.feed.Stop()
	}
}

// clusterJobsLocked lists the jobs of the clusters a session sees (the
// server's and its own), newest first.
func (s *Server) clusterJobsLocked(sess *session) []*job {
	var jobs []*job
	for _, cl := range []*cluster{s.cluster, sessCluster(sess)} {
		if cl == nil {
			continue
		}
		for _, aj := range cl.c.Jobs() {
			if j := cl.jobs[aj.ID()]; j != nil {
				jobs = append(jobs, j)
			}
		}
	}
	return jobs
}

func sessCluster(sess *session) *cluster {
	if sess == nil {
		return nil
	}
	return sess.cluster
}

// visibleJob is a job a request may read: one of its session's, or one of
// an attached cluster's.
func (s *Server) visibleJob(r *http.Request, jid string) *job {
	sess := s.lookup(r)
	if j := s.jobOf(sess, jid); j != nil {
		return j
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cl := range []*cluster{s.cluster, sessCluster(sess)} {
		if cl == nil {
			continue
		}
		if j := cl.jobs[jid]; j != nil { // only jobs the cluster lists: syncCluster drops the others
			return j
		}
	}
	return nil
}

// clusterJob is a job of an attached cluster as the handlers see a job:
// it reads, and refuses every change.
type clusterJob struct {
	*attach.Job
	name string
}

func (clusterJob) Cancel()                                    {}
func (j clusterJob) Spec() *spec.Job                          { return &spec.Job{Name: j.name} }
func (clusterJob) SetRate(string, float64) error              { return errReadOnly }
func (clusterJob) SetCost(string, time.Duration) error        { return errReadOnly }
func (clusterJob) SetParallelism(string, int) error           { return errReadOnly }
func (clusterJob) SetConfig(string, string, any) error        { return errReadOnly }
func (clusterJob) SetOperator(string, string) error           { return errReadOnly }
func (clusterJob) SetPaused(bool)                             {}
func (clusterJob) Restart()                                   {}
func (clusterJob) SetWindow(time.Duration) error              { return errReadOnly }
func (clusterJob) SetBufferDebloat(*spec.BufferDebloat) error { return errReadOnly }
func (clusterJob) Logs(string) ([]runtime.LogLine, error)     { return nil, nil }
func (clusterJob) Failures() []runtime.Failure                { return nil }
func (clusterJob) FlameGraph(string, int, runtime.GraphType) (*runtime.FlameGraph, error) {
	return nil, errors.New("flame graphs are not read from an attached Flink cluster")
}
func (clusterJob) Record(context.Context, string, int, time.Duration) (*runtime.Recording, error) {
	return nil, errors.New("profiles are not recorded on an attached Flink cluster")
}

// Checkpoints of a cluster's job are the cluster's own (its
// /jobs/{jid}/checkpoints): Flowlab reads only its metrics, and invents none.
func (clusterJob) Checkpoints() *metrics.Checkpoints                 { return &metrics.Checkpoints{} }
func (clusterJob) State(string, int) ([]runtime.SubtaskState, error) { return nil, errClusterState }
func (clusterJob) SetCheckpointing(*spec.Checkpoint) error           { return errReadOnly }

// errClusterState is why an attached job's keyed state is not shown.
var errClusterState = errors.New("keyed state is not read from an attached Flink cluster")

// maxAttachBody is the largest body of POST /api/attach.
const maxAttachBody = 8 << 10

// attachRequest is the body of POST /api/attach.
type attachRequest struct {
	URL      string            `json:"url"`
	Interval string            `json:"interval"` // a Go duration; default 1s
	Headers  map[string]string `json:"headers"`
}

// attachStatus is what GET /api/attach answers of a cluster.
type attachStatus struct {
	URL       string    `json:"url"`
	Version   string    `json:"version"`
	Interval  string    `json:"interval"`
	Connected bool      `json:"connected"`
	Error     string    `json:"error,omitempty"`
	Since     time.Time `json:"since"`
	Jobs      []string  `json:"jobs"`   // ids, newest first
	Server    bool      `json:"server"` // attached for every visitor (flowlab attach), not by this session
}

func statusOf(cl *cluster, server bool) attachStatus {
	st := cl.c.Status()
	out := attachStatus{URL: st.URL, Version: st.Version, Interval: st.Interval.String(), Connected: st.Connected,
		Error: st.Err, Since: st.Since, Jobs: []string{}, Server: server}
	for _, aj := range cl.c.Jobs() {
		out.Jobs = append(out.Jobs, aj.ID())
	}
	return out
}

// attachedStatus is GET /api/attach: the clusters the request's session
// sees, the server's first.
func (s *Server) attachedStatus(w http.ResponseWriter, r *http.Request) {
	sess := s.lookup(r)
	s.mu.Lock()
	server, own := s.cluster, sessCluster(sess)
	s.mu.Unlock()
	list := []attachStatus{}
	if server != nil {
		list = append(list, statusOf(server, true))
	}
	if own != nil {
		list = append(list, statusOf(own, false))
	}
	writeJSON(w, http.StatusOK, map[string]any{"clusters": list})
}

// attachCluster is POST /api/attach: the session follows a Flink cluster
// (replacing the one it followed), within the server's number of followed
// clusters. The cluster must answer as a Flink REST API before it is kept.
func (s *Server) attachCluster(w http.ResponseWriter, r *http.Request) {
	sess := s.needSession(w, r)
	if sess == nil {
		return
	}
	var req attachRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAttachBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		bodyError(w, err, "the request", maxAttachBody)
		return
	}
	cfg, err := attachConfig(req)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	if wait, ok := s.starts.takeLocked(clientOf(r), time.Now()); !ok {
		s.mu.Unlock()
		writeError(w, 0, &limitError{retryAfter: wait, msg: fmt.Sprintf(
			"this address started as many jobs and clusters as it may for now (%v): try again %s", s.cfg.startRate, retryText(wait))})
		return
	}
	if sess.cluster == nil && s.clusters >= s.cfg.clusters {
		s.mu.Unlock()
		writeError(w, 0, &limitError{msg: fmt.Sprintf("the server already follows %d Flink clusters, the most it may: try again later", s.cfg.clusters)})
		return
	}
	s.clusters++ // reserved while dialing
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(r.Context(), dialTimeout)
	c, err := attach.Dial(ctx, cfg)
	cancel()
	if err != nil {
		s.mu.Lock()
		s.clusters--
		s.mu.Unlock()
		writeErrors(w, http.StatusBadRequest, err.Error())
		return
	}
	cl := s.follow(s.ctx, c)
	firstPoll(r.Context(), c)
	s.syncCluster(cl)
	s.mu.Lock()
	old := sess.cluster
	sess.cluster = cl
	if old != nil {
		s.clusters--
	}
	s.mu.Unlock()
	if old != nil {
		old.cancel()
	}
	s.log.Info("cluster attached", "url", c.Status().URL)
	writeJSON(w, http.StatusCreated, statusOf(cl, false))
}

// detachCluster is DELETE /api/attach: the session stops following its cluster.
func (s *Server) detachCluster(w http.ResponseWriter, r *http.Request) {
	sess := s.lookup(r)
	s.mu.Lock()
	cl := sessCluster(sess)
	if cl != nil {
		sess.cluster = nil
		s.clusters--
	}
	s.mu.Unlock()
	if cl == nil {
		writeErrors(w, http.StatusNotFound, "this session follows no Flink cluster")
		return
	}
	cl.cancel()
	<-cl.done
	w.WriteHeader(http.StatusNoContent)
}

// firstPoll waits, up to dialTimeout, for the cluster's first poll of its
// jobs, so that the answer lists them.
func firstPoll(ctx context.Context, c *attach.Cluster) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	for c.Status().LastPoll.IsZero() {
		select {
		case <-c.Changed():
		case <-ctx.Done():
			return
		}
	}
}

// dialTimeout bounds how long POST /api/attach waits for a cluster to answer.
const dialTimeout = 10 * time.Second

// attachConfig checks a request to follow a cluster.
func attachConfig(req attachRequest) (attach.Config, error) {
	u := strings.TrimSpace(req.URL)
	if lower := strings.ToLower(u); !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
		// Not quoted: a URL may hold a password.
		return attach.Config{}, errors.New("url: want the http:// or https:// address of a Flink REST API (the web UI's address)")
	}
	cfg := attach.NewConfig(u)
	if req.Interval != "" {
		d, err := time.ParseDuration(req.Interval)
		if err != nil || d <= 0 {
			return attach.Config{}, fmt.Errorf("interval: want a duration such as 1s, got %q", req.Interval)
		}
		cfg = cfg.WithInterval(d)
	}
	for name, value := range req.Headers {
		if name == "" || strings.ContainsAny(name, ": \r\n") || strings.ContainsAny(value, "\r\n") {
			return attach.Config{}, fmt.Errorf("headers: %q is not a header name with a one-line value", name)
		}
		cfg = cfg.WithHeader(name, value)
	}
	return cfg, nil
}

// attachPage is GET /attach: the form that follows a Flink cluster, and the
// clusters the session sees.
func (s *Server) attachPage(w http.ResponseWriter, r *http.Request) {
	sess := s.lookup(r)
	page := components.AttachPage{Nav: s.nav(sess, "attach", ""), Enabled: s.cfg.clusters > 0}
	s.mu.Lock()
	server, own := s.cluster, sessCluster(sess)
	s.mu.Unlock()
	for _, cl := range []*cluster{server, own} {
		if cl == nil {
			continue
		}
		st := statusOf(cl, cl == server)
		c := components.ClusterStatus{
			ClusterView: components.ClusterView{URL: st.URL, Version: st.Version, Interval: st.Interval},
			Connected:   st.Connected, Error: st.Error, Server: st.Server,
		}
		s.mu.Lock()
		var jobs []*job
		for _, aj := range cl.c.Jobs() {
			if j := cl.jobs[aj.ID()]; j != nil {
				jobs = append(jobs, j)
			}
		}
		s.mu.Unlock()
		c.Jobs = jobLinks(jobs)
		page.Clusters = append(page.Clusters, c)
	}
	render(w, r, http.StatusOK, components.Attach(page))
}
