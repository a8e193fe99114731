package handlers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime"
	"flowlab/runtime/spec"
)

// countingEngine counts the jobs it starts.
type countingEngine struct {
	testEngine
	starts *atomic.Int64
}

func (e countingEngine) Start(ctx context.Context, s *spec.Job, resolve runtime.Resolver, budget runtime.Budget) (Job, error) {
	e.starts.Add(1)
	return e.testEngine.Start(ctx, s, resolve, budget)
}

// visitor sends requests from one address straight to the handler,
// keeping its cookie.
type visitor struct {
	t      *testing.T
	s      *Server
	addr   string
	cookie *http.Cookie
}

func (v *visitor) do(method, path, contentType string, body io.Reader) *httptest.ResponseRecorder {
	v.t.Helper()
	req := httptest.NewRequest(method, path, body)
	req.RemoteAddr = v.addr + ":40000"
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if v.cookie != nil {
		req.AddCookie(v.cookie)
	}
	rec := httptest.NewRecorder()
	v.s.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == cookieName {
			v.cookie = c
		}
	}
	return rec
}

func (v *visitor) upload(name string) *httptest.ResponseRecorder {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, err := w.CreateFormFile("wasm", name+".wasm")
	require.NoError(v.t, err)
	_, _ = part.Write([]byte("\x00asm\x01\x00\x00\x00"))
	require.NoError(v.t, w.Close())
	return v.do("POST", "/api/operators", w.FormDataContentType(), &body)
}

func newHandler(t *testing.T, cfg Config, eng Engine) *Server {
	t.Helper()
	s := New(context.Background(), cfg, eng, slog.New(slog.DiscardHandler))
	t.Cleanup(s.Close)
	return s
}

func (s *Server) sessionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

const smallSpec = "tasks: [{name: source, operator: generator, config: {rate: 10}}]"

// Requests that only read start no job and no session, however many come:
// links and images on other sites cannot start jobs or crowd out sessions.
func TestServer_GetStartsNothing(t *testing.T) {
	var starts atomic.Int64
	s := newHandler(t, NewConfig().WithLessons(testLessons(t)), countingEngine{starts: &starts})
	for i := range 50 {
		v := &visitor{t: t, s: s, addr: "192.0.2.1"}
		for _, path := range []string{"/", "/lessons/1-test", "/lessons", "/new", "/operators", "/jobs", "/api/operators", "/static/app.js"} {
			rec := v.do("GET", path, "", nil)
			require.Equal(t, http.StatusOK, rec.Code, "%d: %s", i, path)
			assert.Empty(t, rec.Header().Get("Set-Cookie"), path)
		}
	}
	assert.Zero(t, starts.Load())
	assert.Zero(t, s.sessionCount())
}

// Job starts are limited per client address, whatever the session.
func TestServer_StartRate(t *testing.T) {
	s := newHandler(t, NewConfig().WithLessons(testLessons(t)).WithStartRate(2, time.Hour), testEngine{})
	a, b := &visitor{t: t, s: s, addr: "192.0.2.1"}, &visitor{t: t, s: s, addr: "192.0.2.2"}
	for range 2 {
		rec := a.do("POST", "/api/jobs", "application/yaml", strings.NewReader(smallSpec))
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	}
	for _, path := range []string{"/api/jobs", "/api/lessons/1-test/start", "/api/lessons/1-test/reset"} {
		other := &visitor{t: t, s: s, addr: "192.0.2.1"} // another session, same address
		rec := other.do("POST", path, "application/yaml", strings.NewReader(smallSpec))
		assert.Equal(t, http.StatusTooManyRequests, rec.Code, path)
		assert.Equal(t, "3600", rec.Header().Get("Retry-After"), path)
		assert.Contains(t, errorsOf(t, rec.Body.Bytes())[0], "this address started as many jobs as it may for now (2, then 1 every 1h0m0s): try again in 3600 s", path)
	}
	rec := b.do("POST", "/api/jobs", "application/yaml", strings.NewReader(smallSpec))
	assert.Equal(t, http.StatusCreated, rec.Code, "another address")
}

// A flood of new sessions evicts only empty ones; when none is left, new
// sessions are refused, not old ones forgotten.
func TestServer_SessionFlood(t *testing.T) {
	s := newHandler(t, NewConfig().WithDefaultExample("").WithMaxSessions(3), testEngine{})
	alice, bob := &visitor{t: t, s: s, addr: "192.0.2.1"}, &visitor{t: t, s: s, addr: "192.0.2.2"}
	require.Equal(t, http.StatusCreated, alice.upload("mine").Code)
	require.Equal(t, http.StatusCreated, bob.do("POST", "/api/jobs", "application/yaml", strings.NewReader(smallSpec)).Code)
	bobJob := bob.do("GET", "/jobs", "", nil).Body.String()
	require.Equal(t, http.StatusOK, bob.do("DELETE", "/api/jobs/"+jobID(t, bobJob), "", nil).Code, "bob's job ends")

	for i := range 100 { // each a new empty session, from many addresses
		v := &visitor{t: t, s: s, addr: fmt.Sprintf("198.51.100.%d", i)}
		rec := v.do("POST", "/api/jobs", "application/yaml", strings.NewReader("not a spec"))
		require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
	}
	assert.Equal(t, 3, s.sessionCount())
	assert.Contains(t, alice.do("GET", "/api/operators", "", nil).Body.String(), `"upload:mine"`, "alice's upload is kept")
	assert.Contains(t, bob.do("GET", "/jobs", "", nil).Body.String(), jobID(t, bobJob), "bob's ended job is kept")

	carol := &visitor{t: t, s: s, addr: "192.0.2.3"}
	require.Equal(t, http.StatusCreated, carol.upload("hers").Code)
	rec := (&visitor{t: t, s: s, addr: "192.0.2.4"}).do("POST", "/api/jobs", "application/yaml", strings.NewReader(smallSpec))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Contains(t, errorsOf(t, rec.Body.Bytes())[0], "the server keeps 3 browser sessions, the most it may")
	assert.Contains(t, alice.do("GET", "/api/operators", "", nil).Body.String(), `"upload:mine"`)
}

func jobID(t *testing.T, jobs string) string {
	t.Helper()
	i := strings.Index(jobs, `"id":"`)
	require.GreaterOrEqual(t, i, 0, jobs)
	return jobs[i+6 : i+6+32]
}

// New sessions are limited per client address; its sessions go on.
func TestServer_SessionRate(t *testing.T) {
	s := newHandler(t, NewConfig().WithDefaultExample("").WithSessionRate(3, time.Hour), testEngine{})
	first := &visitor{t: t, s: s, addr: "192.0.2.1"}
	require.Equal(t, http.StatusCreated, first.upload("a").Code)
	for range 2 {
		v := &visitor{t: t, s: s, addr: "192.0.2.1"}
		require.Equal(t, http.StatusBadRequest, v.do("POST", "/api/jobs", "application/yaml", strings.NewReader("not a spec")).Code)
	}
	rec := (&visitor{t: t, s: s, addr: "192.0.2.1"}).upload("b")
	assert.Equal(t, http.StatusTooManyRequests, rec.Code)
	assert.Equal(t, "3600", rec.Header().Get("Retry-After"))
	assert.Contains(t, errorsOf(t, rec.Body.Bytes())[0], "this address started as many browser sessions as it may for now")
	assert.Equal(t, http.StatusCreated, first.upload("c").Code, "a session of the address goes on")
	assert.Equal(t, http.StatusCreated, (&visitor{t: t, s: s, addr: "192.0.2.2"}).upload("d").Code, "another address")
}
