package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeBuilder builds a source into a module testEngine compiles, unless the
// source says otherwise: "ERROR" anywhere is a compile error on the line
// it is on, "REFUSE" a refusal, "BUSY" the builder being busy, and "WAIT"
// holds the build until release is closed.
type fakeBuilder struct {
	unavailable error
	started     chan struct{} // a WAIT build has started
	release     chan struct{}
}

func newFakeBuilder() *fakeBuilder {
	return &fakeBuilder{started: make(chan struct{}, 8), release: make(chan struct{})}
}

func (b *fakeBuilder) Available() error { return b.unavailable }

func (b *fakeBuilder) Build(ctx context.Context, source []byte) (*Built, error) {
	src := string(source)
	if strings.Contains(src, "WAIT") {
		b.started <- struct{}{}
		select {
		case <-b.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	switch {
	case strings.Contains(src, "BUSY"):
		return nil, ErrBuilderBusy
	case strings.Contains(src, "REFUSE"):
		return nil, errors.New("the build took longer than the limit of 1m0s")
	}
	be := &BuildError{}
	for i, line := range strings.Split(src, "\n") {
		if col := strings.Index(line, "ERROR"); col >= 0 {
			be.Diagnostics = append(be.Diagnostics, Diagnostic{Line: i + 1, Column: col + 1, Message: "undefined: ERROR"})
		}
	}
	if len(be.Diagnostics) > 0 {
		return nil, be
	}
	built := &Built{Wasm: []byte("\x00asm\x01\x00\x00\x00built"), Took: 1500 * time.Millisecond}
	if strings.Contains(src, `"fmt"`) {
		built.Hints = []Diagnostic{{Line: 3, Column: 8, Message: "hint: fmt adds about 0.4 MB"}}
	}
	return built, nil
}

func (b *fakeBuilder) Templates() []Template {
	return []Template{{Name: "map", Source: "package main\n\nfunc main() {}\n"}, {Name: "filter", Source: "package main\n"}}
}

func (c *client) build(name, source string) (*http.Response, []byte) {
	c.t.Helper()
	body, err := json.Marshal(buildRequest{Name: name, Source: source})
	require.NoError(c.t, err)
	return c.do("POST", "/api/operators/build", "application/json", strings.NewReader(string(body)))
}

func TestServer_BuildOperator(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithBuilder(newFakeBuilder()))
	c := newClient(t, srv)

	res, data := c.build("upper2", "package main\n")
	require.Equal(t, http.StatusCreated, res.StatusCode, string(data))
	var op struct {
		Name    string
		Kind    string
		Size    int
		BuildMs int64
	}
	require.NoError(t, json.Unmarshal(data, &op))
	assert.Equal(t, "upload:upper2", op.Name)
	assert.Equal(t, "upload", op.Kind)
	assert.Equal(t, len("\x00asm\x01\x00\x00\x00built"), op.Size)
	assert.Equal(t, int64(1500), op.BuildMs)
	assert.NotContains(t, string(data), `"hints"`, "none for this source")

	// What did not stop the build comes with it, placed.
	res, data = c.build("withfmt", "package main\n\nimport \"fmt\"\n")
	require.Equal(t, http.StatusCreated, res.StatusCode, string(data))
	var hinted struct{ Hints []string }
	require.NoError(t, json.Unmarshal(data, &hinted))
	assert.Equal(t, []string{"main.go:3:8: hint: fmt adds about 0.4 MB"}, hinted.Hints)

	// It is in the session's library, and a job may run it.
	var list struct{ Operators []operatorJSON }
	c.getJSON("/api/operators", &list)
	require.NotEmpty(t, list.Operators)
	assert.Equal(t, "upload:upper2", list.Operators[0].Name)
	jid := c.start(strings.Replace(testSpec, "operator: discard", "operator: upload:upper2", 1))
	status, data := c.patch(jid, `{"task":"sink","operator":"upload:upper2"}`)
	assert.Equal(t, http.StatusOK, status, string(data))

	// Another session does not see it.
	other := newClient(t, srv)
	other.getJSON("/api/operators", &list)
	assert.NotEqual(t, "upload:upper2", list.Operators[0].Name)

	// The name may carry the prefix; a rebuild replaces the operator.
	res, data = c.build("upload:upper2", "package main // v2\n")
	require.Equal(t, http.StatusCreated, res.StatusCode, string(data))
	c.getJSON("/api/operators", &list)
	assert.Equal(t, "upload:upper2", list.Operators[0].Name)
	assert.NotEqual(t, "upload:upper2", list.Operators[1].Name)
}

func TestServer_BuildOperator_Errors(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithBuilder(newFakeBuilder()))
	c := newClient(t, srv)

	// Compile errors, placed.
	res, data := c.build("bad", "package main\n\nfunc main() {\n\tERROR\n\tx := ERROR\n}\n")
	require.Equal(t, http.StatusBadRequest, res.StatusCode, string(data))
	var body struct {
		Errors  []string
		Details []struct {
			Line, Column int
			Message      string
		}
	}
	require.NoError(t, json.Unmarshal(data, &body))
	assert.Equal(t, []string{"main.go:4:2: undefined: ERROR", "main.go:5:7: undefined: ERROR"}, body.Errors)
	require.Len(t, body.Details, 2)
	assert.Equal(t, 4, body.Details[0].Line)
	assert.Equal(t, 2, body.Details[0].Column)
	assert.Equal(t, "undefined: ERROR", body.Details[0].Message)
	assert.Equal(t, 7, body.Details[1].Column)

	for _, tc := range []struct {
		name, source string
		status       int
		msg          string
	}{
		{"ok", "REFUSE", http.StatusBadRequest, "longer than the limit"},
		{"ok", "BUSY", http.StatusTooManyRequests, "try again"},
		{"", "package main", http.StatusBadRequest, "is not valid"},
		{"<script>", "package main", http.StatusBadRequest, "is not valid"},
		{"ok", "  \n", http.StatusBadRequest, "the source is empty"},
		{"big", strings.Repeat("x", MaxSourceSize+1), http.StatusRequestEntityTooLarge, "larger than the limit of 256 KiB"},
		{"quotes", strings.Repeat(`"`, 6*MaxSourceSize/2), http.StatusRequestEntityTooLarge, "larger than the limit"},
	} {
		res, data := c.build(tc.name, tc.source)
		assert.Equal(t, tc.status, res.StatusCode, "%s: %s", tc.name, data)
		require.NotEmpty(t, errorsOf(t, data), tc.name)
		assert.Contains(t, errorsOf(t, data)[0], tc.msg, tc.name)
	}
	res, data = c.do("POST", "/api/operators/build", "application/json", strings.NewReader(`{"name": 1}`))
	assert.Equal(t, http.StatusBadRequest, res.StatusCode, string(data))

	// None of it is in the library.
	var list struct{ Operators []operatorJSON }
	c.getJSON("/api/operators", &list)
	for _, op := range list.Operators {
		assert.NotEqual(t, "upload", op.Kind, op.Name)
	}
}

