package attach

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime/metrics"
)

func TestParseHeader(t *testing.T) {
	for in, want := range map[string][2]string{
		"Authorization: Bearer abc": {"Authorization", "Bearer abc"},
		"Cookie:a=1; b=2":           {"Cookie", "a=1; b=2"},
		" X-Empty :  ":              {"X-Empty", ""},
		"X-Url: http://a:b@c":       {"X-Url", "http://a:b@c"},
	} {
		name, value, err := ParseHeader(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, [2]string{name, value}, in)
	}
}

func TestParseHeader_Errors(t *testing.T) {
	for _, in := range []string{"", "Authorization", ": value", "Bad Name: v", "Na(me): v", "X: a\nb"} {
		_, _, err := ParseHeader(in)
		assert.Error(t, err, in)
	}
	_, _, err := ParseHeader("Authorization Bearer abc")
	assert.EqualError(t, err, `header "Authorization Bearer abc": want "Name: value", e.g. "Authorization: Bearer TOKEN"`)
}

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]version{
		"1.13.6": {1, 13}, "1.20-SNAPSHOT": {1, 20}, "2.0-preview1": {2, 0}, "2.1.0": {2, 1}, "1.9": {1, 9},
	} {
		got, ok := parseVersion(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "<unknown>", "1", "v1.19", "1.x"} {
		_, ok := parseVersion(in)
		assert.False(t, ok, in)
	}
	assert.Equal(t, int64(5000), version{1, 16}.windowMs())
	assert.Equal(t, int64(60000), version{1, 17}.windowMs())
	assert.Equal(t, int64(60000), version{2, 0}.windowMs())
}

func TestConfig_WithInterval(t *testing.T) {
	assert.Equal(t, time.Second, NewConfig("http://x").interval, "the default")
	assert.Equal(t, 3*time.Second, NewConfig("http://x").WithInterval(3*time.Second).interval)
	assert.Equal(t, 100*time.Millisecond, NewConfig("http://x").WithInterval(time.Millisecond).interval, "the floor")
	assert.Equal(t, 100*time.Millisecond, NewConfig("http://x").WithInterval(-time.Second).interval)

	base := NewConfig("http://x").WithHeader("A", "1")
	one, two := base.WithHeader("B", "2"), base.WithHeader("C", "3")
	assert.Equal(t, []header{{"A", "1"}, {"B", "2"}}, one.headers, "a copy: changes do not leak")
	assert.Equal(t, []header{{"A", "1"}, {"C", "3"}}, two.headers)
}

func TestCluster_Interval(t *testing.T) {
	f := newFakeFlink(t, "1.19")
	srv := httptest.NewServer(f)
	defer srv.Close()
	for value, want := range map[string]time.Duration{
		"2 s": 2 * time.Second, "15000": 15 * time.Second, "1min": time.Minute, "300 ms": time.Second, "nonsense": 10 * time.Second,
	} {
		f.edit("/jobmanager/config", func(doc any) {
			for _, e := range doc.([]any) {
				if e := e.(map[string]any); e["key"] == "metrics.fetcher.update-interval" {
					e["value"] = value
				}
			}
		})
		c, err := Dial(t.Context(), NewConfig(srv.URL))
		require.NoError(t, err)
		assert.Equal(t, want, c.Status().Interval, value)
	}
}

