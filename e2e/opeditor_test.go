package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// opeditorURL is the server TestOperatorEditor drives: FLOWLAB_OPEDITOR_URL
// if set (a server with a builder, while the binary has none), else the
// binary under test.
func opeditorURL() string {
	if u := os.Getenv("FLOWLAB_OPEDITOR_URL"); u != "" {
		return strings.TrimSuffix(u, "/")
	}
	return baseURL
}

// A learner writes an operator in the page: picks a template, breaks it and
// sees the error listed and marked on its line, jumps to it, fixes it,
// builds it into upload:NAME and runs it in the sink of the playground's job.
// The server must be able to build (host/gobuild wired in serve.go, a Go
// toolchain present): without, the page says so and the test fails here.
func TestOperatorEditor(t *testing.T) {
	ctx := browser(t)
	base := opeditorURL()

	// A job of this session, for the operator to run in.
	must(t, ctx, chromedp.Navigate(base+"/"))
	waitFor(t, ctx, "job running", `document.querySelector('[data-testid=job-state]')?.dataset.state`, 20*time.Second, equals("RUNNING"))
	jid := eval(t, ctx, `new URLSearchParams(location.search).get('job')`)

	must(t, ctx, chromedp.Navigate(base+"/operators/new?job="+jid+"&task=sink"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=opeditor-page]`)))
	eval(t, ctx, `(sessionStorage.clear(), true)`)
	if reason := eval(t, ctx, `document.querySelector('[data-testid=opeditor-unavailable] [data-field=reason]')?.textContent ?? ''`); reason != "" {
		screenshot(t, ctx, "opeditor-unavailable")
		t.Fatalf("the server cannot build operators (POST /api/operators/build answers 503) until serve.go wires "+
			"host/gobuild through handlers.Config.WithBuilder: %s", reason)
	}

	// Pick a template: its source fills the editor, highlighted and numbered.
	tmpl := eval(t, ctx, `[...document.querySelectorAll('[data-testid=opeditor-template] option')].map(o => o.value).filter(Boolean).pop()`)
	eval(t, ctx, fmt.Sprintf(`(()=>{const s=document.querySelector('[data-testid=opeditor-template]'); s.value=%q; s.dispatchEvent(new Event('change')); return true})()`, tmpl))
	want := eval(t, ctx, fmt.Sprintf(`document.querySelector('[data-testid=opeditor-template-source][data-name=%q]').content.textContent`, tmpl))
	waitFor(t, ctx, "template in the editor", `document.querySelector('[data-testid=opeditor-source]').value`, 5*time.Second, equals(want))
	lines := strings.Count(want, "\n") + 1
	waitFor(t, ctx, "line numbers", `document.querySelectorAll('[data-testid=opeditor-gutter] div').length`, 5*time.Second, equals(fmt.Sprint(lines)))
	waitFor(t, ctx, "highlighted keywords", `document.querySelectorAll('[data-testid=opeditor-highlight] .tok-keyword').length`, 5*time.Second, atLeast(2))
	if got := eval(t, ctx, `document.querySelector('[data-testid=opeditor-highlight]').textContent.replaceAll('\u200b','') === document.querySelector('[data-testid=opeditor-source]').value.replaceAll('\n','')`); got != "true" {
		t.Errorf("the highlighted copy is not the source")
	}

	// Break it, typing at the end as a learner does (Enter keeps the indentation).
	eval(t, ctx, `(()=>{const ta=document.querySelector('[data-testid=opeditor-source]'); ta.focus(); ta.setSelectionRange(ta.value.length, ta.value.length); return true})()`)
	typeCode(t, ctx, "\nfunc broken() int {\nreturn undefinedThing\n}\n")
	if got := eval(t, ctx, `document.querySelector('[data-testid=opeditor-source]').value.split('\n').slice(-3).join('|')`); got != "\treturn undefinedThing|}|" {
		t.Errorf("typed lines end %q, want the closing brace one level out", got)
	}
	errLine := eval(t, ctx, `document.querySelector('[data-testid=opeditor-source]').value.split('\n').findIndex(l => l.includes('undefinedThing')) + 1`)
	if got := eval(t, ctx, fmt.Sprintf(`document.querySelector('[data-testid=opeditor-source]').value.split('\n')[%s-1]`, errLine)); got != "\treturn undefinedThing" {
		t.Errorf("typed line %s = %q, want it indented by Enter", errLine, got)
	}
	typeInto(t, ctx, `[data-testid=opeditor-name]`, "e2e-op")

	// Build: the button is disabled while it builds; the error is listed and marked.
	if got := eval(t, ctx, `(()=>{const b=document.querySelector('[data-testid=opeditor-build]'); b.click(); return b.disabled})()`); got != "true" {
		t.Errorf("Build is not disabled while building")
	}
	waitFor(t, ctx, "progress", `document.querySelector('[data-testid=opeditor-status]').textContent`, 5*time.Second, func(s string) bool {
		return strings.HasPrefix(s, "Building…") || strings.Contains(s, "error")
	})
	waitFor(t, ctx, "errors listed", `document.querySelectorAll('[data-testid=opeditor-error-item]').length`, 2*time.Minute, atLeast(1))
	lineOf := `[...document.querySelectorAll('[data-testid=opeditor-error-item]')].find(e => e.textContent.includes('undefinedThing'))?.dataset.line`
	waitFor(t, ctx, "the error's line", lineOf, 5*time.Second, equals(errLine))
	waitFor(t, ctx, "marked in the gutter", fmt.Sprintf(`document.querySelector('[data-testid=opeditor-gutter] [data-line="%s"]').className`, errLine), 5*time.Second, equals("error"))
	waitFor(t, ctx, "marked on its line", fmt.Sprintf(`document.querySelector('[data-testid=opeditor-highlight] [data-line="%s"]').dataset.testid`, errLine), 5*time.Second, equals("opeditor-error-line"))
	if got := eval(t, ctx, `document.querySelector('[data-testid=opeditor-build]').disabled`); got != "false" {
		t.Errorf("Build disabled after the build")
	}
	screenshot(t, ctx, "opeditor-errors-1440")

	// A click on the error puts the caret on its line.
	eval(t, ctx, `(document.querySelector('[data-testid=opeditor-source]').blur(), true)`)
	click(t, ctx, `[...document.querySelectorAll('[data-testid=opeditor-error-item]')].find(e => e.textContent.includes('undefinedThing'))`)
	caretLine := eval(t, ctx, `(()=>{const ta=document.querySelector('[data-testid=opeditor-source]'); return document.activeElement === ta ? ta.value.slice(0, ta.selectionStart).split('\n').length : 'not focused'})()`)
	if caretLine != errLine {
		t.Errorf("caret on line %s after a click on the error, want %s", caretLine, errLine)
	}

	resize(t, ctx, phone)
	onScreen(t, ctx, "phone: Build", `document.querySelector('[data-testid=opeditor-build]')`)
	if w := eval(t, ctx, `document.documentElement.scrollWidth <= innerWidth`); w != "true" {
		t.Errorf("phone: the page is wider than the window")
	}
	screenshot(t, ctx, "opeditor-errors-390")
	resize(t, ctx, desktop)

	// Fix it and build again: upload:e2e-op is in the library.
	eval(t, ctx, `(()=>{const ta=document.querySelector('[data-testid=opeditor-source]'); ta.value=ta.value.replace('undefinedThing','0'); ta.dispatchEvent(new Event('input')); return true})()`)
	click(t, ctx, `document.querySelector('[data-testid=opeditor-build]')`)
	waitFor(t, ctx, "built", `document.querySelector('[data-testid=opeditor-ok]').hidden ? document.querySelector('[data-testid=opeditor-error]').textContent : document.querySelector('[data-testid=opeditor-ok] [data-field=built]').textContent`,
		2*time.Minute, func(s string) bool { return strings.HasPrefix(s, "upload:e2e-op is in your library") })
	if n := eval(t, ctx, `document.querySelectorAll('[data-testid=opeditor-error-item], [data-testid=opeditor-gutter] .error').length`); n != "0" {
		t.Errorf("%s error marks after a build that worked", n)
	}
	if got := eval(t, ctx, `document.querySelector('[data-testid=opeditor-task]').value`); got != "sink" {
		t.Errorf("task selected: %q, want sink (?task=sink)", got)
	}
	screenshot(t, ctx, "opeditor-built-1440")

	// Run it in the sink: the playground shows the sink running it.
	click(t, ctx, `document.querySelector('[data-testid=opeditor-use-button]')`)
	waitFor(t, ctx, "back on the playground", `location.pathname + location.search`, 10*time.Second, equals("/?job="+jid))
	waitFor(t, ctx, "the sink runs it", `document.querySelector('[data-testid=control-operator][data-task=sink]')?.value`, 10*time.Second, equals("upload:e2e-op"))
	screenshot(t, ctx, "opeditor-playground")

	// An operator that does real work per record, put on parse: parse
	// turns red, the bottleneck.
	must(t, ctx, chromedp.Navigate(base+"/operators/new?job="+jid+"&task=parse"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=opeditor-page]`)))
	eval(t, ctx, fmt.Sprintf(`(()=>{const ta=document.querySelector('[data-testid=opeditor-source]'); ta.value=%q; ta.dispatchEvent(new Event('input')); return true})()`, slowMap))
	typeInto(t, ctx, `[data-testid=opeditor-name]`, "e2e-slow")
	click(t, ctx, `document.querySelector('[data-testid=opeditor-build]')`)
	waitFor(t, ctx, "built", `document.querySelector('[data-testid=opeditor-ok]').hidden ? document.querySelector('[data-testid=opeditor-error]').textContent : document.querySelector('[data-testid=opeditor-ok] [data-field=built]').textContent`,
		2*time.Minute, func(s string) bool { return strings.HasPrefix(s, "upload:e2e-slow is in your library") })
	click(t, ctx, `document.querySelector('[data-testid=opeditor-use-button]')`)
	waitFor(t, ctx, "back on the playground", `location.pathname + location.search`, 10*time.Second, equals("/?job="+jid))
	waitFor(t, ctx, "parse is red", node("parse", "busy"), 30*time.Second, atLeast(95))
	screenshot(t, ctx, "opeditor-parse-red")
}

