package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A learner walks lessons 1 and 2 from the lesson list to "done": watching,
// answering (wrong, then right), pointing at the bottleneck, and changing
// the job in the drawer.
func TestLessons(t *testing.T) {
	ctx := browser(t)
	must(t, ctx, chromedp.Navigate(baseURL+"/lessons"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=lesson-list]`)))
	waitFor(t, ctx, "lessons listed", `document.querySelectorAll('[data-testid=lesson-item]').length`, 5*time.Second, atLeast(2))
	screenshot(t, ctx, "lesson-list")

	// Lesson 1: what backpressure is.
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=lesson-item][data-lesson="1-slow-sink"]`)))
	waitLesson(t, ctx, "1-slow-sink")
	waitFor(t, ctx, "lesson 1 text", currentStep(`[data-testid=lesson-text]`)+`?.textContent`, 5*time.Second,
		func(s string) bool { return strings.Contains(s, "This job has three tasks") })
	waitFor(t, ctx, "sink busy", node("sink", "busy"), 20*time.Second, atLeast(80))
	waitFor(t, ctx, "a condition met", `document.querySelectorAll('[data-testid=lesson-step][data-step="0"] [data-testid=lesson-condition][data-met=true]').length`,
		10*time.Second, atLeast(1))
	screenshot(t, ctx, "lesson-1-step-1")
	waitStep(t, ctx, 1, 30*time.Second) // watched: the goal held

	answer(t, ctx, "a")
	waitFor(t, ctx, "feedback on a wrong answer", currentStep(`[data-field=feedback]`)+`?.hidden`, 5*time.Second, equals("false"))
	screenshot(t, ctx, "lesson-1-wrong-answer")
	answer(t, ctx, "b")
	waitStep(t, ctx, 2, 5*time.Second)

	// Make the sink fast enough: its cost slider, as in the playground.
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=node][data-task=sink]`)))
	must(t, ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid=control-cost][data-task=sink]`)))
	eval(t, ctx, `(()=>{const s=document.querySelector('[data-testid=control-cost][data-task=sink]');
		s.value='1000'; s.dispatchEvent(new Event('input',{bubbles:true})); s.dispatchEvent(new Event('change',{bubbles:true})); return true})()`)
	waitFor(t, ctx, "sink cost", node("sink", "busy"), 20*time.Second, atMost(70))
	screenshot(t, ctx, "lesson-1-step-3")
	waitDone(t, ctx)
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-action=close-drawer]`)))
	screenshot(t, ctx, "lesson-1-done")
	waitFor(t, ctx, "kept in the browser", `JSON.parse(localStorage.getItem('flowlab.lessons'))['1-slow-sink'].done`, 5*time.Second, equals("true"))

	// Lesson 2: reading the colors, through the done panel's link.
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=lesson-next]`)))
	waitLesson(t, ctx, "2-reading-colors")
	waitStep(t, ctx, 0, 5*time.Second)
	click(t, ctx, `document.querySelector('[data-testid=lesson-show-goal]')`)
	waitFor(t, ctx, "goal drawn", `document.querySelectorAll('[data-testid=goal-target]').length`, 5*time.Second, atLeast(3))
	waitFor(t, ctx, "enrich busy", node("enrich", "busy"), 20*time.Second, atLeast(80))
	screenshot(t, ctx, "lesson-2-show-goal")
	waitStep(t, ctx, 1, 30*time.Second)
	waitFor(t, ctx, "goal of a pick step not drawn", `document.querySelectorAll('[data-testid=goal-target]').length`, 5*time.Second, equals("0"))

	// Point at the bottleneck: sink first (wrong), then enrich.
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=lesson-step][data-step="1"] [data-testid=lesson-pick]`)))
	waitFor(t, ctx, "pick mode", currentStep(`[data-testid=lesson-pick]`)+`?.dataset.active`, 5*time.Second, equals("true"))
	screenshot(t, ctx, "lesson-2-pick")
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=node][data-task=sink]`)))
	waitFor(t, ctx, "feedback on a wrong pick", currentStep(`[data-field=feedback]`)+`?.textContent`, 5*time.Second,
		func(s string) bool { return strings.Contains(s, "Not sink") })
	if d := eval(t, ctx, `document.querySelector('[data-testid=drawer]').hidden`); d != "true" {
		t.Fatalf("a pick opened the drawer")
	}
	screenshot(t, ctx, "lesson-2-wrong-pick")
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=lesson-hint-button]`)))
	hints := `document.querySelectorAll('[data-testid=lesson-step]:not([hidden]) [data-testid=lesson-hint]:not([hidden])').length`
	waitFor(t, ctx, "a hint", hints, 5*time.Second, equals("1"))
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=lesson-hint-button]`)))
	waitFor(t, ctx, "another hint", hints, 5*time.Second, equals("2"))
	screenshot(t, ctx, "lesson-2-hints")
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=node][data-task=enrich]`)))
	waitStep(t, ctx, 2, 5*time.Second)

	answer(t, ctx, "b")
	waitStep(t, ctx, 3, 5*time.Second)

	// Give enrich more parallelism with the drawer's + button, twice.
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=node][data-task=enrich]`)))
	more := `.task-controls[data-task=enrich] [data-step="1"]`
	must(t, ctx, chromedp.WaitVisible(chromedp.CSS(more)))
	parallelism := `document.querySelector('[data-testid=node][data-task=enrich] [data-field=parallelism]').textContent`
	for _, n := range []string{"2", "3"} {
		must(t, ctx, chromedp.Click(chromedp.CSS(more)))
		waitFor(t, ctx, "enrich rescaled to "+n, parallelism, 10*time.Second, equals("Parallelism: "+n))
	}
	waitDone(t, ctx)
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-action=close-drawer]`)))
	screenshot(t, ctx, "lesson-2-done")

	// The list shows both done.
	must(t, ctx, chromedp.Navigate(baseURL+"/lessons"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=lesson-list]`)))
	for _, id := range []string{"1-slow-sink", "2-reading-colors"} {
		waitFor(t, ctx, id+" done", fmt.Sprintf(`document.querySelector('[data-testid=lesson-item][data-lesson=%q]').dataset.done`, id), 5*time.Second, equals("true"))
	}
	screenshot(t, ctx, "lesson-list-done")
}

// waitLesson waits for a lesson's page, its scripts run.
func waitLesson(t *testing.T, ctx context.Context, id string) {
	t.Helper()
	waitFor(t, ctx, "lesson "+id, `document.readyState === 'complete' && document.querySelector('[data-testid=lesson-panel]')?.dataset.lesson`,
		10*time.Second, equals(id))
}

// currentStep is a JavaScript expression for an element in the step on screen.
func currentStep(sel string) string {
	return `document.querySelector('[data-testid=lesson-step]:not([hidden]) ` + sel + `')`
}

func waitStep(t *testing.T, ctx context.Context, step int, timeout time.Duration) {
	t.Helper()
	waitFor(t, ctx, fmt.Sprintf("step %d", step+1), `document.querySelector('[data-testid=lesson-step]:not([hidden])')?.dataset.step`, timeout, equals(fmt.Sprint(step)))
}

func waitDone(t *testing.T, ctx context.Context) {
	t.Helper()
	waitFor(t, ctx, "lesson done", `!document.querySelector('[data-testid=lesson-done]').hidden`, 45*time.Second, equals("true"))
}

// answer clicks a choice of the question on screen.
func answer(t *testing.T, ctx context.Context, choice string) {
	t.Helper()
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=lesson-step]:not([hidden]) [data-testid=lesson-choice][data-choice=`+choice+`]`)))
}
