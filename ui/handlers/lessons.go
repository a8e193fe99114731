package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"flowlab/lessons"
	"flowlab/ui/components"
)

// lessonsPage is GET /lessons: the list.
func (s *Server) lessonsPage(w http.ResponseWriter, r *http.Request) {
	sess := s.lookup(r)
	page := components.LessonsPage{Nav: s.nav(sess, "lessons", "")}
	for _, l := range s.cfg.lessons {
		page.Lessons = append(page.Lessons, lessonCard(l))
	}
	render(w, r, http.StatusOK, components.Lessons(page))
}

// lessonPage is GET /lessons/{id}: the playground with the session's run of
// the lesson beside the graph, if its job runs or is the job ?job=JID; else
// a page whose script starts the run (POST /api/lessons/{id}/start) and
// comes back with ?job=JID. A GET starts nothing.
func (s *Server) lessonPage(w http.ResponseWriter, r *http.Request) {
	sess := s.lookup(r)
	page := components.PlaygroundPage{Nav: s.nav(sess, "lessons", "")}
	l, next := s.lesson(r.PathValue("id"))
	if l == nil {
		page.Notice = "There is no such lesson."
		render(w, r, http.StatusNotFound, components.Playground(page, nil))
		return
	}
	run := s.shownRun(sess, l, r.URL.Query().Get("job"))
	if run == nil {
		page.Start = &components.StartView{
			Title: "Starting the lesson " + l.Title + "…", URL: "/api/lessons/" + url.PathEscape(l.ID) + "/start",
			Then: "/lessons/" + url.PathEscape(l.ID) + "?job=",
		}
		render(w, r, http.StatusOK, components.Playground(page, nil))
		return
	}
	v := s.jobView(sess, run.job, lessonGraphOptions, goalFeet(l))
	page.Job = &v
	page.Nav = s.nav(sess, "lessons", run.job.id)
	render(w, r, http.StatusOK, components.Playground(page, components.LessonPanel(lessonView(l, next, run))))
}

// lesson finds a lesson by id, and the one after it.
func (s *Server) lesson(id string) (l, next *lessons.Lesson) {
	i := slices.IndexFunc(s.cfg.lessons, func(l *lessons.Lesson) bool { return l.ID == id })
	if i < 0 {
		return nil, nil
	}
	if i+1 < len(s.cfg.lessons) {
		next = s.cfg.lessons[i+1]
	}
	return s.cfg.lessons[i], next
}

// shownRun is the session's run of a lesson that its page shows: one whose
// job runs, or whose job is jid. Nil if none.
func (s *Server) shownRun(sess *session, l *lessons.Lesson, jid string) *lessonRun {
	if sess == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	run := sess.lessons[l.ID]
	if run == nil || !run.job.running && run.job.id != jid {
		return nil
	}
	run.job.touched = time.Now()
	sess.lastLesson = l.ID
	return run
}

// runLesson returns the session's run of a lesson while its job runs, else
// (or if fresh) starts a new run. A new run's job replaces the previous
// run's, which the session forgets, or, when the session runs as many jobs
// as it may, the job of the lesson it touched least recently; otherwise it
// counts like any job.
func (s *Server) runLesson(client string, sess *session, l *lessons.Lesson, fresh bool) (*lessonRun, error) {
	sess.starting.Lock()
	defer sess.starting.Unlock()
	s.mu.Lock()
	old := sess.lessons[l.ID]
	if !fresh && old != nil && old.job.running {
		s.mu.Unlock()
		return old, nil
	}
	replace := s.replacedLocked(sess, old)
	var uploaded []string
	for name := range sess.uploads {
		uploaded = append(uploaded, name)
	}
	s.mu.Unlock()

	j, err := s.start(client, sess, []byte(l.Job), replace)
	if err != nil {
		return nil, err
	}
	slices.Sort(uploaded)
	run := newLessonRun(l, j, uploaded)
	s.mu.Lock()
	j.lesson = true
	if prev := sess.lessons[l.ID]; prev != nil {
		close(prev.stop)
		if s.jobs[prev.job.id] == prev.job {
			s.forgetJobLocked(prev.job) // replaced: the job list shows the lesson's job once
		}
	}
	sess.lessons[l.ID] = run
	s.mu.Unlock()
	go run.follow()
	return run, nil
}

