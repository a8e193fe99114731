package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The first page shows the default job live: slow-sink's three tasks.
func TestFirstPage(t *testing.T) {
	ctx := browser(t)
	must(t, ctx, chromedp.Navigate(baseURL+"/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=graph]`)))
	if n := eval(t, ctx, `document.querySelectorAll('[data-testid=node]').length`); n != "3" {
		t.Fatalf("nodes: %s, want 3", n)
	}
	if n := eval(t, ctx, `document.querySelectorAll('[data-testid=edge]').length`); n != "2" {
		t.Fatalf("edges: %s, want 2", n)
	}
	waitFor(t, ctx, "job running", `document.querySelector('[data-testid=job-state]').dataset.state`, 10*time.Second, equals("RUNNING"))
	// Live: the sink's busy percentage rises from the 0 it was drawn with.
	waitFor(t, ctx, "sink busy", node("sink", "busy"), 20*time.Second, atLeast(30))
	screenshot(t, ctx, "first-page")
}

// A slow sink turns its upstream tasks black (backpressured) and itself red.
func TestSlowSink(t *testing.T) {
	ctx := browser(t)
	must(t, ctx, chromedp.Navigate(baseURL+"/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=graph]`)))
	waitFor(t, ctx, "sink busy", node("sink", "busy"), 20*time.Second, atLeast(80))
	waitFor(t, ctx, "source backpressured", node("source", "backpressured"), 20*time.Second, atLeast(50))
	waitFor(t, ctx, "parse backpressured", node("parse", "backpressured"), 20*time.Second, atLeast(50))
	waitFor(t, ctx, "sink not backpressured", node("sink", "backpressured"), 10*time.Second, atMost(10))
	waitFor(t, ctx, "source level", node("source", "level"), 10*time.Second, equals("high"))
	// The queues in front of the slow sink show as end-to-end latency on its node.
	waitFor(t, ctx, "sink latency p99", node("sink", "latencyP99"), 20*time.Second, atLeast(100))
	if line := eval(t, ctx, `document.querySelector('[data-testid=node][data-task=sink] [data-field=latency]')?.textContent`); !strings.Contains(line, "Latency p50 ") {
		t.Fatalf("the sink's node shows %q, want its latency", line)
	}
	// The Diagnosis panel names the sink, live.
	waitFor(t, ctx, "sink diagnosed", `document.querySelector('[data-testid=finding][data-kind=bottleneck]')?.dataset.tasks`,
		15*time.Second, func(s string) bool { return strings.HasPrefix(s, "sink,") })
	screenshot(t, ctx, "slow-sink")
}

// Clicking a task opens the drawer; its BackPressure tab lists every
// subtask, and sorts by a column.
func TestBackPressureTab(t *testing.T) {
	ctx := browser(t)
	must(t, ctx, chromedp.Navigate(baseURL+"/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=graph]`)))
	click(t, ctx, `document.querySelector('[data-testid=node][data-task=parse]')`)
	must(t, ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid=drawer]`)))
	click(t, ctx, `document.querySelector('[data-testid=tab-backpressure]')`)
	waitFor(t, ctx, "parse rows", `document.querySelectorAll('[data-testid=bp-row]').length`, 10*time.Second, equals("2"))
	waitFor(t, ctx, "parse backpressured", `document.querySelector('[data-testid=bp-row]').dataset.level`, 20*time.Second, equals("high"))
	// Flink's time metrics in ms/s, adding up to 1000.
	header := eval(t, ctx, `document.querySelector('[data-testid=bp-table] thead').textContent`)
	for _, m := range []string{"backPressuredTimeMsPerSecond", "busyTimeMsPerSecond", "idleTimeMsPerSecond"} {
		if !strings.Contains(header, m) {
			t.Fatalf("the BackPressure tab does not name %s: %q", m, header)
		}
	}
	sum := `[...document.querySelectorAll('[data-testid=bp-row]')[0].querySelectorAll('td[data-metric]')].reduce((n, td) => n + parseInt(td.textContent), 0)`
	waitFor(t, ctx, "ms/s adding up to 1000", sum, 5*time.Second, func(s string) bool { return atLeast(997)(s) && atMost(1003)(s) })
	if cell := eval(t, ctx, `document.querySelector('[data-testid=bp-row] td[data-metric=backPressuredTimeMsPerSecond]').textContent`); !strings.Contains(cell, " ms/s") {
		t.Fatalf("backpressured shown as %q, want ms/s", cell)
	}
	if title := eval(t, ctx, `document.querySelector('[data-testid=node][data-task=parse] title').textContent`); !strings.Contains(title, "backPressuredTimeMsPerSecond (max): ") {
		t.Fatalf("the node's tooltip does not name the time metrics: %q", title)
	}
	click(t, ctx, `document.querySelector('[data-testid=bp-table] th[data-sort=ratio]')`)
	screenshot(t, ctx, "backpressure-tab")

	click(t, ctx, `document.querySelector('[data-testid=node][data-task=sink]')`)
	waitFor(t, ctx, "sink rows", `document.querySelectorAll('[data-testid=bp-row]').length`, 10*time.Second, equals("1"))
	waitFor(t, ctx, "drawer task", `document.querySelector('[data-testid=drawer]').dataset.task`, 5*time.Second, equals("sink"))

	for _, tab := range []string{"metrics", "timeline", "logs", "failures"} {
		click(t, ctx, `document.querySelector('[data-testid=tab-`+tab+`]')`)
		waitFor(t, ctx, tab+" shown", `!document.querySelector('[data-panel=`+tab+`]').hidden`, 5*time.Second, equals("true"))
	}
	click(t, ctx, `document.querySelector('[data-testid=tab-timeline]')`)
	time.Sleep(time.Second) // let the timeline draw a second of frames
	screenshot(t, ctx, "timeline-tab")
}

// Raising a task's cost with its slider makes it the bottleneck: red.
func TestCostSlider(t *testing.T) {
	ctx := browser(t)
	must(t, ctx, chromedp.Navigate(baseURL+"/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=graph]`)))
	waitFor(t, ctx, "parse backpressured", node("parse", "backpressured"), 20*time.Second, atLeast(50))
	before := eval(t, ctx, node("parse", "fill"))
	click(t, ctx, `document.querySelector('[data-testid=node][data-task=parse]')`)
	must(t, ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid=control-cost][data-task=parse]`)))
	eval(t, ctx, `(()=>{const s=document.querySelector('[data-testid=control-cost][data-task=parse]');
		s.value='5000'; s.dispatchEvent(new Event('input',{bubbles:true})); s.dispatchEvent(new Event('change',{bubbles:true})); return true})()`)
	waitFor(t, ctx, "parse busy", node("parse", "busy"), 20*time.Second, atLeast(80))
	waitFor(t, ctx, "parse color", node("parse", "fill"), 5*time.Second, func(s string) bool { return s != before })
	waitFor(t, ctx, "sink idle", node("sink", "busy"), 20*time.Second, atMost(60))
	screenshot(t, ctx, "cost-slider")
}

// A good module uploads, and a job using it runs.
func TestUpload(t *testing.T) {
	ctx := browser(t)
	wasm, err := filepath.Abs("../wasmops/upper/upper.wasm")
	if err != nil {
		t.Fatal(err)
	}
	must(t, ctx,
		chromedp.Navigate(baseURL+"/operators"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=upload-input]`)),
		chromedp.SetUploadFiles(chromedp.CSS(`[data-testid=upload-input]`), []string{wasm}),
		chromedp.Click(chromedp.CSS(`[data-testid=upload-submit]`)),
	)
	waitFor(t, ctx, "upload ok", `!document.querySelector('[data-testid=upload-ok]').hidden`, 60*time.Second, equals("true"))
	waitFor(t, ctx, "listed", `document.querySelectorAll('[data-testid=operator][data-name="upload:upper"]').length`, 5*time.Second, equals("1"))
	screenshot(t, ctx, "upload-ok")

	spec := "name: uploaded\nnetwork: {buffer-size: 1kb}\ntasks:\n" +
		"  - {name: source, operator: generator, config: {rate: 500}}\n" +
		"  - {name: upper, operator: \"upload:upper\", parallelism: 2}\n" +
		"  - {name: sink, operator: discard}\n"
	must(t, ctx,
		chromedp.Navigate(baseURL+"/new"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=editor]`)),
		chromedp.SetValue(chromedp.CSS(`[data-testid=editor]`), spec),
		chromedp.Click(chromedp.CSS(`[data-testid=editor-start]`)),
	)
	waitFor(t, ctx, "job page", `location.search`, 30*time.Second, func(s string) bool { return strings.HasPrefix(s, "?job=") })
	must(t, ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid=node][data-task=upper]`)))
	waitFor(t, ctx, "running", `document.querySelector('[data-testid=job-state]').dataset.state`, 30*time.Second, equals("RUNNING"))
	// Records flow through the uploaded operator.
	records := `fetch('/jobs/'+new URLSearchParams(location.search).get('job')).then(r=>r.json()).then(j=>j.vertices.find(v=>v.name==='upper').metrics.numRecordsOut)`
	var out float64
	deadline := time.Now().Add(30 * time.Second)
	for out < 100 && time.Now().Before(deadline) {
		if out, err = chromedp.Run(ctx, chromedp.Evaluate[float64](records, chromedp.EvalAwaitPromise)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if out < 100 {
		t.Fatalf("upper emitted %v records, want >= 100", out)
	}
	screenshot(t, ctx, "upload-job")
}

// Garbage is refused with a clear message.
func TestUploadGarbage(t *testing.T) {
	ctx := browser(t)
	garbage := filepath.Join(t.TempDir(), "garbage.wasm")
	if err := os.WriteFile(garbage, []byte("this is not wasm at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	must(t, ctx,
		chromedp.Navigate(baseURL+"/operators"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=upload-input]`)),
		chromedp.SetUploadFiles(chromedp.CSS(`[data-testid=upload-input]`), []string{garbage}),
		chromedp.Click(chromedp.CSS(`[data-testid=upload-submit]`)),
	)
	waitFor(t, ctx, "upload error", `document.querySelector('[data-testid=upload-error]').textContent`, 30*time.Second,
		func(s string) bool { return strings.Contains(s, "not a WebAssembly module") })
	screenshot(t, ctx, "upload-garbage")
}

// A spec with mistakes shows each error at its line.
func TestEditorErrors(t *testing.T) {
	ctx := browser(t)
	spec := "name: broken\ntasks:\n  - {name: source, operator: generator}\n  - {name: sink, operator: discard, parallelism: 0}\n"
	must(t, ctx,
		chromedp.Navigate(baseURL+"/new"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=gallery-item]`)),
	)
	click(t, ctx, `document.querySelector('[data-testid=gallery-item][data-example=diamond]')`)
	waitFor(t, ctx, "gallery", `document.querySelector('[data-testid=editor]').value`, 5*time.Second,
		func(s string) bool { return strings.Contains(s, "name: diamond") })
	must(t, ctx,
		chromedp.SetValue(chromedp.CSS(`[data-testid=editor]`), spec),
		chromedp.Click(chromedp.CSS(`[data-testid=editor-start]`)),
	)
	waitFor(t, ctx, "error at line 4", `document.querySelector('[data-testid=editor-error]')?.dataset.line`, 10*time.Second, equals("4"))
	screenshot(t, ctx, "editor-errors")
}

