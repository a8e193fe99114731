package components

import (
	"context"
	"io"

	"github.com/a-h/templ"
	"github.com/yuin/goldmark"
)

// md converts lesson text. Its default settings are safe: raw HTML in the
// text is left out, and links with dangerous schemes (javascript:) are not
// links. Keep them so: lesson text goes into the page as HTML.
var md = goldmark.New()

// markdown renders Markdown as HTML.
func markdown(src string) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		return md.Convert([]byte(src), w)
	})
}
