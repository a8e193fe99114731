package wasmops

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// SDK holds the Go SDK's sources, sdk/*.go, tests included: SDKFiles lists
// the ones an operator build needs, and WriteSDK writes them as a module, so
// that the binary builds operators without this repository beside it. The
// SDK imports the standard library only, so that module needs no go.sum.
//
//go:embed sdk/*.go
var SDK embed.FS

// Templates holds the starting points of new operators,
// templates/NAME.go.tmpl, each a complete main package using the SDK. They
// are not named main.go so that build.sh does not bundle them.
//
//go:embed templates/*.go.tmpl
var Templates embed.FS

// SDKModule is the module path of the SDK's module, and SDKPackage the
// import path operators use.
const (
	SDKModule  = "flowlab"
	SDKPackage = "flowlab/wasmops/sdk"
)

// SDKGoVersion is the go line of the modules WriteSDK and operator builds
// write: Go 1.24 is the first with //go:wasmexport, which the SDK uses.
const SDKGoVersion = "1.24"

// SDKFiles lists the SDK's source files (base names) without its tests.
func SDKFiles() []string {
	entries, _ := fs.ReadDir(SDK, "sdk")
	var names []string
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			names = append(names, n)
		}
	}
	return names
}

// WriteSDK writes the SDK as the module "flowlab" in dir: dir/go.mod and
// dir/wasmops/sdk/*.go (no tests), for a replace directive
// (replace flowlab => ./flowlab) in an operator's go.mod.
func WriteSDK(dir string) error {
	pkg := filepath.Join(dir, "wasmops", "sdk")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		return err
	}
	gomod := fmt.Sprintf("module %s\n\ngo %s\n", SDKModule, SDKGoVersion)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		return err
	}
	for _, name := range SDKFiles() {
		src, err := SDK.ReadFile(path.Join("sdk", name))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(pkg, name), src, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// TemplateNames lists the names of the templates, sorted.
func TemplateNames() []string {
	entries, _ := fs.ReadDir(Templates, "templates")
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".go.tmpl"); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// Template returns the source of the template name (a main.go).
func Template(name string) ([]byte, error) {
	src, err := Templates.ReadFile(path.Join("templates", name+".go.tmpl"))
	if err != nil || strings.Contains(name, "/") {
		return nil, fmt.Errorf("no template %q (templates: %s)", name, strings.Join(TemplateNames(), ", "))
	}
	return src, nil
}
