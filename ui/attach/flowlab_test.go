package attach_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime"
	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
	"flowlab/ui/attach"
	"flowlab/ui/handlers"
	"flowlab/ui/hub"
)

// A Job feeds the playground's websocket frames as a Flowlab job does.
var _ hub.Source = (*attach.Job)(nil)

// engine runs real jobs of built-in operators and keeps them, so that a
// test can compare a job's own snapshots with the attached ones.
type engine struct {
	mu   sync.Mutex
	jobs []*runtime.Job
}

func (e *engine) Start(ctx context.Context, s *spec.Job, resolve runtime.Resolver, _ runtime.Budget) (handlers.Job, error) {
	j, err := runtime.Start(ctx, s, resolve)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.jobs = append(e.jobs, j)
	return j, nil
}

func (e *engine) Resolve(name string) (runtime.OperatorType, error) { return runtime.Builtins(name) }

func (e *engine) Compile(context.Context, string, []byte) (runtime.OperatorType, error) {
	return nil, errors.New("no uploads here")
}

func (e *engine) Operators() []string { return nil }

// flowlabSpec is a job whose sink is the bottleneck, behind a legacy source.
const flowlabSpec = `name: attached
metrics: {tick: 20ms, window: 200ms}
network: {buffer-size: 1kb}
tasks:
  - {name: source, operator: legacy-generator, parallelism: 1, config: {rate: 3000, keys: 100}}
  - {name: work, operator: passthrough, parallelism: 2}
  - {name: sink, operator: discard, cost: 1ms}
edges:
  - {from: source, to: work, partitioning: hash}
  - {from: work, to: sink, partitioning: rebalance}
`

