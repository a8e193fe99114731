// Package examples embeds the example job specs of examples/*.yaml: the
// playground's gallery and its default job.
package examples

import (
	"embed"
	"io/fs"
	"path"
	"strings"
)

// FS holds every example spec as NAME.yaml.
//
//go:embed *.yaml
var FS embed.FS

// Example is one example spec of the gallery.
type Example struct {
	Name        string // the file name without .yaml
	Description string // the comment lines at the top of the file, joined
	YAML        string
}

// All lists the examples sorted by name.
func All() []Example {
	entries, _ := fs.ReadDir(FS, ".")
	var all []Example
	for _, e := range entries {
		if ex, ok := Get(strings.TrimSuffix(e.Name(), ".yaml")); ok {
			all = append(all, ex)
		}
	}
	return all
}

// Get returns the example called name.
func Get(name string) (Example, bool) {
	if name == "" || strings.ContainsAny(name, "/\\.") {
		return Example{}, false
	}
	data, err := fs.ReadFile(FS, path.Clean(name)+".yaml")
	if err != nil {
		return Example{}, false
	}
	return Example{Name: name, Description: description(string(data)), YAML: string(data)}, true
}

// description is the text of the leading "# ..." lines of a spec.
func description(yaml string) string {
	var words []string
	for line := range strings.Lines(yaml) {
		text, ok := strings.CutPrefix(strings.TrimSpace(line), "#")
		if !ok {
			break
		}
		words = append(words, strings.TrimSpace(text))
	}
	return strings.TrimSpace(strings.Join(words, " "))
}
