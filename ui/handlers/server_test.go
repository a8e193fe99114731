package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/examples"
	"flowlab/runtime"
	"flowlab/runtime/spec"
)

// testEngine runs real jobs of built-in operators; an "upload" starting
// with \0asm compiles to passthrough.
type testEngine struct{}

func (testEngine) Start(ctx context.Context, s *spec.Job, resolve runtime.Resolver, _ runtime.Budget) (Job, error) {
	j, err := runtime.Start(ctx, s, resolve)
	if err != nil {
		return nil, err
	}
	return j, nil
}

func (testEngine) Resolve(name string) (runtime.OperatorType, error) { return runtime.Builtins(name) }

func (testEngine) Compile(_ context.Context, name string, wasm []byte) (runtime.OperatorType, error) {
	if !bytes.HasPrefix(wasm, []byte("\x00asm")) {
		return nil, fmt.Errorf("operator %q: not a WebAssembly module", name)
	}
	return runtime.Builtins(runtime.OpPassthrough)
}

func (testEngine) Operators() []string {
	return []string{runtime.OpGenerator, runtime.OpPassthrough, runtime.OpDiscard, "wasm:upper"}
}

// testSpec is a small job whose sink is the bottleneck.
const testSpec = `name: test
metrics: {tick: 20ms, window: 200ms}
network: {buffer-size: 1kb}
tasks:
  - {name: source, operator: generator, parallelism: 2, config: {rate: 2000}}
  - {name: sink, operator: discard, cost: 1ms}
`

func newTestServer(t *testing.T, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	s := New(context.Background(), cfg, testEngine{}, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		srv.Close()
		s.Close()
	})
	return s, srv
}

// client is a browser session: it keeps its cookie.
type client struct {
	t   *testing.T
	srv *httptest.Server
	c   *http.Client
}

func newClient(t *testing.T, srv *httptest.Server) *client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &client{t: t, srv: srv, c: &http.Client{Jar: jar}}
}

func (c *client) do(method, path, contentType string, body io.Reader) (*http.Response, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.srv.URL+path, body)
	require.NoError(c.t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Origin", c.srv.URL) // as a browser's fetch does
	res, err := c.c.Do(req)
	require.NoError(c.t, err)
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	require.NoError(c.t, err)
	return res, data
}

func (c *client) getJSON(path string, v any) int {
	c.t.Helper()
	res, data := c.do("GET", path, "", nil)
	require.NoError(c.t, json.Unmarshal(data, v), string(data))
	return res.StatusCode
}

// start starts a spec and returns its job id.
func (c *client) start(yaml string) string {
	c.t.Helper()
	res, data := c.do("POST", "/api/jobs", "application/yaml", strings.NewReader(yaml))
	require.Equal(c.t, http.StatusCreated, res.StatusCode, string(data))
	var body struct{ JID string }
	require.NoError(c.t, json.Unmarshal(data, &body))
	require.Regexp(c.t, "^[0-9a-f]{32}$", body.JID)
	return body.JID
}

func (c *client) patch(jid, change string) (int, []byte) {
	c.t.Helper()
	res, data := c.do("PATCH", "/api/jobs/"+jid, "application/json", strings.NewReader(change))
	return res.StatusCode, data
}

func errorsOf(t *testing.T, data []byte) []string {
	t.Helper()
	var body errorsBody
	require.NoError(t, json.Unmarshal(data, &body), string(data))
	return body.Errors
}

