package components

import (
	"bytes"
	"context"
	"io"
	"math"
	"slices"
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
				{ID: "a", Name: "source", Operator: "generator", W: 240, H: 132, Parallelism: 2, Busy: math.NaN(), BackPressured: 93, Fill: "#8a8a8a", Border: "#020202", Level: "high", Rate: &rate,
					LatencyP50: math.NaN(), LatencyP99: math.NaN()},
				{ID: "b", Name: evil, Operator: "upload:" + evil, X: 350, W: 240, H: 132, Parallelism: 1, Busy: 63, BackPressured: 0, DataSkew: 12, Fill: "#ee6464", Border: "#ee2222", Level: "ok", Cost: "1ms", CostMicros: 1000,
					Sink: true, LatencyP50: 12.4, LatencyP99: 85},
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
	assert.Equal(t, "85", attr(sink, "data-latency-p99"))
	assert.Equal(t, "12", attr(sink, "data-latency-p50"))
	assert.Contains(t, text(sink), "Latency p50 12 · p99 85 ms")
	assert.Equal(t, "", attr(src, "data-latency-p99"), "a source has no latency")
	assert.NotContains(t, text(src), "Latency", "only a sink shows its latency")
	lat := byTestID(doc, "timeline-latency")
	require.Len(t, lat, 1, "a latency timeline for the sink")
	assert.Equal(t, evil, attr(lat[0], "data-task"))
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

func TestLessons(t *testing.T) {
	page, doc := render(t, Lessons(LessonsPage{Lessons: []LessonCard{
		{ID: "1-slow-sink", Number: "1", Title: evil, Level: "beginner", Summary: evil, Steps: 3},
		{ID: "2-colors", Number: "2", Title: "Colors", Level: "advanced", Steps: 4},
	}}))
	assert.NotContains(t, page, evil)
	require.Len(t, byTestID(doc, "lesson-list"), 1)
	items := byTestID(doc, "lesson-item")
	require.Len(t, items, 2)
	assert.Equal(t, "1-slow-sink", attr(items[0], "data-lesson"))
	assert.Equal(t, "false", attr(items[0], "data-done"))
	assert.Equal(t, "3", attr(items[0], "data-steps"))
	assert.Equal(t, "/lessons/2-colors", attr(items[1], "href"))
	assert.Contains(t, text(items[1]), "advanced")
}

func testLesson() LessonView {
	return LessonView{
		ID: "1-slow-sink", Number: "1", Title: evil, Level: "beginner", Learned: []string{evil},
		Next: &LessonCard{ID: "2-colors", Title: "Colors"},
		Steps: []StepView{
			{
				Title: "Watch", Text: "The **sink** is slow.\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) <b>raw</b>",
				Checks:  []CheckView{{When: "sink.busy >= 90", Text: "sink: busy ≥ 90%"}, {When: "upstream(sink).backpressured >= 50", Text: evil}},
				Targets: []TargetView{{Task: "sink", Fill: "#ee6464", Border: "#ee2222", Text: "busy ≥ 90%"}},
				HoldMs:  3000, Hints: []string{"Wait `a bit`.", "Then look."},
			},
			{Title: "Point", Text: "Which?", Pick: true, Checks: []CheckView{{When: "picked == sink", Text: "you point at the right task"}}},
			{
				Title: "Ask", Text: "Why?", Question: &QuestionView{Prompt: evil, Choices: []ChoiceView{{ID: "a", Text: evil}, {ID: "b", Text: "B"}}},
				Checks: []CheckView{{When: "answer == b", Text: "you choose the right answer"}},
			},
		},
		Hints: 1,
		Met:   map[string]bool{"sink.busy >= 90": true},
	}
}

func TestLessonPanel(t *testing.T) {
	page, doc := render(t, Playground(PlaygroundPage{Job: testJob(), Nav: Nav{Active: "lessons"}}, LessonPanel(testLesson())))
	assert.NotContains(t, page, evil, "user and lesson text is escaped")
	assert.NotContains(t, page, "<script>alert", "raw HTML in Markdown is not rendered")
	assert.NotContains(t, page, "<b>raw</b>")
	assert.NotContains(t, page, "javascript:", "nor are dangerous links")
	panels := byTestID(doc, "lesson-panel")
	require.Len(t, panels, 1)
	assert.Equal(t, "0", attr(panels[0], "data-step"))
	assert.Equal(t, "3", attr(panels[0], "data-steps"))

	steps := byTestID(doc, "lesson-step")
	require.Len(t, steps, 3, "every step is rendered")
	assert.False(t, hasAttr(steps[0], "hidden"))
	assert.True(t, hasAttr(steps[1], "hidden"))
	texts := byTestID(steps[0], "lesson-text")
	require.Len(t, texts, 1)
	assert.Len(t, findTag(texts[0], "strong"), 1, "Markdown is rendered")
	assert.Equal(t, "sink", text(findTag(texts[0], "strong")[0]))

	conds := byTestID(steps[0], "lesson-condition")
	require.Len(t, conds, 2)
	assert.Equal(t, "sink.busy >= 90", attr(conds[0], "data-when"))
	assert.Equal(t, "true", attr(conds[0], "data-met"))
	assert.Equal(t, "false", attr(conds[1], "data-met"))
	assert.Len(t, byTestID(steps[0], "lesson-goal"), 1)
	hints := byTestID(steps[0], "lesson-hint")
	require.Len(t, hints, 2)
	assert.False(t, hasAttr(hints[0], "hidden"), "one hint revealed")
	assert.True(t, hasAttr(hints[1], "hidden"))
	assert.Len(t, findTag(hints[0], "code"), 1)
	targets := findClass(steps[0], "goal-targets")
	require.Len(t, targets, 1)
	li := findTag(targets[0], "li")[0]
	assert.Equal(t, "sink", attr(li, "data-task"))
	assert.Equal(t, "#ee2222", attr(li, "data-border"))

	assert.Empty(t, byTestID(steps[0], "lesson-pick"))
	assert.Len(t, byTestID(steps[1], "lesson-pick"), 1, "only on pick steps")
	choices := byTestID(steps[2], "lesson-choice")
	require.Len(t, choices, 2)
	assert.Equal(t, "a", attr(choices[0], "data-choice"))

	for _, id := range []string{"lesson-hint-button", "lesson-show-goal", "lesson-reset", "lesson-done", "lesson-next"} {
		assert.Len(t, byTestID(doc, id), 1, id)
	}
	assert.True(t, hasAttr(byTestID(doc, "lesson-done")[0], "hidden"))
	assert.Equal(t, "/lessons/2-colors", attr(byTestID(doc, "lesson-next")[0], "href"))
	assert.True(t, hasAttr(byTestID(doc, "lesson-reset-confirm")[0], "hidden"), "Reset asks first")
	assert.Equal(t, "current", attr(steps[0], "data-state"))
	assert.True(t, hasAttr(byTestID(steps[0], "lesson-step-toggle")[0], "disabled"), "the current step does not collapse")
}

func TestLessonPanel_Continue(t *testing.T) {
	l := testLesson()
	l.Steps[0].Continue = true
	l.Steps[0].Checks = []CheckView{{Text: "the colors have settled"}}
	l.Met = map[string]bool{"sink.busy >= 90": true, "upstream(sink).backpressured >= 50": false}
	_, doc := render(t, LessonPanel(l))
	step := byTestID(doc, "lesson-step")[0]
	buttons := byTestID(step, "lesson-continue")
	require.Len(t, buttons, 1)
	assert.True(t, hasAttr(buttons[0], "disabled"), "until the goal is reached")
	assert.Equal(t, "false", attr(byTestID(step, "lesson-condition")[0], "data-met"), "a check for the whole goal: one condition unmet")
	assert.Empty(t, byTestID(byTestID(doc, "lesson-step")[1], "lesson-continue"), "only in steps with continue")

	l.Reached = true
	l.Met = map[string]bool{"sink.busy >= 90": true, "upstream(sink).backpressured >= 50": true}
	_, doc = render(t, LessonPanel(l))
	step = byTestID(doc, "lesson-step")[0]
	assert.False(t, hasAttr(byTestID(step, "lesson-continue")[0], "disabled"))
	assert.Equal(t, "true", attr(byTestID(step, "lesson-condition")[0], "data-met"), "every condition met")
}

func TestLessonPanel_Done(t *testing.T) {
	l := testLesson()
	l.Current, l.Next = len(l.Steps), nil
	_, doc := render(t, LessonPanel(l))
	for _, st := range byTestID(doc, "lesson-step") {
		assert.False(t, hasAttr(st, "hidden"), "passed steps stay on the page")
		assert.Equal(t, "passed", attr(st, "data-state"))
		toggle := byTestID(st, "lesson-step-toggle")
		require.Len(t, toggle, 1)
		assert.False(t, hasAttr(toggle[0], "disabled"), "its title reopens it")
		assert.Equal(t, "false", attr(toggle[0], "aria-expanded"))
		assert.True(t, hasAttr(findClass(st, "step-body")[0], "hidden"), "collapsed")
		for _, c := range byTestID(st, "lesson-condition") {
			assert.Equal(t, "true", attr(c, "data-met"))
		}
		for _, c := range byTestID(st, "lesson-choice") {
			assert.True(t, hasAttr(c, "disabled"), "a passed question is not answered again")
		}
	}
	assert.False(t, hasAttr(byTestID(doc, "lesson-done")[0], "hidden"))
	assert.Equal(t, "/lessons", attr(byTestID(doc, "lesson-next")[0], "href"), "after the last lesson, the list")
}

func TestDrawer_ConfigAndOperator(t *testing.T) {
	j := testJob()
	j.Graph.Nodes[0].Config = []ConfigField{{Name: "keys"}, {Name: "skew", Value: "2"}}
	j.Operators = []Operator{{Name: "upload:mine", Kind: "upload"}, {Name: "passthrough", Kind: "builtin"}, {Name: "wasm:upper", Kind: "bundled"}}
	page, doc := render(t, Playground(PlaygroundPage{Job: j}, nil))
	assert.NotContains(t, page, evil)
	configs := byTestID(doc, "control-config")
	require.Len(t, configs, 2)
	assert.Equal(t, "source", attr(configs[1], "data-task"))
	assert.Equal(t, "skew", attr(configs[1], "data-field"))
	assert.Equal(t, "2", attr(configs[1], "value"))
	ops := byTestID(doc, "control-operator")
	require.Len(t, ops, 1, "sources keep their operator")
	assert.Equal(t, evil, attr(ops[0], "data-task"))
	options := findTag(ops[0], "option")
	require.Len(t, options, 4, "the task's own operator, then every other")
	assert.Equal(t, "upload:"+evil, attr(options[0], "value"))
	assert.True(t, hasAttr(options[0], "selected"))
	assert.Equal(t, "upload:mine", attr(options[1], "value"))
	assert.Len(t, byTestID(doc, "control-config-field"), 1)
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

func findTag(n *html.Node, tag string) []*html.Node {
	var found []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && d.Data == tag {
			found = append(found, d)
		}
	}
	return found
}

func findClass(n *html.Node, class string) []*html.Node {
	var found []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && slices.Contains(strings.Fields(attr(d, "class")), class) {
			found = append(found, d)
		}
	}
	return found
}