// A session builds one operator at a time; other sessions build meanwhile.
func TestServer_BuildOperator_OnePerSession(t *testing.T) {
	b := newFakeBuilder()
	_, srv := newTestServer(t, NewConfig().WithBuilder(b))
	c := newClient(t, srv)
	c.getJSON("/api/operators", &struct{}{}) // no session yet: the build below starts it
	res, data := c.build("first", "package main\n")
	require.Equal(t, http.StatusCreated, res.StatusCode, string(data))

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		res, data := c.build("slow", "package main // WAIT\n")
		assert.Equal(t, http.StatusCreated, res.StatusCode, string(data))
	}()
	<-b.started
	res, data = c.build("second", "package main\n")
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode, string(data))
	assert.Contains(t, errorsOf(t, data)[0], "already building")

	other := newClient(t, srv)
	res, data = other.build("theirs", "package main\n")
	assert.Equal(t, http.StatusCreated, res.StatusCode, string(data))

	close(b.release)
	wg.Wait()
	res, data = c.build("second", "package main\n")
	assert.Equal(t, http.StatusCreated, res.StatusCode, string(data))
}

// Builds count against the uploads a session may hold and make.
func TestServer_BuildOperator_Limits(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithBuilder(newFakeBuilder()).WithUploadLimits(1024, 2))
	c := newClient(t, srv)
	for _, name := range []string{"a", "b"} {
		res, data := c.build(name, "package main\n")
		require.Equal(t, http.StatusCreated, res.StatusCode, string(data))
	}
	res, data := c.build("c", "package main\n")
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode, string(data))
	assert.Contains(t, errorsOf(t, data)[0], "already has 2 uploaded operators")

	_, srv = newTestServer(t, NewConfig().WithBuilder(newFakeBuilder()).WithUploadRate(1, time.Hour))
	c = newClient(t, srv)
	res, data = c.build("a", "package main\n")
	require.Equal(t, http.StatusCreated, res.StatusCode, string(data))
	res, data = c.build("a", "package main\n")
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode, string(data))
	assert.NotEmpty(t, res.Header.Get("Retry-After"))

	// A module larger than an upload may be is refused.
	_, srv = newTestServer(t, NewConfig().WithBuilder(newFakeBuilder()).WithUploadLimits(8, 2))
	c = newClient(t, srv)
	res, data = c.build("a", "package main\n")
	assert.Equal(t, http.StatusBadRequest, res.StatusCode, string(data))
	assert.Contains(t, errorsOf(t, data)[0], "more than the limit")
}