func TestServer_FirstPage(t *testing.T) {
	s, srv := newTestServer(t, NewConfig())
	c := newClient(t, srv)
	res, data := c.do("GET", "/", "", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	h := res.Header
	assert.Contains(t, h.Get("Content-Security-Policy"), "default-src 'self'")
	assert.Contains(t, h.Get("Content-Security-Policy"), "script-src 'self'")
	assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
	assert.Equal(t, "DENY", h.Get("X-Frame-Options"))
	assert.NotEmpty(t, h.Get("Referrer-Policy"))

	// A GET starts nothing: the page's script starts the example.
	assert.Empty(t, h.Get("Set-Cookie"))
	page := string(data)
	assert.Contains(t, page, `data-testid="job-start" data-start-url="/api/jobs" data-start-then="/?job="`)
	ex, ok := examples.Get("slow-sink")
	require.True(t, ok)
	m := regexp.MustCompile(`(?s)<template data-field="spec">(.*?)</template>`).FindStringSubmatch(page)
	require.NotNil(t, m)
	assert.Equal(t, ex.YAML, html.UnescapeString(m[1]))
	s.mu.Lock()
	assert.Empty(t, s.sessions)
	s.mu.Unlock()

	// As the script does.
	res, data = c.do("POST", "/api/jobs", "application/yaml", strings.NewReader(ex.YAML))
	require.Equal(t, http.StatusCreated, res.StatusCode, string(data))
	cookie := res.Header.Get("Set-Cookie")
	assert.Contains(t, cookie, "flowlab_session=")
	assert.Contains(t, cookie, "HttpOnly")
	assert.Contains(t, cookie, "SameSite=Lax")
	_, data = c.do("GET", "/", "", nil)
	page = string(data)
	for _, task := range []string{"source", "parse", "sink"} {
		assert.Contains(t, page, `data-task="`+task+`"`)
	}
	assert.Contains(t, page, `data-testid="graph"`)

	// The same session sees its job, and a second visit starts no other.
	var jobs struct{ Jobs []struct{ ID, Status string } }
	require.Equal(t, http.StatusOK, c.getJSON("/jobs", &jobs))
	require.Len(t, jobs.Jobs, 1)
	c.do("GET", "/", "", nil)
	c.getJSON("/jobs", &jobs)
	assert.Len(t, jobs.Jobs, 1)

	// Static files carry the headers too.
	res, _ = c.do("GET", "/static/app.js", "", nil)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
}

func TestServer_StartJob_Errors(t *testing.T) {
	_, srv := newTestServer(t, NewConfig())
	c := newClient(t, srv)
	bad := "name: bad\ntasks:\n  - {name: source, operator: generator}\n  - {name: sink, operator: discard, parallelism: 0}\n  - {name: x, operator: nope}\n"
	res, data := c.do("POST", "/api/jobs", "application/yaml", strings.NewReader(bad))
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	var body errorsBody
	require.NoError(t, json.Unmarshal(data, &body))
	require.NotEmpty(t, body.Errors)
	assert.True(t, strings.HasPrefix(body.Errors[0], "line 4: tasks[1].parallelism"), body.Errors[0])
	assert.Equal(t, 4, body.Details[0].Line)

	// Unknown operators are found by the runtime, also at their line.
	res, data = c.do("POST", "/api/jobs", "application/yaml", strings.NewReader("tasks:\n  - {name: source, operator: nope}\n"))
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Contains(t, errorsOf(t, data)[0], "line 2: tasks[0].operator")

	res, data = c.do("GET", "/api/nothing", "", nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	assert.NotEmpty(t, errorsOf(t, data))
}

func TestServer_FlinkShapes(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithDefaultExample(""))
	c := newClient(t, srv)
	jid := c.start(testSpec)

	var job struct {
		JID, ID, Name, State string
		Vertices             []struct {
			ID, Name, Status string
			Parallelism      int
			Metrics          map[string]any
		}
	}
	require.Eventually(t, func() bool {
		c.getJSON("/jobs/"+jid, &job)
		return job.State == "RUNNING"
	}, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, jid, job.JID)
	assert.Equal(t, jid, job.ID)
	assert.Equal(t, "test", job.Name)
	require.Len(t, job.Vertices, 2)
	assert.Equal(t, 2, job.Vertices[0].Parallelism)
	assert.Equal(t, "RUNNING", job.Vertices[0].Status)
	assert.Contains(t, job.Vertices[0].Metrics, "busyTimeMsPerSecond")
	vid := job.Vertices[1].ID

	var bp map[string]any
	require.Equal(t, http.StatusOK, c.getJSON("/jobs/"+jid+"/vertices/"+vid+"/backpressure", &bp))
	for _, key := range []string{"status", "backpressure-level", "end-timestamp", "subtasks"} {
		assert.Contains(t, bp, key)
	}
	sub := bp["subtasks"].([]any)[0].(map[string]any)
	for _, key := range []string{"subtask", "backpressure-level", "ratio", "idleRatio", "busyRatio"} {
		assert.Contains(t, sub, key)
	}

	var aggs []map[string]any
	require.Equal(t, http.StatusOK, c.getJSON("/jobs/"+jid+"/vertices/"+vid+"/subtasks/metrics?get=busyTimeMsPerSecond,numRecordsIn", &aggs))
	require.Len(t, aggs, 2)
	assert.Equal(t, "busyTimeMsPerSecond", aggs[0]["id"])
	for _, key := range []string{"min", "max", "avg", "sum", "skew"} {
		assert.Contains(t, aggs[0], key)
	}
	var names []map[string]string
	c.getJSON("/jobs/"+jid+"/vertices/"+vid+"/subtasks/metrics", &names)
	assert.Contains(t, names, map[string]string{"id": "buffers.inPoolUsage"})
	var maxOnly []map[string]any
	c.getJSON("/jobs/"+jid+"/vertices/sink/subtasks/metrics?get=numRecordsIn&agg=max", &maxOnly)
	assert.Equal(t, []string{"id", "max"}, keys(maxOnly[0]))

	var e map[string]any
	assert.Equal(t, http.StatusNotFound, c.getJSON("/jobs/"+jid+"/vertices/nope/backpressure", &e))
}

func keys(m map[string]any) []string {
	var ks []string
	for _, k := range []string{"id", "min", "max", "avg", "sum", "skew"} {
		if _, ok := m[k]; ok {
			ks = append(ks, k)
		}
	}
	return ks
}

func TestServer_Isolation(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithDefaultExample(""))
	alice, bob := newClient(t, srv), newClient(t, srv)
	jid := alice.start(testSpec)
	alice.do("GET", "/jobs", "", nil)

	var jobs struct{ Jobs []any }
	bob.getJSON("/jobs", &jobs)
	assert.Empty(t, jobs.Jobs)
	for _, req := range []struct{ method, path, body string }{
		{"GET", "/jobs/" + jid, ""},
		{"GET", "/jobs/" + jid + "/vertices/sink/backpressure", ""},
		{"GET", "/?job=" + jid, ""},
		{"GET", "/api/jobs/" + jid + "/logs?task=sink", ""},
		{"GET", "/api/jobs/" + jid + "/failures", ""},
		{"PATCH", "/api/jobs/" + jid, `{"paused":true}`},
		{"DELETE", "/api/jobs/" + jid, ""},
		{"GET", "/ws/jobs/" + jid, ""},
	} {
		res, _ := bob.do(req.method, req.path, "application/json", strings.NewReader(req.body))
		assert.Equal(t, http.StatusNotFound, res.StatusCode, "%s %s", req.method, req.path)
	}
	res, _ := alice.do("GET", "/jobs/"+jid, "", nil)
	assert.Equal(t, http.StatusOK, res.StatusCode)

	// Uploads too: bob cannot use alice's operator.
	res, data := alice.upload("mine.wasm", "", []byte("\x00asm\x01\x00\x00\x00"))
	require.Equal(t, http.StatusCreated, res.StatusCode, string(data))
	alice.start(strings.Replace(testSpec, "operator: discard", "operator: upload:mine", 1))
	res, data = bob.do("POST", "/api/jobs", "application/yaml", strings.NewReader(strings.Replace(testSpec, "operator: discard", "operator: upload:mine", 1)))
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Contains(t, errorsOf(t, data)[0], `no operator "upload:mine" was uploaded in this session`)
}