// slowMap passes records on after a few milliseconds of arithmetic each.
const slowMap = `package main

import "flowlab/wasmops/sdk"

func main() {}

var sink uint64

func init() {
	sdk.MapValue(func(v []byte) []byte {
		for i := range 3_000_000 {
			sink = sink*6364136223846793005 + uint64(i)
		}
		return v
	})
}
`

// typeCode types text into the focused editor as keys. Enter and } are
// keydowns only, which the editor handles itself: chromedp also sends the
// char event a browser does not send after a keydown whose default was
// prevented.
func typeCode(t *testing.T, ctx context.Context, text string) {
	t.Helper()
	var plain strings.Builder
	flush := func() {
		if plain.Len() > 0 {
			must(t, ctx, chromedp.KeyEvent(plain.String()))
			plain.Reset()
		}
	}
	for _, r := range text {
		key := map[rune]string{'\n': "Enter", '}': "}"}[r]
		if key == "" {
			plain.WriteRune(r)
			continue
		}
		flush()
		eval(t, ctx, fmt.Sprintf(`(()=>{const ta=document.activeElement, k=new KeyboardEvent('keydown', {key: %q, bubbles: true, cancelable: true});
			if (ta.dispatchEvent(k)) ta.setRangeText(%q, ta.selectionStart, ta.selectionEnd, 'end'); return true})()`, key, string(r)))
	}
	flush()
}
