package attach

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime/metrics"
)

// attachFake serves a fake Flink of the version on the network and dials it.
func attachFake(t *testing.T, version string, configure func(Config) Config) (*fakeFlink, *Cluster) {
	t.Helper()
	f := newFakeFlink(t, version)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg := NewConfig(srv.URL)
	if configure != nil {
		cfg = configure(cfg)
	}
	c, err := Dial(t.Context(), cfg)
	require.NoError(t, err)
	return f, c
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func names(snap *metrics.Job) (names []string, parallelism []int) {
	for _, v := range snap.Vertices {
		names = append(names, v.Name)
		parallelism = append(parallelism, v.Parallelism)
	}
	return names, parallelism
}

func TestCluster_Snapshot(t *testing.T) {
	for _, tc := range []struct {
		version     string
		full        string
		interval    time.Duration
		windowMs    int64
		accumulated bool // the vertex details carry accumulated times (1.16+)
		soft        bool // soft and hard backpressured times (1.15+)
	}{
		{"1.13", "1.13.6", 10 * time.Second, 5_000, false, false},
		{"1.19", "1.19.1", 2 * time.Second, 60_000, true, true},
	} {
		t.Run(tc.version, func(t *testing.T) {
			_, c := attachFake(t, tc.version, nil)
			st := c.Status()
			assert.Equal(t, tc.full, st.Version)
			assert.Equal(t, tc.interval, st.Interval, "at least the cluster's metric fetch interval")
			assert.True(t, st.Connected)
			require.True(t, c.poll(t.Context()))
			assert.Empty(t, c.Status().Err)

			jobs := c.Jobs()
			require.Len(t, jobs, 2)
			assert.Equal(t, clicks, jobs[0].ID(), "newest first")
			assert.Equal(t, backfill, jobs[1].ID())
			assert.Equal(t, int64(1718000000000), jobs[0].StartTime().UnixMilli())
			assert.Same(t, jobs[1], c.Job(backfill))
			assert.Nil(t, c.Job("0000"))

			done := c.Job(backfill)
			assert.True(t, closed(done.Done()), "a FINISHED job is done after its snapshot")
			require.NotNil(t, done.Snapshot())
			assert.Equal(t, metrics.StateFinished, done.Snapshot().State)
			assert.True(t, math.IsNaN(float64(done.Snapshot().Vertices[0].Busy)), "no metrics: busy unknown")

			job := c.Job(clicks)
			assert.False(t, closed(job.Done()))
			snap := job.Snapshot()
			require.NotNil(t, snap)
			assert.Equal(t, "Click Analytics", snap.Name)
			assert.Equal(t, metrics.StateRunning, snap.State)
			assert.Equal(t, 1, snap.Restarts)
			assert.Equal(t, "java.lang.RuntimeException: Connection to Kafka lost", snap.Failure)
			assert.Equal(t, int64(1718000004000), snap.Since, "the last switch to RUNNING")
			assert.Equal(t, tc.windowMs, snap.WindowMs)
			assert.InDelta(t, time.Now().UnixMilli(), snap.Timestamp, 5000)

			n, p := names(snap)
			assert.Equal(t, []string{"Source: Custom Source -> Map", "KeyedProcess -> Map", "Map", "Sink: Print to Std. Out"}, n)
			assert.Equal(t, []int{2, 2, 1, 1}, p)
			assert.Equal(t, []metrics.Edge{
				{Source: source, Target: keyed, Partitioning: "hash"},
				{Source: keyed, Target: mapper, Partitioning: "rebalance"},
				{Source: mapper, Target: sink, Partitioning: "forward"},
			}, snap.Edges)

			src := snap.Vertices[0]
			assert.Equal(t, source, src.ID)
			assert.True(t, math.IsNaN(float64(src.Busy)), "a legacy source's busy time stays NaN")
			assert.True(t, math.IsNaN(float64(src.Subtasks[1].BusyTimeMsPerSecond)))
			assert.Equal(t, metrics.Float(85), src.BackPressure)
			assert.Equal(t, metrics.Color(math.NaN(), 85), src.Colors)
			assert.Equal(t, metrics.LevelHigh, src.Backpressure.Level)
			assert.Equal(t, 0.82, src.Backpressure.Subtasks[1].Ratio)
			assert.True(t, src.Subtasks[0].IsBackPressured)
			assert.Equal(t, 1.0, src.Subtasks[0].OutPoolUsage)
			assert.Equal(t, int64(1200000), src.Subtasks[0].NumRecordsOut)

			k := snap.Vertices[1]
			assert.Equal(t, metrics.Float(96), k.Busy)
			assert.Equal(t, metrics.Color(96, 0), k.Colors)
			assert.Equal(t, metrics.Colors{Fill: "#e8676a", Border: "#e5262b"}, k.Colors)
			assert.Equal(t, metrics.LevelOK, k.Backpressure.Level)
			assert.InDelta(t, 20, k.DataSkew, 1e-9)
			assert.Equal(t, metrics.Float(610.5), k.Subtasks[1].BusyTimeMsPerSecond)
			assert.Equal(t, 0.6, k.Subtasks[1].InPoolUsage, "buffers.* or Shuffle.Netty.* names")
			assert.Equal(t, 0.25, k.Subtasks[1].InputFloatingBuffersUsage)
			assert.Equal(t, 0.5, k.Subtasks[1].InputExclusiveBuffersUsage)
			assert.Equal(t, 1, k.Subtasks[1].Attempt)
			assert.Equal(t, 1600.0, k.Subtasks[1].NumRecordsInPerSecond)
			assert.Equal(t, int64(2400000), k.Metrics.NumRecordsIn)
			assert.Equal(t, int64(96000000), k.Metrics.NumBytesIn)

			if tc.soft {
				assert.Equal(t, 850.0, src.Subtasks[0].SoftBackPressuredTimeMsPerSecond)
				assert.Equal(t, int64(1200), src.Subtasks[0].MaxSoftBackPressureTimeMs)
			} else {
				assert.Zero(t, src.Subtasks[0].SoftBackPressuredTimeMsPerSecond)
			}
			assert.True(t, math.IsNaN(float64(src.Subtasks[0].AccumulatedBusyTime)))
			if tc.accumulated {
				assert.Equal(t, int64(850*596), src.Subtasks[0].AccumulatedBackPressuredTime)
				assert.Equal(t, metrics.Float(596000-40*596), k.Subtasks[0].AccumulatedBusyTime)
				assert.Equal(t, int64(40*596), k.Subtasks[0].AccumulatedIdleTime)
			} else {
				assert.True(t, math.IsNaN(float64(k.Subtasks[0].AccumulatedBusyTime)), "unknown before 1.16")
				assert.Zero(t, k.Subtasks[0].AccumulatedIdleTime)
			}
		})
	}
}

// TestCluster_Requests checks the requests of a poll: those of the doc
// comment, and, once a metric has answered under one of its names, only that
// name.
func TestCluster_Requests(t *testing.T) {
	f, c := attachFake(t, "1.19", nil)
	require.True(t, c.poll(t.Context()))
	before := len(f.sent())
	require.True(t, c.poll(t.Context()))
	second := f.paths(before)
	// The overview; of the running job its details, each vertex's details
	// and metrics (one request each here), numRestarts. The finished job is
	// not polled again.
	assert.Len(t, second, 1+1+4+4+1, strings.Join(second, "\n"))
	var keyedMetrics, sinkMetrics string
	for _, p := range second {
		switch {
		case strings.HasPrefix(p, "/jobs/"+clicks+"/vertices/"+keyed+"/metrics?get="):
			keyedMetrics = p
		case strings.HasPrefix(p, "/jobs/"+clicks+"/vertices/"+sink+"/metrics?get="):
			sinkMetrics = p
		}
	}
	assert.Contains(t, keyedMetrics, "1.Shuffle.Netty.Input.Buffers.inPoolUsage")
	assert.NotContains(t, keyedMetrics, "buffers.inPoolUsage", "the name that did not answer is not asked again")
	assert.Contains(t, keyedMetrics, "1.busyTimeMsPerSecond,1.idleTimeMsPerSecond")
	assert.Contains(t, sinkMetrics, "0.buffers.outPoolUsage", "a sink has no output: both names stay asked")
	assert.Contains(t, sinkMetrics, "0.Shuffle.Netty.Output.Buffers.outPoolUsage")
	for _, r := range f.sent() {
		assert.Equal(t, http.MethodGet, r.Method)
	}
}

func TestCluster_Bounds(t *testing.T) {
	t.Run("jobs: running ones first", func(t *testing.T) {
		f := newFakeFlink(t, "1.19")
		f.edit("/jobs/overview", func(doc any) {
			for _, j := range doc.(map[string]any)["jobs"].([]any) {
				if j := j.(map[string]any); j["jid"] == backfill {
					j["start-time"] = 1718000900000 // the newest, but finished
				}
			}
		})
		srv := httptest.NewServer(f)
		defer srv.Close()
		cfg := NewConfig(srv.URL)
		cfg.maxJobs = 1
		c, err := Dial(t.Context(), cfg)
		require.NoError(t, err)
		require.True(t, c.poll(t.Context()))
		jobs := c.Jobs()
		require.Len(t, jobs, 1)
		assert.Equal(t, clicks, jobs[0].ID())
	})
	t.Run("subtasks", func(t *testing.T) {
		_, c := attachFake(t, "1.19", func(c Config) Config { c.maxSubtasks = 1; return c })
		require.True(t, c.poll(t.Context()))
		k := c.Job(clicks).Snapshot().Vertices[1]
		assert.Equal(t, 2, k.Parallelism, "the vertex's parallelism, not the subtasks polled")
		require.Len(t, k.Subtasks, 1)
		assert.Equal(t, metrics.Float(96), k.Busy)
	})
	t.Run("url length", func(t *testing.T) {
		f, c := attachFake(t, "1.19", func(c Config) Config { c.maxURL = 200; return c })
		require.True(t, c.poll(t.Context()))
		chunks := 0
		for _, p := range f.paths(0) {
			assert.LessOrEqual(t, len(p), 200, p)
			if strings.Contains(p, "/vertices/"+keyed+"/metrics") {
				chunks++
			}
		}
		assert.Greater(t, chunks, 5)
		k := c.Job(clicks).Snapshot().Vertices[1]
		assert.Equal(t, metrics.Float(96), k.Busy)
		assert.Equal(t, 0.25, k.Subtasks[1].InputFloatingBuffersUsage)
	})
	t.Run("body", func(t *testing.T) {
		f, c := attachFake(t, "1.19", nil)
		require.True(t, c.poll(t.Context()))
		first := c.Job(clicks).Snapshot()
		f.setMetric(clicks, sink, "0.busyTimeMsPerSecond", strings.Repeat("9", 9<<20))
		require.True(t, c.poll(t.Context()))
		st := c.Status()
		assert.True(t, st.Connected)
		assert.Contains(t, st.Err, "GET /jobs/"+clicks+"/vertices/"+sink+"/metrics?get=")
		assert.Contains(t, st.Err, "over the limit of 8 MiB")
		assert.Same(t, first, c.Job(clicks).Snapshot(), "the last snapshot stays")
	})
}

func TestCluster_Headers(t *testing.T) {
	f := newFakeFlink(t, "1.19")
	srv := httptest.NewServer(f)
	defer srv.Close()
	url := strings.Replace(srv.URL, "http://", "http://ops:s3cret@", 1)
	c, err := Dial(t.Context(), NewConfig(url+"/").WithHeader("X-Token", "abc").WithHeader("Cookie", "a=1"))
	require.NoError(t, err)
	assert.Equal(t, strings.Replace(srv.URL, "http://", "http://ops@", 1), c.Status().URL, "no password")
	require.True(t, c.poll(t.Context()))
	for _, r := range f.sent() {
		user, pw, ok := r.BasicAuth()
		assert.True(t, ok)
		assert.Equal(t, "ops", user)
		assert.Equal(t, "s3cret", pw)
		assert.Equal(t, "abc", r.Header.Get("X-Token"))
		assert.Equal(t, "a=1", r.Header.Get("Cookie"))
	}

	before := len(f.sent())
	c, err = Dial(t.Context(), NewConfig(url).WithHeader("Authorization", "Bearer t0ken"))
	require.NoError(t, err)
	for _, r := range f.sent()[before:] {
		assert.Equal(t, "Bearer t0ken", r.Header.Get("Authorization"), "a header given takes the place of the URL's password")
	}
}

// TestCluster_GoneAndBack follows a cluster that stops answering and comes
// back, on a fake clock.
func TestCluster_GoneAndBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeFlink(t, "1.19")
		tr := &transport{h: f}
		ctx, cancel := context.WithCancel(t.Context())
		c, err := Dial(ctx, NewConfig("http://flink.test:8081").WithHTTPClient(&http.Client{Transport: tr}))
		require.NoError(t, err)
		ran := make(chan struct{})
		go func() {
			c.Run(ctx)
			close(ran)
		}()
		synctest.Wait()
		job := c.Job(clicks)
		require.NotNil(t, job)
		first := job.Snapshot()
		require.NotNil(t, first)

		start := time.Now()
		changed := c.Changed()
		tr.down.Store(true)
		time.Sleep(2*time.Second + time.Millisecond) // the next poll, at the interval
		synctest.Wait()
		st := c.Status()
		assert.False(t, st.Connected)
		assert.Contains(t, st.Err, "connection refused")
		assert.Equal(t, start.Add(2*time.Second), st.Since)
		assert.True(t, closed(changed))
		assert.Same(t, first, job.Snapshot(), "jobs keep their last snapshot")
		assert.False(t, closed(job.Done()), "and stay open")

		// Backing off: the polls after the one at 2 s come 4, 8, then 10 s
		// (5 times the interval) apart: at 6, 14, 24, 34, 44 and 54 s.
		tries := tr.tries.Load()
		time.Sleep(60 * time.Second)
		synctest.Wait()
		assert.Equal(t, int64(6), tr.tries.Load()-tries)
		assert.Equal(t, start.Add(2*time.Second), c.Status().Since)

		changed, updated := c.Changed(), job.Updated()
		tr.down.Store(false)
		time.Sleep(10 * time.Second) // the next poll is at 64 s
		synctest.Wait()
		st = c.Status()
		assert.True(t, st.Connected)
		assert.Empty(t, st.Err)
		assert.Equal(t, start.Add(64*time.Second), st.Since)
		assert.True(t, closed(changed))
		assert.True(t, closed(updated), "snapshots resume")
		assert.NotSame(t, first, job.Snapshot())

		cancel()
		<-ran
		assert.True(t, closed(job.Done()), "a stopped cluster's jobs are done")
	})
}