// A request from another site's page is refused.
func TestServer_CrossOrigin(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithDefaultExample(""))
	c := newClient(t, srv)
	req, _ := http.NewRequest("POST", srv.URL+"/api/jobs", strings.NewReader(testSpec))
	req.Header.Set("Origin", "http://evil.example")
	res, err := c.c.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusForbidden, res.StatusCode)

	// The cookie is Lax, so a cross-site form post may carry it: the
	// browser's Sec-Fetch-Site refuses it, Origin or not.
	for _, method := range []string{"POST", "PATCH", "DELETE"} {
		req, _ = http.NewRequest(method, srv.URL+"/api/jobs", strings.NewReader(testSpec))
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		res, err = c.c.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusForbidden, res.StatusCode, method)
	}
}

func TestServer_Limits(t *testing.T) {
	s, srv := newTestServer(t, NewConfig().WithDefaultExample("").WithJobLimits(2, 3, 8))
	a, b := newClient(t, srv), newClient(t, srv)
	first := a.start(testSpec)
	a.start(testSpec)
	res, data := a.do("POST", "/api/jobs", "application/yaml", strings.NewReader(testSpec))
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	assert.Contains(t, errorsOf(t, data)[0], "this session already runs 2 jobs")

	// Replacing a job makes room.
	res, data = a.do("POST", "/api/jobs?replace="+first, "application/yaml", strings.NewReader(testSpec))
	require.Equal(t, http.StatusCreated, res.StatusCode, string(data))

	// 3 subtasks per job: 6 running, the limit is 8.
	res, data = b.do("POST", "/api/jobs", "application/yaml", strings.NewReader(testSpec))
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	assert.Contains(t, errorsOf(t, data)[0], "subtasks")
	small := "tasks: [{name: source, operator: generator, config: {rate: 10}}]"
	jid := b.start(small)
	res, data = b.do("POST", "/api/jobs", "application/yaml", strings.NewReader(small))
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	assert.Contains(t, errorsOf(t, data)[0], "the server already runs 3 jobs")

	// Rescaling counts too.
	code, data := b.patch(jid, `{"task":"source","parallelism":3}`)
	assert.Equal(t, http.StatusTooManyRequests, code, string(data))

	// A canceled job frees its place.
	res, _ = b.do("DELETE", "/api/jobs/"+jid, "", nil)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	require.Eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.running == 2 && s.subtasks == 6
	}, 10*time.Second, 10*time.Millisecond)
}