func TestDrawer_PoolGuide(t *testing.T) {
	// The Metrics tab reads the pools as Flink's network tuning guide does,
	// network-bound signature included: a full output pool upstream and an
	// empty input pool downstream (lesson 7) is the network, not a slow task.
	_, doc := render(t, Playground(PlaygroundPage{Job: testJob()}, nil))
	guide := byTestID(doc, "pool-guide")
	require.Len(t, guide, 1)
	items := findTag(guide[0], "li")
	require.Len(t, items, 4)
	assert.Contains(t, text(items[0]), "outPoolUsage high")
	assert.Contains(t, text(items[0]), "network")
	assert.Contains(t, text(items[2]), "both high")
	assert.Contains(t, text(items[2]), "further downstream")
	assert.Contains(t, text(items[3]), "inPoolUsage low in the next task")
	assert.Contains(t, text(items[3]), "the network is the bottleneck")
	panel := findClass(doc, "tab-panel")
	for _, p := range panel {
		assert.NotContains(t, text(p), "a full output pool that the next one is", "the caption that blamed the next task for every full output pool")
	}
}

func TestDrawer_Numbers(t *testing.T) {
	// Numbers are typed as numbers: a rate, a cost in ms (1.1 without the
	// slider), and config fields whose value is a number.
	j := testJob()
	j.Graph.Nodes[0].Config = []ConfigField{{Name: "keys", Number: true}, {Name: "label", Value: "x"}}
	j.Graph.Nodes[1].CostMicros, j.Graph.Nodes[1].Cost = 1100, "1.1ms"
	_, doc := render(t, Playground(PlaygroundPage{Job: j}, nil))
	rates := byTestID(doc, "control-rate-value")
	require.Len(t, rates, 1)
	assert.Equal(t, "number", attr(rates[0], "type"))
	assert.Equal(t, "2000", attr(rates[0], "value"))
	costs := byTestID(doc, "control-cost-ms")
	require.Len(t, costs, 2)
	assert.Equal(t, "number", attr(costs[1], "type"))
	assert.Equal(t, "any", attr(costs[1], "step"), "1.1 is a valid value")
	assert.Equal(t, "1.1", attr(costs[1], "value"))
	configs := byTestID(doc, "control-config")
	require.Len(t, configs, 2)
	assert.Equal(t, "number", attr(configs[0], "type"))
	assert.Equal(t, "text", attr(configs[1], "type"))
	assert.Len(t, byTestID(doc, "control-error"), 2)
}

