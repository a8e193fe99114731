package components

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOperatorEditor(t *testing.T) {
	page, doc := render(t, OperatorEditor(OperatorEditorPage{
		MaxSourceKiB: 256,
		Templates:    []OperatorTemplate{{Name: "map", Source: "package main\n// " + evil + "\n"}, {Name: evil, Source: "package main\n"}},
		Job: &EditorJob{ID: "abc", Name: evil, Task: "sink", Tasks: []EditorTask{
			{Name: "parse", Operator: "passthrough"}, {Name: "sink", Operator: "upload:" + evil},
		}},
	}))
	assert.NotContains(t, page, evil)
	main := byTestID(doc, "opeditor-page")
	require.Len(t, main, 1)
	assert.Equal(t, "true", attr(main[0], "data-available"))
	assert.Equal(t, "256", attr(main[0], "data-max-kib"))
	for _, id := range []string{"opeditor-template", "opeditor-name", "opeditor-build", "opeditor-status", "opeditor-box",
		"opeditor-gutter", "opeditor-highlight", "opeditor-source", "opeditor-errors", "opeditor-error", "opeditor-ok",
		"opeditor-use", "opeditor-task", "opeditor-use-button"} {
		assert.Len(t, byTestID(doc, id), 1, id)
	}
	assert.Empty(t, byTestID(doc, "opeditor-unavailable"))
	assert.False(t, hasAttr(byTestID(doc, "opeditor-build")[0], "disabled"))

	// The templates: a choice each, and its source in a template element.
	options := findTag(byTestID(doc, "opeditor-template")[0], "option")
	require.Len(t, options, 3)
	assert.Equal(t, "", attr(options[0], "value"))
	assert.Equal(t, "map", attr(options[1], "value"))
	assert.Equal(t, evil, attr(options[2], "value"))
	sources := byTestID(doc, "opeditor-template-source")
	require.Len(t, sources, 2)
	assert.Equal(t, "map", attr(sources[0], "data-name"))
	assert.Equal(t, "package main\n// "+evil+"\n", text(sources[0]))

	// The job's tasks, the one asked for selected.
	assert.Equal(t, "abc", attr(byTestID(doc, "opeditor-use")[0], "data-jid"))
	tasks := findTag(byTestID(doc, "opeditor-task")[0], "option")
	require.Len(t, tasks, 2)
	assert.Equal(t, "parse", attr(tasks[0], "value"))
	assert.False(t, hasAttr(tasks[0], "selected"))
	assert.True(t, hasAttr(tasks[1], "selected"))
	assert.Equal(t, "sink (now upload:"+evil+")", text(tasks[1]))

	// The script is the page's own.
	assert.Contains(t, page, `<script src="/static/opeditor.js" defer></script>`)
}

func TestOperatorEditor_NoJob(t *testing.T) {
	_, doc := render(t, OperatorEditor(OperatorEditorPage{Templates: []OperatorTemplate{{Name: "map", Source: "package main\n"}}}))
	assert.Empty(t, byTestID(doc, "opeditor-use"))
	ok := byTestID(doc, "opeditor-ok")
	require.Len(t, ok, 1)
	assert.Contains(t, text(ok[0]), "Submit new job")
}

func TestOperatorEditor_Unavailable(t *testing.T) {
	page, doc := render(t, OperatorEditor(OperatorEditorPage{Unavailable: "no Go toolchain: " + evil + "."}))
	assert.NotContains(t, page, evil)
	assert.Equal(t, "false", attr(byTestID(doc, "opeditor-page")[0], "data-available"))
	notice := byTestID(doc, "opeditor-unavailable")
	require.Len(t, notice, 1)
	assert.Contains(t, text(notice[0]), "No Go toolchain: "+evil+".")
	link := byTestID(doc, "opeditor-upload-link")
	require.Len(t, link, 1)
	assert.Equal(t, "/operators", attr(link[0], "href"))
	assert.Empty(t, byTestID(doc, "opeditor-source"), "no editor without a builder")
	assert.Empty(t, byTestID(doc, "opeditor-build"))
}

// The drawer's operator select and the Operators page lead to the editor.
func TestOperatorEditor_Links(t *testing.T) {
	j := testJob()
	j.ID = "j&1"
	_, doc := render(t, Playground(PlaygroundPage{Job: j}, nil))
	links := byTestID(doc, "control-write-operator")
	require.Len(t, links, len(byTestID(doc, "control-operator")))
	require.NotEmpty(t, links)
	u, err := url.Parse(attr(links[0], "href"))
	require.NoError(t, err)
	assert.Equal(t, "/operators/new", u.Path)
	assert.Equal(t, "j&1", u.Query().Get("job"))
	assert.Equal(t, attr(links[0], "data-task"), u.Query().Get("task"))

	_, doc = render(t, Operators(OperatorsPage{}))
	write := byTestID(doc, "write-operator")
	require.Len(t, write, 1)
	assert.Equal(t, "/operators/new", attr(write[0], "href"))
}