func TestServer_BuildOperator_Unavailable(t *testing.T) {
	_, srv := newTestServer(t, NewConfig())
	c := newClient(t, srv)
	res, data := c.build("a", "package main\n")
	assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode, string(data))
	assert.Contains(t, errorsOf(t, data)[0], "upload it on the Operators page")
	var templates []Template
	assert.Equal(t, http.StatusOK, c.getJSON("/api/operators/templates", &templates))
	assert.Empty(t, templates)
	res, data = c.do("GET", "/operators/new", "", nil)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, string(data), `data-testid="opeditor-unavailable"`)

	b := newFakeBuilder()
	b.unavailable = fmt.Errorf("go: executable file not found in $PATH")
	_, srv = newTestServer(t, NewConfig().WithBuilder(b))
	c = newClient(t, srv)
	res, data = c.build("a", "package main\n")
	assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode, string(data))
	assert.Equal(t, []string{"no Go toolchain: go: executable file not found in $PATH"}, errorsOf(t, data))
}

func TestServer_OperatorTemplates(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithBuilder(newFakeBuilder()))
	c := newClient(t, srv)
	var templates []Template
	assert.Equal(t, http.StatusOK, c.getJSON("/api/operators/templates", &templates))
	require.Len(t, templates, 2)
	assert.Equal(t, "map", templates[0].Name)
	assert.Contains(t, templates[0].Source, "package main")
}

func TestServer_OperatorEditorPage(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithBuilder(newFakeBuilder()))
	c := newClient(t, srv)
	res, data := c.do("GET", "/operators/new", "", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	page := string(data)
	assert.Contains(t, page, `data-testid="opeditor-source"`)
	assert.Contains(t, page, `data-testid="opeditor-template-source" data-name="map"`)
	assert.NotContains(t, page, `data-testid="opeditor-unavailable"`)
	assert.NotContains(t, page, `data-testid="opeditor-use"`) // no job

	// With a running job, its non-source tasks; ?task= selects one.
	jid := c.start(testSpec)
	res, data = c.do("GET", "/operators/new?job="+jid+"&task=sink", "", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	page = string(data)
	assert.Contains(t, page, `data-testid="opeditor-use" data-jid="`+jid+`"`)
	assert.Contains(t, page, `<option value="sink" selected>`)
	assert.NotContains(t, page, `<option value="source"`)

	// The playground's drawer and the Operators page link here.
	_, data = c.do("GET", "/?job="+jid, "", nil)
	assert.Contains(t, string(data), `href="/operators/new?job=`+jid+`&amp;task=sink"`)
	_, data = c.do("GET", "/operators", "", nil)
	assert.Contains(t, string(data), `href="/operators/new"`)
}

// A build in the editor counts for a lesson like an upload: the operator is
// in the learner's library, and "uploaded" holds.
func TestServer_Lesson_Build(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithDefaultExample("").WithLessons(testLessons(t)).WithBuilder(newFakeBuilder()))
	c := newClient(t, srv)
	c.openLesson("2-upload")
	require.Eventually(t, func() bool { return c.progress("2-upload").State == "RUNNING" }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, 0, c.progress("2-upload").Step)

	res, data := c.build("mine", "package main // ERROR\n")
	require.Equal(t, http.StatusBadRequest, res.StatusCode, string(data))
	time.Sleep(50 * time.Millisecond)
	assert.False(t, c.progress("2-upload").Done, "a build that failed uploads nothing")

	res, data = c.build("mine", "package main\n")
	require.Equal(t, http.StatusCreated, res.StatusCode, string(data))
	require.Eventually(t, func() bool { return c.progress("2-upload").Done }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, []string{"mine"}, c.progress("2-upload").Learner.Uploaded)
}

// The editor linked from a lesson (?lesson=ID) offers the lesson's job, and
// Use it returns to the lesson; the page links back to it.
func TestServer_OperatorEditorPage_Lesson(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithDefaultExample("").WithLessons(testLessons(t)).WithBuilder(newFakeBuilder()))
	c := newClient(t, srv)
	lessonJob, _ := c.openLesson("1-test")
	other := c.start(testSpec) // newer: the editor would offer it without ?lesson=

	_, data := c.do("GET", "/operators/new?lesson=1-test&task=sink", "", nil)
	page := string(data)
	assert.Contains(t, page, `data-testid="opeditor-use" data-jid="`+lessonJob+`" data-return="/lessons/1-test"`)
	assert.Contains(t, page, `<option value="sink" selected>`)
	assert.Contains(t, page, "Use it and go back to the lesson")
	assert.Contains(t, page, `data-testid="back-to-lesson" href="/lessons/1-test"`)

	// Another job: Use it opens its playground, the way back to the lesson stays.
	_, data = c.do("GET", "/operators/new?job="+other+"&task=sink", "", nil)
	page = string(data)
	assert.Contains(t, page, `data-testid="opeditor-use" data-jid="`+other+`" data-return="/?job=`+other+`"`)
	assert.Contains(t, page, "Use it and open the playground")
	assert.Contains(t, page, `data-testid="back-to-lesson" href="/lessons/1-test"`)
}
