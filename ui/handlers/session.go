package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"flowlab/runtime"
	"flowlab/ui/hub"
)

// cookieName is the session cookie: HttpOnly and SameSite=Lax (DESIGN
// section 9), so that following a link from another site keeps the
// session; cross-site changes are refused by ServeHTTP, not the cookie.
const cookieName = "flowlab_session"

// keptEnded is how many ended jobs a session keeps listed.
const keptEnded = 5

// session is one browser's jobs, uploads and lessons. Its fields but
// starting are guarded by Server.mu.
type session struct {
	id           string
	seen         time.Time
	jobs         []*job // oldest first
	uploads      map[string]*upload
	lessons      map[string]*lessonRun // by lesson id
	lastLesson   string                // the lesson whose page it was shown last
	pending      int                   // jobs starting: counted as running until started or failed
	compiling    int                   // uploads being compiled
	building     bool                  // an operator is being built from source (POST /api/operators/build)
	uploadBucket bucket                // every upload, new or replacing
	memory       int64                 // bytes reserved by the budgets of its running jobs
	cluster      *cluster              // the Flink cluster it follows, if any
	starting     sync.Mutex            // held while a lesson starts, so that one request starts it
}

// job is a job of a session. Its mutable fields are guarded by Server.mu.
type job struct {
	id       string
	sess     *session // nil for a job of a cluster
	cluster  *cluster // the cluster whose job it is, read-only; nil for the playground's own
	rt       Job
	feed     *hub.Feed
	started  time.Time
	tickMs   int64
	changing sync.Mutex // held while live changes are made, one request after the other

	running  bool
	subtasks int        // counted in Server.subtasks while running
	budget   *jobBudget // its memory, released with its place
	touched  time.Time  // last changed or read through the API
	lesson   bool       // a lesson's job: paused when no page watches it (see reapOnce)
	// idlePaused is whether the reaper paused the lesson's job because no page
	// watched it; a page that watches it again resumes it.
	idlePaused bool
}

// upload is an operator uploaded in a session.
type upload struct {
	name     string // without the upload: prefix
	size     int
	uploaded time.Time
	typ      runtime.OperatorType
}

// newID is 32 random hex digits, like a Flink job id.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails, per its doc
	return hex.EncodeToString(b[:])
}

// lookup returns the request's session, or nil if it has none the server
// knows. Requests that only read never start a session: a visitor's first
// session starts with its first change (a job, an upload, a lesson).
func (s *Server) lookup(r *http.Request) *session {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessions[c.Value]
	if sess != nil {
		sess.seen = time.Now()
	}
	return sess
}