func TestDrawer_TimeMetricNames(t *testing.T) {
	// The BackPressure tab names Flink's time metrics (lesson 4 teaches
	// that they add up to 1000 ms/s), in its headers and their tooltips.
	_, doc := render(t, Playground(PlaygroundPage{Job: testJob()}, nil))
	table := byTestID(doc, "bp-table")
	require.Len(t, table, 1)
	var names []string
	for _, th := range findTag(table[0], "th") {
		if m := attr(th, "data-metric"); m != "" {
			names = append(names, m)
			assert.Contains(t, text(th), m)
			assert.True(t, strings.HasPrefix(attr(th, "title"), m+": ms of each second"), attr(th, "title"))
		}
	}
	assert.Equal(t, []string{"backPressuredTimeMsPerSecond", "busyTimeMsPerSecond", "idleTimeMsPerSecond"}, names)
	panel := findClass(doc, "tab-panel")[0]
	assert.Contains(t, text(panel), "1000 ms/s")
}

func TestDrawer_FlameGraph(t *testing.T) {
	// The Flame Graph tab, as in Flink's web UI: On-CPU by default, Off-CPU
	// and Mixed (Flink's full); all subtasks until one is picked (flame.js
	// adds one option per subtask); a legend of the frame kinds. Its script
	// loads before app.js, which drives it.
	page, doc := render(t, Playground(PlaygroundPage{Job: testJob()}, nil))
	tab := byTestID(doc, "tab-flamegraph")
	require.Len(t, tab, 1)
	assert.Equal(t, "Flame Graph", text(tab[0]))
	assert.Equal(t, "flamegraph", attr(tab[0], "data-tab"))
	panel := byTestID(doc, "flamegraph")
	require.Len(t, panel, 1)
	assert.Equal(t, "flamegraph", attr(panel[0], "data-panel"))
	assert.Equal(t, "on_cpu", attr(panel[0], "data-type"))

	types := byTestID(doc, "flame-type")
	require.Len(t, types, 1)
	var got []string
	for _, b := range findTag(types[0], "button") {
		got = append(got, attr(b, "data-type")+"="+text(b)+"/"+attr(b, "aria-pressed"))
	}
	assert.Equal(t, []string{"on_cpu=On-CPU/true", "off_cpu=Off-CPU/false", "full=Mixed/false"}, got)

	sub := byTestID(doc, "flame-subtask")
	require.Len(t, sub, 1)
	assert.Equal(t, "select", sub[0].Data)
	opts := findTag(sub[0], "option")
	require.Len(t, opts, 1)
	assert.Equal(t, "", attr(opts[0], "value"))
	assert.Equal(t, "All subtasks", text(opts[0]))

	for _, id := range []string{"flame-graph", "flame-status", "flame-tooltip", "flame-reset", "flame-legend"} {
		assert.Len(t, byTestID(doc, id), 1, id)
	}
	var kinds []string
	for _, k := range findClass(byTestID(doc, "flame-legend")[0], "flame-key") {
		kinds = append(kinds, attr(k, "data-kind"))
	}
	assert.Equal(t, []string{"guest", "host", "operator", "runtime", "wait"}, kinds)

	flame, app := strings.Index(page, `src="/static/flame.js"`), strings.Index(page, `src="/static/app.js"`)
	require.GreaterOrEqual(t, flame, 0)
	assert.Less(t, flame, app, "flame.js loads before app.js")
}