// A source's skew and a task's operator change in the drawer: the job
// restarts with them.
func TestDrawerConfigAndOperator(t *testing.T) {
	ctx := browser(t)
	must(t, ctx, chromedp.Navigate(baseURL+"/new"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=gallery-item][data-example=hot-key]`)))
	click(t, ctx, `document.querySelector('[data-testid=gallery-item][data-example=hot-key]')`)
	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=editor-start]`)))
	waitFor(t, ctx, "job page", `document.readyState === 'complete' && location.search`, 30*time.Second, func(s string) bool { return strings.HasPrefix(s, "?job=") })
	skew := `document.querySelector('[data-testid=node][data-task=count] [data-field=skew]').textContent.replace(/\D/g,'')`
	waitFor(t, ctx, "count skewed", skew, 20*time.Second, atLeast(50))

	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=node][data-task=source]`)))
	input := `[data-testid=control-config][data-task=source][data-field=skew]`
	must(t, ctx, chromedp.WaitVisible(chromedp.CSS(input)))
	if v := eval(t, ctx, `document.querySelector('`+input+`').value`); v != "2" {
		t.Fatalf("skew shown as %q, want 2", v)
	}
	must(t, ctx, chromedp.SetValue(chromedp.CSS(input), "0")) // fires input and change
	waitFor(t, ctx, "count even", skew, 20*time.Second, atMost(20))
	screenshot(t, ctx, "drawer-config")

	must(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid=node][data-task=count]`)))
	op := `[data-testid=control-operator][data-task=count]`
	must(t, ctx, chromedp.WaitVisible(chromedp.CSS(op)), chromedp.SetValue(chromedp.CSS(op), "passthrough"))
	waitFor(t, ctx, "count runs passthrough", `document.querySelector('[data-testid=node][data-task=count] [data-field=operator]').textContent`,
		20*time.Second, func(s string) bool { return strings.HasPrefix(s, "passthrough") })
	screenshot(t, ctx, "drawer-operator")
}

