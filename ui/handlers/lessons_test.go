package handlers

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/lessons"
)

const testLesson = `
id: 1-test
title: A <b>test</b> lesson
level: beginner
summary: Point, answer, fix.
job: |
  name: lesson-test
  metrics: {tick: 20ms, window: 200ms}
  network: {buffer-size: 1kb}
  tasks:
    - {name: source, operator: generator, config: {rate: 2000, skew: 1}}
    - {name: sink, operator: discard, cost: 1ms}
steps:
  - title: Point
    text: "Which task is **slow**? <script>alert(1)</script>"
    pick: true
    goal: {when: ["picked == sink"], for: 0s}
    hints: [First., Second.]
    solution: [{pick: sink}]
  - title: Ask
    text: Why?
    question: {prompt: "Why?", choices: [{id: a, text: A}, {id: b, text: B}]}
    goal: {when: ["answer == b"], for: 0s}
    solution: [{answer: b}]
  - title: Fix
    text: Fix it.
    goal: {when: ["sink.parallelism >= 2"], for: 0s}
    solution: [{task: sink, parallelism: 2}]
learned: [Things.]
`

const uploadLesson = `
id: 2-upload
title: Upload
job: |
  metrics: {tick: 20ms, window: 200ms}
  tasks: [{name: source, operator: generator, config: {rate: 10}}]
steps:
  - title: Upload
    text: Upload an operator.
    goal: {when: ["uploaded"], for: 0s}
    solution: [{upload: "wasm:spin", as: mine}]
`

func testLessons(t *testing.T) []*lessons.Lesson {
	t.Helper()
	var list []*lessons.Lesson
	for _, src := range []string{testLesson, uploadLesson} {
		l, err := lessons.Parse([]byte(src))
		require.NoError(t, err)
		list = append(list, l)
	}
	return list
}

// progress is the lesson API's answer.
type progress struct {
	Lesson, JID, State string
	Step, Steps, Hints int
	Done, Reached      bool
	Met                map[string]bool
	Revealed           []string
	Learner            lessons.Learner
}

func (c *client) lessonPost(id, what, body string) (int, progress, []byte) {
	c.t.Helper()
	res, data := c.do("POST", "/api/lessons/"+id+"/"+what, "application/json", strings.NewReader(body))
	var p progress
	if res.StatusCode == http.StatusOK {
		require.NoError(c.t, json.Unmarshal(data, &p), string(data))
	}
	return res.StatusCode, p, data
}

func (c *client) progress(id string) progress {
	c.t.Helper()
	var p progress
	require.Equal(c.t, http.StatusOK, c.getJSON("/api/lessons/"+id+"/progress", &p))
	return p
}

// openLesson opens a lesson's page as a browser does: the page's script
// starts the lesson, then shows its job. It returns the job id and the page.
func (c *client) openLesson(id string) (string, string) {
	c.t.Helper()
	res, data := c.do("GET", "/lessons/"+id, "", nil)
	require.Equal(c.t, http.StatusOK, res.StatusCode, string(data))
	if strings.Contains(string(data), `data-testid="job-start"`) {
		assert.Contains(c.t, string(data), `data-start-url="/api/lessons/`+id+`/start"`)
		code, p, body := c.lessonPost(id, "start", "")
		require.Equal(c.t, http.StatusOK, code, string(body))
		res, data = c.do("GET", "/lessons/"+id+"?job="+p.JID, "", nil)
		require.Equal(c.t, http.StatusOK, res.StatusCode, string(data))
	}
	m := regexp.MustCompile(`data-jid="([0-9a-f]{32})"`).FindStringSubmatch(string(data))
	require.NotNil(c.t, m, "the page shows the lesson's job")
	return m[1], string(data)
}

func TestServer_Lessons_List(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithDefaultExample("").WithLessons(testLessons(t)))
	c := newClient(t, srv)
	res, data := c.do("GET", "/lessons", "", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	page := string(data)
	assert.Contains(t, page, `data-testid="lesson-list"`)
	assert.Equal(t, 2, strings.Count(page, `data-testid="lesson-item"`))
	assert.Contains(t, page, `data-lesson="1-test"`)
	assert.Contains(t, page, `href="/lessons/2-upload"`)
	assert.Contains(t, page, "A &lt;b&gt;test&lt;/b&gt; lesson")
	assert.Contains(t, page, `<script src="/static/lesson.js" defer></script>`)

	var jobs struct{ Jobs []any }
	c.getJSON("/jobs", &jobs)
	assert.Empty(t, jobs.Jobs, "the list starts no job")
}

