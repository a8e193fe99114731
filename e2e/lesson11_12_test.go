package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// setSelect picks value in the select a test id names, as a learner does.
func setSelect(t *testing.T, ctx context.Context, testID, value string) {
	t.Helper()
	eval(t, ctx, `(()=>{const s=document.querySelector('[data-testid=`+testID+`]');
		s.value='`+value+`'; s.dispatchEvent(new Event('change',{bubbles:true})); return true})()`)
}

// Lesson 11, walked as a learner would: the sink's latency climbs to
// seconds, debloating brings it down with the sink still red, and
// parallelism brings it to milliseconds.
func TestLesson11_Latency(t *testing.T) {
	ctx := browser(t)
	must(t, ctx, chromedp.Navigate(baseURL+"/lessons/11-latency"))
	waitLesson(t, ctx, "11-latency")
	waitFor(t, ctx, "sink latency in seconds", node("sink", "latencyP99"), 40*time.Second, atLeast(2000))
	waitFor(t, ctx, "Continue open", currentStep(`[data-testid=lesson-continue]`)+`?.disabled`, 60*time.Second, equals("false"))
	screenshot(t, ctx, "lesson-11-seconds")
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=lesson-step][data-state=current] [data-testid=lesson-continue]`)))
	waitStep(t, ctx, 1, 5*time.Second)
	answer(t, ctx, "b")
	waitStep(t, ctx, 2, 10*time.Second)
	answer(t, ctx, "c")
	waitStep(t, ctx, 3, 10*time.Second)

	setSelect(t, ctx, "control-debloat", "100ms")
	waitStep(t, ctx, 4, 60*time.Second)
	screenshot(t, ctx, "lesson-11-debloated")
	answer(t, ctx, "b")
	waitStep(t, ctx, 5, 10*time.Second)

	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=node][data-task=sink]`)))
	must(t, ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid=control-parallelism][data-task=sink]`)),
		chromedp.SetValue(chromedp.CSS(`[data-testid=control-parallelism][data-task=sink]`), "3"))
	waitDone(t, ctx)
	screenshot(t, ctx, "lesson-11-done")
}

// Lesson 12, walked as a learner would: aligned checkpoints in the
// Checkpoints view (beside the lesson) take seconds, unaligned ones are fast
// and persist the queue, debloating makes aligned ones fast, and a restart
// brings the counts back in the State tab.
func TestLesson12_Checkpoints(t *testing.T) {
	ctx := browser(t)
	must(t, ctx, chromedp.Navigate(baseURL+"/lessons/12-checkpoints"))
	waitLesson(t, ctx, "12-checkpoints")
	click(t, ctx, `document.querySelector('[data-testid=job-tab-checkpoints]')`)
	waitFor(t, ctx, "the lesson beside the checkpoints", `document.querySelector('[data-testid=side-panel]').offsetWidth > 0 && document.querySelector('[data-testid=checkpoints]').offsetWidth > 0`,
		5*time.Second, equals("true"))
	waitFor(t, ctx, "an aligned checkpoint of seconds", currentStep(`[data-testid=lesson-continue]`)+`?.disabled`, 60*time.Second, equals("false"))
	screenshot(t, ctx, "lesson-12-aligned")
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=lesson-step][data-state=current] [data-testid=lesson-continue]`)))
	waitStep(t, ctx, 1, 5*time.Second)
	answer(t, ctx, "b")
	waitStep(t, ctx, 2, 10*time.Second)

	setSelect(t, ctx, "control-checkpoint", "unaligned")
	waitStep(t, ctx, 3, 60*time.Second)
	screenshot(t, ctx, "lesson-12-unaligned")
	answer(t, ctx, "b")
	waitStep(t, ctx, 4, 10*time.Second)

	setSelect(t, ctx, "control-checkpoint", "aligned")
	time.Sleep(time.Second) // one restart at a time
	setSelect(t, ctx, "control-debloat", "100ms")
	waitStep(t, ctx, 5, 90*time.Second)
	screenshot(t, ctx, "lesson-12-debloated")

	click(t, ctx, `document.querySelector('[data-testid=job-tab-overview]')`)
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=node][data-task=count]`)))
	click(t, ctx, `document.querySelector('[data-testid=tab-state]')`)
	waitFor(t, ctx, "counts in the State tab", `document.querySelectorAll('[data-testid=state-entry]').length`, 10*time.Second, atLeast(10))
	click(t, ctx, `document.querySelector('[data-testid=control-restart]')`)
	waitStep(t, ctx, 6, 30*time.Second)
	screenshot(t, ctx, "lesson-12-restored")
	answer(t, ctx, "b")
	waitDone(t, ctx)
}