func TestDial_Errors(t *testing.T) {
	serve := func(h http.HandlerFunc) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	old := httptest.NewServer(newFakeFlink(t, "1.12"))
	defer old.Close()
	current := httptest.NewServer(newFakeFlink(t, "1.19"))
	defer current.Close()
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("hello"), 0o600))
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	tlsSrv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o600))
	tiny := NewConfig(current.URL)
	tiny.maxBody = 64

	for _, tc := range []struct {
		name string
		cfg  Config
		want []string
	}{
		{"bad url", NewConfig("localhost:8081"), []string{`url "localhost:8081": want http://HOST:PORT`}},
		{"bad url with a password", NewConfig("ftp://ops:s3cret@flink:8081"), []string{`url "ftp://ops:xxxxx@flink:8081": want`}},
		{"unparsable url", NewConfig("http://flink:port"), []string{`url: invalid port ":port"`}},
		{"unparsable url with a password", NewConfig("http://ops:s3cr/et@flink:8081"), []string{"url: not a valid URL (percent-encode"}},
		{"redirect", NewConfig(serve(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://127.0.0.1:1/config", http.StatusFound)
		})).WithHeader("Authorization", "Bearer s3cret"), []string{"the cluster redirected to http://127.0.0.1:1/config: attach follows no redirects"}},
		{"unreachable", NewConfig(gone.URL), []string{"cannot reach " + gone.URL, "connection refused"}},
		{"html", NewConfig(serve(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte("<!doctype html>\n<html><title>Grafana</title></html>"))
		})), []string{"is not a Flink REST API", "200 OK (text/html; charset=utf-8): <!doctype html> <html><title>Grafana"}},
		{"404", NewConfig(serve(func(w http.ResponseWriter, r *http.Request) {
			flinkError(w, http.StatusNotFound, "Not found: /config")
		})), []string{"is not a Flink REST API: GET /config answered 404 Not Found (application/json; charset=UTF-8): {\"errors\":[\"Not found: /config\"]}"}},
		{"json of another kind", NewConfig(serve(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"status": "UP"}`))
		})), []string{"is not a Flink REST API: its GET /config answered JSON without a flink-version"}},
		{"1.12", NewConfig(old.URL), []string{"runs Flink 1.12.7: attach needs Flink 1.13 or later"}},
		{"401", NewConfig(serve(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
		})), []string{"refused access (401 Unauthorized)", "user:password@"}},
		{"403", NewConfig(serve(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusForbidden)
		})), []string{"refused access (403 Forbidden)"}},
		{"oversize", tiny, []string{"GET /config: the answer is over the limit of 64 bytes"}},
		{"no ca file", NewConfig(current.URL).WithCAFile("/no/such/ca.pem"), []string{"ca file: open /no/such/ca.pem"}},
		{"not pem", NewConfig(current.URL).WithCAFile(notPEM), []string{"ca file " + notPEM + ": no PEM certificate"}},
		{"ca with a foreign transport", NewConfig(current.URL).WithCAFile(ca).WithHTTPClient(&http.Client{Transport: &transport{}}),
			[]string{"ca file " + ca + ": the HTTP client's transport is a *attach.transport, not an *http.Transport"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Dial(t.Context(), tc.cfg)
			require.Error(t, err)
			assert.Nil(t, c)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), "s3cr")
		})
	}
}

func TestDial_TLS(t *testing.T) {
	srv := httptest.NewTLSServer(newFakeFlink(t, "1.19"))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	require.NoError(t, os.WriteFile(ca, cert, 0o600))

	_, err := Dial(t.Context(), NewConfig(srv.URL))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "certificate is not signed by a trusted CA")

	c, err := Dial(t.Context(), NewConfig(srv.URL).WithCAFile(ca))
	require.NoError(t, err)
	require.True(t, c.poll(t.Context()))
	assert.Empty(t, c.Status().Err)
	assert.NotNil(t, c.Job(clicks).Snapshot())
}

// runFake dials a fake over a transport and runs the cluster until the
// test ends; call it in a synctest bubble.
func runFake(t *testing.T, f *fakeFlink) *Cluster {
	ctx, cancel := context.WithCancel(t.Context())
	c, err := Dial(ctx, NewConfig("http://flink.test:8081").WithHTTPClient(&http.Client{Transport: &transport{h: f}}))
	require.NoError(t, err)
	ran := make(chan struct{})
	go func() {
		c.Run(ctx)
		close(ran)
	}()
	t.Cleanup(func() {
		cancel()
		<-ran
	})
	synctest.Wait()
	return c
}

func TestCluster_Backpressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeFlink(t, "1.19")
		c := runFake(t, f)
		job := c.Job(clicks)
		m := job.Snapshot().Vertices[2]
		assert.Equal(t, metrics.Float(12), m.Busy)
		assert.Equal(t, metrics.LevelOK, m.Backpressure.Level)

		// The sink slows down: it is busy, and the map is backpressured.
		f.setMetric(clicks, sink, "0.busyTimeMsPerSecond", "990.0")
		f.setMetric(clicks, sink, "0.idleTimeMsPerSecond", "10")
		f.setMetric(clicks, mapper, "0.busyTimeMsPerSecond", "100.0")
		f.setMetric(clicks, mapper, "0.backPressuredTimeMsPerSecond", "900")
		f.setMetric(clicks, mapper, "0.idleTimeMsPerSecond", "0")
		updated := job.Updated()
		time.Sleep(2 * time.Second) // the interval: Flink's fetcher's, here 2 s
		synctest.Wait()
		require.True(t, closed(updated))
		snap := job.Snapshot()
		m, s := snap.Vertices[2], snap.Vertices[3]
		assert.Equal(t, metrics.Float(90), m.BackPressure)
		assert.Equal(t, metrics.LevelHigh, m.Backpressure.Level)
		assert.Equal(t, metrics.Color(10, 90), m.Colors)
		assert.Equal(t, metrics.Float(99), s.Busy)
		assert.Equal(t, metrics.Color(99, 0), s.Colors)
	})
}

func TestCluster_JobEnds(t *testing.T) {
	for _, state := range []string{metrics.StateCanceled, metrics.StateFailed, metrics.StateFinished, "vanished"} {
		t.Run(state, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeFlink(t, "1.19")
				c := runFake(t, f)
				job := c.Job(clicks)
				require.False(t, closed(job.Done()))
				changed := c.Changed()
				if state == "vanished" {
					f.remove(clicks)
				} else {
					f.setState(clicks, state)
				}
				time.Sleep(2 * time.Second)
				synctest.Wait()
				assert.True(t, closed(job.Done()))
				assert.True(t, closed(changed))
				want := state
				if state == "vanished" {
					want = metrics.StateRunning // its last snapshot, as it was
				}
				assert.Equal(t, want, job.Snapshot().State)
				assert.Len(t, c.Jobs(), 2, "ended jobs stay listed")
			})
		})
	}
}

// TestCluster_Hammer reads a running cluster from many goroutines while it
// polls, for the race detector.
func TestCluster_Hammer(t *testing.T) {
	f, c := attachFake(t, "1.19", func(c Config) Config { return c.WithInterval(0) })
	c.interval = time.Millisecond // poll as fast as it can
	ctx, cancel := context.WithCancel(t.Context())
	ran := make(chan struct{})
	go func() {
		c.Run(ctx)
		close(ran)
	}()
	start := make(chan struct{})
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			<-start
			for range 200 {
				_ = c.Status()
				for _, j := range c.Jobs() {
					if s := j.Snapshot(); s != nil {
						_ = s.Vertices[0].Colors
					}
					_ = c.Job(j.ID())
				}
				f.setMetric(clicks, keyed, "0.busyTimeMsPerSecond", "500.0")
			}
		}()
	}
	close(start)
	for range 8 {
		<-done
	}
	cancel()
	<-ran
	for _, j := range c.Jobs() {
		assert.True(t, closed(j.Done()))
	}
}
