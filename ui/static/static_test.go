package static

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHandler(t *testing.T) {
	h := Handler()
	want, err := FS.ReadFile("app.js")
	require.NoError(t, err)

	plain := httptest.NewRecorder()
	h.ServeHTTP(plain, httptest.NewRequest("GET", "/app.js", nil))
	assert.Equal(t, http.StatusOK, plain.Code)
	assert.Equal(t, "text/javascript; charset=utf-8", plain.Header().Get("Content-Type"))
	assert.Empty(t, plain.Header().Get("Content-Encoding"))
	assert.Equal(t, want, plain.Body.Bytes())

	req := httptest.NewRequest("GET", "/app.js", nil)
	req.Header.Set("Accept-Encoding", "gzip, deflate, br")
	gz := httptest.NewRecorder()
	h.ServeHTTP(gz, req)
	assert.Equal(t, "gzip", gz.Header().Get("Content-Encoding"))
	assert.Less(t, gz.Body.Len(), len(want)/2)
	zr, err := gzip.NewReader(gz.Body)
	require.NoError(t, err)
	got, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.Equal(t, want, got)

	req = httptest.NewRequest("GET", "/app.js", nil)
	req.Header.Set("If-None-Match", plain.Header().Get("ETag"))
	again := httptest.NewRecorder()
	h.ServeHTTP(again, req)
	assert.Equal(t, http.StatusNotModified, again.Code)

	missing := httptest.NewRecorder()
	h.ServeHTTP(missing, httptest.NewRequest("GET", "/nope.js", nil))
	assert.Equal(t, http.StatusNotFound, missing.Code)
}

func TestFS_Scripts(t *testing.T) {
	// flame.js is embedded and served as JavaScript; no script puts data
	// into the page as HTML (flame graphs show names from untrusted guests).
	h := Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/flame.js", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "text/javascript; charset=utf-8", rec.Header().Get("Content-Type"))
	assert.Contains(t, rec.Body.String(), "window.FlowlabFlame")
	for _, name := range []string{"app.js", "flame.js", "lesson.js", "nav.js", "opeditor.js"} {
		js, err := FS.ReadFile(name)
		require.NoError(t, err)
		for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"} {
			assert.NotContains(t, string(js), sink, name)
		}
	}
}
