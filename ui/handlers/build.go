package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"flowlab/host"
	"flowlab/runtime/spec"
)

// Builder builds one Go source file into a Wasm operator module: what the
// playground needs of host/gobuild (serve.go adapts a *gobuild.Builder).
type Builder interface {
	// Available says why no build can run now (no Go toolchain, say), or
	// nil when builds can run.
	Available() error
	// Build builds source, a package main for GOOS=wasip1 that imports
	// flowlab/wasmops/sdk, into a module. Compile errors are a
	// *BuildError; ErrBuilderBusy when too many builds run; any other error
	// refuses the source (a limit, a timeout) in plain words.
	Build(ctx context.Context, source []byte) (*Built, error)
	// Templates are the sources the editor offers to start from.
	Templates() []Template
}

// Template is a source to start an operator from.
type Template struct {
	Name   string `json:"name"`
	Source string `json:"source"`
}

// Built is a build that worked.
type Built struct {
	Wasm  []byte
	Took  time.Duration
	Hints []Diagnostic // what did not stop the build, such as the size fmt adds
}

// BuildError is a build that failed with the compiler's diagnostics.
type BuildError struct {
	Diagnostics []Diagnostic
}

// Diagnostic is one compile error of the source: its line and column (1
// based; 0 when the compiler gave none) and the message.
type Diagnostic struct {
	Line, Column int
	Message      string
}

func (d Diagnostic) String() string {
	switch {
	case d.Line > 0 && d.Column > 0:
		return fmt.Sprintf("main.go:%d:%d: %s", d.Line, d.Column, d.Message)
	case d.Line > 0:
		return fmt.Sprintf("main.go:%d: %s", d.Line, d.Message)
	}
	return d.Message
}

func (e *BuildError) Error() string {
	msgs := make([]string, len(e.Diagnostics))
	for i, d := range e.Diagnostics {
		msgs[i] = d.String()
	}
	return strings.Join(msgs, "\n")
}

// ErrBuilderBusy is a build refused because as many builds run as the
// builder allows: try again soon.
var ErrBuilderBusy = errors.New("the server is building as many operators as it may at once: try again in a few seconds")

// MaxSourceSize is the largest source POST /api/operators/build accepts.
const MaxSourceSize = 256 << 10

// buildRequest is the body of POST /api/operators/build.
type buildRequest struct {
	Name   string `json:"name"`
	Source string `json:"source"`
}

// builtJSON answers a build: the operator as GET /api/operators lists it,
// and how long the build took.
type builtJSON struct {
	operatorJSON
	BuildMs int64    `json:"buildMs"`
	Hints   []string `json:"hints,omitempty"` // "main.go:4:2: hint: ..."
}

// noBuilder says what to do on a server that cannot build.
const noBuilder = "this server was started without a builder for Go operators: build the module yourself " +
	"(GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared) and upload it on the Operators page"

// buildAvailable says why the server cannot build operators, or nil.
func (s *Server) buildAvailable() error {
	if s.cfg.builder == nil {
		return errors.New(noBuilder)
	}
	if err := s.cfg.builder.Available(); err != nil {
		return fmt.Errorf("no Go toolchain: %w", err)
	}
	return nil
}

// buildOperator is POST /api/operators/build: JSON {"name", "source"}, one
// Go file built into a module that is then checked and stored like an
// upload (uploadOperator) as upload:NAME. A session builds one operator at
// a time.
func (s *Server) buildOperator(w http.ResponseWriter, r *http.Request) {
	if err := s.buildAvailable(); err != nil {
		writeErrors(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	// JSON escapes a byte in at most 6: a body past that is too large for sure.
	const bodyLimit = 6*MaxSourceSize + 1024
	r.Body = http.MaxBytesReader(w, r.Body, bodyLimit)
	var req buildRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeErrors(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the source is larger than the limit of %s", spec.FormatBytes(MaxSourceSize)))
			return
		}
		writeErrors(w, http.StatusBadRequest, `send JSON {"name": "...", "source": "package main ..."}: `+err.Error())
		return
	}
	if len(req.Source) > MaxSourceSize {
		writeErrors(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the source is larger than the limit of %s", spec.FormatBytes(MaxSourceSize)))
		return
	}
	name := strings.TrimPrefix(strings.TrimSpace(req.Name), host.UploadPrefix)
	if !uploadName.MatchString(name) {
		writeErrors(w, http.StatusBadRequest, fmt.Sprintf("the name %q is not valid: use 1 to 64 letters, digits, - or _, starting with a letter or digit", name))
		return
	}
	if strings.TrimSpace(req.Source) == "" {
		writeErrors(w, http.StatusBadRequest, "the source is empty: write a package main (start from a template)")
		return
	}
	sess := s.needSession(w, r)
	if sess == nil {
		return
	}
	s.mu.Lock()
	building := sess.building
	if !building {
		sess.building = true
	}
	s.mu.Unlock()
	if building {
		writeErrors(w, http.StatusTooManyRequests, "this session is already building an operator: wait until it is done")
		return
	}
	defer func() {
		s.mu.Lock()
		sess.building = false
		s.mu.Unlock()
	}()
	// Every build counts as an upload, before it runs: a build costs more
	// than the compile that follows.
	if err := s.admitUpload(sess, name); err != nil {
		writeError(w, http.StatusTooManyRequests, err)
		return
	}
	built, err := s.cfg.builder.Build(r.Context(), []byte(req.Source))
	if err != nil {
		s.uploadDone(sess)
		s.buildError(w, err)
		return
	}
	wasm := built.Wasm
	if int64(len(wasm)) > s.cfg.uploadSize {
		s.uploadDone(sess)
		writeErrors(w, http.StatusBadRequest, fmt.Sprintf("the built module has %s, more than the limit of %s for an upload",
			spec.FormatBytes(int64(len(wasm))), spec.FormatBytes(s.cfg.uploadSize)))
		return
	}
	u, err := s.compileUpload(r.Context(), sess, name, wasm)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, err.Error())
		return
	}
	s.log.Info("operator built", "name", name, "bytes", len(wasm), "took", built.Took)
	answer := builtJSON{operatorJSON: u.json(), BuildMs: built.Took.Milliseconds()}
	for _, h := range built.Hints {
		answer.Hints = append(answer.Hints, h.String())
	}
	writeJSON(w, http.StatusCreated, answer)
}

// buildError answers a failed build: 400 with each diagnostic's place for
// compile errors, 429 when the builder is busy, else 400 with the reason.
func (s *Server) buildError(w http.ResponseWriter, err error) {
	var be *BuildError
	switch {
	case errors.As(err, &be):
		body := errorsBody{Errors: []string{}, Details: []errorDetail{}}
		for _, d := range be.Diagnostics {
			body.Errors = append(body.Errors, d.String())
			body.Details = append(body.Details, errorDetail{Line: d.Line, Column: d.Column, Message: d.Message})
		}
		writeJSON(w, http.StatusBadRequest, body)
	case errors.Is(err, ErrBuilderBusy):
		writeError(w, http.StatusTooManyRequests, &limitError{msg: err.Error(), retryAfter: 5 * time.Second})
	default:
		writeErrors(w, http.StatusBadRequest, err.Error())
	}
}

// listTemplates is GET /api/operators/templates: the sources the editor
// starts from, none on a server that cannot build.
func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.templates())
}

func (s *Server) templates() []Template {
	if s.cfg.builder == nil {
		return []Template{}
	}
	list := s.cfg.builder.Templates()
	if list == nil {
		list = []Template{}
	}
	return list
}