func TestServer_Lesson_Walk(t *testing.T) {
	s, srv := newTestServer(t, NewConfig().WithDefaultExample("").WithLessons(testLessons(t)))
	c := newClient(t, srv)
	jid, page := c.openLesson("1-test")
	assert.Contains(t, page, `data-testid="lesson-panel"`)
	assert.Contains(t, page, "<strong>slow</strong>", "Markdown is rendered")
	assert.NotContains(t, page, "<script>alert", "raw HTML is not")
	assert.Contains(t, page, `href="/lessons/2-upload"`, "the next lesson")

	p := c.progress("1-test")
	assert.Equal(t, "1-test", p.Lesson)
	assert.Equal(t, jid, p.JID)
	assert.Equal(t, 0, p.Step)
	assert.Equal(t, 3, p.Steps)
	assert.Equal(t, []string{}, p.Revealed)
	require.Eventually(t, func() bool { return c.progress("1-test").State == "RUNNING" }, 10*time.Second, 10*time.Millisecond)

	// Hints, one at a time.
	for _, want := range [][]string{{"First."}, {"First.", "Second."}, {"First.", "Second."}} {
		code, p, data := c.lessonPost("1-test", "hint", "")
		require.Equal(t, http.StatusOK, code, string(data))
		assert.Equal(t, want, p.Revealed)
	}
	assert.Equal(t, 2, c.progress("1-test").Hints, "kept")

	// Pointing at a task, wrong then right: the step moves on at once.
	code, _, data := c.lessonPost("1-test", "answer", `{"choice":"a"}`)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, errorsOf(t, data)[0], "asks no question")
	code, _, data = c.lessonPost("1-test", "pick", `{"task":"nope"}`)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, errorsOf(t, data)[0], `no task "nope"`)
	code, _, _ = c.lessonPost("1-test", "pick", `{"task":"sink","extra":1}`)
	assert.Equal(t, http.StatusBadRequest, code, "unknown fields")
	code, _, data = c.lessonPost("1-test", "pick", `{"task":"`+strings.Repeat("x", 2000)+`"}`)
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)
	assert.Contains(t, errorsOf(t, data)[0], "larger than the limit of 1 KiB")
	code, p, _ = c.lessonPost("1-test", "pick", `{"task":"source"}`)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, 0, p.Step)
	assert.Equal(t, "source", p.Learner.Picked)
	assert.Equal(t, map[string]bool{"picked == sink": false}, p.Met)
	_, p, _ = c.lessonPost("1-test", "pick", `{"task":"sink"}`)
	assert.Equal(t, 1, p.Step)
	assert.Empty(t, p.Revealed, "a new step, no hints yet")

	// Answering, wrong then right.
	code, _, data = c.lessonPost("1-test", "pick", `{"task":"sink"}`)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, errorsOf(t, data)[0], "does not ask you to point")
	code, _, data = c.lessonPost("1-test", "answer", `{"choice":"z"}`)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, errorsOf(t, data)[0], `no choice "z"`)
	_, p, _ = c.lessonPost("1-test", "answer", `{"choice":"a"}`)
	assert.Equal(t, 1, p.Step)
	assert.Equal(t, "a", p.Learner.Answer)
	_, p, _ = c.lessonPost("1-test", "answer", `{"choice":"b"}`)
	assert.Equal(t, 2, p.Step)

	// The learner's change to the job meets the last goal, checked between polls.
	code, data = c.patch(jid, `{"task":"sink","parallelism":2}`)
	require.Equal(t, http.StatusOK, code, string(data))
	require.Eventually(t, func() bool { return c.progress("1-test").Done }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, 3, c.progress("1-test").Step)

	// A second visit continues the run; a reset starts over with a fresh job
	// that replaces the old one, in the job list too.
	again, page := c.openLesson("1-test")
	assert.Equal(t, jid, again)
	assert.Regexp(t, `<section class="lesson-done" data-testid="lesson-done">`, page, "done: shown")
	s.mu.Lock()
	old := s.jobs[jid]
	s.mu.Unlock()
	for range 3 {
		code, p, data = c.lessonPost("1-test", "reset", "")
		require.Equal(t, http.StatusOK, code, string(data))
	}
	assert.NotEqual(t, jid, p.JID)
	assert.Equal(t, 0, p.Step)
	assert.False(t, p.Done)
	select {
	case <-old.rt.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the old job still runs")
	}
	var jobs struct{ Jobs []struct{ ID, Status string } }
	c.getJSON("/jobs", &jobs)
	require.Len(t, jobs.Jobs, 1, "three resets, one job: the lesson's")
	assert.Equal(t, p.JID, jobs.Jobs[0].ID)
	res, _ := c.do("GET", "/jobs/"+jid, "", nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "the old job is forgotten")
}