// replacedLocked is the job a new run of a lesson replaces: see runLesson.
func (s *Server) replacedLocked(sess *session, old *lessonRun) string {
	if old != nil && old.job.running {
		return old.job.id
	}
	if sess.runningLocked() < s.cfg.jobsPerSession {
		return ""
	}
	var oldest *job
	for _, r := range sess.lessons {
		if r.job.running && (oldest == nil || r.job.touched.Before(oldest.touched)) {
			oldest = r.job
		}
	}
	if oldest == nil {
		return ""
	}
	return oldest.id
}

// lessonRunOf is the session's run of the lesson {id}; it answers 404 and
// returns nil if there is none.
func (s *Server) lessonRunOf(w http.ResponseWriter, r *http.Request) *lessonRun {
	var run *lessonRun
	if sess := s.lookup(r); sess != nil {
		s.mu.Lock()
		run = sess.lessons[r.PathValue("id")]
		if run != nil {
			run.job.touched = time.Now()
		}
		s.mu.Unlock()
	}
	if run == nil {
		writeErrors(w, http.StatusNotFound, "this browser session runs no such lesson: open it at /lessons first")
	}
	return run
}

// lessonProgress is GET /api/lessons/{id}/progress.
func (s *Server) lessonProgress(w http.ResponseWriter, r *http.Request) {
	if run := s.lessonRunOf(w, r); run != nil {
		writeJSON(w, http.StatusOK, run.json())
	}
}

// lessonPick is POST /api/lessons/{id}/pick {"task": NAME}: the learner
// points at a task, in a step that asks them to.
func (s *Server) lessonPick(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Task string `json:"task"`
	}
	s.lessonChange(w, r, &body, func(run *lessonRun, t *lessons.Tracker) error {
		switch st := run.stepLocked(); {
		case st == nil || !st.Pick:
			return errors.New("this step does not ask you to point at a task")
		case run.lesson.Spec().TaskIndex(body.Task) < 0:
			return fmt.Errorf("there is no task %q in the lesson's job", body.Task)
		}
		t.Learner.Picked = body.Task
		return nil
	})
}

// lessonAnswer is POST /api/lessons/{id}/answer {"choice": ID}: the
// learner answers the step's question.
func (s *Server) lessonAnswer(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Choice string `json:"choice"`
	}
	s.lessonChange(w, r, &body, func(run *lessonRun, t *lessons.Tracker) error {
		st := run.stepLocked()
		if st == nil || st.Question == nil {
			return errors.New("this step asks no question")
		}
		if !slices.ContainsFunc(st.Question.Choices, func(c lessons.Choice) bool { return c.ID == body.Choice }) {
			return fmt.Errorf("the question has no choice %q", body.Choice)
		}
		t.Learner.Answer = body.Choice
		return nil
	})
}

// lessonContinue is POST /api/lessons/{id}/continue: the learner moves on
// from a step that asked them to look at something, once its goal has been
// reached. Any earlier, and they would be moved on later without a word.
func (s *Server) lessonContinue(w http.ResponseWriter, r *http.Request) {
	s.lessonChange(w, r, nil, func(run *lessonRun, t *lessons.Tracker) error {
		switch st := run.stepLocked(); {
		case st == nil || !st.Continue:
			return errors.New("this step does not ask you to continue: it ends when you do what it asks")
		case !run.progress.Reached:
			return errors.New("the goal of this step has not been reached yet")
		}
		t.Learner.Continued = true
		return nil
	})
}

// lessonOpen is POST /api/lessons/{id}/open {"task": NAME, "view": VIEW}:
// the learner opened a view of a task, a tab of the task drawer such as
// flamegraph (lessons.Views), in any step: goals check it with
// opened(TASK, VIEW).
func (s *Server) lessonOpen(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Task string `json:"task"`
		View string `json:"view"`
	}
	s.lessonChange(w, r, &body, func(_ *lessonRun, t *lessons.Tracker) error {
		return t.Open(body.Task, body.View)
	})
}

