package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// overlapsJS is a JavaScript expression listing what overlaps on the graph
// as drawn: an edge label's box or a goal label over a node's box (or a
// goal label past the drawing's edges), and an edge label whose text is
// wider than its box. "" when nothing does.
const overlapsJS = `(() => {
	const svg = document.querySelector('[data-testid=graph]').getBoundingClientRect();
	const nodes = [...document.querySelectorAll('[data-testid=node] .node-box')].map((e) => e.getBoundingClientRect());
	const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
	const out = [];
	for (const g of document.querySelectorAll('[data-testid=edge]')) {
		const rect = g.querySelector('.edge-label rect'), text = g.querySelector('.edge-label text');
		const r = rect.getBoundingClientRect();
		if (nodes.some((n) => hit(r, n))) out.push('label ' + text.textContent + ' over a node');
		if (text.getComputedTextLength() > Number(rect.getAttribute('width')) - 8) out.push('label ' + text.textContent + ' wider than its box');
	}
	for (const g of document.querySelectorAll('[data-testid=goal-target] .goal-label')) {
		const r = g.getBoundingClientRect();
		if (nodes.some((n) => hit(r, n))) out.push('goal over a node');
		if (r.left < svg.left - 0.5 || r.right > svg.right + 0.5 || r.bottom > svg.bottom + 0.5) out.push('goal cut at the graph edge');
		for (const t of g.parentNode.querySelectorAll('text')) {
			if (t.getComputedTextLength() > Number(g.getAttribute('width')) - 8) out.push('goal text wider than its label: ' + t.textContent);
		}
	}
	return out.join('; ');
})()`

// Lesson 7: the slow link's label, the point of the lesson, sits between
// parse and the sink, clear of both, also once the sink has 3 subtasks;
// the goal labels fit in the graph. The Metrics tab explains full output
// pools upstream and empty input pools downstream as the network.
func TestLessonNetworkGraph(t *testing.T) {
	ctx := browser(t)
	must(t, ctx, chromedp.Navigate(baseURL+"/lessons/7-network"))
	waitLesson(t, ctx, "7-network")
	waitFor(t, ctx, "the link's label", `document.querySelector('[data-testid=edge][data-from=parse][data-to=sink]').dataset.partitioning`,
		5*time.Second, equals("REBALANCE · 8 KiB/s"))
	waitFor(t, ctx, "nothing overlaps", overlapsJS, 5*time.Second, equals(""))
	click(t, ctx, `document.querySelector('[data-testid=lesson-show-goal]')`)
	waitFor(t, ctx, "goal drawn", `document.querySelectorAll('[data-testid=goal-target]').length`, 5*time.Second, atLeast(2))
	waitFor(t, ctx, "goal labels clear", overlapsJS, 5*time.Second, equals(""))
	waitFor(t, ctx, "parse backpressured", node("parse", "backpressured"), 30*time.Second, atLeast(50))
	screenshot(t, ctx, "lesson-7-graph")

	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=node][data-task=parse]`)))
	click(t, ctx, `document.querySelector('[data-testid=tab-metrics]')`)
	waitFor(t, ctx, "parse's out pool full", `document.querySelector('[data-testid=metrics-row] td:nth-child(5) .gauge-text')?.textContent`,
		20*time.Second, func(s string) bool { return strings.HasSuffix(s, "%") && atLeast(80)(strings.TrimSuffix(s, "%")) })
	guide := eval(t, ctx, `document.querySelector('[data-testid=pool-guide]').textContent`)
	if !strings.Contains(guide, "the network is the bottleneck") {
		t.Fatalf("the Metrics tab does not explain the network-bound signature: %q", guide)
	}
	screenshot(t, ctx, "lesson-7-metrics-tab")

	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=node][data-task=sink]`)))
	must(t, ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid=control-parallelism][data-task=sink]`)),
		chromedp.SetValue(chromedp.CSS(`[data-testid=control-parallelism][data-task=sink]`), "3"))
	waitFor(t, ctx, "sink rescaled", `document.querySelector('[data-testid=node][data-task=sink] [data-field=parallelism]').textContent`,
		15*time.Second, equals("Parallelism: 3"))
	waitFor(t, ctx, "nothing overlaps with 3 sinks", overlapsJS, 5*time.Second, equals(""))
}

const editsSpec = `name: edits
network: {buffer-size: 1kb}
tasks:
  - {name: source, operator: generator, config: {rate: 300}}
  - {name: work, operator: "wasm:spin", cost: 100us}
  - {name: sink, operator: discard}
