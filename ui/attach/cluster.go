package attach

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"flowlab/runtime/metrics"
)

// maxVertices is how many vertices of a job have their subtasks polled;
// the others show their name, parallelism and edges, with no metrics.
const maxVertices = 100

// maxFailure is the most bytes of a failure's message a snapshot keeps.
const maxFailure = 1000

// Status is how the attachment to a cluster stands.
type Status struct {
	URL       string        // the cluster's address, without its password
	Version   string        // the Flink version its /config states
	Interval  time.Duration // how often it is polled while it answers (see Config.WithInterval)
	Connected bool          // whether it answered the last poll
	// Err is why it is not connected, in plain words; while connected, what
	// went wrong polling a job last time, if anything.
	Err      string
	Since    time.Time // when Connected last changed (at first, when Dial succeeded)
	LastPoll time.Time // when the last poll of the jobs ended, answered or not; zero before the first
}

// Cluster follows the jobs of one cluster. It is safe for concurrent use.
type Cluster struct {
	cl          *client
	version     version
	flowlab     bool // another Flowlab: metrics update every tick, job details carry Flowlab's fields
	interval    time.Duration
	maxJobs     int
	maxSubtasks int

	mu      sync.Mutex
	status  Status
	jobs    map[string]*Job
	changed chan struct{}
}

// Dial checks that cfg's URL is the REST API of a Flink cluster (1.13 or
// later) or of a Flowlab, and returns the Cluster to Run. Its errors say
// what is wrong in plain words: a bad URL or CA file, a cluster that cannot
// be reached, refused credentials, an answer that is not Flink's, or a
// Flink too old.
func Dial(ctx context.Context, cfg Config) (*Cluster, error) {
	cl, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	var dc dashboardConfig
	if err := cl.get(ctx, "/config", &dc); err != nil {
		return nil, dialError(cl.shown, err)
	}
	if dc.Version == nil {
		return nil, fmt.Errorf("%s is not a Flink REST API: its GET /config answered JSON without a flink-version", cl.shown)
	}
	v, ok := parseVersion(*dc.Version)
	if !ok {
		return nil, fmt.Errorf("%s: flink-version %q is not a Flink version", cl.shown, *dc.Version)
	}
	if !v.atLeast(1, 13) {
		return nil, fmt.Errorf("%s runs Flink %s: attach needs Flink 1.13 or later, the first whose tasks report busy and backpressured time",
			cl.shown, *dc.Version)
	}
	c := &Cluster{
		cl: cl, version: v, flowlab: dc.Revision == "flowlab", interval: cfg.interval,
		maxJobs: cfg.maxJobs, maxSubtasks: cfg.maxSubtasks,
		jobs: map[string]*Job{}, changed: make(chan struct{}),
	}
	if !c.flowlab {
		c.interval = max(c.interval, fetchInterval(ctx, cl))
	}
	now := time.Now()
	c.status = Status{URL: cl.shown, Version: *dc.Version, Interval: c.interval, Connected: true, Since: now}
	return c, nil
}

// dialError explains why GET /config did not do.
func dialError(url string, err error) error {
	var ae *answerError
	switch {
	case !errors.As(err, &ae):
		return fmt.Errorf("%s: %w", url, err)
	case ae.status == 0:
		return fmt.Errorf("cannot reach %s: %s", url, plain(ae.err))
	case ae.refused():
		return fmt.Errorf("%s refused access (%d %s): give credentials as user:password@ in the URL or with -header 'Authorization: ...'",
			url, ae.status, http.StatusText(ae.status))
	}
	return fmt.Errorf("%s is not a Flink REST API: %w", url, err)
}

// fetchInterval is how often Flink's REST API refreshes the metrics it
// answers: its metrics.fetcher.update-interval, by default 10 s. Flink lists
// only settings given explicitly; one it does not list, or an answer that
// does not come, leaves the default.
func fetchInterval(ctx context.Context, cl *client) time.Duration {
	var entries []configEntry
	if cl.get(ctx, "/jobmanager/config", &entries) == nil {
		for _, e := range entries {
			if e.Key == "metrics.fetcher.update-interval" {
				if d, ok := parseFlinkDuration(e.Value); ok {
					return d
				}
			}
		}
	}
	return flinkFetchInterval
}

