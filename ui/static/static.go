// Package static holds the playground's script, stylesheet and icon,
// embedded in the binary and served under /static/.
package static

import (
	"embed"
	"net/http"
)

// FS holds app.js, lesson.js, app.css and favicon.svg.
//
//go:embed app.js lesson.js app.css favicon.svg
var FS embed.FS

// Handler serves FS. Browsers revalidate on each load (the files change
// with the binary), which costs a 304.
func Handler() http.Handler {
	files := http.FileServerFS(FS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
