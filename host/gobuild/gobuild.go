package gobuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"flowlab/wasmops"
)

// ErrBusy is returned by Build when the limit of builds at once is reached:
// try again later (HTTP 429).
var ErrBusy = errors.New("too many operator builds at once: try again in a moment")

// ErrNoToolchain is wrapped by the error of New, and returned by the methods
// of a nil *Builder, when there is no usable Go toolchain.
var ErrNoToolchain = errors.New("no Go toolchain found: building operators from source is off (uploading .wasm files still works)")

// Builder builds operators; it is safe for concurrent use. A nil *Builder
// builds nothing: Available and Build return ErrNoToolchain.
type Builder struct {
	cfg      Config
	goBin    string // absolute path of the go command
	work     string // temporary modules
	gocache  string
	modcache string
	sem      chan struct{}
	trim     sync.RWMutex // builds hold it shared, trimming the cache exclusive
}

// Result is a built module.
type Result struct {
	Wasm     []byte
	Duration time.Duration // of the go command
	MaxRSS   int64         // peak memory of the go command and its children (the largest), in bytes; 0 if unknown
	// Warnings are hints that did not stop the build, such as the size an
	// import of fmt adds.
	Warnings []Diagnostic
}

// New makes a builder: it finds the go command (cfg's, else "go" on PATH)
// and checks that `go env GOROOT` works. Without a toolchain the error wraps
// ErrNoToolchain and says why; the caller shows it and keeps uploads working.
func New(cfg Config) (*Builder, error) {
	switch {
	case cfg.timeout <= 0:
		return nil, fmt.Errorf("gobuild: timeout %v: must be positive", cfg.timeout)
	case cfg.maxSource <= 0:
		return nil, fmt.Errorf("gobuild: max source %d: must be positive", cfg.maxSource)
	case cfg.maxOutput <= 0:
		return nil, fmt.Errorf("gobuild: max output %d: must be positive", cfg.maxOutput)
	case cfg.maxConcurrent <= 0:
		return nil, fmt.Errorf("gobuild: max concurrent %d: must be positive", cfg.maxConcurrent)
	case cfg.cacheDir == "":
		return nil, errors.New("gobuild: no cache directory (no user cache directory: set one with WithCacheDir)")
	}
	goBin := cfg.goPath
	if goBin == "" {
		goBin = "go"
	}
	found, err := exec.LookPath(goBin)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoToolchain, err)
	}
	if found, err = filepath.Abs(found); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoToolchain, err)
	}
	b := &Builder{
		cfg:      cfg,
		goBin:    found,
		work:     filepath.Join(cfg.cacheDir, "work"),
		gocache:  filepath.Join(cfg.cacheDir, "gobuild-cache"),
		modcache: filepath.Join(cfg.cacheDir, "modcache"),
		sem:      make(chan struct{}, cfg.maxConcurrent),
	}
	for _, dir := range []string{b.work, b.gocache, b.modcache} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("gobuild: %w", err)
		}
	}
	home, err := os.MkdirTemp(b.work, "env-")
	if err != nil {
		return nil, fmt.Errorf("gobuild: %w", err)
	}
	defer os.RemoveAll(home)
	if err := makeHome(home); err != nil {
		return nil, fmt.Errorf("gobuild: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.goBin, "env", "GOROOT", "GOVERSION")
	cmd.Dir = home
	cmd.Env = b.env(home)
	out, err := cmd.CombinedOutput()
	lines := strings.Fields(string(out))
	if err != nil || len(lines) != 2 {
		return nil, fmt.Errorf("%w: %s env GOROOT: %v %s", ErrNoToolchain, b.goBin, err, bytes.TrimSpace(out))
	}
	return b, nil
}

// Available is nil if builds can run, else why not.
func (b *Builder) Available() error {
	if b == nil {
		return ErrNoToolchain
	}
	if _, err := os.Stat(b.goBin); err != nil {
		return fmt.Errorf("%w: %v", ErrNoToolchain, err)
	}
	return nil
}

// env is the go command's whole environment: wasip1, no cgo, no network, no
// toolchain switch, no user settings, caches in the builder's directory.
func (b *Builder) env(home string) []string {
	return []string{
		"GOOS=wasip1",
		"GOARCH=wasm",
		"CGO_ENABLED=0",
		"GOTOOLCHAIN=local",
		"GOPROXY=off",
		"GOFLAGS=-mod=mod",
		"GOWORK=off",
		"GOSUMDB=off",
		"GOCACHE=" + b.gocache,
		"GOMODCACHE=" + b.modcache,
		"HOME=" + home,
		"PATH=" + filepath.Dir(b.goBin),
		"GOENV=off",
		"GOTELEMETRY=off",
	}
}

// Build builds source, the main.go of an operator, into a Wasm module. A
// refused source or a compile error is an *Error with its Diagnostics; a
// build beyond the limit of builds at once is ErrBusy.
func (b *Builder) Build(ctx context.Context, source []byte) (*Result, error) {
	if err := b.Available(); err != nil {
		return nil, err
	}
	if len(source) > b.cfg.maxSource {
		return nil, refuse(Diagnostic{Message: fmt.Sprintf("the source is %d bytes, more than the limit of %d bytes (%d KiB)", len(source), b.cfg.maxSource, b.cfg.maxSource>>10)})
	}
	warnings, err := check(source)
	if err != nil {
		return nil, err
	}
	select {
	case b.sem <- struct{}{}:
	default:
		return nil, ErrBusy
	}
	defer func() { <-b.sem }()
	b.trim.RLock()
	res, err := b.build(ctx, source)
	b.trim.RUnlock()
	b.trimCache()
	if res != nil {
		res.Warnings = warnings
	}
	return res, err
}

// build runs the go command in a fresh temporary module, removed afterwards.
func (b *Builder) build(ctx context.Context, source []byte) (*Result, error) {
	dir, err := os.MkdirTemp(b.work, "build-")
	if err != nil {
		return nil, fmt.Errorf("gobuild: %w", err)
	}
	defer os.RemoveAll(dir)
	mod, home := filepath.Join(dir, "operator"), filepath.Join(dir, "home")
	if err := writeModule(mod, "operator", source); err != nil {
		return nil, fmt.Errorf("gobuild: %w", err)
	}
	if err := makeHome(home); err != nil {
		return nil, fmt.Errorf("gobuild: %w", err)
	}

	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, b.cfg.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.goBin, "build", "-buildmode=c-shared", "-trimpath", "-buildvcs=false",
		"-ldflags=-buildid=", "-o", "out.wasm", ".")
	cmd.Dir = mod
	cmd.Env = b.env(home)
	var out limitedBuffer
	out.max = 64 << 10
	cmd.Stdout, cmd.Stderr = &out, &out
	setProcessGroup(cmd)
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	runErr := cmd.Run()
	res := &Result{Duration: time.Since(start)}
	if cmd.ProcessState != nil {
		res.MaxRSS = maxRSS(cmd)
	}
	if err := parent.Err(); err != nil {
		return nil, fmt.Errorf("gobuild: %w", err)
	}
	if ctx.Err() != nil {
		return nil, refuse(Diagnostic{Message: fmt.Sprintf("the build took longer than the limit of %v and was stopped", b.cfg.timeout)})
	}
	if runErr != nil {
		var exit *exec.ExitError
		if !errors.As(runErr, &exit) {
			return nil, fmt.Errorf("gobuild: %s build: %w", b.goBin, runErr)
		}
		return nil, &Error{Errors: withHints(parseOutput(out.String(), dir))}
	}
	wasmFile := filepath.Join(mod, "out.wasm")
	fi, err := os.Stat(wasmFile)
	if err != nil {
		return nil, fmt.Errorf("gobuild: %w", err)
	}
	if fi.Size() > int64(b.cfg.maxOutput) {
		return nil, refuse(Diagnostic{Message: fmt.Sprintf("the module is %d bytes, more than the limit of %d bytes (%d MiB)", fi.Size(), b.cfg.maxOutput, b.cfg.maxOutput>>20)})
	}
	if res.Wasm, err = os.ReadFile(wasmFile); err != nil {
		return nil, fmt.Errorf("gobuild: %w", err)
	}
	return res, nil
}

// WriteModule writes a standalone operator module to dir (which must exist
// or be creatable): go.mod for module name, main.go = source, and the SDK in
// ./flowlab with a replace directive, so that it builds offline with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o NAME.wasm .
func WriteModule(dir, name string, source []byte) error {
	return writeModule(dir, name, source)
}

func writeModule(dir, name string, source []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	gomod := fmt.Sprintf("module %s\n\ngo %s\n\nrequire %s v0.0.0\n\nreplace %s => ./flowlab\n",
		name, wasmops.SDKGoVersion, wasmops.SDKModule, wasmops.SDKModule)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), source, 0o644); err != nil {
		return err
	}
	return wasmops.WriteSDK(filepath.Join(dir, "flowlab"))
}

// makeHome makes the go command's HOME: with telemetry off, which only its
// config file there can say (GOTELEMETRY is read-only): otherwise the go
// command counts into HOME, and may leave a process behind that writes there
// after it exits.
func makeHome(home string) error {
	dir := filepath.Join(home, ".config", "go", "telemetry")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "mode"), []byte("off"), 0o600)
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (w *limitedBuffer) Write(p []byte) (int, error) {
	if room := w.max - w.Len(); len(p) > room {
		w.Buffer.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return w.Buffer.Write(p)
}
