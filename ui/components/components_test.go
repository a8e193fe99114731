package components

import (
	"bytes"
	"context"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/a-h/templ"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

const evil = `<script>alert("x")</script>`

func render(t *testing.T, c templ.Component) (string, *html.Node) {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, c.Render(context.Background(), &buf))
	doc, err := html.Parse(strings.NewReader(buf.String()))
	require.NoError(t, err)
	return buf.String(), doc
}

// byTestID finds the elements with a data-testid.
func byTestID(n *html.Node, id string) []*html.Node {
	var found []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && attr(d, "data-testid") == id {
			found = append(found, d)
		}
	}
	return found
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return b.String()
}

func testJob() *JobView {
	rate := 2000.0
	return &JobView{
		ID: "0123456789abcdef0123456789abcdef", Name: evil, State: "RUNNING", WindowMs: 2000, TickMs: 100,
		Graph: GraphView{
			Width: 600, Height: 200,
			Nodes: []NodeView{
				{ID: "a", Name: "source", Operator: "generator", W: 240, H: 132, Parallelism: 2, Busy: math.NaN(), BackPressured: 93, Fill: "#8a8a8a", Border: "#020202", Level: "high", Rate: &rate},
				{ID: "b", Name: evil, Operator: "upload:" + evil, X: 350, W: 240, H: 132, Parallelism: 1, Busy: 63, BackPressured: 0, DataSkew: 12, Fill: "#ee6464", Border: "#ee2222", Level: "ok", Cost: "1ms", CostMicros: 1000},
			},
			Edges: []EdgeView{{From: "source", To: evil, Partitioning: "HASH", D: "M0,0 L1,1"}},
		},
	}
}

func TestPlayground(t *testing.T) {
	page, doc := render(t, Playground(PlaygroundPage{Job: testJob(), Nav: Nav{Jobs: []JobLink{{ID: "j", Name: evil, State: "RUNNING"}}}}, nil))
	assert.NotContains(t, page, evil, "user text is escaped everywhere")
	require.Len(t, byTestID(doc, "graph"), 1)
	nodes := byTestID(doc, "node")
	require.Len(t, nodes, 2)
	src, sink := nodes[0], nodes[1]
	assert.Equal(t, "source", attr(src, "data-task"))
	assert.Equal(t, "NaN", attr(src, "data-busy"))
	assert.Equal(t, "93", attr(src, "data-backpressured"))
	assert.Equal(t, "#8a8a8a", attr(src, "data-fill"))
	assert.Equal(t, "high", attr(src, "data-level"))
	assert.Contains(t, text(src), "Busy (max): N/A")
	assert.Contains(t, text(src), "Backpressured (max): 93%")
	assert.Equal(t, evil, attr(sink, "data-task"))
	assert.Contains(t, text(sink), "Busy (max): 63%")
	assert.Contains(t, text(sink), "Data skew: 12%")
	edges := byTestID(doc, "edge")
	require.Len(t, edges, 1)
	assert.Equal(t, "source", attr(edges[0], "data-from"))
	assert.Equal(t, evil, attr(edges[0], "data-to"))
	assert.Contains(t, text(edges[0]), "HASH")

	for _, id := range []string{"job-state", "drawer", "tab-backpressure", "tab-metrics", "tab-timeline", "tab-logs", "tab-failures",
		"control-pause", "control-restart", "control-window", "legend"} {
		assert.Len(t, byTestID(doc, id), 1, id)
	}
	rates := byTestID(doc, "control-rate")
	require.Len(t, rates, 1, "only sources have a rate")
	assert.Equal(t, "source", attr(rates[0], "data-task"))
	assert.Equal(t, "2000", attr(rates[0], "value"))
	costs := byTestID(doc, "control-cost")
	require.Len(t, costs, 2)
	assert.Equal(t, "1000", attr(costs[1], "value"))
	assert.Len(t, byTestID(doc, "control-parallelism"), 2)
	assert.Empty(t, byTestID(doc, "side-panel"))
}

func TestPlayground_SidePanel(t *testing.T) {
	side := templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, err := io.WriteString(w, `<p id="lesson">lesson</p>`)
		return err
	})
	_, doc := render(t, Playground(PlaygroundPage{Job: testJob()}, side))
	panels := byTestID(doc, "side-panel")
	require.Len(t, panels, 1)
	assert.Equal(t, "lesson", text(panels[0]))
}

func TestPlayground_NoJob(t *testing.T) {
	page, doc := render(t, Playground(PlaygroundPage{Notice: evil}, nil))
	assert.NotContains(t, page, evil)
	assert.Len(t, byTestID(doc, "no-job"), 1)
	assert.Equal(t, evil, text(byTestID(doc, "notice")[0]))
}

func TestEditor(t *testing.T) {
	yaml := "name: x\n# </textarea>" + evil
	page, doc := render(t, Editor(EditorPage{YAML: yaml, Examples: []Example{{Name: "slow-sink", Description: evil, YAML: yaml}}, Replace: "j1"}))
	assert.NotContains(t, page, evil)
	editors := byTestID(doc, "editor")
	require.Len(t, editors, 1)
	assert.Equal(t, yaml, text(editors[0]))
	items := byTestID(doc, "gallery-item")
	require.Len(t, items, 1)
	assert.Equal(t, "slow-sink", attr(items[0], "data-example"))
	for _, id := range []string{"editor-start", "editor-errors"} {
		assert.Len(t, byTestID(doc, id), 1, id)
	}
}

func TestOperators(t *testing.T) {
	page, doc := render(t, Operators(OperatorsPage{MaxUploadMiB: 32, Operators: []Operator{
		{Name: "upload:" + evil, Kind: "upload", Size: 2048, Uploaded: "12:00:00"},
		{Name: "wasm:upper", Kind: "bundled"},
	}}))
	assert.NotContains(t, page, evil)
	ops := byTestID(doc, "operator")
	require.Len(t, ops, 2)
	assert.Equal(t, "upload:"+evil, attr(ops[0], "data-name"))
	assert.Contains(t, text(ops[0]), "2.0 KiB")
	for _, id := range []string{"upload-input", "upload-submit", "upload-error", "upload-ok"} {
		assert.Len(t, byTestID(doc, id), 1, id)
	}
}