// session returns the request's session, starting one (and setting its
// cookie) if the request has none the server knows, within the per-client
// rate of new sessions and the number of sessions the server keeps: the
// errors are a limitError.
func (s *Server) session(w http.ResponseWriter, r *http.Request) (*session, error) {
	if sess := s.lookup(r); sess != nil {
		return sess, nil
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if wait, ok := s.newSessions.takeLocked(clientOf(r), now); !ok {
		return nil, &limitError{retryAfter: wait, msg: fmt.Sprintf(
			"this address started as many browser sessions as it may for now (%v): try again %s", s.cfg.sessionRate, retryText(wait))}
	}
	if len(s.sessions) >= s.cfg.sessions && !s.evictSessionLocked() {
		return nil, &limitError{status: http.StatusServiceUnavailable, retryAfter: time.Minute, msg: fmt.Sprintf(
			"the server keeps %d browser sessions, the most it may, and each has jobs, uploads or lessons: try again later", s.cfg.sessions)}
	}
	sess := &session{id: newID(), seen: now, uploads: map[string]*upload{}, lessons: map[string]*lessonRun{}}
	s.sessions[sess.id] = sess
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: sess.id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return sess, nil
}

// needSession is session for a handler: it answers the error itself and
// returns nil then.
func (s *Server) needSession(w http.ResponseWriter, r *http.Request) *session {
	sess, err := s.session(w, r)
	if err != nil {
		writeError(w, http.StatusTooManyRequests, err)
	}
	return sess
}

// evictSessionLocked forgets the empty session seen least recently, and
// reports whether there was one. A session with jobs (running or ended),
// uploads or lessons is never evicted: only the reaper forgets it, when
// it has been unseen for long.
func (s *Server) evictSessionLocked() bool {
	var oldest *session
	for _, sess := range s.sessions {
		if sess.emptyLocked() && (oldest == nil || sess.seen.Before(oldest.seen)) {
			oldest = sess
		}
	}
	if oldest == nil {
		return false
	}
	s.forgetSessionLocked(oldest)
	return true
}

// emptyLocked reports whether the session holds nothing: no jobs, starting
// or not, no uploads, none being compiled, and no lessons.
func (sess *session) emptyLocked() bool {
	return len(sess.jobs) == 0 && sess.pending == 0 && len(sess.uploads) == 0 && sess.compiling == 0 && len(sess.lessons) == 0 &&
		sess.cluster == nil
}

func (s *Server) forgetSessionLocked(sess *session) {
	for _, j := range sess.jobs {
		delete(s.jobs, j.id)
		go j.feed.Stop()
	}
	for id, r := range sess.lessons {
		close(r.stop)
		delete(sess.lessons, id) // a request still holding sess starts afresh
	}
	s.detachLocked(sess)
	delete(s.sessions, sess.id)
}

// clusterUnwatched is how long no page has watched any job of a cluster.
func clusterUnwatched(cl *cluster, now time.Time) time.Duration {
	least := time.Duration(math.MaxInt64)
	for _, j := range cl.jobs {
		least = min(least, j.feed.Unwatched(now))
	}
	return least
}

// detachLocked stops a session following its cluster, if it follows one.
func (s *Server) detachLocked(sess *session) {
	if sess.cluster != nil {
		sess.cluster.cancel()
		sess.cluster = nil
		s.clusters--
	}
}

// watched resumes a lesson's job that the reaper paused: a page watches it.
func (s *Server) watched(j *job) {
	s.mu.Lock()
	resume := j.idlePaused && j.running
	j.idlePaused = false
	s.mu.Unlock()
	if resume {
		s.log.Info("resuming a lesson's job", "job", j.id)
		j.rt.SetPaused(false)
	}
}

// evictIdleLocked cancels the job paused by the reaper that was touched
// least recently, of any session, to make room for a new job; it returns
// nil if there is none. The caller cancels the job outside the lock.
func (s *Server) evictIdleLocked() *job {
	var oldest *job
	for _, j := range s.jobs {
		if j.running && j.idlePaused && (oldest == nil || j.touched.Before(oldest.touched)) {
			oldest = j
		}
	}
	if oldest != nil {
		s.log.Info("canceling a paused lesson's job to make room", "job", oldest.id)
		s.releaseLocked(oldest)
	}
	return oldest
}

// forgetJobLocked forgets a job of a session that has ended or is being
// canceled: it leaves the job list, and its endpoints answer 404.
func (s *Server) forgetJobLocked(j *job) {
	delete(s.jobs, j.id)
	j.sess.jobs = slices.DeleteFunc(j.sess.jobs, func(o *job) bool { return o == j })
	go j.feed.Stop()
}

// runningLocked counts the session's running jobs and those starting.
func (sess *session) runningLocked() int {
	n := sess.pending
	for _, j := range sess.jobs {
		if j.running {
			n++
		}
	}
	return n
}

// jobOf returns a job of the session, or nil: another session's job is
// as unknown as a job that never was, and so is any job to no session.
func (s *Server) jobOf(sess *session, jid string) *job {
	if sess == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[jid]
	if j == nil || j.sess != sess {
		return nil
	}
	j.touched = time.Now()
	return j
}

// sameOrigin reports whether a request comes from a page of this server:
// its Origin, when it has one, is this host, and the browser does not call
// it cross-site.
func sameOrigin(r *http.Request) bool {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not sent by a browser's script
	}
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host == r.Host
}

// reap cancels jobs nobody watched or changed for a while, pauses lessons'
// jobs nobody watched for a while, and forgets sessions unseen for a while,
// until the server closes.
func (s *Server) reap() {
	defer close(s.reaped)
	every := min(s.cfg.idleJob/4, 30*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-t.C:
			s.reapOnce(now)
		}
	}
}

// reapOnce cancels a job nobody watched or changed for the idle time of a
// job; a lesson's job that no page watched for the idle time of a lesson it
// pauses instead, so that it costs no processor time while the learner is
// away and the learner finds it where they left it (watchJob resumes it),
// and cancels it only after the idle time of a session, or when another job
// needs its place (evictIdleLocked).
func (s *Server) reapOnce(now time.Time) {
	var idle, pause []*job
	defer func() { // outside the lock: a job's budget takes it
		for _, j := range idle {
			j.rt.Cancel()
		}
		for _, j := range pause {
			j.rt.SetPaused(true)
		}
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.jobs {
		if !j.running {
			continue
		}
		unwatched, limit := j.feed.Unwatched(now), s.cfg.idleJob
		if j.idlePaused {
			limit = s.cfg.idleSession
		}
		switch {
		case now.Sub(j.touched) > limit && unwatched > limit:
			s.log.Info("canceling idle job", "job", j.id)
			s.releaseLocked(j)
			idle = append(idle, j)
		case j.lesson && !j.idlePaused && unwatched > s.cfg.idleLesson && !j.rt.Snapshot().Paused:
			s.log.Info("pausing a lesson's job nobody watches", "job", j.id)
			j.idlePaused = true
			pause = append(pause, j)
		}
	}
	for _, sess := range s.sessions {
		if sess.runningLocked() == 0 && sess.compiling == 0 && now.Sub(sess.seen) > s.cfg.idleSession {
			s.forgetSessionLocked(sess)
		} else if cl := sess.cluster; cl != nil && now.Sub(sess.seen) > s.cfg.idleJob && clusterUnwatched(cl, now) > s.cfg.idleJob {
			s.log.Info("detaching a cluster nobody watches", "url", cl.c.Status().URL)
			s.detachLocked(sess)
		}
	}
	s.starts.pruneLocked(now)
	s.newSessions.pruneLocked(now)
}