// startFlowlab serves a Flowlab with one job of flowlabSpec, and returns
// its URL, the browser session's cookie that sees the job, the job, and how
// to stop it all.
func startFlowlab() (url, cookie string, job *runtime.Job, stop func(), err error) {
	eng := &engine{}
	s := handlers.New(context.Background(), handlers.NewConfig(), eng, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(s)
	stop = func() {
		srv.Close()
		s.Close()
	}
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/api/jobs", strings.NewReader(flowlabSpec))
	if err != nil {
		return "", "", nil, stop, err
	}
	req.Header.Set("Content-Type", "application/yaml")
	req.Header.Set("Origin", srv.URL)
	res, err := srv.Client().Do(req)
	if err != nil {
		return "", "", nil, stop, err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		return "", "", nil, stop, fmt.Errorf("POST /api/jobs: %s", res.Status)
	}
	for _, c := range res.Cookies() {
		if c.Name == "flowlab_session" {
			cookie = c.Name + "=" + c.Value
		}
	}
	return srv.URL, cookie, eng.jobs[0], stop, nil
}

// firstSnapshot waits for the cluster's first job to have a snapshot.
func firstSnapshot(tb testing.TB, c *attach.Cluster) *attach.Job {
	deadline := time.After(10 * time.Second)
	for {
		changed := c.Changed()
		if jobs := c.Jobs(); len(jobs) > 0 {
			updated := jobs[0].Updated()
			if jobs[0].Snapshot() != nil {
				return jobs[0]
			}
			select {
			case <-updated:
			case <-deadline:
				tb.Fatal("no snapshot in 10 s")
			}
			continue
		}
		select {
		case <-changed:
		case <-deadline:
			tb.Fatalf("no job in 10 s: %+v", c.Status())
		}
	}
}

// TestCluster_Flowlab attaches to a real Flowlab and checks that the
// attached snapshot shows what the job's own does.
func TestCluster_Flowlab(t *testing.T) {
	url, cookie, job, stop, err := startFlowlab()
	defer stop()
	require.NoError(t, err)
	time.Sleep(500 * time.Millisecond) // a few metric windows: a steady state

	c, err := attach.Dial(t.Context(), attach.NewConfig(url).WithInterval(100*time.Millisecond).WithHeader("Cookie", cookie))
	require.NoError(t, err)
	st := c.Status()
	assert.Equal(t, 100*time.Millisecond, st.Interval, "a Flowlab updates every tick")
	assert.Equal(t, "1.19.0", st.Version)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go c.Run(ctx)

	before := job.Snapshot()
	attached := firstSnapshot(t, c)
	snap := attached.Snapshot()
	after := job.Snapshot()
	require.NotNil(t, snap)

	assert.Equal(t, before.Name, snap.Name)
	assert.Equal(t, before.State, snap.State)
	assert.Equal(t, before.Restarts, snap.Restarts)
	assert.Equal(t, before.Since, snap.Since)
	assert.Equal(t, before.WindowMs, snap.WindowMs)
	assert.ElementsMatch(t, before.Edges, snap.Edges)
	require.Len(t, snap.Vertices, len(before.Vertices))
	for i, v := range snap.Vertices {
		own := before.Vertices[i]
		assert.Equal(t, own.ID, v.ID)
		assert.Equal(t, own.Name, v.Name)
		assert.Equal(t, own.Operator, v.Operator)
		assert.Equal(t, own.Parallelism, v.Parallelism)
		require.Len(t, v.Subtasks, own.Parallelism)
		assert.Equal(t, math.IsNaN(float64(own.Busy)), math.IsNaN(float64(v.Busy)), v.Name)
		// Between the two snapshots of the job's own, within a tolerance: the
		// attached one was taken between them.
		within := func(what string, got float64, a, b metrics.Float) {
			lo, hi := min(float64(a), float64(b)), max(float64(a), float64(b))
			assert.True(t, got >= lo-20 && got <= hi+20, "%s %s: %v, not in [%v, %v] within 20", v.Name, what, got, lo, hi)
		}
		if !math.IsNaN(float64(own.Busy)) {
			within("busy", float64(v.Busy), own.Busy, after.Vertices[i].Busy)
		}
		within("backpressured", float64(v.BackPressure), own.BackPressure, after.Vertices[i].BackPressure)
		assert.Equal(t, metrics.Color(float64(v.Busy), float64(v.BackPressure)), v.Colors)
	}
	assert.True(t, math.IsNaN(float64(snap.Vertices[0].Busy)), "the legacy source")
	assert.Equal(t, metrics.LevelHigh, snap.Vertices[1].Backpressure.Level, "work waits for the sink")
	assert.Greater(t, float64(snap.Vertices[2].Busy), 80.0, "the sink is the bottleneck")
}

// Attach to a cluster (here another Flowlab, whose REST API is Flink's) and
// show its job's graph.
func Example() {
	url, cookie, _, stop, err := startFlowlab()
	defer stop()
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Flowlab shows each browser session its own jobs: attach as the one
	// that started the job.
	c, err := attach.Dial(ctx, attach.NewConfig(url).WithHeader("Cookie", cookie).WithInterval(100*time.Millisecond))
	if err != nil {
		fmt.Println(err)
		return
	}
	go c.Run(ctx)
	for { // until a poll has found the job
		changed := c.Changed()
		if len(c.Jobs()) > 0 {
			break
		}
		<-changed
	}
	job := c.Jobs()[0]
	snap := job.Snapshot()
	for snap == nil || snap.State != metrics.StateRunning {
		<-job.Updated()
		snap = job.Snapshot()
	}
	fmt.Println(snap.Name, snap.State)
	name := map[string]string{}
	for _, v := range snap.Vertices {
		name[v.ID] = v.Name
		busy := "known"
		if math.IsNaN(float64(v.Busy)) {
			busy = "N/A"
		}
		fmt.Printf("%s (%s) x%d, busy %s\n", v.Name, v.Operator, v.Parallelism, busy)
	}
	for _, e := range snap.Edges {
		fmt.Printf("%s -%s-> %s\n", name[e.Source], e.Partitioning, name[e.Target])
	}
	// Output:
	// attached RUNNING
	// source (legacy-generator) x1, busy N/A
	// work (passthrough) x2, busy known
	// sink (discard) x1, busy known
	// source -hash-> work
	// work -rebalance-> sink
}
