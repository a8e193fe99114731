package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// startHotKey starts examples/hot-key.yaml in the browser's session and
// returns its job id and the session's cookie ("flowlab_session=...").
func startHotKey(t *testing.T, ctx context.Context) (jid, cookie string) {
	t.Helper()
	spec, err := os.ReadFile(filepath.Join("..", "examples", "hot-key.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	must(t, ctx, chromedp.Navigate(baseURL+"/lessons"))
	jid, err = chromedp.Run(ctx, chromedp.Evaluate[string](`fetch('/api/jobs', {method: 'POST', headers: {'Content-Type': 'application/yaml'}, body: `+
		jsString(string(spec))+`}).then((r) => r.json()).then((j) => j.jid)`, chromedp.EvalAwaitPromise))
	if err != nil || len(jid) != 32 {
		t.Fatalf("start hot-key: %q, %v", jid, err)
	}
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{baseURL}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == "flowlab_session" {
			return jid, c.Name + "=" + c.Value
		}
	}
	t.Fatal("no session cookie")
	return "", ""
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "`", "\\`", "$", `\$`)
	return "`" + r.Replace(s) + "`"
}

// flowlab attach, pointed at the playground under test (through the
// session that runs the hot-key job), shows that job live and read-only in
// another browser, with the doctor naming the hot subtask.
func TestAttach(t *testing.T) {
	ctx := browser(t)
	jid, cookie := startHotKey(t, ctx)

	cmd := exec.Command(flowlab, "attach", "-addr", "127.0.0.1:0", "-interval", "200ms", "-header", "Cookie: "+cookie, baseURL)
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+t.TempDir())
	cmd.Stderr = os.Stderr
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("flowlab attach printed no URL: %v", err)
	}
	if !strings.Contains(line, "watching Flink 1.19.0 at "+baseURL) {
		t.Errorf("flowlab attach says %q", line)
	}
	attached := strings.TrimSuffix(strings.TrimSpace(line[strings.LastIndex(line, "http://"):]), "/")

	watcher := browser(t)
	must(t, watcher, chromedp.Navigate(attached+"/?job="+jid), chromedp.WaitVisible(chromedp.CSS(`[data-testid=graph]`)))
	waitFor(t, watcher, "the cluster's job listed", `document.querySelectorAll('[data-testid=cluster-job-list] [data-jid="`+jid+`"]').length`, 5*time.Second, equals("1"))
	if n := eval(t, watcher, `document.querySelectorAll('[data-testid=control-pause], [data-testid=control-stop], .task-controls').length`); n != "0" {
		t.Errorf("controls on a read-only job: %s", n)
	}
	waitFor(t, watcher, "count busy", node("count", "busy"), 30*time.Second, atLeast(90))
	waitFor(t, watcher, "count red", node("count", "fill"), 5*time.Second, func(s string) bool { return s != "#5db1ff" })
	skew := `document.querySelector('[data-testid=finding][data-kind=skew]')`
	waitFor(t, watcher, "skew diagnosed", skew+`?.dataset.tasks`, 30*time.Second, equals("count"))
	title := eval(t, watcher, skew+`.querySelector('[data-field=title]').textContent`)
	if !strings.Contains(title, "count[") {
		t.Errorf("skew finding: %q, want it to name the hot subtask", title)
	}

	// The drawer reads, and its timeline has the history the attach kept.
	click(t, watcher, `document.querySelector('[data-testid=node][data-task=count]')`)
	click(t, watcher, `document.querySelector('[data-testid=tab-timeline]')`)
	waitFor(t, watcher, "drawer open", `document.querySelector('[data-testid=drawer]').dataset.task`, 5*time.Second, equals("count"))
	if n := eval(t, watcher, `document.querySelectorAll('[data-testid=tab-flamegraph], [data-testid=tab-logs]').length`); n != "0" {
		t.Errorf("tabs a cluster's job cannot fill: %s", n)
	}
	screenshot(t, watcher, "attach")

	// A read-only job refuses changes.
	status, err := chromedp.Run(watcher, chromedp.Evaluate[int](`fetch('/api/jobs/`+jid+`', {method: 'PATCH', headers: {'Content-Type': 'application/json'}, body: '{"paused": true}'}).then((r) => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil || status != 403 {
		t.Errorf("PATCH of an attached job: %d %v, want 403", status, err)
	}
}

// Watch a Flink cluster: a browser session follows the playground's other
// session through the form, headers included, and lands on its job.
func TestAttachForm(t *testing.T) {
	ctx := browser(t)
	jid, cookie := startHotKey(t, ctx)

	watcher := browser(t)
	must(t, watcher, chromedp.Navigate(baseURL+"/attach"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=attach-form]`)))
	must(t, watcher,
		chromedp.SendKeys(`[data-testid=attach-url]`, "http://127.0.0.1:1"),
		chromedp.Click(`[data-testid=attach-submit]`))
	waitFor(t, watcher, "an error for a closed port", `document.querySelector('[data-testid=attach-error]').textContent`, 15*time.Second,
		func(s string) bool { return strings.Contains(s, "cannot reach http://127.0.0.1:1") })
	screenshot(t, watcher, "attach-form-error")
	must(t, watcher,
		chromedp.SetValue(`[data-testid=attach-url]`, baseURL),
		chromedp.SetValue(`[data-testid=attach-interval]`, "500ms"),
		chromedp.SetValue(`[data-testid=attach-headers]`, "Cookie: "+cookie),
		chromedp.Click(`[data-testid=attach-submit]`))
	waitFor(t, watcher, "on the cluster's job", `location.search`, 15*time.Second, equals("?job="+jid))
	must(t, watcher, chromedp.WaitVisible(chromedp.CSS(`[data-testid=cluster-note]`)))
	waitFor(t, watcher, "count busy", node("count", "busy"), 30*time.Second, atLeast(50))

	must(t, watcher, chromedp.Navigate(baseURL+"/attach"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=cluster]`)))
	screenshot(t, watcher, "attach-page")
	click(t, watcher, `document.querySelector('[data-testid=detach]')`)
	waitFor(t, watcher, "detached", `document.querySelectorAll('[data-testid=cluster]').length`, 10*time.Second, equals("0"))
}