// Status is how the attachment stands now.
func (c *Cluster) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// Changed is closed when the job list (a job's first snapshot, a job ended
// or dropped) or the status changes, and after the first poll; then Changed
// returns a new channel. A later poll that only moves LastPoll does not
// close it.
func (c *Cluster) Changed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

// notify closes Changed; c.mu is held.
func (c *Cluster) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// Jobs is the jobs followed and those that ended since, newest first: those
// with a snapshot, so that each has a graph to show.
func (c *Cluster) Jobs() []*Job {
	c.mu.Lock()
	list := make([]*Job, 0, len(c.jobs))
	for _, j := range c.jobs {
		if j.Snapshot() != nil {
			list = append(list, j)
		}
	}
	c.mu.Unlock()
	slices.SortFunc(list, func(a, b *Job) int {
		return cmp.Or(b.start.Compare(a.start), strings.Compare(a.id, b.id))
	})
	return list
}

// Job is the job with id jid, or nil if the cluster has none followed or
// ended by that id.
func (c *Cluster) Job(jid string) *Job {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.jobs[jid]
}

// Run polls the cluster until ctx is done, at the status's interval while it
// answers, and backing off to 5 times that while it does not. Errors do not
// stop it: they show in Status. When it returns, every job is Done. Call it
// once.
func (c *Cluster) Run(ctx context.Context) {
	defer c.stop()
	failures := 0
	for {
		if c.poll(ctx) {
			failures = 0
		} else {
			failures++
		}
		t := time.NewTimer(c.interval * time.Duration(min(1<<min(failures, 3), maxBackoff)))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// stop ends every job.
func (c *Cluster) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, j := range c.jobs {
		j.end()
	}
}

// poll asks for the jobs and polls each followed. It reports whether the
// cluster answered.
func (c *Cluster) poll(ctx context.Context) bool {
	var ov jobsOverview
	err := c.cl.get(ctx, "/jobs/overview", &ov)
	if ctx.Err() != nil {
		return true // stopping, not disconnected
	}
	if err != nil {
		c.setStatus(false, err.Error())
		return false
	}
	follow := c.follow(ov.Jobs)
	errs := make([]error, len(follow))
	var wg sync.WaitGroup
	for i, f := range follow {
		wg.Go(func() {
			errs[i] = c.pollJob(ctx, f.job)
			if metrics.Terminal(f.state) { // its last snapshot is published, or cannot be had
				c.end(f.job)
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return true
	}
	msg := ""
	if err := errors.Join(errs...); err != nil {
		msg = strings.ReplaceAll(err.Error(), "\n", "; ")
	}
	c.setStatus(true, msg)
	return true
}

// setStatus records a poll's outcome.
func (c *Cluster) setStatus(connected bool, err string) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &c.status
	first := s.LastPoll.IsZero()
	s.LastPoll = now
	if s.Connected == connected && s.Err == err && !first {
		return
	}
	if s.Connected != connected {
		s.Since = now
	}
	s.Connected, s.Err = connected, err
	c.notify()
}

type followed struct {
	job   *Job
	state string // in the overview
}

// follow updates the job list from the overview: it picks the jobs to
// follow (running ones first, then the newest, at most maxJobs), ends the
// jobs that are no longer among them, and drops the oldest ended ones beyond
// maxJobs. It returns the jobs to poll.
func (c *Cluster) follow(list []overviewJob) []followed {
	list = slices.Clone(list)
	slices.SortStableFunc(list, func(a, b overviewJob) int {
		if ta, tb := metrics.Terminal(a.State), metrics.Terminal(b.State); ta != tb {
			if ta {
				return 1
			}
			return -1
		}
		return cmp.Compare(b.StartTime, a.StartTime)
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	changed := false
	in := map[string]bool{}
	var poll []followed
	for _, o := range list {
		if len(in) == c.maxJobs {
			break
		}
		if o.JID == "" || in[o.JID] {
			continue
		}
		in[o.JID] = true
		j := c.jobs[o.JID]
		if j == nil {
			j = newJob(o.JID, time.UnixMilli(o.StartTime))
			c.jobs[o.JID] = j
			changed = true
		}
		if !j.isEnded() {
			poll = append(poll, followed{j, o.State})
		}
	}
	var ended []*Job
	for id, j := range c.jobs {
		if !in[id] {
			changed = j.end() || changed
			ended = append(ended, j)
		}
	}
	slices.SortFunc(ended, func(a, b *Job) int { return a.start.Compare(b.start) })
	for _, j := range ended[:max(0, min(len(ended), len(c.jobs)-c.maxJobs))] {
		delete(c.jobs, j.id)
		changed = true
	}
	if changed {
		c.notify()
	}
	return poll
}

// end ends a job and tells those waiting on Changed.
func (c *Cluster) end(j *Job) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if j.end() {
		c.notify()
	}
}

// pollJob asks for a job's details and its vertices' metrics, and
// publishes the snapshot they make.
func (c *Cluster) pollJob(ctx context.Context, j *Job) error {
	base := "/jobs/" + url.PathEscape(j.id)
	var d jobDetails
	if err := c.cl.get(ctx, base, &d); err != nil {
		return fmt.Errorf("job %s: %w", j.id, err)
	}
	p, err := parsePlan(d.Plan)
	if err != nil {
		return fmt.Errorf("job %s: GET %s: %w", j.id, base, err)
	}
	answers := make([]vertexAnswers, len(d.Vertices))
	errs := make([]error, len(d.Vertices))
	var wg sync.WaitGroup
	for i, v := range d.Vertices[:min(len(d.Vertices), maxVertices)] {
		answers[i].polled = min(max(v.Parallelism, 0), c.maxSubtasks)
		wg.Go(func() {
			errs[i] = c.pollVertex(ctx, base+"/vertices/"+url.PathEscape(v.ID), &answers[i], j.answered[v.ID])
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("job %s: %w", j.id, err)
	}
	answered := make(map[string]map[string]bool, len(answers)) // of this poll's vertices only
	for i, v := range d.Vertices[:min(len(d.Vertices), maxVertices)] {
		answered[v.ID] = answers[i].answered()
	}
	j.answered = answered
	x := jobExtras{windowMs: c.version.windowMs()}
	if d.Restarts != nil {
		x.restarts = *d.Restarts
		if d.Failure != nil {
			x.failure = *d.Failure
		}
	} else {
		x.restarts, x.failure = c.failures(ctx, base, j, d.State)
	}
	if first := j.publish(snapshot(&d, p, answers, x, time.Now().UnixMilli())); first {
		c.mu.Lock()
		c.notify()
		c.mu.Unlock()
	}
	return nil
}

// pollVertex asks for a vertex's subtasks and the metrics of those polled,
// in as many requests as keep each URL short enough.
func (c *Cluster) pollVertex(ctx context.Context, path string, a *vertexAnswers, answered map[string]bool) error {
	a.details = &vertexDetails{}
	if err := c.cl.get(ctx, path, a.details); err != nil {
		return err
	}
	a.values = map[string]string{}
	for _, chunk := range metricChunks(a.polled, metricNames(answered), c.cl.maxURL-len(path+"/metrics?get=")) {
		var list []metricValue
		if err := c.cl.get(ctx, path+"/metrics?get="+strings.Join(chunk, ","), &list); err != nil {
			return err
		}
		asked := make(map[string]bool, len(chunk))
		for _, id := range chunk {
			asked[id] = true
		}
		for _, m := range list {
			if asked[m.ID] { // a hostile answer cannot grow the map beyond what was asked
				a.values[m.ID] = m.Value
			}
		}
	}
	return nil
}

// metricChunks lists the ids of the named metrics of subtasks 0 to n-1
// ("0.busyTimeMsPerSecond", as Flink names a vertex's metrics), in chunks
// whose comma-joined length stays within room (a chunk holds at least one).
func metricChunks(n int, names []string, room int) [][]string {
	var chunks [][]string
	var chunk []string
	size := 0
	for i := range n {
		for _, name := range names {
			id := strconv.Itoa(i) + "." + name
			if len(chunk) > 0 && size+1+len(id) > room {
				chunks = append(chunks, chunk)
				chunk, size = nil, 0
			}
			if len(chunk) > 0 {
				size++
			}
			chunk = append(chunk, id)
			size += len(id)
		}
	}
	if len(chunk) > 0 {
		chunks = append(chunks, chunk)
	}
	return chunks
}

// failures is a Flink job's restarts (numRestarts) and the first line of
// its last failure, asked for only when the restarts grew or the job failed.
// What does not come leaves what was known.
func (c *Cluster) failures(ctx context.Context, base string, j *Job, state string) (int, string) {
	var list []metricValue
	if c.cl.get(ctx, base+"/metrics?get=numRestarts", &list) == nil {
		for _, m := range list {
			if x, ok := metricText(m.Value); ok && m.ID == "numRestarts" {
				if n := int(min(count(x), 1<<31)); n > j.restarts {
					j.restarts, j.failure = n, ""
				}
			}
		}
	}
	key := fmt.Sprint(j.restarts, state)
	if j.failure == "" && (j.restarts > 0 || state == metrics.StateFailed) && key != j.asked {
		j.asked = key
		var ex struct {
			Root    string `json:"root-exception"`
			History struct {
				Entries []struct {
					Stacktrace string `json:"stacktrace"`
				} `json:"entries"`
			} `json:"exceptionHistory"`
		}
		if c.cl.get(ctx, base+"/exceptions?maxExceptions=1", &ex) == nil {
			root := ex.Root
			if root == "" && len(ex.History.Entries) > 0 {
				root = ex.History.Entries[0].Stacktrace
			}
			j.failure, _, _ = strings.Cut(strings.TrimSpace(root), "\n")
			if len(j.failure) > maxFailure {
				j.failure = strings.ToValidUTF8(j.failure[:maxFailure], "") + "..."
			}
		}
	}
	return j.restarts, j.failure
}

// Job is a job of the cluster, as its snapshots. It is a hub.Source.
type Job struct {
	id    string
	start time.Time

	mu      sync.Mutex
	snap    *metrics.Job
	updated chan struct{}
	done    chan struct{}
	ended   bool

	// the poller's own: a job is polled once at a time
	answered map[string]map[string]bool // by vertex id, the metric names that answered last time
	restarts int
	failure  string
	asked    string // restarts and state when the failure was last asked for
}

func newJob(id string, start time.Time) *Job {
	return &Job{id: id, start: start, updated: make(chan struct{}), done: make(chan struct{}),
		answered: map[string]map[string]bool{}}
}

// ID is the job's id, as the cluster gives it.
func (j *Job) ID() string { return j.id }

// StartTime is when the cluster started the job.
func (j *Job) StartTime() time.Time { return j.start }

// Snapshot is the latest snapshot, nil before the first poll of the job
// answered. It is shared: do not modify it.
func (j *Job) Snapshot() *metrics.Job {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.snap
}

// Updated is closed when the next snapshot is published.
func (j *Job) Updated() <-chan struct{} {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.updated
}

// Done is closed once the job has ended (FINISHED, CANCELED or FAILED, or
// gone from the cluster's job list or from the jobs followed) and its last
// snapshot is published, or once Run has returned. A job that vanished keeps
// the last snapshot it had, state included. While the cluster does not
// answer, its jobs are not Done: they keep their last snapshot.
func (j *Job) Done() <-chan struct{} { return j.done }

// isEnded reports whether Done is closed.
func (j *Job) isEnded() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.ended
}

// publish makes s the latest snapshot, and reports whether it is the first.
func (j *Job) publish(s *metrics.Job) (first bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.ended {
		return false
	}
	first = j.snap == nil
	j.snap = s
	close(j.updated)
	j.updated = make(chan struct{})
	return first
}

// end closes Done, and reports whether it was open.
func (j *Job) end() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.ended {
		return false
	}
	j.ended = true
	close(j.done)
	return true
}
