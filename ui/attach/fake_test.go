package attach

import (
	"encoding/json"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// The test data's jobs and vertices (see testdata/README.md).
const (
	clicks   = "8d3e2a1f0b9c4d7e6f5a4b3c2d1e0f9a"
	backfill = "3f1e0d9c8b7a69584736251403f2e1d0"
	source   = "bc764cd8ddf7a0cff126f51c16239658"
	keyed    = "0a448493b4782967b150582570326227"
	mapper   = "ea632d67b7d595e5b851708ae9ad79d6"
	sink     = "6d2677a0ecc3fd8df0b72ec675edf8f4"
)

// fakeFlink answers Flink's REST API from testdata/flink-VERSION, as Flink
// would, and lets a test change its answers. It answers every method but
// GET with 405 and records every request, and the test fails if a request
// is not a GET.
type fakeFlink struct {
	mu       sync.Mutex
	docs     map[string]any           // by request path
	metrics  map[string][]metricValue // by request path of a metric endpoint
	requests []*http.Request
	answer   http.HandlerFunc // if set, answers every request
}

func newFakeFlink(t *testing.T, version string) *fakeFlink {
	t.Helper()
	f := &fakeFlink{docs: map[string]any{}, metrics: map[string][]metricValue{}}
	dir := filepath.Join("testdata", "flink-"+version)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		p := "/" + strings.TrimSuffix(filepath.ToSlash(rel), ".json")
		if strings.HasSuffix(p, "/metrics") {
			var list []metricValue
			err := json.Unmarshal(data, &list)
			f.metrics[p] = list
			return err
		}
		var doc any
		f.docs[p] = &doc
		return json.Unmarshal(data, &doc)
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		for _, r := range f.sent() {
			if r.Method != http.MethodGet {
				t.Errorf("attach sent %s %s: only GET is allowed", r.Method, r.URL)
			}
		}
	})
	return f
}

func (f *fakeFlink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Clone(r.Context()))
	answer := f.answer
	f.mu.Unlock()
	if answer != nil {
		answer(w, r)
		return
	}
	if r.Method != http.MethodGet {
		flinkError(w, http.StatusMethodNotAllowed, "Request method not allowed.")
		return
	}
	f.mu.Lock()
	var body any
	if list, ok := f.metrics[r.URL.Path]; ok {
		answered := []metricValue{}
		for _, id := range strings.Split(r.URL.Query().Get("get"), ",") {
			if i := slices.IndexFunc(list, func(m metricValue) bool { return m.ID == id }); i >= 0 {
				answered = append(answered, list[i])
			}
		}
		body = answered
	} else if doc, ok := f.docs[r.URL.Path]; ok {
		body = doc
	}
	data, err := json.Marshal(body)
	f.mu.Unlock()
	if body == nil || err != nil {
		flinkError(w, http.StatusNotFound, "Not found: "+r.URL.Path)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Write(data)
}

// flinkError answers as Flink's REST handlers do.
func flinkError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string][]string{"errors": {msg}})
}

// setMetric sets the value of a metric of a vertex ("0.busyTimeMsPerSecond"),
// adding it if the vertex has none by that id.
func (f *fakeFlink) setMetric(jid, vid, id, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := "/jobs/" + jid + "/vertices/" + vid + "/metrics"
	list := f.metrics[p]
	if i := slices.IndexFunc(list, func(m metricValue) bool { return m.ID == id }); i >= 0 {
		list[i].Value = value
		return
	}
	f.metrics[p] = append(list, metricValue{id, value})
}

// edit changes the document that answers GET path.
func (f *fakeFlink) edit(path string, change func(doc any)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(*f.docs[path].(*any))
}

// setState sets a job's state in the overview and its details.
func (f *fakeFlink) setState(jid, state string) {
	f.edit("/jobs/overview", func(doc any) {
		for _, j := range doc.(map[string]any)["jobs"].([]any) {
			if j := j.(map[string]any); j["jid"] == jid {
				j["state"] = state
			}
		}
	})
	f.edit("/jobs/"+jid, func(doc any) { doc.(map[string]any)["state"] = state })
}

// remove takes a job off the overview.
func (f *fakeFlink) remove(jid string) {
	f.edit("/jobs/overview", func(doc any) {
		m := doc.(map[string]any)
		m["jobs"] = slices.DeleteFunc(m["jobs"].([]any), func(j any) bool { return j.(map[string]any)["jid"] == jid })
	})
}

// sent is the requests so far.
func (f *fakeFlink) sent() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

// paths is the paths (with queries) requested so far, from the n-th on.
func (f *fakeFlink) paths(from int) []string {
	var list []string
	for _, r := range f.sent()[from:] {
		list = append(list, r.URL.RequestURI())
	}
	return list
}

// transport serves requests with a handler in the same goroutine, without a
// network, so that tests can run in a synctest bubble; while down, every
// request fails as a refused connection does.
type transport struct {
	h     http.Handler
	down  atomic.Bool
	tries atomic.Int64 // requests, answered or not
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.tries.Add(1)
	if t.down.Load() {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}
