package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A screen size: a phone, a small laptop and a desktop.
type screen struct {
	name string
	w, h int64
}

var (
	phone   = screen{"phone", 390, 844}
	laptop  = screen{"laptop", 1024, 768}
	desktop = screen{"desktop", 1440, 900}
)

// A learner follows lesson 1 on a phone and on a small laptop, switching
// between the two on the same job: at every step the step's text, its goal,
// its answer choices and the controls the step names are on screen,
// uncovered, and take a real click, also while the task drawer is open.
// Then every page is shown at three widths, none wider than the window.
func TestResponsive(t *testing.T) {
	ctx := browser(t)
	resize(t, ctx, phone)
	must(t, ctx, chromedp.Navigate(baseURL+"/lessons/1-slow-sink"))
	waitLesson(t, ctx, "1-slow-sink")

	// The menu replaces the sidebar.
	tap(t, ctx, "menu button", `document.querySelector('[data-testid=nav-toggle]')`)
	onScreen(t, ctx, "Lessons in the menu", `document.querySelector('[data-testid=nav-menu] a[href="/lessons"]')`)
	screenshot(t, ctx, "responsive-phone-menu")
	tap(t, ctx, "menu button", `document.querySelector('[data-testid=nav-toggle]')`)
	waitFor(t, ctx, "menu closed", `getComputedStyle(document.querySelector('[data-testid=nav-menu]')).display`, 5*time.Second, equals("none"))

	// Step 1: watch the graph.
	for _, s := range []screen{phone, laptop} {
		resize(t, ctx, s)
		onScreen(t, ctx, s.name+": step 1 text", currentStep(`[data-testid=lesson-text]`))
		onScreen(t, ctx, s.name+": step 1 goal", currentStep(`[data-testid=lesson-goal]`))
		for _, task := range []string{"source", "map", "sink"} {
			onScreen(t, ctx, s.name+": task "+task, nodeEl(task))
		}
		onScreen(t, ctx, s.name+": hint button", `document.querySelector('[data-testid=lesson-hint-button]')`)
		onScreen(t, ctx, s.name+": show the goal", `document.querySelector('[data-testid=lesson-show-goal]')`)
		screenshot(t, ctx, "responsive-"+s.name+"-step-1")
	}
	// The step waits for the learner: Continue, once the goal holds.
	waitFor(t, ctx, "Continue enabled", currentStep(`[data-testid=lesson-continue]`)+`?.disabled`, 30*time.Second, equals("false"))
	tap(t, ctx, "laptop: Continue", currentStep(`[data-testid=lesson-continue]`))
	waitStep(t, ctx, 1, 10*time.Second)

	// Step 2: open the source, read its records out per second in the
	// Metrics tab, answer (wrong on the phone, right on the laptop).
	resize(t, ctx, phone)
	tap(t, ctx, "phone: task source", nodeEl("source"))
	waitFor(t, ctx, "drawer on source", `document.querySelector('[data-testid=drawer]').dataset.task`, 5*time.Second, equals("source"))
	tap(t, ctx, "phone: Metrics tab", `document.querySelector('[data-testid=tab-metrics]')`)
	onScreen(t, ctx, "phone: metrics table", `document.querySelector('[data-testid=metrics-table]')`)
	screenshot(t, ctx, "responsive-phone-step-2-drawer")
	questionOnScreen(t, ctx, phone)
	tap(t, ctx, "phone: choice a", choice("a"))
	waitFor(t, ctx, "feedback on a wrong answer", currentStep(`[data-field=feedback]`)+`?.hidden`, 5*time.Second, equals("false"))
	onScreen(t, ctx, "phone: feedback", currentStep(`[data-field=feedback]`))
	screenshot(t, ctx, "responsive-phone-step-2-answered")

	resize(t, ctx, laptop)
	tap(t, ctx, "laptop: task sink", nodeEl("sink"))
	waitFor(t, ctx, "drawer on sink", `document.querySelector('[data-testid=drawer]').dataset.task`, 5*time.Second, equals("sink"))
	onScreen(t, ctx, "laptop: metrics table", `document.querySelector('[data-testid=metrics-table]')`)
	questionOnScreen(t, ctx, laptop)
	screenshot(t, ctx, "responsive-laptop-step-2-drawer")
	tap(t, ctx, "laptop: choice b", choice("b"))
	waitStep(t, ctx, 2, 5*time.Second)

	// Step 3: the sink's cost and parallelism, in the drawer still open on
	// the sink; the learner adds two subtasks on the phone.
	plus := `document.querySelector('.task-controls[data-task=sink] [data-step="1"]')`
	for _, s := range []screen{laptop, phone} {
		resize(t, ctx, s)
		onScreen(t, ctx, s.name+": step 3 text", currentStep(`[data-testid=lesson-text]`))
		onScreen(t, ctx, s.name+": step 3 goal", currentStep(`[data-testid=lesson-goal]`))
		onScreen(t, ctx, s.name+": sink's cost", `document.querySelector('[data-testid=control-cost][data-task=sink]')`)
		onScreen(t, ctx, s.name+": sink's parallelism +", plus)
		onScreen(t, ctx, s.name+": task sink", nodeEl("sink"))
		screenshot(t, ctx, "responsive-"+s.name+"-step-3")
	}
	parallelism := `document.querySelector('[data-testid=node][data-task=sink] [data-field=parallelism]').textContent`
	for _, n := range []string{"2", "3"} {
		tap(t, ctx, "phone: sink's parallelism +", plus)
		waitFor(t, ctx, "sink rescaled to "+n, parallelism, 10*time.Second, equals("Parallelism: "+n))
	}
	waitDone(t, ctx)
	tap(t, ctx, "phone: close the drawer", `document.querySelector('[data-action=close-drawer]')`)
	onScreen(t, ctx, "phone: next lesson", `document.querySelector('[data-testid=lesson-next]')`)
	screenshot(t, ctx, "responsive-phone-done")
	resize(t, ctx, laptop)
	onScreen(t, ctx, "laptop: next lesson", `document.querySelector('[data-testid=lesson-next]')`)
	screenshot(t, ctx, "responsive-laptop-done")

	// Every page at three widths; the playground on the lesson's job, its
	// drawer open.
	jid := eval(t, ctx, `document.querySelector('[data-testid=playground]').dataset.jid`)
	pages := []struct{ name, path string }{
		{"playground", "/?job=" + jid}, {"lesson", "/lessons/1-slow-sink"},
		{"lessons", "/lessons"}, {"operators", "/operators"}, {"new", "/new"},
	}
	for _, p := range pages {
		for _, s := range []screen{phone, laptop, desktop} {
			resize(t, ctx, s)
			must(t, ctx, chromedp.Navigate(baseURL+p.path))
			waitFor(t, ctx, p.name+" loaded", `document.readyState`, 10*time.Second, equals("complete"))
			waitFor(t, ctx, fmt.Sprintf("%s at %d px: no sideways scroll", p.name, s.w),
				`document.documentElement.scrollWidth <= innerWidth`, 5*time.Second, equals("true"))
			screenshot(t, ctx, fmt.Sprintf("page-%s-%d", p.name, s.w))
			if p.name == "playground" {
				tap(t, ctx, "task sink", nodeEl("sink"))
				onScreen(t, ctx, "sink's cost", `document.querySelector('[data-testid=control-cost][data-task=sink]')`)
				screenshot(t, ctx, fmt.Sprintf("page-%s-%d-drawer", p.name, s.w))
			}
		}
	}
}

