package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
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
	pending      int                   // jobs starting: counted as running until started or failed
	uploadBucket bucket                // every upload, new or replacing
	memory       int64                 // bytes reserved by the budgets of its running jobs
	starting     sync.Mutex            // held while a lesson starts, so that one request starts it
}

// job is a job of a session. Its mutable fields are guarded by Server.mu.
type job struct {
	id       string
	sess     *session
	rt       Job
	feed     *hub.Feed
	started  time.Time
	tickMs   int64
	changing sync.Mutex // held while live changes are made, one request after the other

	running  bool
	subtasks int        // counted in Server.subtasks while running
	budget   *jobBudget // its memory, released with its place
	touched  time.Time  // last changed or read through the API
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

// session returns the request's session, starting one (and setting its
// cookie) if the request has none the server knows.
func (s *Server) session(w http.ResponseWriter, r *http.Request) (*session, bool) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, err := r.Cookie(cookieName); err == nil {
		if sess := s.sessions[c.Value]; sess != nil {
			sess.seen = now
			return sess, false
		}
	}
	if len(s.sessions) >= s.cfg.sessions {
		s.evictSessionLocked()
	}
	sess := &session{id: newID(), seen: now, uploads: map[string]*upload{}, lessons: map[string]*lessonRun{}}
	s.sessions[sess.id] = sess
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: sess.id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return sess, true
}

// evictSessionLocked forgets the session seen least recently among those
// without running jobs.
func (s *Server) evictSessionLocked() {
	var oldest *session
	for _, sess := range s.sessions {
		if sess.runningLocked() == 0 && (oldest == nil || sess.seen.Before(oldest.seen)) {
			oldest = sess
		}
	}
	if oldest != nil {
		s.forgetSessionLocked(oldest)
	}
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
	delete(s.sessions, sess.id)
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
// as unknown as a job that never was.
func (s *Server) jobOf(sess *session, jid string) *job {
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

// reap cancels jobs nobody watched or changed for a while and forgets
// sessions unseen for a while, until the server closes.
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

func (s *Server) reapOnce(now time.Time) {
	var idle []*job
	defer func() { // outside the lock: a job's budget takes it
		for _, j := range idle {
			j.rt.Cancel()
		}
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.jobs {
		if j.running && now.Sub(j.touched) > s.cfg.idleJob && j.feed.Unwatched(now) > s.cfg.idleJob {
			s.log.Info("canceling idle job", "job", j.id)
			s.releaseLocked(j)
			idle = append(idle, j)
		}
	}
	for _, sess := range s.sessions {
		if sess.runningLocked() == 0 && now.Sub(sess.seen) > s.cfg.idleSession {
			s.forgetSessionLocked(sess)
		}
	}
}
