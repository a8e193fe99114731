package host

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"flowlab/runtime"
)

// Operator name forms a spec may use besides the built-ins.
const (
	BundledPrefix = "wasm:"   // an example operator in wasmops/, bundled in the binary
	UploadPrefix  = "upload:" // an operator uploaded in this session
)

// Resolver resolves the operator names of a spec: built-ins first, then
// "wasm:NAME" from bundled (a file NAME/NAME.wasm in it), then a path ending
// in .wasm relative to dir (only if dir is not empty: the CLI's spec
// directory). Modules are compiled on first use and cached.
func (h *Host) Resolver(ctx context.Context, bundled fs.FS, dir string) runtime.Resolver {
	return func(name string) (runtime.OperatorType, error) {
		typ, builtinErr := runtime.Builtins(name)
		if builtinErr == nil {
			return typ, nil
		}
		var wasm []byte
		var err error
		switch {
		case strings.HasPrefix(name, BundledPrefix):
			if wasm, err = ReadBundled(bundled, name); err != nil {
				return nil, err
			}
		case strings.HasSuffix(name, ".wasm") && dir != "":
			file := name
			if !filepath.IsAbs(file) {
				file = filepath.Join(dir, file)
			}
			if wasm, err = os.ReadFile(file); err != nil {
				return nil, fmt.Errorf("operator %s: %w", name, err)
			}
		default:
			return nil, fmt.Errorf("%v, bundled: %s, or a path ending in .wasm", builtinErr, strings.Join(Bundled(bundled), ", "))
		}
		m, err := h.Compile(ctx, name, wasm)
		if err != nil {
			return nil, err
		}
		return m.OperatorType(), nil
	}
}

// ReadBundled reads the module of a bundled operator, "wasm:NAME": the
// file NAME/NAME.wasm of bundled.
func ReadBundled(bundled fs.FS, name string) ([]byte, error) {
	op, ok := strings.CutPrefix(name, BundledPrefix)
	if !ok || !fs.ValidPath(op) || strings.Contains(op, "/") {
		return nil, fmt.Errorf("invalid bundled operator name %q: want %sNAME", name, BundledPrefix)
	}
	wasm, err := fs.ReadFile(bundled, path.Join(op, op+".wasm"))
	if err != nil {
		return nil, fmt.Errorf("no bundled operator %q (bundled: %s)", name, strings.Join(Bundled(bundled), ", "))
	}
	return wasm, nil
}

// Bundled lists the names ("wasm:NAME") of the operators in bundled.
func Bundled(bundled fs.FS) []string {
	var names []string
	entries, _ := fs.ReadDir(bundled, ".")
	for _, e := range entries {
		if _, err := fs.Stat(bundled, path.Join(e.Name(), e.Name()+".wasm")); err == nil {
			names = append(names, BundledPrefix+e.Name())
		}
	}
	sort.Strings(names)
	return names
}

// UploadResolver resolves "upload:NAME" with find, which looks NAME up in
// the uploads of a session (or of a lesson run) and, when it is not there,
// lists the names there are; any other name goes to next. The sessions of
// the playground and `flowlab lesson verify` share it.
func UploadResolver(next runtime.Resolver, find func(name string) (runtime.OperatorType, []string)) runtime.Resolver {
	return func(name string) (runtime.OperatorType, error) {
		op, ok := strings.CutPrefix(name, UploadPrefix)
		if !ok {
			return next(name)
		}
		typ, names := find(op)
		if typ != nil {
			return typ, nil
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("no operator %q was uploaded in this session: upload it on the Operators page first", name)
		}
		uploaded := make([]string, len(names))
		for i, n := range names {
			uploaded[i] = UploadPrefix + n
		}
		sort.Strings(uploaded)
		return nil, fmt.Errorf("no operator %q was uploaded in this session (uploaded: %s)", name, strings.Join(uploaded, ", "))
	}
}
