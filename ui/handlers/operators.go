package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"flowlab/host"
	"flowlab/runtime"
	"flowlab/runtime/spec"
)

// uploadName is what an uploaded operator may be called.
var uploadName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// resolver resolves a session's operators: upload:NAME from its uploads,
// everything else through the engine.
func (s *Server) resolver(sess *session) runtime.Resolver {
	return host.UploadResolver(s.eng.Resolve, func(name string) (runtime.OperatorType, []string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if u := sess.uploads[name]; u != nil {
			return u.typ, nil
		}
		return nil, slices.Collect(maps.Keys(sess.uploads))
	})
}

// uploadOperator is POST /api/operators: a multipart form with the module
// in field "wasm" and optionally its name in field "name" (else the file's
// name without .wasm). The module is validated and compiled at once.
func (s *Server) uploadOperator(w http.ResponseWriter, r *http.Request) {
	sess := s.needSession(w, r)
	if sess == nil {
		return
	}
	const formOverhead = 64 << 10 // the multipart headers and the name field
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.uploadSize+formOverhead)
	mr, err := r.MultipartReader()
	if err != nil {
		writeErrors(w, http.StatusBadRequest, "send the module as a multipart form with the file in field \"wasm\"")
		return
	}
	var name, filename string
	var wasm []byte
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			s.uploadReadError(w, err)
			return
		}
		switch part.FormName() {
		case "wasm":
			filename = part.FileName()
			wasm, err = io.ReadAll(io.LimitReader(part, s.cfg.uploadSize+1))
		case "name":
			var b []byte
			b, err = io.ReadAll(io.LimitReader(part, 256))
			name = strings.TrimSpace(string(b))
		}
		if err != nil {
			s.uploadReadError(w, err)
			return
		}
		if int64(len(wasm)) > s.cfg.uploadSize {
			writeErrors(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the file is larger than the limit of %s", spec.FormatBytes(s.cfg.uploadSize)))
			return
		}
	}
	if wasm == nil {
		writeErrors(w, http.StatusBadRequest, "no file: send the module in the form field \"wasm\"")
		return
	}
	if name == "" {
		name = strings.TrimSuffix(path.Base(strings.ReplaceAll(filename, `\`, "/")), ".wasm")
	}
	name = strings.TrimPrefix(name, host.UploadPrefix)
	if !uploadName.MatchString(name) {
		writeErrors(w, http.StatusBadRequest, fmt.Sprintf("the name %q is not valid: use 1 to 64 letters, digits, - or _, starting with a letter or digit", name))
		return
	}
	if err := s.admitUpload(sess, name); err != nil {
		writeError(w, http.StatusTooManyRequests, err)
		return
	}
	u, err := s.compileUpload(r.Context(), sess, name, wasm)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, err.Error())
		return
	}
	s.log.Info("operator uploaded", "name", name, "bytes", len(wasm))
	writeJSON(w, http.StatusCreated, u.json())
}

// admitUpload checks that the session may add or replace the operator
// name now (WithUploadLimits, WithUploadRate) and counts it as compiling
// until compileUpload or uploadDone. The errors are a limitError.
func (s *Server) admitUpload(sess *session, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess.uploads[name] == nil && len(sess.uploads) >= s.cfg.uploadsPerSession {
		return &limitError{msg: fmt.Sprintf("this session already has %d uploaded operators, the most it may", s.cfg.uploadsPerSession)}
	}
	// every upload counts, a replacement too: each is compiled
	if wait, ok := sess.uploadBucket.take(s.cfg.uploadRate, time.Now()); !ok {
		return &limitError{retryAfter: wait, msg: fmt.Sprintf(
			"this session uploaded as many operators as it may for now (%d at once, then 1 every %v): try again %s",
			s.cfg.uploadRate.burst, s.cfg.uploadRate.every, retryText(wait))}
	}
	sess.compiling++ // not empty while it compiles: see evictSessionLocked
	return nil
}

// uploadDone ends an upload admitted by admitUpload that will not be compiled.
func (s *Server) uploadDone(sess *session) {
	s.mu.Lock()
	sess.compiling--
	s.mu.Unlock()
}

// compileUpload compiles an upload admitted by admitUpload and, if it
// compiles, keeps it in the session's library as upload:NAME, replacing
// one of the same name, and tells the session's lessons.
func (s *Server) compileUpload(ctx context.Context, sess *session, name string, wasm []byte) (*upload, error) {
	typ, err := s.eng.Compile(ctx, host.UploadPrefix+name, wasm)
	s.uploadDone(sess)
	if err != nil {
		return nil, err
	}
	u := &upload{name: name, size: len(wasm), uploaded: time.Now(), typ: typ}
	s.mu.Lock()
	sess.uploads[name] = u
	runs := slices.Collect(maps.Values(sess.lessons))
	s.mu.Unlock()
	for _, run := range runs {
		run.uploaded(name)
	}
	return u, nil
}

// json is the upload as GET /api/operators lists it.
func (u *upload) json() operatorJSON {
	return operatorJSON{Name: host.UploadPrefix + u.name, Kind: "upload", Size: u.size, Uploaded: u.uploaded.UnixMilli()}
}

// uploadReadError answers a failed read of the upload: 413 past the limit.
func (s *Server) uploadReadError(w http.ResponseWriter, err error) {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		writeErrors(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the file is larger than the limit of %s", spec.FormatBytes(s.cfg.uploadSize)))
		return
	}
	writeErrors(w, http.StatusBadRequest, "reading the upload: "+err.Error())
}

// operatorJSON is one operator of GET /api/operators.
type operatorJSON struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`               // "upload", "bundled" or "builtin"
	Size     int    `json:"size,omitempty"`     // bytes, uploads only
	Uploaded int64  `json:"uploaded,omitempty"` // ms since the epoch, uploads only
}

// operators lists the session's uploads by name (none without a session),
// then the engine's operators.
func (s *Server) operators(sess *session) []operatorJSON {
	var list []operatorJSON
	s.mu.Lock()
	if sess != nil {
		for _, u := range sess.uploads {
			list = append(list, u.json())
		}
	}
	s.mu.Unlock()
	slices.SortFunc(list, func(a, b operatorJSON) int { return strings.Compare(a.Name, b.Name) })
	for _, name := range s.eng.Operators() {
		kind := "builtin"
		if strings.HasPrefix(name, host.BundledPrefix) {
			kind = "bundled"
		}
		list = append(list, operatorJSON{Name: name, Kind: kind})
	}
	return list
}

// listOperators is GET /api/operators.
func (s *Server) listOperators(w http.ResponseWriter, r *http.Request) {
	sess := s.lookup(r)
	writeJSON(w, http.StatusOK, map[string]any{"operators": s.operators(sess)})
}