func resize(t *testing.T, ctx context.Context, s screen) {
	t.Helper()
	must(t, ctx, chromedp.EmulateViewport(s.w, s.h))
	waitFor(t, ctx, fmt.Sprintf("window %dx%d", s.w, s.h), `innerWidth + 'x' + innerHeight`, 5*time.Second, equals(fmt.Sprintf("%dx%d", s.w, s.h)))
}

// questionOnScreen checks the step's question, its choices and its goal
// while the drawer is open.
func questionOnScreen(t *testing.T, ctx context.Context, s screen) {
	t.Helper()
	if d := eval(t, ctx, `document.querySelector('[data-testid=drawer]').hidden`); d != "false" {
		t.Fatalf("%s: the drawer is closed", s.name)
	}
	onScreen(t, ctx, s.name+": question", currentStep(`.question-prompt`))
	for _, c := range []string{"a", "b", "c"} {
		onScreen(t, ctx, s.name+": choice "+c, choice(c))
	}
	onScreen(t, ctx, s.name+": goal", currentStep(`[data-testid=lesson-goal]`))
}

func nodeEl(task string) string {
	return fmt.Sprintf(`document.querySelector('[data-testid=node][data-task=%q]')`, task)
}

func choice(id string) string {
	return currentStep(`[data-testid=lesson-choice][data-choice=` + id + `]`)
}

// onScreen scrolls an element into view, as a learner would, and waits until
// it is on screen and uncovered: what is visible of it (inside the window
// and every scrolling box around it) is not empty, and the element at the
// middle of that is it or inside it. It returns that point.
func onScreen(t *testing.T, ctx context.Context, what, js string) (x, y float64) {
	t.Helper()
	expr := `(() => {
		const e = ` + js + `;
		if (!e) return 'missing';
		e.scrollIntoView({block: 'center', inline: 'nearest'});
		const r = e.getBoundingClientRect();
		let l = Math.max(r.left, 0), t = Math.max(r.top, 0), rt = Math.min(r.right, innerWidth), b = Math.min(r.bottom, innerHeight);
		for (let p = e.parentElement; p; p = p.parentElement) {
			const s = getComputedStyle(p);
			if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
			const q = p.getBoundingClientRect();
			l = Math.max(l, q.left); t = Math.max(t, q.top); rt = Math.min(rt, q.right); b = Math.min(b, q.bottom);
		}
		if (rt - l < 4 || b - t < 4) return 'not on screen: ' + JSON.stringify(r);
		const x = (l + rt) / 2, y = (t + b) / 2, hit = document.elementFromPoint(x, y);
		if (!hit || !(hit === e || e.contains(hit))) return 'covered at ' + x + ',' + y + ' by ' + (hit ? hit.outerHTML.slice(0, 100) : 'nothing');
		return 'ok ' + x + ' ' + y;
	})()`
	got := waitFor(t, ctx, what+" on screen", expr, 5*time.Second, func(s string) bool { return strings.HasPrefix(s, "ok ") })
	if _, err := fmt.Sscanf(got, "ok %g %g", &x, &y); err != nil {
		t.Fatalf("%s: %q: %v", what, got, err)
	}
	return x, y
}

// tap clicks an element with the mouse at the middle of what is visible of
// it, once it is on screen and uncovered.
func tap(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	x, y := onScreen(t, ctx, what, js)
	must(t, ctx, chromedp.MouseClickXY(x, y))
}
