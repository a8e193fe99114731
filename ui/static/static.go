// Package static holds the playground's script, stylesheet and icon,
// embedded in the binary and served under /static/.
package static

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// FS holds app.js, flame.js, lesson.js, nav.js, opeditor.js, app.css and favicon.svg.
//
//go:embed app.js flame.js lesson.js nav.js opeditor.js app.css favicon.svg
var FS embed.FS

// file is one embedded file, ready to serve plain or gzipped.
type file struct {
	plain, gz []byte
	etag      string
	mime      string
}

// Handler serves FS, gzipped to browsers that accept it. Browsers
// revalidate on each load (the files change with the binary) and get a 304
// while the ETag, a hash of the content, matches.
func Handler() http.Handler {
	files := map[string]*file{}
	entries, _ := fs.ReadDir(FS, ".")
	for _, e := range entries {
		data, _ := FS.ReadFile(e.Name())
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.Write(data)
		zw.Close()
		files[e.Name()] = &file{
			plain: data, gz: gz.Bytes(),
			etag: fmt.Sprintf("%x", sha256.Sum256(data))[:16],
			mime: mime.TypeByExtension(path.Ext(e.Name())),
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := files[strings.TrimPrefix(r.URL.Path, "/")]
		if f == nil {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Type", f.mime)
		h.Set("Vary", "Accept-Encoding")
		body, etag := f.plain, f.etag
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			h.Set("Content-Encoding", "gzip")
			body, etag = f.gz, f.etag+"-gz"
		}
		h.Set("ETag", `"`+etag+`"`)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	})
}
