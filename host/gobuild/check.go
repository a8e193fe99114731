package gobuild

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"regexp"
	"strconv"
	"strings"

	"flowlab/wasmops"
)

// registrations are the SDK's functions that register the module's operator:
// a module calls exactly one of them, once.
var registrations = map[string]bool{
	"Map": true, "MapValue": true, "Filter": true, "FlatMap": true, "ProcessBatch": true,
	"KeyedProcess": true, "SlidingWindow": true,
}

// check parses source and refuses what the builder does not build, before
// the go command sees it: not package main, no func main, imports outside
// the standard library and the SDK, cgo, //go:embed, build constraints and
// //line directives, two operators registered. It returns hints that do not
// stop the build (fmt's size) as warnings.
func check(source []byte) (warnings []Diagnostic, err error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "main.go", source, parser.ParseComments|parser.AllErrors)
	if err != nil {
		var list scanner.ErrorList
		if !errors.As(err, &list) {
			return nil, refuse(Diagnostic{Message: err.Error()})
		}
		ds := make([]Diagnostic, 0, len(list))
		for _, e := range list {
			ds = append(ds, Diagnostic{Line: e.Pos.Line, Column: e.Pos.Column, Message: e.Msg})
		}
		return nil, &Error{Errors: withHints(ds)}
	}
	at := func(p token.Pos, format string, args ...any) Diagnostic {
		pos := fset.Position(p)
		return Diagnostic{Line: pos.Line, Column: pos.Column, Message: fmt.Sprintf(format, args...)}
	}
	var ds []Diagnostic
	if f.Name.Name != "main" {
		ds = append(ds, at(f.Name.Pos(), "package %s: an operator is a main package: write package main", f.Name.Name))
	}
	sdkName := ""
	for _, spec := range f.Imports {
		p, _ := strconv.Unquote(spec.Path.Value)
		switch {
		case p == "C":
			ds = append(ds, at(spec.Pos(), `import "C" is not allowed: operators are built without cgo, in Go only`))
		case p == wasmops.SDKPackage:
			sdkName = "sdk"
			if spec.Name != nil {
				sdkName = spec.Name.Name
			}
		case strings.HasPrefix(p, wasmops.SDKModule+"/") || p == wasmops.SDKModule:
			ds = append(ds, at(spec.Pos(), "import %q is not allowed: of Flowlab, an operator imports %s only", p, wasmops.SDKPackage))
		case !standard(p):
			ds = append(ds, at(spec.Pos(), "import %q is not allowed: an operator imports the standard library and %s only (builds are offline: there is no module to download)", p, wasmops.SDKPackage))
		case p == "fmt":
			warnings = append(warnings, at(spec.Pos(), `hint: fmt adds about 0.4 MB to the module, which every compilation pays for; sdk.Logf and sdk.Log format like fmt's Printf and Println, and strconv.AppendInt and friends format numbers into a buffer you reuse`))
		case p == "encoding/json":
			warnings = append(warnings, at(spec.Pos(), `hint: encoding/json adds about 1.1 MB to the module; sdk.Config decodes the task's config (JSON) without it`))
		}
	}
	for _, group := range f.Comments {
		for _, c := range group.List {
			if d, bad := directive(c.Text); bad != "" {
				ds = append(ds, at(c.Pos(), "%s is not allowed: %s", d, bad))
			}
		}
	}
	hasMain, regs := false, 0
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Recv != nil {
			continue
		}
		if fn.Name.Name == "main" {
			hasMain = true
		}
		if fn.Name.Name != "init" || fn.Body == nil || sdkName == "" {
			continue
		}
		// Registrations directly in init's body always run: two of them
		// panic when the module starts.
		var first *ast.SelectorExpr
		for _, stmt := range fn.Body.List {
			sel := registration(stmt, sdkName)
			if sel == nil {
				continue
			}
			regs++
			if first == nil {
				first = sel
				continue
			}
			ds = append(ds, at(sel.Pos(), "%s.%s registers a second operator, after %s.%s on line %d: a module is exactly one operator, and the SDK panics when the module starts; keep one, and make a second operator in a second module",
				sdkName, sel.Sel.Name, sdkName, first.Sel.Name, fset.Position(first.Pos()).Line))
		}
	}
	if !hasMain && f.Name.Name == "main" {
		ds = append(ds, at(f.Name.Pos(), "func main is missing: add func main() {} (it never runs, but a module built with -buildmode=c-shared needs it; the operator registers itself from func init)"))
	}
	if len(ds) > 0 {
		return nil, &Error{Errors: ds}
	}
	if sdkName == "" {
		warnings = append(warnings, at(f.Name.Pos(), "hint: the source does not import %s: without it the module has none of the exports an operator needs, and the host will refuse it", wasmops.SDKPackage))
	}
	return warnings, nil
}

