package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// flameSpec runs a Wasm guest (spin) on two subtasks in front of a slow
// sink: on CPU it shows guest frames, off CPU its waits for output buffers.
const flameSpec = `name: flames
network: {buffer-size: 1kb}
tasks:
  - {name: source, operator: generator, config: {rate: 2000}}
  - {name: work, operator: "wasm:spin", parallelism: 2, cost: 200us}
  - {name: sink, operator: discard, cost: 1ms}
`

// flameFrames is a JavaScript expression counting the frames drawn whose
// kind is one of kinds.
func flameFrames(kinds ...string) string {
	sel := make([]string, len(kinds))
	for i, k := range kinds {
		sel[i] = fmt.Sprintf(`[data-testid=flame-frame][data-kind=%s]`, k)
	}
	return `document.querySelectorAll('` + strings.Join(sel, ", ") + `').length`
}

// flameRequests is a JavaScript expression counting the flame graph
// requests the page made.
const flameRequests = `performance.getEntriesByType('resource').filter((e) => e.name.includes('/flamegraph?')).length`

// The Flame Graph tab, as in Flink's web UI: it asks the server for the
// task's flame graph while it is open, draws it root at the top with a
// frame per stack frame (name, kind and samples as data attributes), On-CPU
// by default, Off-CPU and Mixed on request, for all subtasks or one; a
// click zooms into a frame; closing the drawer stops the requests.
func TestFlameGraphTab(t *testing.T) {
	ctx := browser(t)
	must(t, ctx, chromedp.Navigate(baseURL+"/new"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=editor]`)),
		chromedp.SetValue(chromedp.CSS(`[data-testid=editor]`), flameSpec), chromedp.Click(chromedp.CSS(`[data-testid=editor-start]`)))
	waitFor(t, ctx, "job page", `document.readyState === 'complete' && location.search`, 30*time.Second, func(s string) bool { return strings.HasPrefix(s, "?job=") })
	waitFor(t, ctx, "job running", `document.querySelector('[data-testid=job-state]').dataset.state`, 10*time.Second, equals("RUNNING"))

	click(t, ctx, `document.querySelector('[data-testid=node][data-task=work]')`)
	must(t, ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid=drawer]`)))
	click(t, ctx, `document.querySelector('[data-testid=tab-flamegraph]')`)
	panel := `document.querySelector('[data-testid=flamegraph]')`
	waitFor(t, ctx, "flame graph tab shown", `!`+panel+`.hidden`, 5*time.Second, equals("true"))
	if typ := eval(t, ctx, panel+`.dataset.type`); typ != "on_cpu" {
		t.Fatalf("flame graph type %q, want on_cpu by default as in Flink", typ)
	}
	if pressed := eval(t, ctx, `document.querySelector('[data-testid=flame-type] [aria-pressed=true]')?.dataset.type`); pressed != "on_cpu" {
		t.Fatalf("pressed type %q, want on_cpu", pressed)
	}
	waitFor(t, ctx, "subtask options", `document.querySelector('[data-testid=flame-subtask]').options.length`, 5*time.Second, equals("3"))

	waitFor(t, ctx, "guest or runtime frames", flameFrames("guest", "runtime"), 15*time.Second, atLeast(1))
	waitFor(t, ctx, "graph ready", panel+`.dataset.state`, 5*time.Second, equals("ready"))
	status := eval(t, ctx, `document.querySelector('[data-testid=flame-status]').textContent`)
	if !strings.Contains(status, "measured") || !strings.Contains(status, "samples") {
		t.Fatalf("flame graph status %q, want when it was measured and its samples", status)
	}
	// Every frame names itself, its kind and its samples; the root is the
	// widest frame, at the top.
	bad := eval(t, ctx, `[...document.querySelectorAll('[data-testid=flame-frame]')].filter((f) =>
		!f.dataset.name || !['runtime', 'operator', 'guest', 'host', 'wait'].includes(f.dataset.kind) || !(Number(f.dataset.value) > 0)).length`)
	if bad != "0" {
		t.Fatalf("%s frames without a name, a kind or samples", bad)
	}
	rootOnTop := eval(t, ctx, `(() => {
		const fs = [...document.querySelectorAll('[data-testid=flame-frame]')];
		const root = fs.find((f) => f.dataset.depth === '0');
		const r = root.getBoundingClientRect();
		return fs.every((f) => f.getBoundingClientRect().top >= r.top - 0.5 && Number(f.dataset.value) <= Number(root.dataset.value));
	})()`)
	if rootOnTop != "true" {
		t.Fatalf("the root frame is not the widest at the top")
	}
	screenshot(t, ctx, "flamegraph-1440")

	// It polls while open.
	n := eval(t, ctx, flameRequests)
	waitFor(t, ctx, "polling", flameRequests+` > `+n, 8*time.Second, equals("true"))

	// Off-CPU, subtask 0.
	click(t, ctx, `document.querySelector('[data-testid=flame-type] [data-type=off_cpu]')`)
	waitFor(t, ctx, "off-CPU pressed", `document.querySelector('[data-testid=flame-type] [data-type=off_cpu]').getAttribute('aria-pressed')`, 5*time.Second, equals("true"))
	eval(t, ctx, `(() => { const s = document.querySelector('[data-testid=flame-subtask]'); s.value = '0'; s.dispatchEvent(new Event('change', {bubbles: true})); return true })()`)
	waitFor(t, ctx, "type and subtask", panel+`.dataset.type + '/' + `+panel+`.dataset.subtask`, 5*time.Second, equals("off_cpu/0"))
	waitFor(t, ctx, "off-CPU graph of subtask 0", panel+`.dataset.state`, 15*time.Second, equals("ready"))
	waitFor(t, ctx, "off-CPU frames", `document.querySelectorAll('[data-testid=flame-frame]').length`, 5*time.Second, atLeast(2))
	if s := eval(t, ctx, `document.querySelector('[data-testid=flame-status]').textContent`); !strings.Contains(s, "subtask #0") {
		t.Fatalf("flame graph status %q, want it to name subtask #0", s)
	}

	// A click on a frame zooms into it: the widest frame above the root
	// that is not full width yet, else any frame above the root. Picked and
	// clicked in one go, again until it holds: a graph that arrives in
	// between replaces the frames.
	zoom := `(() => {
		const g = document.querySelector('[data-testid=flame-graph]').getBoundingClientRect().width;
		const focus = document.querySelector('[data-testid=flame-frame][data-focus=true]');
		if (focus) return focus.dataset.name + '@' + focus.dataset.depth + ' ' + (focus.getBoundingClientRect().width / g).toFixed(3);
		const fs = [...document.querySelectorAll('[data-testid=flame-frame]')].filter((f) => f.dataset.depth !== '0');
		const narrow = fs.filter((f) => f.getBoundingClientRect().width < 0.9 * g && f.getBoundingClientRect().width > 4);
		const pick = (narrow.length ? narrow : fs).sort((a, b) => Number(b.dataset.value) - Number(a.dataset.value))[0];
		if (!pick) return 'no frame';
		pick.dispatchEvent(new MouseEvent('click', {bubbles: true}));
		return 'clicked ' + pick.dataset.name;
	})()`
	waitFor(t, ctx, "zoomed into a frame", zoom, 10*time.Second, func(s string) bool {
		i := strings.LastIndex(s, " ")
		return i > 0 && !strings.HasPrefix(s, "clicked") && atLeast(0.98)(s[i+1:])
	})
	waitFor(t, ctx, "reset zoom shown", `document.querySelector('[data-testid=flame-reset]').hidden`, 5*time.Second, equals("false"))
	screenshot(t, ctx, "flamegraph-zoomed-1440")

	// Narrow: the drawer is a sheet; the graph still fits the width.
	must(t, ctx, chromedp.EmulateViewport(390, 844))
	eval(t, ctx, panel+`.scrollIntoView({block: 'start'}) ?? true`)
	waitFor(t, ctx, "frames at 390 px", `document.querySelectorAll('[data-testid=flame-frame]').length`, 5*time.Second, atLeast(2))
	if w := eval(t, ctx, `document.querySelector('[data-testid=flame-graph]').getBoundingClientRect().right <= document.documentElement.clientWidth`); w != "true" {
		t.Fatalf("the flame graph is wider than the screen at 390 px")
	}
	screenshot(t, ctx, "flamegraph-390")
	click(t, ctx, `document.querySelector('[data-testid=flame-reset]')`)
	waitFor(t, ctx, "zoomed out", `document.querySelectorAll('[data-testid=flame-frame][data-focus=true]').length`, 5*time.Second, equals("0"))
	must(t, ctx, chromedp.EmulateViewport(1440, 900))

	// Closing the drawer stops the requests.
	click(t, ctx, `document.querySelector('[data-action=close-drawer]')`)
	time.Sleep(500 * time.Millisecond) // an answer on its way
	n = eval(t, ctx, flameRequests)
	time.Sleep(6 * time.Second)
	if m := eval(t, ctx, flameRequests); m != n {
		t.Fatalf("flame graph requests went on after the drawer closed: %s, then %s", n, m)
	}
}