func TestServer_IdleJobs(t *testing.T) {
	s, srv := newTestServer(t, NewConfig().WithDefaultExample("").WithIdle(time.Minute, time.Hour))
	c := newClient(t, srv)
	jid := c.start(testSpec)
	s.reapOnce(time.Now())
	var job struct{ State string }
	c.getJSON("/jobs/"+jid, &job)
	assert.NotEqual(t, "CANCELED", job.State)

	s.reapOnce(time.Now().Add(2 * time.Minute))
	require.Eventually(t, func() bool {
		c.getJSON("/jobs/"+jid, &job)
		return job.State == "CANCELED"
	}, 10*time.Second, 10*time.Millisecond)

	// Then the idle session is forgotten, and its job with it.
	s.reapOnce(time.Now().Add(2 * time.Hour))
	res, _ := c.do("GET", "/jobs/"+jid, "", nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
}

func TestServer_ChangeJob(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithDefaultExample(""))
	c := newClient(t, srv)
	jid := c.start(testSpec)
	for _, change := range []string{
		`{"task":"source","rate":500}`,
		`{"task":"sink","cost":"2ms"}`,
		`{"task":"sink","parallelism":2}`,
		`{"paused":true}`,
		`{"paused":false}`,
		`{"window":"tick"}`,
		`{"window":"1s"}`,
		`{"restart":true}`,
		`{"task":"source","config":{"skew":0.5,"keys":10}}`,
		`{"task":"sink","operator":"passthrough"}`,
	} {
		code, data := c.patch(jid, change)
		assert.Equal(t, http.StatusOK, code, "%s: %s", change, data)
	}
	var job struct {
		WindowMs int64
		Vertices []struct {
			Name, Operator string
			Parallelism    int
		}
	}
	require.Eventually(t, func() bool {
		c.getJSON("/jobs/"+jid, &job)
		return job.WindowMs == 1000 && len(job.Vertices) == 2 && job.Vertices[1].Parallelism == 2 && job.Vertices[1].Operator == "passthrough"
	}, 10*time.Second, 10*time.Millisecond)
	res, data := c.do("GET", "/?job="+jid, "", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, string(data), `data-field="skew" data-kind="number" value="0.5"`, "the drawer shows the config, a number as one")

	for change, msg := range map[string]string{
		`{"task":"sink","rate":5}`:                "has no rate",
		`{"task":"nope","cost":"1ms"}`:            "nope",
		`{"task":"sink","cost":"fast"}`:           "not a duration",
		`{"cost":"1ms"}`:                          `"task" is required`,
		`{"window":"3ms"}`:                        "window",
		`{"task":"sink","parallelism":0}`:         "parallelism",
		`{"colour":"red"}`:                        "unknown field",
		`{"config":{"skew":1}}`:                   `"task" is required`,
		`{"task":"source","config":{"skew":"x"}}`: "skew: want a number",
		`{"task":"source","config":{"hue":1}}`:    "hue: unknown field",
		`{"task":"sink","operator":"nope"}`:       `unknown operator "nope"`,
		`{"task":"sink","operator":"upload:x"}`:   `no operator "upload:x" was uploaded in this session`,
	} {
		code, data := c.patch(jid, change)
		assert.Equal(t, http.StatusBadRequest, code, change)
		assert.Contains(t, errorsOf(t, data)[0], msg, change)
	}

	var logs struct{ Lines []any }
	assert.Equal(t, http.StatusOK, c.getJSON("/api/jobs/"+jid+"/logs?task=sink", &logs))
	assert.NotNil(t, logs.Lines)
	var e errorsBody
	assert.Equal(t, http.StatusNotFound, c.getJSON("/api/jobs/"+jid+"/logs?task=nope", &e))
	var failures struct{ Failures []any }
	assert.Equal(t, http.StatusOK, c.getJSON("/api/jobs/"+jid+"/failures", &failures))
	assert.NotNil(t, failures.Failures)
}