// standard reports whether path is in the standard library: no dot in its
// first element (as the go command decides), and not "C".
func standard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return path != "" && path != "C" && !strings.Contains(first, ".") && !strings.HasPrefix(path, "/")
}

// directive returns a comment's directive and why it is refused, or "" if it
// is allowed.
func directive(text string) (name, why string) {
	switch {
	case strings.HasPrefix(text, "//go:embed"):
		return "//go:embed", "an operator is one file, main.go, with nothing else to embed"
	case strings.HasPrefix(text, "//go:cgo_"):
		return strings.Fields(text)[0], "operators are built without cgo"
	case strings.HasPrefix(text, "//go:build"), strings.HasPrefix(text, "// +build"):
		return "a build constraint", "main.go is always built"
	case strings.HasPrefix(text, "//line "), strings.HasPrefix(text, "/*line "):
		return "a //line directive", "it would make the compiler's messages point elsewhere"
	}
	return "", ""
}

// registration returns sdk.X of a statement `sdk.X(...)` where X registers
// the module's operator.
func registration(stmt ast.Stmt, sdkName string) *ast.SelectorExpr {
	es, ok := stmt.(*ast.ExprStmt)
	if !ok {
		return nil
	}
	call, ok := es.X.(*ast.CallExpr)
	if !ok {
		return nil
	}
	fun := call.Fun
	if ix, ok := fun.(*ast.IndexExpr); ok { // sdk.SlidingWindow[int64](...)
		fun = ix.X
	}
	sel, ok := fun.(*ast.SelectorExpr)
	if !ok {
		return nil
	}
	if id, ok := sel.X.(*ast.Ident); ok && id.Name == sdkName && registrations[sel.Sel.Name] {
		return sel
	}
	return nil
}

// hints are friendly explanations for common compiler messages.
var hints = []struct {
	re   *regexp.Regexp
	hint func(m []string) string
}{
	{regexp.MustCompile(`^undefined: sdk$`), func([]string) string {
		return `add import "` + wasmops.SDKPackage + `"`
	}},
	{regexp.MustCompile(`^undefined: fmt$`), func([]string) string {
		return `add import "fmt", or use sdk.Logf, which formats like fmt.Printf without fmt's 0.4 MB`
	}},
	{regexp.MustCompile(`^undefined: (strings|strconv|bytes|time|unicode|errors|math|sort|slices|maps|utf8)$`), func(m []string) string {
		pkg := m[1]
		if pkg == "utf8" {
			pkg = "unicode/utf8"
		}
		return fmt.Sprintf("add import %q", pkg)
	}},
	{regexp.MustCompile(`^undefined: sdk\.(\w+)$`), func(m []string) string {
		return "the SDK has no " + m[1] + ": an operator registers one of sdk.Map, sdk.MapValue, sdk.Filter, sdk.FlatMap, sdk.ProcessBatch, sdk.KeyedProcess (with sdk.OnTimer) or sdk.SlidingWindow, and may use sdk.Config, sdk.OnConfig, sdk.NewState, sdk.Log, sdk.Logf and sdk.Now (go doc flowlab/wasmops/sdk)"
	}},
	{regexp.MustCompile(`^declared and not used: (\w+)$`), func(m []string) string {
		return "Go refuses unused variables: use " + m[1] + ", or remove it (or assign it to _)"
	}},
	{regexp.MustCompile(`^"([^"]+)" imported and not used$`), func(m []string) string {
		return fmt.Sprintf("Go refuses unused imports: remove import %q", m[1])
	}},
	{regexp.MustCompile(`function main is undeclared in the main package`), func([]string) string {
		return "add func main() {}: it never runs, but -buildmode=c-shared needs it"
	}},
	{regexp.MustCompile(`\(.*of type string\) as \[\]byte value`), func([]string) string {
		return "convert with []byte(s); records' keys and values are []byte"
	}},
	{regexp.MustCompile(`\(.*of type \[\]byte\) as string value`), func([]string) string {
		return "convert with string(b); records' keys and values are []byte"
	}},
}

// withHints returns ds with a hint after each diagnostic that has one.
func withHints(ds []Diagnostic) []Diagnostic {
	out := make([]Diagnostic, 0, len(ds))
	for _, d := range ds {
		out = append(out, d)
		for _, h := range hints {
			if m := h.re.FindStringSubmatch(d.Message); m != nil {
				out = append(out, Diagnostic{Line: d.Line, Column: d.Column, Message: "hint: " + h.hint(m)})
				break
			}
		}
	}
	return out
}
