package handlers

import (
	"errors"
	"fmt"
	"net/http"

	"flowlab/runtime/spec"
)

// jobBudget is the memory budget of one job, the runtime.Budget it starts
// with: what it reserves counts against three limits, checked in this
// order: the job's, its session's (all the session's running jobs) and the
// server's (all running jobs). A reservation passes all three or none, under
// Server.mu. What is left reserved is released when the job stops counting
// as running (releaseLocked), and the budget refuses more after that.
type jobBudget struct {
	s    *Server
	sess *session

	// Guarded by Server.mu.
	reserved int64
	ended    bool
}

func (s *Server) newBudget(sess *session) *jobBudget { return &jobBudget{s: s, sess: sess} }

// Reserve implements runtime.Budget.
func (b *jobBudget) Reserve(n int64) error {
	if n <= 0 {
		return nil
	}
	s := b.s
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case b.ended:
		return errors.New("the job has ended: it may reserve no more memory")
	case b.reserved+n > s.cfg.memJob:
		return &limitError{status: http.StatusBadRequest, msg: fmt.Sprintf("the job needs %s of memory, more than the %s a job may use",
			spec.FormatBytes(b.reserved+n), spec.FormatBytes(s.cfg.memJob))}
	case b.sess.memory+n > s.cfg.memSession:
		return &limitError{msg: fmt.Sprintf("this session's running jobs would need %s of memory (%s in use), more than the %s a session may use: stop a job first",
			spec.FormatBytes(b.sess.memory+n), spec.FormatBytes(b.sess.memory), spec.FormatBytes(s.cfg.memSession))}
	case s.memory+n > s.cfg.memServer:
		return &limitError{msg: fmt.Sprintf("the server's running jobs would need %s of memory (%s in use), more than the %s the server may use: try again later",
			spec.FormatBytes(s.memory+n), spec.FormatBytes(s.memory), spec.FormatBytes(s.cfg.memServer))}
	}
	b.reserved += n
	b.sess.memory += n
	s.memory += n
	return nil
}

// Release implements runtime.Budget. Releasing more than is reserved
// releases what is: a release after the job ended is nothing.
func (b *jobBudget) Release(n int64) {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	b.releaseLocked(n)
}

func (b *jobBudget) releaseLocked(n int64) {
	n = min(max(n, 0), b.reserved)
	b.reserved -= n
	b.sess.memory -= n
	b.s.memory -= n
}

// endLocked releases everything reserved and refuses any more.
func (b *jobBudget) endLocked() {
	b.releaseLocked(b.reserved)
	b.ended = true
}