// lessonHint is POST /api/lessons/{id}/hint: one more hint of the step.
func (s *Server) lessonHint(w http.ResponseWriter, r *http.Request) {
	s.lessonChange(w, r, nil, func(_ *lessonRun, t *lessons.Tracker) error {
		t.Hint()
		return nil
	})
}

// lessonChange reads the body into v (unless nil), applies change to the
// session's run of the lesson and answers its progress.
func (s *Server) lessonChange(w http.ResponseWriter, r *http.Request, v any, change func(*lessonRun, *lessons.Tracker) error) {
	run := s.lessonRunOf(w, r)
	if run == nil {
		return
	}
	if v != nil {
		const limit = 1 << 10
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			bodyError(w, err, "the body", limit)
			return
		}
	}
	if err := run.update(func(t *lessons.Tracker) error { return change(run, t) }); err != nil {
		writeErrors(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, run.json())
}

// lessonStart is POST /api/lessons/{id}/start: the session's run of the
// lesson while its job runs, else a new run from the first step.
func (s *Server) lessonStart(w http.ResponseWriter, r *http.Request) {
	s.lessonRun(w, r, false)
}

// lessonReset is POST /api/lessons/{id}/reset: the lesson starts over from
// its first step with a fresh job.
func (s *Server) lessonReset(w http.ResponseWriter, r *http.Request) {
	s.lessonRun(w, r, true)
}

func (s *Server) lessonRun(w http.ResponseWriter, r *http.Request, fresh bool) {
	l, _ := s.lesson(r.PathValue("id"))
	if l == nil {
		writeErrors(w, http.StatusNotFound, "no such lesson")
		return
	}
	sess := s.needSession(w, r)
	if sess == nil {
		return
	}
	run, err := s.runLesson(clientOf(r), sess, l, fresh)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, run.json())
}

// lessonToReturnTo is the lesson a page links back to: the one ?lesson=ID
// names (a lesson's text links so), else the lesson whose page the session
// showed last, unless the learner has finished it; nil if none. (Pages
// send no Referer: see ServeHTTP.)
func (s *Server) lessonToReturnTo(sess *session, r *http.Request) *lessons.Lesson {
	if l, _ := s.lesson(r.URL.Query().Get("lesson")); l != nil {
		return l
	}
	if sess == nil {
		return nil
	}
	s.mu.Lock()
	run := sess.lessons[sess.lastLesson]
	s.mu.Unlock()
	if run == nil || run.json().Done {
		return nil
	}
	return run.lesson
}

// lessonCard is a lesson in the list.
func lessonCard(l *lessons.Lesson) components.LessonCard {
	number, _, _ := strings.Cut(l.ID, "-")
	return components.LessonCard{ID: l.ID, Number: number, Title: l.Title, Level: l.Level, Summary: l.Summary, Steps: len(l.Steps)}
}

// lessonView is a lesson as its panel first shows it, at the run's step.
func lessonView(l, next *lessons.Lesson, run *lessonRun) components.LessonView {
	card := lessonCard(l)
	v := components.LessonView{ID: l.ID, Number: card.Number, Title: l.Title, Level: l.Level, Learned: l.Learned}
	if next != nil {
		c := lessonCard(next)
		v.Next = &c
	}
	for _, st := range l.Steps {
		sv := components.StepView{Title: st.Title, Text: st.Text, Pick: st.Pick, Continue: st.Continue, HoldMs: st.Goal.Hold().Milliseconds(), Hints: st.Hints}
		if q := st.Question; q != nil {
			sv.Question = &components.QuestionView{Prompt: q.Prompt}
			for _, c := range q.Choices {
				sv.Question.Choices = append(sv.Question.Choices, components.ChoiceView{ID: c.ID, Text: c.Text})
			}
		}
		for _, c := range st.Goal.Checks() {
			sv.Checks = append(sv.Checks, components.CheckView{When: c.When, Text: c.Text})
		}
		for _, t := range st.Goal.Targets(l.Spec()) {
			sv.Targets = append(sv.Targets, components.TargetView{Task: t.Task, Fill: t.Colors.Fill, Border: t.Colors.Border, Text: t.Text})
		}
		v.Steps = append(v.Steps, sv)
	}
	p := run.json()
	v.Current, v.Hints, v.Met, v.Reached = p.Step, p.Hints, p.Met, p.Reached
	return v
}