// A lesson's job that no page watches is paused after a while, and resumes
// when a page watches it again; a job of the playground is not paused.
func TestServer_Lesson_IdlePause(t *testing.T) {
	s, srv := newTestServer(t, NewConfig().WithDefaultExample("").WithLessons(testLessons(t)))
	c := newClient(t, srv)
	jid, _ := c.openLesson("1-test")
	other := c.start(testSpec)
	paused := func(jid string) bool {
		s.mu.Lock()
		j := s.jobs[jid]
		s.mu.Unlock()
		return j != nil && j.rt.Snapshot().Paused
	}
	s.reapOnce(time.Now().Add(4 * time.Minute))
	assert.Never(t, func() bool { return paused(jid) }, 300*time.Millisecond, 20*time.Millisecond, "watched 4 minutes ago")

	s.reapOnce(time.Now().Add(6 * time.Minute))
	require.Eventually(t, func() bool { return paused(jid) }, 10*time.Second, 10*time.Millisecond, "unwatched for 5 minutes")
	assert.False(t, paused(other), "only lessons' jobs pause")
	assert.Equal(t, "RUNNING", c.progress("1-test").State)

	s.reapOnce(time.Now().Add(30 * time.Minute))
	assert.Equal(t, "RUNNING", c.progress("1-test").State, "kept while the session may come back")
	var job struct{ State string }
	require.Eventually(t, func() bool {
		c.getJSON("/jobs/"+other, &job)
		return job.State == "CANCELED"
	}, 10*time.Second, 10*time.Millisecond, "the playground's job is canceled as before")

	conn, _, err := c.dial(jid, "")
	require.NoError(t, err)
	defer conn.Close()
	require.Eventually(t, func() bool { return !paused(jid) }, 10*time.Second, 10*time.Millisecond, "a page watches it: resumed")
}

// A lesson's job paused by the reaper makes room for another session's job
// when the server runs as many jobs as it may.
func TestServer_Lesson_IdleEvicted(t *testing.T) {
	s, srv := newTestServer(t, NewConfig().WithDefaultExample("").WithLessons(testLessons(t)).WithJobLimits(3, 1, 100))
	alice, bob := newClient(t, srv), newClient(t, srv)
	jid, _ := alice.openLesson("1-test")
	res, data := bob.do("POST", "/api/jobs", "application/yaml", strings.NewReader(testSpec))
	require.Equal(t, http.StatusTooManyRequests, res.StatusCode, string(data))
	s.reapOnce(time.Now().Add(6 * time.Minute))
	bob.start(testSpec)
	var job struct{ State string }
	require.Eventually(t, func() bool {
		alice.getJSON("/jobs/"+jid, &job)
		return job.State == "CANCELED"
	}, 10*time.Second, 10*time.Millisecond)
}

