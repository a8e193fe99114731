package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Lesson 10, walked as a learner would: the red task's flame graph names
// the function that takes its time (read off the graph, not known in
// advance), the source's off-CPU graph shows it waiting for output
// buffers, and a config change removes the bottleneck.
func TestLesson10_WhyBusy(t *testing.T) {
	ctx := browser(t)
	must(t, ctx, chromedp.Navigate(baseURL+"/lessons/10-why-busy"))
	waitLesson(t, ctx, "10-why-busy")

	// Step 1: point at the bottleneck.
	waitFor(t, ctx, "enrich busy", node("enrich", "busy"), 30*time.Second, atLeast(80))
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=lesson-step][data-step="0"] [data-testid=lesson-pick]`)))
	waitFor(t, ctx, "pick mode", currentStep(`[data-testid=lesson-pick]`)+`?.dataset.active`, 5*time.Second, equals("true"))
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=node][data-task=enrich]`)))
	waitStep(t, ctx, 1, 10*time.Second)

	// Step 2: open enrich's Flame Graph tab.
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=node][data-task=enrich]`)))
	must(t, ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid=tab-flamegraph]`)))
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=tab-flamegraph]`)))
	waitStep(t, ctx, 2, 10*time.Second)

	// Step 3: the widest of the parse functions, read off the drawn graph.
	parse := `[...document.querySelectorAll('[data-testid=flame-frame][data-kind=guest]')].filter((f) => /^main\.parse/.test(f.dataset.name))`
	waitFor(t, ctx, "parse frames drawn", parse+`.length`, 20*time.Second, atLeast(2))
	screenshot(t, ctx, "lesson-10-flamegraph")
	hottest := eval(t, ctx, `(() => { const by = {}; for (const f of `+parse+`) by[f.dataset.name] = (by[f.dataset.name] || 0) + Number(f.dataset.value);
		return Object.entries(by).sort((a, b) => b[1] - a[1])[0][0]; })()`)
	click(t, ctx, fmt.Sprintf(`[...document.querySelectorAll('[data-testid=lesson-step][data-state=current] [data-testid=lesson-choice]')]
		.find((c) => c.textContent.includes(%q))`, hottest))
	waitStep(t, ctx, 3, 10*time.Second)

	// Step 4: the source, off-CPU.
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=node][data-task=source]`)))
	must(t, ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid=tab-flamegraph]`)))
	click(t, ctx, `document.querySelector('[data-testid=flame-type] [data-type=off_cpu]')`)
	widest := `(() => { const fs = [...document.querySelectorAll('[data-testid=flame-frame][data-kind=wait]')];
		return fs.length ? fs.sort((a, b) => Number(b.dataset.value) - Number(a.dataset.value))[0].dataset.name : ''; })()`
	waitFor(t, ctx, "the source waits for output buffers", widest, 20*time.Second,
		func(s string) bool { return strings.HasPrefix(s, "wait for output buffer") })
	screenshot(t, ctx, "lesson-10-source-off-cpu")
	answer(t, ctx, "b")
	waitStep(t, ctx, 4, 15*time.Second)

	// Step 5: the fast user agent parser.
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=node][data-task=enrich]`)))
	input := `[data-testid=control-config][data-task=enrich][data-field=agent]`
	must(t, ctx, chromedp.WaitVisible(chromedp.CSS(input)), chromedp.SetValue(chromedp.CSS(input), "tokens"))
	waitDone(t, ctx)
	screenshot(t, ctx, "lesson-10-done")
}