func TestPlayground_Checkpoints(t *testing.T) {
	// The job's tabs switch between the graph and its Checkpoints view,
	// which says how to turn checkpoints on until app.js finds some; the
	// header's control sets them, offering the job's interval.
	j := testJob()
	j.Checkpoint, j.CheckpointInterval = "unaligned", "2s"
	_, doc := render(t, Playground(PlaygroundPage{Job: j}, nil))
	var tabs []string
	for _, b := range findTag(byTestID(doc, "job-tabs")[0], "button") {
		tabs = append(tabs, attr(b, "data-view")+"="+text(b)+"/"+attr(b, "aria-selected"))
	}
	assert.Equal(t, []string{"overview=Overview/true", "checkpoints=Checkpoints/false"}, tabs)
	view := byTestID(doc, "checkpoints")
	require.Len(t, view, 1)
	assert.True(t, hasAttr(view[0], "hidden"))
	assert.Equal(t, j.ID, attr(view[0], "data-jid"))
	for _, id := range []string{"checkpoints-off", "checkpoints-on", "checkpoint-counts", "checkpoint-config", "checkpoint-failure",
		"checkpoint-chart", "checkpoint-history", "checkpoints-error"} {
		assert.Len(t, byTestID(doc, id), 1, id)
	}
	assert.Equal(t, "checkpoint: {interval: 5s}", text(byTestID(doc, "checkpoints-spec")[0]))
	var enable []string
	for _, b := range byTestID(doc, "checkpoints-enable") {
		enable = append(enable, attr(b, "data-mode")+"="+text(b))
	}
	assert.Equal(t, []string{"aligned=Aligned, every 2s", "unaligned=Unaligned, every 2s"}, enable)
	var fields []string
	for _, dd := range findTag(byTestID(doc, "checkpoint-counts")[0], "dd") {
		fields = append(fields, attr(dd, "data-field"))
	}
	assert.Equal(t, []string{"total", "in_progress", "completed", "failed", "restored"}, fields)

	control := byTestID(doc, "control-checkpoint")
	require.Len(t, control, 1)
	assert.Equal(t, "2s", attr(control[0], "data-interval"))
	var opts []string
	for _, o := range findTag(control[0], "option") {
		opt := attr(o, "value") + "=" + text(o)
		if hasAttr(o, "selected") {
			opt += "*"
		}
		opts = append(opts, opt)
	}
	assert.Equal(t, []string{"off=off", "aligned=aligned, every 2s", "unaligned=unaligned, every 2s*"}, opts)

	// Beside a lesson whose job takes checkpoints too (they take the
	// graph's place), but not on a cluster's job (read-only: no control).
	side := templ.ComponentFunc(func(context.Context, io.Writer) error { return nil })
	j = testJob()
	j.Checkpoint = "off"
	_, doc = render(t, Playground(PlaygroundPage{Job: j}, side))
	assert.Empty(t, byTestID(doc, "job-tabs"))
	assert.Empty(t, byTestID(doc, "checkpoints"))
	j.Checkpoint = "aligned"
	_, doc = render(t, Playground(PlaygroundPage{Job: j}, side))
	assert.Len(t, byTestID(doc, "job-tabs"), 1)
	assert.Len(t, byTestID(doc, "checkpoints"), 1)
	j = testJob()
	j.Cluster = &ClusterView{URL: "http://flink:8081", Version: "1.19.0", Interval: "1s"}
	_, doc = render(t, Playground(PlaygroundPage{Job: j}, nil))
	assert.Empty(t, byTestID(doc, "job-tabs"))
	assert.Empty(t, byTestID(doc, "checkpoints"))
	assert.Empty(t, byTestID(doc, "control-checkpoint"))
}

func TestDrawer_State(t *testing.T) {
	// The State tab: app.js fills it from /api/jobs/{jid}/state while it is
	// open. Not on a cluster's job, whose state Flowlab does not read.
	_, doc := render(t, Playground(PlaygroundPage{Job: testJob()}, nil))
	tab := byTestID(doc, "tab-state")
	require.Len(t, tab, 1)
	assert.Equal(t, "State", text(tab[0]))
	assert.Equal(t, "state", attr(tab[0], "data-tab"))
	panel := byTestID(doc, "state")
	require.Len(t, panel, 1)
	assert.Equal(t, "state", attr(panel[0].Parent, "data-panel"))

	j := testJob()
	j.Cluster = &ClusterView{URL: "http://flink:8081"}
	_, doc = render(t, Playground(PlaygroundPage{Job: j}, nil))
	assert.Empty(t, byTestID(doc, "tab-state"))
	assert.Empty(t, byTestID(doc, "state"))
}