// Rescaling a task restarts the job with more subtasks; its forward input
// becomes a rebalance edge, relabeled live.
func TestRescale(t *testing.T) {
	ctx := browser(t)
	must(t, ctx, chromedp.Navigate(baseURL+"/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=graph]`)))
	edge := `document.querySelector('[data-testid=edge][data-from=source][data-to=parse]').dataset.partitioning`
	waitFor(t, ctx, "forward edge", edge, 5*time.Second, equals("FORWARD"))
	click(t, ctx, `document.querySelector('[data-testid=node][data-task=parse]')`)
	must(t, ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid=control-parallelism][data-task=parse]`)))
	eval(t, ctx, `(()=>{const p=document.querySelector('[data-testid=control-parallelism][data-task=parse]');
		p.value='3'; p.dispatchEvent(new Event('change',{bubbles:true})); return true})()`)
	waitFor(t, ctx, "rebalance edge", edge, 10*time.Second, equals("REBALANCE"))
	waitFor(t, ctx, "three subtasks", `String(document.querySelectorAll('[data-testid=bp-row]').length)`, 10*time.Second, equals("3"))
	screenshot(t, ctx, "rescale")
}

// Buffer debloating turned on from the header brings the slow sink's
// latency down from the seconds its full buffers hold.
func TestDebloatControl(t *testing.T) {
	ctx := browser(t)
	must(t, ctx, chromedp.Navigate(baseURL+"/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=graph]`)))
	waitFor(t, ctx, "sink latency in seconds", node("sink", "latencyP50"), 30*time.Second, atLeast(1000))
	before := eval(t, ctx, node("sink", "latencyP50"))
	eval(t, ctx, `(()=>{const s=document.querySelector('[data-testid=control-debloat]');
		s.value='100ms'; s.dispatchEvent(new Event('change',{bubbles:true})); return true})()`)
	waitFor(t, ctx, "sink latency down", node("sink", "latencyP50"), 40*time.Second, atMost(500))
	t.Logf("sink latency p50 %s ms, then %s ms with buffer-debloat target 100ms", before, eval(t, ctx, node("sink", "latencyP50")))
	screenshot(t, ctx, "debloat")
}
