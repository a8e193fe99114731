package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"flowlab/host/gobuild"
	"flowlab/wasmops"
)

// operator is `flowlab operator init DIR [-template NAME]`: a standalone
// module for a new Wasm operator, with the SDK beside it, that builds offline.
func operator(_ context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "init" {
		return errors.New("operator: want operator init DIR [-template NAME]")
	}
	fs := flag.NewFlagSet("operator init", flag.ContinueOnError)
	tmpl := fs.String("template", "map", "start from `template`: "+strings.Join(wasmops.TemplateNames(), ", "))
	// The flag may come before or after DIR.
	var dirs []string
	rest := args[1:]
	for {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		dirs = append(dirs, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(dirs) != 1 {
		return errors.New("operator init: want one DIR")
	}
	dir := dirs[0]
	src, err := wasmops.Template(*tmpl)
	if err != nil {
		return fmt.Errorf("operator init: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	name := moduleName(filepath.Base(abs))
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("operator init: %s is not empty", dir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("operator init: %w", err)
	}
	if err := gobuild.WriteModule(dir, name, src); err != nil {
		return fmt.Errorf("operator init: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte(operatorReadme(name, *tmpl)), 0o644); err != nil {
		return fmt.Errorf("operator init: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s (a %s operator); build it in %s with:\n\n\t%s\n", dir, *tmpl, dir, buildCommand(name))
	return nil
}

// moduleName makes a module path (one element) of a directory's name.
func moduleName(base string) string {
	name := regexp.MustCompile(`[^A-Za-z0-9._~-]+`).ReplaceAllString(base, "-")
	name = strings.Trim(name, ".-")
	if name == "" {
		return "operator"
	}
	return name
}

func buildCommand(name string) string {
	return "GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o " + name + ".wasm ."
}

func operatorReadme(name, tmpl string) string {
	return fmt.Sprintf(`# %[1]s

A Flowlab Wasm operator, started from the %[2]q template (`+"`flowlab operator init`"+`).
The operator is main.go; ./flowlab holds the Go SDK (flowlab/wasmops/sdk),
which go.mod points to with a replace directive, so it builds offline.

## Build

`+"```sh\n%[3]s\n```"+`

(Go 1.24 or later; `+"`go doc flowlab/wasmops/sdk`"+` here shows the SDK.)

## Upload

Open the playground (`+"`flowlab serve`"+`), go to the Operators page and upload
%[1]s.wasm; a job spec then names it `+"`upload:%[1]s`"+`. Headless, a spec run with
`+"`flowlab run -job FILE`"+` can name the file itself: `+"`operator: %[1]s.wasm`"+`
(a path relative to the spec).
`, name, tmpl, buildCommand(name))
}