func (c *client) upload(filename, name string, wasm []byte) (*http.Response, []byte) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if name != "" {
		require.NoError(c.t, w.WriteField("name", name))
	}
	part, err := w.CreateFormFile("wasm", filename)
	require.NoError(c.t, err)
	_, _ = part.Write(wasm)
	require.NoError(c.t, w.Close())
	return c.do("POST", "/api/operators", w.FormDataContentType(), &body)
}

func TestServer_Upload(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithDefaultExample("").WithUploadLimits(1024, 2))
	c := newClient(t, srv)
	module := []byte("\x00asm\x01\x00\x00\x00")

	res, data := c.upload("up.wasm", "", module)
	require.Equal(t, http.StatusCreated, res.StatusCode, string(data))
	var op operatorJSON
	require.NoError(t, json.Unmarshal(data, &op))
	assert.Equal(t, "upload:up", op.Name)

	res, data = c.upload("garbage.wasm", "", []byte("hello, world"))
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Contains(t, errorsOf(t, data)[0], "not a WebAssembly module")

	res, data = c.upload("big.wasm", "", bytes.Repeat([]byte{0}, 2048))
	assert.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)
	assert.Contains(t, errorsOf(t, data)[0], "larger than the limit of 1 KiB")

	res, data = c.upload("a.wasm", "<script>", module)
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Contains(t, errorsOf(t, data)[0], "is not valid")

	res, data = c.upload("x.wasm", "renamed", module)
	require.Equal(t, http.StatusCreated, res.StatusCode, string(data))
	var list struct{ Operators []operatorJSON }
	c.getJSON("/api/operators", &list)
	require.GreaterOrEqual(t, len(list.Operators), 3)
	assert.Equal(t, "upload:renamed", list.Operators[0].Name)
	assert.Equal(t, "upload:up", list.Operators[1].Name)
	assert.Equal(t, "builtin", list.Operators[2].Kind)

	res, data = c.upload("third.wasm", "", module)
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	assert.Contains(t, errorsOf(t, data)[0], "already has 2 uploaded operators")

	res, _ = c.do("POST", "/api/operators", "text/plain", strings.NewReader("x"))
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
}

// An upload far past the limit is refused while it is read.
func TestServer_Upload_TooLarge(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithDefaultExample("").WithUploadLimits(1024, 2))
	c := newClient(t, srv)
	res, data := c.upload("huge.wasm", "", bytes.Repeat([]byte{0}, 1<<20))
	assert.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)
	assert.NotEmpty(t, errorsOf(t, data))
}

func TestServer_Pages(t *testing.T) {
	_, srv := newTestServer(t, NewConfig())
	c := newClient(t, srv)
	for path, testid := range map[string]string{"/new": "editor", "/operators": "upload-input"} {
		res, data := c.do("GET", path, "", nil)
		assert.Equal(t, http.StatusOK, res.StatusCode)
		assert.Contains(t, string(data), `data-testid="`+testid+`"`)
	}
	res, _ := c.do("GET", "/?job=0123", "", nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	var ex struct{ Examples []struct{ Name, YAML string } }
	c.getJSON("/api/examples", &ex)
	assert.NotEmpty(t, ex.Examples)
}

// Changes that restart a job, sent at once, are made one after the other.
func TestServer_ChangeJob_Concurrent(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithDefaultExample(""))
	c := newClient(t, srv)
	jid := c.start(testSpec)
	changes := []string{`{"task":"sink","parallelism":2}`, `{"task":"source","config":{"skew":1}}`, `{"task":"sink","parallelism":3}`, `{"task":"sink","operator":"passthrough"}`}
	codes := make([]int, len(changes))
	bodies := make([][]byte, len(changes))
	var wg sync.WaitGroup
	for i, change := range changes {
		wg.Go(func() { codes[i], bodies[i] = c.patch(jid, change) })
	}
	wg.Wait()
	for i := range changes {
		assert.Equal(t, http.StatusOK, codes[i], "%s: %s", changes[i], bodies[i])
	}
}