`

// The drawer of a job just started from the editor shows the source's
// rate as a rate, not as a config field; numbers are typed as numbers; a
// config field set in the drawer appears at once; a value the job refuses
// snaps back, with the reason.
func TestDrawerEdits(t *testing.T) {
	ctx := browser(t)
	must(t, ctx, chromedp.Navigate(baseURL+"/new"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=editor]`)),
		chromedp.SetValue(chromedp.CSS(`[data-testid=editor]`), editsSpec), chromedp.Click(chromedp.CSS(`[data-testid=editor-start]`)))
	waitFor(t, ctx, "job page", `document.readyState === 'complete' && location.search`, 30*time.Second, func(s string) bool { return strings.HasPrefix(s, "?job=") })
	if n := eval(t, ctx, `document.querySelectorAll('[data-testid=control-rate][data-task=source]').length`); n != "1" {
		t.Fatalf("rate sliders of the source: %s, want 1", n)
	}
	if n := eval(t, ctx, `document.querySelectorAll('[data-testid=control-config][data-task=source][data-field=rate]').length`); n != "0" {
		t.Fatalf("the source's rate is shown as a config field")
	}
	waitFor(t, ctx, "job running", `document.querySelector('[data-testid=job-state]').dataset.state`, 10*time.Second, equals("RUNNING"))
	operator := func(task string) string {
		return fmt.Sprintf(`document.querySelector('[data-testid=node][data-task=%q] [data-field=operator]').textContent`, task)
	}
	value := func(sel string) string { return `document.querySelector('` + sel + `').value` }

	// A rate and a cost typed as numbers: 1.1 ms without a slider.
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=node][data-task=source]`)))
	must(t, ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid=control-rate-value][data-task=source]`)),
		chromedp.SetValue(chromedp.CSS(`[data-testid=control-rate-value][data-task=source]`), "350"))
	waitFor(t, ctx, "rate 350", operator("source"), 10*time.Second, func(s string) bool { return strings.HasSuffix(s, "350/s") })
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=node][data-task=sink]`)))
	must(t, ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid=control-cost-ms][data-task=sink]`)),
		chromedp.SetValue(chromedp.CSS(`[data-testid=control-cost-ms][data-task=sink]`), "1.1"))
	waitFor(t, ctx, "cost 1.1ms", operator("sink"), 10*time.Second, func(s string) bool { return strings.Contains(s, "1.1ms/record") })
	waitFor(t, ctx, "the cost slider follows", value(`[data-testid=control-cost][data-task=sink]`), 5*time.Second, equals("1100"))

	// "02" is the number 2, and shows as the job has it.
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=node][data-task=source]`)))
	skew := `[data-testid=control-config][data-task=source][data-field=skew]`
	must(t, ctx, chromedp.WaitVisible(chromedp.CSS(skew)))
	typeInto(t, ctx, skew, "02")
	waitFor(t, ctx, "skew 2", value(skew), 5*time.Second, equals("2"))
	time.Sleep(1500 * time.Millisecond) // past the hold: the frames' config rules
	waitFor(t, ctx, "the job has skew 2", value(skew), 5*time.Second, equals("2"))
	if e := eval(t, ctx, `document.querySelector('[data-testid=control-error][data-task=source]').hidden`); e != "true" {
		t.Fatalf("an error shown for skew 02")
	}

	// A value the operator refuses snaps back, with its message.
	typeInto(t, ctx, skew, "20")
	waitFor(t, ctx, "refused", `document.querySelector('[data-testid=control-error][data-task=source]').textContent`, 10*time.Second,
		func(s string) bool { return strings.Contains(s, "skew") })
	waitFor(t, ctx, "skew back to 2", value(skew), 5*time.Second, equals("2"))
	screenshot(t, ctx, "drawer-config-refused")

	// A new config field appears once the job runs with it.
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=node][data-task=work]`)))
	must(t, ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid=control-config-field][data-task=work]`)),
		chromedp.SetValue(chromedp.CSS(`[data-testid=control-config-field][data-task=work]`), "iterations"),
		chromedp.SetValue(chromedp.CSS(`[data-testid=control-config-value][data-task=work]`), "1000"),
		chromedp.Click(chromedp.CSS(`[data-testid=control-config-set][data-task=work]`)))
	iterations := `[data-testid=control-config][data-task=work][data-field=iterations]`
	waitFor(t, ctx, "iterations field", `document.querySelector('`+iterations+`')?.value`, 10*time.Second, equals("1000"))
	if k := eval(t, ctx, `document.querySelector('`+iterations+`').type`); k != "number" {
		t.Fatalf("iterations typed as %s, want number", k)
	}
	screenshot(t, ctx, "drawer-config-edit")
}

// typeInto enters text in an input as a learner does: typed (input
// events), then committed (a change event, as Enter or Tab fires).
func typeInto(t *testing.T, ctx context.Context, sel, text string) {
	t.Helper()
	eval(t, ctx, fmt.Sprintf(`(()=>{const e=document.querySelector(%q); if(!e) throw new Error("not found"); e.focus(); e.value=%q;
		e.dispatchEvent(new Event('input',{bubbles:true})); e.dispatchEvent(new Event('change',{bubbles:true})); return true})()`, sel, text))
}