func TestServer_Lesson_Isolation(t *testing.T) {
	s, srv := newTestServer(t, NewConfig().WithDefaultExample("").WithLessons(testLessons(t)))
	alice, bob := newClient(t, srv), newClient(t, srv)
	jid, _ := alice.openLesson("1-test")
	for _, req := range []struct{ method, path, body string }{
		{"GET", "/api/lessons/1-test/progress", ""},
		{"POST", "/api/lessons/1-test/pick", `{"task":"sink"}`},
		{"POST", "/api/lessons/1-test/answer", `{"choice":"b"}`},
		{"POST", "/api/lessons/1-test/hint", ""},
		{"GET", "/jobs/" + jid, ""},
		{"GET", "/api/lessons/nope/progress", ""},
		{"POST", "/api/lessons/nope/reset", ""},
		{"GET", "/lessons/nope", ""},
	} {
		res, _ := bob.do(req.method, req.path, "application/json", strings.NewReader(req.body))
		assert.Equal(t, http.StatusNotFound, res.StatusCode, "%s %s", req.method, req.path)
	}
	assert.Equal(t, 0, alice.progress("1-test").Step)

	// A forgotten session stops following its lessons.
	s.mu.Lock()
	var sess *session
	for _, ss := range s.sessions {
		if len(ss.lessons) > 0 {
			sess = ss
		}
	}
	run := sess.lessons["1-test"]
	s.mu.Unlock()
	alice.do("DELETE", "/api/jobs/"+jid, "", nil)
	s.reapOnce(time.Now().Add(3 * time.Hour))
	select {
	case <-run.stop:
	default:
		t.Fatal("the run still follows its job")
	}
}

func TestServer_Lesson_Upload(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithDefaultExample("").WithLessons(testLessons(t)))
	c := newClient(t, srv)
	c.openLesson("2-upload")
	require.Eventually(t, func() bool { return c.progress("2-upload").State == "RUNNING" }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, 0, c.progress("2-upload").Step)
	res, data := c.upload("mine.wasm", "", []byte("\x00asm\x01\x00\x00\x00"))
	require.Equal(t, http.StatusCreated, res.StatusCode, string(data))
	require.Eventually(t, func() bool { return c.progress("2-upload").Done }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, []string{"mine"}, c.progress("2-upload").Learner.Uploaded)
}

// At the session's job limit, a new lesson replaces the job of another.
func TestServer_Lesson_Limits(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithDefaultExample("").WithLessons(testLessons(t)).WithJobLimits(1, 10, 100))
	c := newClient(t, srv)
	first, _ := c.openLesson("1-test")
	second, _ := c.openLesson("2-upload")
	assert.NotEqual(t, first, second)
	var job struct{ State string }
	require.Eventually(t, func() bool {
		c.getJSON("/jobs/"+first, &job)
		return job.State == "CANCELED"
	}, 10*time.Second, 10*time.Millisecond)

	// Any other job still counts: the lesson cannot start then.
	c.do("DELETE", "/api/jobs/"+second, "", nil)
	c.start(testSpec)
	res, data := c.do("GET", "/lessons/1-test", "", nil)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, string(data), `data-testid="job-start"`)
	code, _, data := c.lessonPost("1-test", "start", "")
	assert.Equal(t, http.StatusTooManyRequests, code)
	assert.Contains(t, errorsOf(t, data)[0], "this session already runs 1 jobs")
}

const lookLesson = `
id: 3-look
title: Look
job: |
  metrics: {tick: 20ms, window: 100ms}
  tasks: [{name: source, operator: generator, config: {rate: 100}}, {name: sink, operator: discard}]
steps:
  - title: Look
    text: Look at the sink.
    continue: true
    goal: {when: ["sink.in-rate >= 1"], for: 1s, say: records arrive}
    solution: [{continue: true}]
  - title: Ask
    text: Why?
    question: {prompt: "Why?", choices: [{id: a, text: A}, {id: b, text: B}]}
    goal: {when: ["answer == b"], for: 0s}
    solution: [{answer: b}]
`