// A body past its limit is answered 413, naming the limit.
func TestServer_BodyLimits(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithDefaultExample(""))
	c := newClient(t, srv)
	jid := c.start(testSpec)

	code, data := c.patch(jid, `{"task":"`+strings.Repeat("x", 5000)+`"}`)
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)
	assert.Contains(t, errorsOf(t, data)[0], "the change is larger than the limit of 4 KiB")
	code, data = c.patch(jid, `{"task":`)
	assert.Equal(t, http.StatusBadRequest, code, "not too large: invalid")
	assert.Contains(t, errorsOf(t, data)[0], "the change is not valid")

	res, data := c.do("POST", "/api/jobs", "application/yaml", strings.NewReader(testSpec+strings.Repeat("#", spec.MaxSpecSize)))
	assert.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)
	assert.Contains(t, errorsOf(t, data)[0], "the spec is larger than the limit of 1 MiB")
}

// stuckEngine's jobs do not end when canceled until release is closed, like
// a job whose operator does not return.
type stuckEngine struct {
	testEngine
	release chan struct{}
}

type stuckJob struct {
	Job
	done chan struct{}
}

func (j *stuckJob) Done() <-chan struct{} { return j.done }

func (e stuckEngine) Start(ctx context.Context, s *spec.Job, resolve runtime.Resolver, budget runtime.Budget) (Job, error) {
	rt, err := e.testEngine.Start(ctx, s, resolve, budget)
	if err != nil {
		return nil, err
	}
	j := &stuckJob{Job: rt, done: make(chan struct{})}
	go func() {
		<-rt.Done()
		<-e.release
		close(j.done)
	}()
	return j, nil
}

// Canceling a job that does not end answers 202 CANCELING within about a
// second; Flink's PATCH ?mode=cancel answers 202 at once.
func TestServer_CancelJob_Stuck(t *testing.T) {
	eng := stuckEngine{release: make(chan struct{})}
	s := New(context.Background(), NewConfig().WithDefaultExample(""), eng, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		srv.Close()
		s.Close()
	})
	t.Cleanup(func() { close(eng.release) }) // before s.Close, which waits for the jobs
	c := newClient(t, srv)

	jid := c.start(testSpec)
	res, data := c.do("DELETE", "/api/jobs/"+jid, "", nil)
	assert.Equal(t, http.StatusAccepted, res.StatusCode, string(data))
	var body struct{ JID, State string }
	require.NoError(t, json.Unmarshal(data, &body))
	assert.Equal(t, "CANCELING", body.State)

	jid = c.start(testSpec)
	res, data = c.do("PATCH", "/jobs/"+jid+"?mode=cancel", "", nil)
	assert.Equal(t, http.StatusAccepted, res.StatusCode, string(data))
	res, _ = c.do("PATCH", "/jobs/"+jid+"?mode=stop", "", nil)
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	res, _ = c.do("PATCH", "/jobs/0123?mode=cancel", "", nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
}

// A job that ends at once is answered with its final state.
func TestServer_CancelJob(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithDefaultExample(""))
	c := newClient(t, srv)
	jid := c.start(testSpec)
	res, data := c.do("DELETE", "/api/jobs/"+jid, "", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, string(data))
	assert.Contains(t, string(data), `"state":"CANCELED"`)

	jid = c.start(testSpec)
	res, _ = c.do("PATCH", "/jobs/"+jid+"?mode=cancel", "", nil)
	require.Equal(t, http.StatusAccepted, res.StatusCode)
	var job struct{ State string }
	require.Eventually(t, func() bool {
		c.getJSON("/jobs/"+jid, &job)
		return job.State == "CANCELED"
	}, 10*time.Second, 10*time.Millisecond)
}

// slowEngine starts jobs slowly, which widens any window between checking a
// limit and counting the job.
type slowEngine struct{ testEngine }

func (e slowEngine) Start(ctx context.Context, s *spec.Job, resolve runtime.Resolver, budget runtime.Budget) (Job, error) {
	time.Sleep(50 * time.Millisecond)
	return e.testEngine.Start(ctx, s, resolve, budget)
}

