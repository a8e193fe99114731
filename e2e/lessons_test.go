package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A learner walks lessons 1 and 2 from the lesson list to "done": watching
// (and moving on with Continue, never by a timer), rereading a passed step,
// answering (wrong, then right), pointing at the bottleneck, changing the
// job in the drawer, and resetting a lesson (asked first; the new job
// replaces the old one in the job list).
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

	// A step that asks the learner to look waits for them: Continue opens
	// once the goal has been reached, and the step stays until it is pressed.
	cont := currentStep(`[data-testid=lesson-continue]`)
	waitFor(t, ctx, "Continue open", cont+`?.disabled`, 30*time.Second, equals("false"))
	time.Sleep(4 * time.Second)
	waitStep(t, ctx, 0, time.Second)
	screenshot(t, ctx, "lesson-1-continue")
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=lesson-step][data-state=current] [data-testid=lesson-continue]`)))
	waitStep(t, ctx, 1, 5*time.Second)

	// The passed step stays, collapsed to its title, which reopens it.
	passed := `document.querySelector('[data-testid=lesson-step][data-step="0"]')`
	waitFor(t, ctx, "step 1 passed", passed+`.dataset.state`, time.Second, equals("passed"))
	waitFor(t, ctx, "step 1 collapsed", passed+`.querySelector('[data-field=step-body]').hidden`, time.Second, equals("true"))
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=lesson-step][data-step="0"] [data-testid=lesson-step-toggle]`)))
	waitFor(t, ctx, "step 1 reopened", passed+`.querySelector('[data-field=step-body]').hidden`, time.Second, equals("false"))
	waitFor(t, ctx, "its text", passed+`.querySelector('[data-testid=lesson-text]').offsetHeight > 0`, time.Second, equals("true"))
	waitFor(t, ctx, "no Continue in a passed step", passed+`.querySelector('[data-testid=lesson-continue]').offsetParent`, time.Second, equals("null"))
	screenshot(t, ctx, "lesson-1-passed-step-reopened")
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=lesson-step][data-step="0"] [data-testid=lesson-step-toggle]`)))
	waitFor(t, ctx, "step 1 collapsed again", passed+`.querySelector('[data-field=step-body]').hidden`, time.Second, equals("true"))
	screenshot(t, ctx, "lesson-1-passed-step-collapsed")

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

	// Lesson 2: reading the colors, through the done panel's link. Its first
	// goal does not give away the bottleneck that step 2 asks for.
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=lesson-next]`)))
	waitLesson(t, ctx, "2-reading-colors")
	waitStep(t, ctx, 0, 5*time.Second)
	waitFor(t, ctx, "a goal in words, naming no task", currentStep(`[data-testid=lesson-goal]`)+`.textContent`, time.Second,
		func(s string) bool {
			return strings.Contains(s, "the colors have settled") && !strings.Contains(s, "enrich")
		})
	waitFor(t, ctx, "nothing to draw", `document.querySelector('[data-testid=lesson-show-goal]').disabled`, time.Second, equals("true"))
	waitFor(t, ctx, "enrich busy", node("enrich", "busy"), 20*time.Second, atLeast(80))
	waitFor(t, ctx, "Continue open", cont+`?.disabled`, 30*time.Second, equals("false"))
	waitFor(t, ctx, "no target on the graph", `document.querySelectorAll('[data-testid=goal-target]').length`, time.Second, equals("0"))
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=lesson-step][data-state=current] [data-testid=lesson-continue]`)))
	waitStep(t, ctx, 1, 5*time.Second)

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
	hints := `document.querySelectorAll('[data-testid=lesson-step][data-state=current] [data-testid=lesson-hint]:not([hidden])').length`
	waitFor(t, ctx, "a hint", hints, 5*time.Second, equals("1"))
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=lesson-hint-button]`)))
	waitFor(t, ctx, "another hint", hints, 5*time.Second, equals("2"))
	screenshot(t, ctx, "lesson-2-hints")
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=node][data-task=enrich]`)))
	waitStep(t, ctx, 2, 5*time.Second)

	answer(t, ctx, "b")
	waitStep(t, ctx, 3, 5*time.Second)

	// The goal of a step that changes the job, drawn on the graph.
	click(t, ctx, `document.querySelector('[data-testid=lesson-show-goal]')`)
	waitFor(t, ctx, "goal drawn", `document.querySelectorAll('[data-testid=goal-target]').length`, 5*time.Second, atLeast(3))
	screenshot(t, ctx, "lesson-2-show-goal")

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

	// Reset asks first; kept, nothing happens; confirmed, a fresh job takes
	// the old one's place, in the job list too.
	jid := eval(t, ctx, `document.querySelector('[data-testid=playground]').dataset.jid`)
	jobs := `document.querySelectorAll('[data-testid=job-link]').length`
	before := eval(t, ctx, jobs)
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=lesson-reset]`)))
	waitFor(t, ctx, "Reset asks", `document.querySelector('[data-testid=lesson-reset-confirm]').hidden`, time.Second, equals("false"))
	screenshot(t, ctx, "lesson-2-reset-asks")
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=lesson-reset-no]`)))
	waitFor(t, ctx, "kept", `document.querySelector('[data-testid=lesson-reset-confirm]').hidden`, time.Second, equals("true"))
	time.Sleep(500 * time.Millisecond)
	waitFor(t, ctx, "same job", `document.querySelector('[data-testid=playground]').dataset.jid`, time.Second, equals(jid))
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=lesson-reset]`)), chromedp.Click(chromedp.CSS(`[data-testid=lesson-reset-yes]`)))
	waitLesson(t, ctx, "2-reading-colors")
	waitFor(t, ctx, "a fresh job", `document.querySelector('[data-testid=playground]')?.dataset.jid`, 10*time.Second,
		func(s string) bool { return s != jid && len(s) == 32 })
	waitStep(t, ctx, 0, 5*time.Second)
	waitFor(t, ctx, "the job list", jobs, 5*time.Second, equals(before))

	// The Operators page leads back to the lesson the learner came from.
	jid = eval(t, ctx, `document.querySelector('[data-testid=playground]').dataset.jid`)
	click(t, ctx, `document.querySelector('a[href="/operators"]')`)
	waitFor(t, ctx, "a way back", `document.querySelector('[data-testid=back-to-lesson]')?.getAttribute('href')`, 10*time.Second,
		equals("/lessons/2-reading-colors"))
	screenshot(t, ctx, "operators-back-to-lesson")
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=back-to-lesson]`)))
	waitLesson(t, ctx, "2-reading-colors")
	waitFor(t, ctx, "the same run", `document.querySelector('[data-testid=playground]')?.dataset.jid`, 10*time.Second, equals(jid))

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
	return `document.querySelector('[data-testid=lesson-step][data-state=current] ` + sel + `')`
}

func waitStep(t *testing.T, ctx context.Context, step int, timeout time.Duration) {
	t.Helper()
	waitFor(t, ctx, fmt.Sprintf("step %d", step+1), `document.querySelector('[data-testid=lesson-step][data-state=current]')?.dataset.step`, timeout, equals(fmt.Sprint(step)))
}

func waitDone(t *testing.T, ctx context.Context) {
	t.Helper()
	waitFor(t, ctx, "lesson done", `!document.querySelector('[data-testid=lesson-done]').hidden`, 90*time.Second, equals("true"))
}

// answer clicks a choice of the question on screen.
func answer(t *testing.T, ctx context.Context, choice string) {
	t.Helper()
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=lesson-step][data-state=current] [data-testid=lesson-choice][data-choice=`+choice+`]`)))
}
