// Package e2e drives the real flowlab binary with Debian's headless Chromium
// through chromedp: what a learner sees in the playground. Screenshots go to
// e2e/artifacts/. Without Chromium the tests skip, except under CI (CI set),
// where they fail: .ci/run installs it.
package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var (
	chromium string // path of the browser, "" if absent
	baseURL  string // of the server under test
	flowlab  string // the flowlab binary, built for the tests
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			chromium = p
			break
		}
	}
	if chromium == "" {
		if os.Getenv("CI") != "" {
			fmt.Fprintln(os.Stderr, "e2e: chromium not found; CI must install it (apt-get install chromium)")
			return 1
		}
		fmt.Println("e2e: skipping the browser tests: chromium not found (apt-get install chromium)")
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "flowlab-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "flowlab")
	flowlab = bin
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build: %v\n%s", err, out)
		return 1
	}
	server := exec.Command(bin, "serve", "-addr", "127.0.0.1:0")
	server.Stderr = os.Stderr
	server.Env = append(os.Environ(), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
	stdout, _ := server.StdoutPipe()
	if err := server.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: start server:", err)
		return 1
	}
	defer func() {
		_ = server.Process.Signal(os.Interrupt)
		_ = server.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: server printed no URL:", err)
		return 1
	}
	baseURL = strings.TrimSuffix(strings.TrimSpace(line[strings.Index(line, "http://"):]), "/")
	if err := os.MkdirAll("artifacts", 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	return m.Run()
}

// browser opens a fresh headless Chromium (a new browser session of the
// playground) and returns a tab in it.
func browser(t *testing.T) context.Context {
	t.Helper()
	if chromium == "" {
		t.Skip("chromium not found")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 900),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(ctx)
	t.Cleanup(cancelTab)
	t.Cleanup(func() { stopJobs(ctx) })
	must(t, ctx, chromedp.EmulateViewport(1440, 900))
	return ctx
}

func must(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// eval evaluates a JavaScript expression to a string.
// stopJobs cancels the jobs of the browser's session: the tests share one
// server, and a job left running (a Wasm operator spinning on both cores)
// would slow every test after it.
func stopJobs(ctx context.Context) {
	if _, err := chromedp.Run(ctx, chromedp.Navigate(baseURL+"/lessons")); err != nil {
		return
	}
	_, _ = chromedp.Run(ctx, chromedp.Evaluate[int](`fetch('/jobs').then((r) => r.json())
		.then((j) => Promise.all(j.jobs.map((x) => fetch('/api/jobs/' + x.id, {method: 'DELETE'})))).then((rs) => rs.length)`, chromedp.EvalAwaitPromise))
}

func eval(t *testing.T, ctx context.Context, js string) string {
	t.Helper()
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](`String(`+js+`)`))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// waitFor polls a JavaScript expression until ok accepts its value, and
// fails with what was seen last after timeout.
func waitFor(t *testing.T, ctx context.Context, what, js string, timeout time.Duration, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	var err error
	for time.Now().Before(deadline) {
		// A page that is navigating cannot evaluate; that is not a failure
		// until the deadline passes.
		last, err = chromedp.Run(ctx, chromedp.Evaluate[string](`String(`+js+`)`))
		if err == nil && ok(last) {
			return last
		}
		time.Sleep(100 * time.Millisecond)
	}
	screenshot(t, ctx, "failed-"+t.Name())
	t.Fatalf("%s: not within %v; last %s = %q (%v)", what, timeout, js, last, err)
	return ""
}

// node is a JavaScript expression for a data attribute of a task's node.
func node(task, attr string) string {
	return fmt.Sprintf(`document.querySelector('[data-testid=node][data-task=%q]')?.dataset.%s`, task, attr)
}

func atLeast(min float64) func(string) bool {
	return func(s string) bool {
		var f float64
		_, err := fmt.Sscanf(s, "%g", &f)
		return err == nil && f >= min
	}
}

func atMost(max float64) func(string) bool {
	return func(s string) bool {
		var f float64
		_, err := fmt.Sscanf(s, "%g", &f)
		return err == nil && f <= max
	}
}

func equals(want string) func(string) bool { return func(s string) bool { return s == want } }

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	file := filepath.Join("artifacts", strings.ReplaceAll(name, "/", "_")+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
}

// click clicks the element a JavaScript expression finds.
func click(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	eval(t, ctx, `(()=>{const e=`+js+`; if(!e) throw new Error("not found"); e.dispatchEvent(new MouseEvent("click",{bubbles:true})); return true})()`)
}