// Starts of one session sent at once run no more jobs than it may.
func TestServer_StartJob_Hammer(t *testing.T) {
	const starts = 12
	cfg := NewConfig().WithDefaultExample("").WithJobLimits(3, 50, 400).WithStartRate(100, time.Millisecond)
	s := New(context.Background(), cfg, slowEngine{}, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		srv.Close()
		s.Close()
	})
	c := newClient(t, srv)
	res, _ := c.do("POST", "/api/jobs", "application/yaml", strings.NewReader("not a spec"))
	require.Equal(t, http.StatusBadRequest, res.StatusCode) // but the session is there

	small := "tasks: [{name: source, operator: generator, config: {rate: 10}}]"
	codes := make([]int, starts)
	release := make(chan struct{})
	var wg sync.WaitGroup
	for i := range starts {
		wg.Go(func() {
			<-release
			res, _ := c.do("POST", "/api/jobs", "application/yaml", strings.NewReader(small))
			codes[i] = res.StatusCode
		})
	}
	close(release)
	wg.Wait()
	count := map[int]int{}
	for _, code := range codes {
		count[code]++
	}
	assert.Equal(t, map[int]int{http.StatusCreated: 3, http.StatusTooManyRequests: starts - 3}, count)
	s.mu.Lock()
	defer s.mu.Unlock()
	assert.Equal(t, 3, s.running)
}

// Replacing an upload counts too: a session cannot upload forever.
func TestServer_Upload_Rate(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithDefaultExample("").WithUploadLimits(1024, 2).WithUploadRate(3, time.Minute))
	c := newClient(t, srv)
	module := []byte("\x00asm\x01\x00\x00\x00")
	for range 3 {
		res, data := c.upload("same.wasm", "", module)
		require.Equal(t, http.StatusCreated, res.StatusCode, string(data))
	}
	res, data := c.upload("same.wasm", "", module)
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	assert.Contains(t, []string{"59", "60"}, res.Header.Get("Retry-After"))
	assert.Regexp(t, `try again in (59|60) s`, errorsOf(t, data)[0])
}

// Buffer debloating is turned on and off live: the job restarts with it,
// and its config says so.
func TestServer_ChangeJob_BufferDebloat(t *testing.T) {
	_, srv := newTestServer(t, NewConfig())
	c := newClient(t, srv)
	jid := c.start(testSpec)
	config := func() map[string]string { return c.userConfig(jid) }
	assert.NotContains(t, config(), "network.buffer-debloat.target")

	status, data := c.patch(jid, `{"bufferDebloat": {"target": "100ms"}}`)
	require.Equal(t, http.StatusOK, status, string(data))
	assert.Equal(t, "100ms", config()["network.buffer-debloat.target"])
	assert.Equal(t, "200ms", config()["network.buffer-debloat.period"], "Flink's default")

	status, data = c.patch(jid, `{"bufferDebloat": {"off": true}}`)
	require.Equal(t, http.StatusOK, status, string(data))
	assert.NotContains(t, config(), "network.buffer-debloat.target")

	for change, want := range map[string]string{
		`{"bufferDebloat": {"target": "soon"}}`:               `bufferDebloat.target "soon" is not a duration like 1s or 200ms`,
		`{"bufferDebloat": {"period": "1h"}}`:                 `network.buffer-debloat.period: must be at most 1m0s, got 1h0m0s`,
		`{"bufferDebloat": {"off": true, "target": "1s"}}`:    `bufferDebloat: "off" takes no target or period`,
		`{"bufferDebloat": {"target": "1s", "window": "2s"}}`: `unknown field "window"`,
	} {
		status, data := c.patch(jid, change)
		assert.Equal(t, http.StatusBadRequest, status, change)
		assert.Contains(t, strings.Join(errorsOf(t, data), "\n"), want, change)
	}
}

// userConfig is the user-config of GET /jobs/{jid}/config.
func (c *client) userConfig(jid string) map[string]string {
	c.t.Helper()
	var body struct {
		ExecutionConfig struct {
			UserConfig map[string]string `json:"user-config"`
		} `json:"execution-config"`
	}
	require.Equal(c.t, http.StatusOK, c.getJSON("/jobs/"+jid+"/config", &body))
	return body.ExecutionConfig.UserConfig
}
