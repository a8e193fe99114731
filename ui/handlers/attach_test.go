package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/examples"
	"flowlab/runtime/doctor"
	"flowlab/ui/attach"
)

// upstream is a playground whose session runs a spec: a cluster to attach
// to, through its Flink-shaped REST API and the session's cookie.
func upstream(t *testing.T, spec string) (srv *httptest.Server, cookie, jid string) {
	t.Helper()
	_, srv = newTestServer(t, NewConfig())
	c := newClient(t, srv)
	jid = c.start(spec)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	for _, ck := range c.c.Jar.Cookies(u) {
		if ck.Name == cookieName {
			cookie = ck.Name + "=" + ck.Value
		}
	}
	require.NotEmpty(t, cookie)
	return srv, cookie, jid
}

// verdict is a diagnosis as kinds and main tasks, sorted.
func verdict(fs []doctor.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f.Kind)+" "+strings.Join(f.Tasks, ","))
	}
	slices.Sort(out)
	return out
}

// flowlab attach: every visitor sees the cluster's jobs read-only, with the
// same diagnosis the cluster gives of them itself.
func TestServer_AttachedCluster(t *testing.T) {
	up, cookie, jid := upstream(t, testSpec)
	c, err := attach.Dial(t.Context(), attach.NewConfig(up.URL).WithInterval(100*time.Millisecond).WithHeader("Cookie", cookie))
	require.NoError(t, err)
	_, srv := newTestServer(t, NewConfig().WithCluster(c))
	visitor := newClient(t, srv)

	require.Eventually(t, func() bool {
		var list struct{ Jobs []struct{ JID string } }
		visitor.getJSON("/jobs/overview", &list)
		return len(list.Jobs) == 1 && list.Jobs[0].JID == jid
	}, 10*time.Second, 50*time.Millisecond)

	res, page := visitor.do("GET", "/", "", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, string(page), `data-testid="cluster-note"`)
	assert.Contains(t, string(page), `data-testid="cluster-job-list"`)
	assert.Contains(t, string(page), `data-jid="`+jid+`"`)
	assert.Contains(t, string(page), `data-testid="diagnosis"`)
	assert.NotContains(t, string(page), `data-testid="control-pause"`)
	assert.NotContains(t, string(page), `data-testid="control-cost"`)
	assert.NotContains(t, string(page), `data-testid="control-checkpoint"`)
	assert.NotContains(t, string(page), `data-testid="checkpoints"`)
	assert.NotContains(t, string(page), `data-testid="tab-state"`)

	// Read-only: no change reaches the cluster.
	status, data := visitor.patch(jid, `{"paused": true}`)
	assert.Equal(t, http.StatusForbidden, status)
	assert.Equal(t, []string{errReadOnly.Error()}, errorsOf(t, data))
	res, _ = visitor.do("DELETE", "/api/jobs/"+jid, "", nil)
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
	res, _ = visitor.do("PATCH", "/jobs/"+jid+"?mode=cancel", "", nil)
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
	res, data = visitor.do("GET", "/jobs/"+jid+"/config", "", nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "Flowlab does not know the cluster's config")
	assert.Contains(t, errorsOf(t, data)[0], up.URL+"/jobs/"+jid+"/config")
	status, data = visitor.patch(jid, `{"checkpoint": {"interval": "5s"}}`)
	assert.Equal(t, http.StatusForbidden, status)
	assert.Equal(t, []string{errReadOnly.Error()}, errorsOf(t, data))
	for _, path := range []string{"/checkpoints", "/checkpoints/config", "/checkpoints/details/1", "/checkpoints/details/1/subtasks/sink"} {
		res, data = visitor.do("GET", "/jobs/"+jid+path, "", nil)
		assert.Equal(t, http.StatusNotFound, res.StatusCode, path)
		assert.Contains(t, errorsOf(t, data)[0], up.URL+"/jobs/"+jid+"/checkpoints", "the cluster's checkpoints are its own")
	}
	res, data = visitor.do("GET", "/api/jobs/"+jid+"/state?task=sink", "", nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	assert.Equal(t, []string{"keyed state is not read from an attached Flink cluster"}, errorsOf(t, data))

	assert.Equal(t, []string{"bottleneck sink,source"}, sameVerdict(t, up, cookie, visitor, jid))
	var state struct{ State string }
	visitor.getJSON("/jobs/"+jid, &state)
	assert.Equal(t, "RUNNING", state.State)
}

// sameVerdict waits until the job's diagnosis on the cluster (up, in the
// session of cookie) and attached (through watcher's server) agree, and
// returns it.
func sameVerdict(t *testing.T, up *httptest.Server, cookie string, watcher *client, jid string) []string {
	t.Helper()
	direct := newClient(t, up)
	direct.c.Jar.SetCookies(mustURL(t, up.URL), []*http.Cookie{{Name: cookieName, Value: strings.TrimPrefix(cookie, cookieName+"=")}})
	var own, attached []doctor.Finding
	// The attached job is listed once the cluster's first poll of it has a
	// snapshot: 404 until then.
	fetch := func(c *client, fs *[]doctor.Finding) bool {
		res, data := c.do("GET", "/api/jobs/"+jid+"/diagnosis", "", nil)
		*fs = nil
		return res.StatusCode == http.StatusOK && json.Unmarshal(data, fs) == nil
	}
	if !assert.Eventually(t, func() bool {
		return fetch(direct, &own) && fetch(watcher, &attached) && len(own) > 0 && slices.Equal(verdict(own), verdict(attached))
	}, 30*time.Second, 100*time.Millisecond) {
		t.Fatalf("own %v, attached %v", verdict(own), verdict(attached))
	}
	return verdict(own)
}

// The doctor gives an example job the same diagnosis directly and through
// Flowlab's Flink-shaped REST API, attached.
func TestServer_AttachedExamples(t *testing.T) {
	for _, test := range []struct{ example, want string }{
		{"slow-sink", "bottleneck sink,parse,source"},
		{"hot-key", "skew count"},
		{"legacy-source", "legacy-source source"},
		{"network", "network parse,sink"},
	} {
		t.Run(test.example, func(t *testing.T) { // one at a time: under load, timing decides what a doctor sees
			ex, ok := examples.Get(test.example)
			require.True(t, ok)
			up, cookie, jid := upstream(t, ex.YAML)
			c, err := attach.Dial(t.Context(), attach.NewConfig(up.URL).WithInterval(100*time.Millisecond).WithHeader("Cookie", cookie))
			require.NoError(t, err)
			_, srv := newTestServer(t, NewConfig().WithCluster(c))
			assert.Contains(t, sameVerdict(t, up, cookie, newClient(t, srv), jid), test.want)
		})
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

// Watch a Flink cluster: a session follows one cluster, which only it sees,
// within the server's number of followed clusters.
func TestServer_AttachForm(t *testing.T) {
	up, cookie, jid := upstream(t, testSpec)
	notFlink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<!doctype html><title>router</title>")
	}))
	t.Cleanup(notFlink.Close)
	_, srv := newTestServer(t, NewConfig().WithClusters(1))
	a, b := newClient(t, srv), newClient(t, srv)
	post := func(c *client, body string) (int, []byte) {
		res, data := c.do("POST", "/api/attach", "application/json", strings.NewReader(body))
		return res.StatusCode, data
	}

	for _, test := range []struct{ body, want string }{
		{`{"url": "ftp://flink:8081"}`, `url: want the http:// or https:// address of a Flink REST API`},
		{`{"url": "` + up.URL + `", "interval": "soon"}`, `interval: want a duration such as 1s, got "soon"`},
		{`{"url": "` + up.URL + `", "headers": {"X-Bad:": "v"}}`, `headers: "X-Bad:" is not a header name`},
		{`{"url": "` + notFlink.URL + `"}`, `is not a Flink REST API`},
		{`{"url": "` + up.URL + `", "extra": 1}`, `unknown field "extra"`},
	} {
		status, data := post(a, test.body)
		assert.Equal(t, http.StatusBadRequest, status, test.body)
		assert.Contains(t, strings.Join(errorsOf(t, data), "\n"), test.want, test.body)
	}

	status, data := post(a, `{"url": "`+up.URL+`", "interval": "200ms", "headers": {"Cookie": "`+cookie+`"}}`)
	require.Equal(t, http.StatusCreated, status, string(data))
	assert.Contains(t, string(data), jid)
	var st struct{ Clusters []attachStatus }
	a.getJSON("/api/attach", &st)
	require.Len(t, st.Clusters, 1)
	assert.True(t, st.Clusters[0].Connected)
	assert.Equal(t, "200ms", st.Clusters[0].Interval)
	res, _ := a.do("GET", "/jobs/"+jid, "", nil)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	res, page := a.do("GET", "/attach", "", nil)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, string(page), `data-testid="cluster"`)
	assert.Contains(t, string(page), jid)

	// Another session sees none of it, and may follow no other cluster.
	res, _ = b.do("GET", "/jobs/"+jid, "", nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	status, data = post(b, `{"url": "`+up.URL+`"}`)
	assert.Equal(t, http.StatusTooManyRequests, status)
	assert.Contains(t, errorsOf(t, data)[0], "already follows 1 Flink clusters")

	res, _ = a.do("DELETE", "/api/attach", "", nil)
	assert.Equal(t, http.StatusNoContent, res.StatusCode)
	res, _ = a.do("GET", "/jobs/"+jid, "", nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	res, _ = a.do("DELETE", "/api/attach", "", nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	status, data = post(b, `{"url": "`+up.URL+`", "headers": {"Cookie": "`+cookie+`"}}`)
	assert.Equal(t, http.StatusCreated, status, string(data))
}

// The server stops following its clusters when it closes.
func TestServer_AttachClose(t *testing.T) {
	up, cookie, _ := upstream(t, testSpec)
	c, err := attach.Dial(t.Context(), attach.NewConfig(up.URL).WithHeader("Cookie", cookie))
	require.NoError(t, err)
	s := New(context.Background(), NewConfig().WithCluster(c), testEngine{}, slog.New(slog.DiscardHandler))
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
}

// What a hostile page may send to POST /api/attach: a body past its limit,
// more follows than the rate of starts allows, a header value that would
// split the request. None reaches a cluster.
func TestServer_AttachForm_Limits(t *testing.T) {
	up, cookie, _ := upstream(t, testSpec)
	_, srv := newTestServer(t, NewConfig().WithStartRate(1, time.Hour))
	c := newClient(t, srv)
	post := func(body string) (*http.Response, []byte) {
		return c.do("POST", "/api/attach", "application/json", strings.NewReader(body))
	}

	res, data := post(`{"url": "` + up.URL + `", "headers": {"X-Pad": "` + strings.Repeat("a", maxAttachBody) + `"}}`)
	assert.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)
	assert.Equal(t, []string{"the request is larger than the limit of 8 KiB"}, errorsOf(t, data))

	res, data = post(`{"url": "` + up.URL + `", "headers": {"X-Evil": "a\r\nHost: elsewhere"}}`)
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Contains(t, errorsOf(t, data)[0], `headers: "X-Evil" is not a header name with a one-line value`)

	res, data = post(`{"url": "` + up.URL + `", "headers": {"Cookie": "` + cookie + `"}}`)
	require.Equal(t, http.StatusCreated, res.StatusCode, string(data))
	res, data = post(`{"url": "` + up.URL + `"}`)
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	assert.NotEmpty(t, res.Header.Get("Retry-After"))
	assert.Contains(t, errorsOf(t, data)[0], "started as many jobs and clusters as it may for now")
}
