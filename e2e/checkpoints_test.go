package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Checkpoints in the browser: the example job takes aligned checkpoints
// that wait seconds behind its slow sink (Checkpoints view); switched to
// unaligned from the header, it restores its latest checkpoint and takes
// fast ones that persist in-flight data; its keyed counts show in the
// State tab of count.
func TestCheckpoints(t *testing.T) {
	ctx := browser(t)
	spec, err := os.ReadFile(filepath.Join("..", "examples", "checkpoints.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	must(t, ctx, chromedp.Navigate(baseURL+"/lessons"))
	jid, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch('/api/jobs', {method: 'POST', headers: {'Content-Type': 'application/yaml'}, body: `+
		jsString(string(spec))+`}).then((r) => r.json()).then((j) => j.jid)`, chromedp.EvalAwaitPromise))
	if err != nil || len(jid) != 32 {
		t.Fatalf("start checkpoints: %q, %v", jid, err)
	}
	must(t, ctx, chromedp.Navigate(baseURL+"/?job="+jid+"#checkpoints"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=checkpoints-on]`)))
	latest := func(field string) string { // a synchronous request: waitFor evaluates an expression
		return `(()=>{const x=new XMLHttpRequest(); x.open('GET', '/jobs/` + jid + `/checkpoints', false); x.send();
			const c=JSON.parse(x.responseText).latest.completed; return c ? String(c.` + field + `) : ''})()`
	}
	waitFor(t, ctx, "a completed row", `document.querySelectorAll('[data-testid=checkpoint-row][data-status=COMPLETED]').length`, 30*time.Second, atLeast(1))
	aligned := waitFor(t, ctx, "an aligned checkpoint behind the queue", latest("end_to_end_duration"), 30*time.Second, atLeast(1000))
	screenshot(t, ctx, "checkpoints-aligned")

	eval(t, ctx, `(()=>{const s=document.querySelector('[data-testid=control-checkpoint]');
		s.value='unaligned'; s.dispatchEvent(new Event('change',{bubbles:true})); return true})()`)
	waitFor(t, ctx, "an unaligned checkpoint", latest("checkpoint_type"), 30*time.Second, equals("UNALIGNED_CHECKPOINT"))
	waitFor(t, ctx, "in-flight data persisted", latest("persisted_data"), 10*time.Second, atLeast(1))
	unaligned := waitFor(t, ctx, "a fast checkpoint", latest("end_to_end_duration"), 20*time.Second, atMost(500))
	restored := eval(t, ctx, `document.querySelector('[data-testid=checkpoint-counts] [data-field=restored]').textContent`)
	if n, _ := strconv.Atoi(restored); n < 1 {
		t.Errorf("restored %q after the mode change, want at least 1", restored)
	}
	t.Logf("end to end: aligned %s ms, unaligned %s ms", aligned, unaligned)
	waitFor(t, ctx, "the view shows it", `document.querySelector('[data-testid=checkpoint-row][data-status=COMPLETED] td:nth-child(3)').textContent`, 5*time.Second, equals("unaligned"))
	screenshot(t, ctx, "checkpoints-unaligned")

	// A row opens the checkpoint's numbers per task and subtask.
	click(t, ctx, `document.querySelector('[data-testid=checkpoint-row][data-status=COMPLETED]')`)
	waitFor(t, ctx, "the details of every task", `document.querySelectorAll('[data-testid=checkpoint-details] [data-testid=checkpoint-task]').length`, 10*time.Second, equals("3"))
	sink := `document.querySelectorAll('[data-testid=checkpoint-details] [data-testid=checkpoint-task][data-task=sink] [data-testid=checkpoint-subtask][data-status=completed]')`
	waitFor(t, ctx, "the sink's subtask acknowledged", sink+`.length`, 5*time.Second, equals("1"))
	if persisted := eval(t, ctx, sink+`[0].lastElementChild.previousElementSibling.textContent`); persisted == "0 B" {
		t.Errorf("the sink's persisted data in an unaligned checkpoint: %q", persisted)
	}
	screenshot(t, ctx, "checkpoints-details")

	click(t, ctx, `document.querySelector('[data-testid=job-tab-overview]')`)
	click(t, ctx, `document.querySelector('[data-testid=node][data-task=count]')`)
	click(t, ctx, `document.querySelector('[data-testid=tab-state]')`)
	waitFor(t, ctx, "counts in the State tab", `document.querySelectorAll('[data-testid=state-entry]').length`, 10*time.Second, atLeast(10))
	screenshot(t, ctx, "checkpoints-state")
}