// A step that asks the learner to look ends with Continue, never by itself;
// Continue opens once its goal has been reached; the step stays on the page,
// passed and collapsed.
func TestServer_Lesson_Continue(t *testing.T) {
	l, err := lessons.Parse([]byte(lookLesson))
	require.NoError(t, err)
	_, srv := newTestServer(t, NewConfig().WithDefaultExample("").WithLessons([]*lessons.Lesson{l}))
	c := newClient(t, srv)
	_, page := c.openLesson("3-look")
	assert.Contains(t, page, `data-testid="lesson-continue" disabled`, "closed until the goal is reached")
	assert.Contains(t, page, `data-when="" data-met="false">`, "a goal that says what it is is one check")
	assert.Contains(t, page, "records arrive")
	assert.NotContains(t, page, "sink.in-rate", "its conditions are not shown")
	assert.NotContains(t, page, `class="goal-targets"`)

	if p := c.progress("3-look"); !p.Reached {
		code, _, data := c.lessonPost("3-look", "continue", "")
		assert.Equal(t, http.StatusBadRequest, code)
		assert.Contains(t, errorsOf(t, data)[0], "not been reached yet")
	}
	require.Eventually(t, func() bool { return c.progress("3-look").Reached }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(300 * time.Millisecond)
	p := c.progress("3-look")
	assert.Equal(t, 0, p.Step, "reached long ago, and still waiting for the learner")
	assert.True(t, p.Reached)
	_, page = c.openLesson("3-look")
	assert.Regexp(t, `data-testid="lesson-continue">\s*Continue`, page, "open")

	code, p, data := c.lessonPost("3-look", "continue", "")
	require.Equal(t, http.StatusOK, code, string(data))
	assert.Equal(t, 1, p.Step)
	assert.False(t, p.Reached)
	code, _, data = c.lessonPost("3-look", "continue", "")
	assert.Equal(t, http.StatusBadRequest, code, "a question is answered, not continued")
	assert.Contains(t, errorsOf(t, data)[0], "does not ask you to continue")

	_, page = c.openLesson("3-look")
	assert.Regexp(t, `class="lesson-step step-passed" data-testid="lesson-step" data-step="0" data-state="passed">`, page, "passed: on the page")
	assert.Regexp(t, `data-testid="lesson-step-toggle" aria-expanded="false"`, page, "collapsed, and its title opens it")
	assert.Regexp(t, `data-field="step-body" hidden`, page)
	assert.Regexp(t, `data-step="1" data-state="current">`, page)
}

// The Operators page links back to the lesson that sent the learner there:
// the one its link names, else the lesson the session showed last, until
// it is done.
func TestServer_Operators_BackToLesson(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithDefaultExample("").WithLessons(testLessons(t)))
	c := newClient(t, srv)
	back := func(path string) string {
		res, data := c.do("GET", path, "", nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		if m := regexp.MustCompile(`data-testid="back-to-lesson" href="([^"]*)"`).FindSubmatch(data); m != nil {
			return string(m[1])
		}
		return ""
	}
	assert.Empty(t, back("/operators"), "no lesson yet")
	assert.Empty(t, back("/operators?lesson=nope"))
	assert.Equal(t, "/lessons/2-upload", back("/operators?lesson=2-upload"), "a lesson's link")
	res, data := c.do("GET", "/operators?lesson=1-test", "", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, string(data), "Back to lesson 1: A &lt;b&gt;test&lt;/b&gt; lesson")

	c.openLesson("1-test")
	assert.Equal(t, "/lessons/1-test", back("/operators"), "the lesson shown last")
	c.openLesson("2-upload")
	assert.Equal(t, "/lessons/2-upload", back("/operators"))
	_, _, _ = c.lessonPost("2-upload", "hint", "")
	res, data = c.upload("mine.wasm", "", []byte("\x00asm\x01\x00\x00\x00"))
	require.Equal(t, http.StatusCreated, res.StatusCode, string(data))
	require.Eventually(t, func() bool { return c.progress("2-upload").Done }, 10*time.Second, 10*time.Millisecond)
	assert.Empty(t, back("/operators"), "done: nothing to go back to")
}

// What the learner opens is recorded for opened(TASK, VIEW); a task or a
// view that does not exist, or a body that is not JSON, is refused.
func TestServer_Lesson_Open(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithDefaultExample("").WithLessons(testLessons(t)))
	c := newClient(t, srv)
	c.openLesson("1-test")
	code, p, body := c.lessonPost("1-test", "open", `{"task": "sink", "view": "flamegraph"}`)
	require.Equal(t, http.StatusOK, code, string(body))
	assert.Equal(t, []string{"sink/flamegraph"}, p.Learner.Opened)
	for _, bad := range []string{`{"task": "nope", "view": "metrics"}`, `{"task": "sink", "view": "nope"}`, `{"task": `, strings.Repeat("x", 1<<20)} {
		code, _, body := c.lessonPost("1-test", "open", bad)
		assert.Equal(t, http.StatusBadRequest, code, "%.40s: %s", bad, body)
	}
	assert.Equal(t, []string{"sink/flamegraph"}, c.progress("1-test").Learner.Opened)
}
