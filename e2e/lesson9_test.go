package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Lesson 9, walked as a learner would: the operator shown in the text is
// written in the editor the step links to, built, and put on work with
// Use it, which returns to the lesson; work is the bottleneck; the
// operator, rebuilt with fewer iterations and used again, no longer is.
// The server must be able to build (a Go toolchain on PATH).
func TestLesson9_YourOperator(t *testing.T) {
	ctx := browser(t)
	must(t, ctx, chromedp.Navigate(baseURL+"/lessons/9-your-operator"))
	waitLesson(t, ctx, "9-your-operator")
	waitFor(t, ctx, "job running", `document.querySelector('[data-testid=job-state]')?.dataset.state`, 20*time.Second, equals("RUNNING"))
	source := eval(t, ctx, currentStep(`[data-testid=lesson-text] pre code`)+`?.textContent ?? ''`)
	if !strings.HasPrefix(source, "package main") || !strings.Contains(source, "Iterations: 100_000") {
		t.Fatalf("step 1 shows no operator to write: %q", source)
	}

	// Step 1: the editor the text links to; paste, name, build.
	editor := func() {
		t.Helper()
		href := eval(t, ctx, currentStep(`[data-testid=lesson-text] a[href^="/operators/new"]`)+`?.getAttribute('href') ?? ''`)
		if !strings.Contains(href, "lesson=9-your-operator") {
			t.Fatalf("the step links to the editor as %q, want ?lesson=9-your-operator", href)
		}
		must(t, ctx, chromedp.Navigate(baseURL+href), chromedp.WaitVisible(chromedp.CSS(`[data-testid=opeditor-page]`)))
		if reason := eval(t, ctx, `document.querySelector('[data-testid=opeditor-unavailable] [data-field=reason]')?.textContent ?? ''`); reason != "" {
			t.Fatalf("the server cannot build operators: %s", reason)
		}
		waitFor(t, ctx, "a way back", `document.querySelector('[data-testid=back-to-lesson]')?.getAttribute('href')`, 5*time.Second,
			equals("/lessons/9-your-operator"))
	}
	build := func(want string) {
		t.Helper()
		typeInto(t, ctx, `[data-testid=opeditor-source]`, want)
		typeInto(t, ctx, `[data-testid=opeditor-name]`, "mine")
		click(t, ctx, `document.querySelector('[data-testid=opeditor-build]')`)
		waitFor(t, ctx, "built", `document.querySelector('[data-testid=opeditor-ok]').hidden ? document.querySelector('[data-testid=opeditor-error]').textContent + [...document.querySelectorAll('[data-testid=opeditor-error-item]')].map(e => e.textContent).join('; ') : document.querySelector('[data-testid=opeditor-ok] [data-field=built]').textContent`,
			2*time.Minute, func(s string) bool { return strings.HasPrefix(s, "upload:mine is in your library") })
		if got := eval(t, ctx, `document.querySelector('[data-testid=opeditor-task]').value`); got != "work" {
			t.Errorf("task selected: %q, want work", got)
		}
	}
	use := func() {
		t.Helper()
		click(t, ctx, `document.querySelector('[data-testid=opeditor-use-button]')`)
		waitFor(t, ctx, "back in the lesson", `location.pathname`, 10*time.Second, equals("/lessons/9-your-operator"))
		waitLesson(t, ctx, "9-your-operator")
	}
	editor()
	build(source)
	screenshot(t, ctx, "lesson-9-built")

	// Step 2: Use it puts it on work and returns to the lesson.
	use()
	waitStep(t, ctx, 2, 10*time.Second)
	waitFor(t, ctx, "work runs it", `document.querySelector('[data-testid=control-operator][data-task=work]')?.value`, 10*time.Second, equals("upload:mine"))

	// Step 3: work is the bottleneck.
	waitFor(t, ctx, "work busy", node("work", "busy"), 30*time.Second, atLeast(80))
	screenshot(t, ctx, "lesson-9-bottleneck")
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=lesson-step][data-step="2"] [data-testid=lesson-pick]`)))
	waitFor(t, ctx, "pick mode", currentStep(`[data-testid=lesson-pick]`)+`?.dataset.active`, 5*time.Second, equals("true"))
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=node][data-task=work]`)))
	waitStep(t, ctx, 3, 10*time.Second)

	// Step 4: fewer iterations, rebuilt and used again. The editor kept the source.
	editor()
	kept := eval(t, ctx, `document.querySelector('[data-testid=opeditor-source]').value`)
	if kept != source {
		t.Errorf("the editor did not keep the source: %q", kept)
	}
	cheaper := strings.Replace(source, "Iterations: 100_000", "Iterations: 1_000", 1)
	build(cheaper)
	use()
	waitFor(t, ctx, "work keeps up", node("work", "busy"), 30*time.Second, atMost(50))
	waitDone(t, ctx)
	screenshot(t, ctx, "lesson-9-done")

}
