package gobuild

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/host"
	"flowlab/host/internal/diskcache"
	flowruntime "flowlab/runtime"
	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
	"flowlab/wasmops"
)

// sharedCache is one Go build cache for the tests that run the real go
// command, so that only the first build of the SDK is cold.
var sharedCache = sync.OnceValue(func() string {
	dir, err := os.MkdirTemp("", "gobuild-test-cache-")
	if err != nil {
		panic(err)
	}
	return dir
})

func TestMain(m *testing.M) {
	code := m.Run()
	os.RemoveAll(sharedCache())
	os.Exit(code)
}

// newBuilder returns a builder with the real go command, sharing the tests'
// build cache, or skips the test if there is no Go toolchain.
func newBuilder(t *testing.T, cfg Config) *Builder {
	t.Helper()
	b, err := New(cfg.WithCacheDir(sharedCache()))
	if errors.Is(err, ErrNoToolchain) {
		t.Skipf("no Go toolchain to build operators with: %v", err)
	}
	require.NoError(t, err)
	return b
}

func diagnostics(t *testing.T, err error) []Diagnostic {
	t.Helper()
	var e *Error
	require.ErrorAs(t, err, &e)
	return e.Errors
}

func TestBuilder_Build_Templates(t *testing.T) {
	b := newBuilder(t, NewConfig())
	h, err := host.New(context.Background(), host.NewConfig().WithCacheDir(""))
	require.NoError(t, err)
	t.Cleanup(func() { h.Close(context.Background()) })
	names := wasmops.TemplateNames()
	require.Equal(t, []string{"filter", "flatmap", "keyed-count", "map", "process-batch", "sliding-window", "timers"}, names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			src, err := wasmops.Template(name)
			require.NoError(t, err)
			res, err := b.Build(context.Background(), src)
			require.NoError(t, err)
			assert.Empty(t, res.Warnings)
			t.Logf("%s: %d bytes in %v, max RSS %d MiB", name, len(res.Wasm), res.Duration, res.MaxRSS>>20)
			if raceEnabled && name != "map" {
				return // 10 s of CPU each under the race detector, while other packages' tests run
			}
			_, err = h.Compile(context.Background(), "upload:"+name, res.Wasm)
			require.NoError(t, err, "the host accepts the module")
		})
	}
}

// A built operator runs in a job: a map upper-casing every record passes
// them all on.
func TestBuilder_Build_RunsInAJob(t *testing.T) {
	b := newBuilder(t, NewConfig())
	src, err := wasmops.Template("map")
	require.NoError(t, err)
	res, err := b.Build(context.Background(), src)
	require.NoError(t, err)
	h, err := host.New(context.Background(), host.NewConfig().WithCacheDir(""))
	require.NoError(t, err)
	t.Cleanup(func() { h.Close(context.Background()) })
	m, err := h.Compile(context.Background(), "upload:x", res.Wasm)
	require.NoError(t, err)
	s, err := spec.Parse([]byte(`
name: built
tasks:
  - {name: source, operator: generator, parallelism: 2, config: {count: 3000, rate: 100000}}
  - {name: upper, operator: "upload:x", parallelism: 2}
  - {name: sink, operator: discard}
`))
	require.NoError(t, err)
	j, err := flowruntime.Start(context.Background(), s, func(name string) (flowruntime.OperatorType, error) {
		if name == "upload:x" {
			return m.OperatorType(), nil
		}
		return flowruntime.Builtins(name)
	})
	require.NoError(t, err)
	t.Cleanup(func() { j.Cancel(); <-j.Done() })
	select {
	case <-j.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the job did not finish")
	}
	require.NoError(t, j.Err())
	snap := j.Snapshot()
	assert.Equal(t, metrics.StateFinished, snap.State)
	assert.Equal(t, int64(6000), snap.Vertices[1].Metrics.NumRecordsIn)
	assert.Equal(t, int64(6000), snap.Vertices[1].Metrics.NumRecordsOut)
	assert.Equal(t, int64(6000), snap.Vertices[2].Metrics.NumRecordsIn)
}

const okSource = `package main

import "flowlab/wasmops/sdk"

func main() {}

func init() {
	sdk.MapValue(func(v []byte) []byte { return v })
}
`

func TestBuilder_Build_Errors(t *testing.T) {
	b := newBuilder(t, NewConfig().WithMaxSource(4<<10))
	tests := []struct {
		name   string
		source string
		want   []Diagnostic // each must be among the diagnostics
	}{
		{"compile error at its line and column", `package main

import "flowlab/wasmops/sdk"

func main() {}

func init() {
	sdk.MapValue(func(v []byte) []byte { return nope })
}
`, []Diagnostic{{8, 46, "undefined: nope"}}},
		{"unused variable, with a hint", `package main

import "flowlab/wasmops/sdk"

func main() {}

func init() {
	x := 1
	sdk.MapValue(func(v []byte) []byte { return v })
}
`, []Diagnostic{{8, 2, "declared and not used: x"}, {8, 2, "hint: Go refuses unused variables: use x, or remove it (or assign it to _)"}}},
		{"syntax error", "package main\n\nfunc main() {\n", []Diagnostic{{3, 15, "expected '}', found 'EOF'"}}},
		{"import outside the standard library", `package main

import (
	"github.com/acme/fast"
	"flowlab/host"

	"flowlab/wasmops/sdk"
)

func main() {}
`, []Diagnostic{
			{4, 2, `import "github.com/acme/fast" is not allowed: an operator imports the standard library and flowlab/wasmops/sdk only (builds are offline: there is no module to download)`},
			{5, 2, `import "flowlab/host" is not allowed: of Flowlab, an operator imports flowlab/wasmops/sdk only`},
		}},
		{"cgo", "package main\n\n// #include <stdio.h>\nimport \"C\"\n\nfunc main() {}\n",
			[]Diagnostic{{4, 8, `import "C" is not allowed: operators are built without cgo, in Go only`}}},
		{"go:embed", "package main\n\nimport _ \"embed\"\n\n//go:embed main.go\nvar self string\n\nfunc main() {}\n",
			[]Diagnostic{{5, 1, "//go:embed is not allowed: an operator is one file, main.go, with nothing else to embed"}}},
		{"wrong package", "package upper\n\nfunc main() {}\n",
			[]Diagnostic{{1, 9, "package upper: an operator is a main package: write package main"}}},
		{"no main", "package main\n\nimport \"flowlab/wasmops/sdk\"\n\nfunc init() { sdk.Filter(nil) }\n",
			[]Diagnostic{{1, 9, "func main is missing: add func main() {} (it never runs, but a module built with -buildmode=c-shared needs it; the operator registers itself from func init)"}}},
		{"two operators", `package main

import op "flowlab/wasmops/sdk"

func main() {}

func init() {
	op.MapValue(func(v []byte) []byte { return v })
	op.Filter(func(op.Record) bool { return true })
}
`, []Diagnostic{{9, 2, "op.Filter registers a second operator, after op.MapValue on line 8: a module is exactly one operator, and the SDK panics when the module starts; keep one, and make a second operator in a second module"}}},
		{"too big", "package main\n" + strings.Repeat("// padding\n", 500),
			[]Diagnostic{{0, 0, "the source is 5513 bytes, more than the limit of 4096 bytes (4 KiB)"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.Build(context.Background(), []byte(tt.source))
			ds := diagnostics(t, err)
			for _, want := range tt.want {
				assert.Contains(t, ds, want)
			}
		})
	}
}

func TestBuilder_Build_Warnings(t *testing.T) {
	b := newBuilder(t, NewConfig())
	res, err := b.Build(context.Background(), []byte(`package main

import (
	"fmt"

	"flowlab/wasmops/sdk"
)

func main() {}

func init() {
	sdk.MapValue(func(v []byte) []byte { return []byte(fmt.Sprint(len(v))) })
}
`))
	require.NoError(t, err)
	require.Len(t, res.Warnings, 1)
	assert.Equal(t, 4, res.Warnings[0].Line)
	assert.Contains(t, res.Warnings[0].Message, "fmt adds about 0.4 MB")
}

// The temporary module is removed after a build, whether it worked or not.
func TestBuilder_Build_RemovesItsModule(t *testing.T) {
	b := newBuilder(t, NewConfig())
	dir := sharedCache()
	for _, src := range []string{okSource, strings.Replace(okSource, "return v", "return w", 1)} {
		_, err := b.Build(context.Background(), []byte(src))
		_ = err
		entries, err := os.ReadDir(filepath.Join(dir, "work"))
		require.NoError(t, err)
		assert.Empty(t, entries)
	}
}

// fakeGo writes a shell script standing for the go command: it answers
// `go env` as the real one would and runs body for anything else.
func fakeGo(t *testing.T, body string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("needs sh")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("needs sh")
	}
	dir := t.TempDir()
	script := fmt.Sprintf("#!%s\nif [ \"$1\" = env ]; then echo /fake/goroot; echo go1.99; exit 0; fi\n%s\n", sh, body)
	file := filepath.Join(dir, "go")
	require.NoError(t, os.WriteFile(file, []byte(script), 0o755))
	return file
}

// The go command sees exactly the scrubbed environment: no proxy, no user
// settings, nothing of the server's environment.
func TestBuilder_Build_Environment(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	t.Setenv("HTTPS_PROXY", "http://proxy.example:3128")
	t.Setenv("GOFLAGS", "-tags=evil")
	out := filepath.Join(t.TempDir(), "environ")
	goBin := fakeGo(t, fmt.Sprintf("/bin/cat /proc/$$/environ > %s\necho fake > out.wasm", out))
	dir := t.TempDir()
	b, err := New(NewConfig().WithGo(goBin).WithCacheDir(dir))
	require.NoError(t, err)
	res, err := b.Build(context.Background(), []byte(okSource))
	require.NoError(t, err)
	assert.Equal(t, "fake\n", string(res.Wasm))
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	env := strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00")
	var home string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "HOME="); ok {
			home = v
		}
	}
	require.True(t, strings.HasPrefix(home, filepath.Join(dir, "work", "build-")), home)
	want := []string{
		"CGO_ENABLED=0",
		"GOARCH=wasm",
		"GOCACHE=" + filepath.Join(dir, "gobuild-cache"),
		"GOENV=off",
		"GOFLAGS=-mod=mod",
		"GOMODCACHE=" + filepath.Join(dir, "modcache"),
		"GOOS=wasip1",
		"GOPROXY=off",
		"GOSUMDB=off",
		"GOTELEMETRY=off",
		"GOTOOLCHAIN=local",
		"GOWORK=off",
		"HOME=" + home,
		"PATH=" + filepath.Dir(goBin),
	}
	slices.Sort(env)
	assert.Equal(t, want, env)
}

// A build that takes too long is stopped at the limit, with everything the
// go command started (its process group).
func TestBuilder_Build_Timeout(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	// The fake go starts a child (as go starts compile) and both sleep.
	goBin := fakeGo(t, fmt.Sprintf("/bin/sleep 60 &\necho $! > %s\n/bin/sleep 60", pidFile))
	b, err := New(NewConfig().WithGo(goBin).WithCacheDir(t.TempDir()).WithTimeout(2 * time.Second))
	require.NoError(t, err)
	start := time.Now()
	_, err = b.Build(context.Background(), []byte(okSource))
	elapsed := time.Since(start)
	assert.Equal(t, []Diagnostic{{Message: "the build took longer than the limit of 2s and was stopped"}}, diagnostics(t, err))
	assert.Less(t, elapsed, 10*time.Second)
	data, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return syscall.Kill(pid, 0) != nil // gone (the test reaps nothing: init does)
	}, 5*time.Second, 50*time.Millisecond, "the go command's child %d was killed", pid)
}

// Builds beyond the limit at once get ErrBusy, not a queue.
func TestBuilder_Build_Busy(t *testing.T) {
	started := filepath.Join(t.TempDir(), "started")
	goBin := fakeGo(t, fmt.Sprintf(": > %s.$$\n/bin/sleep 2\necho fake > out.wasm", started))
	b, err := New(NewConfig().WithGo(goBin).WithCacheDir(t.TempDir()).WithMaxConcurrent(2))
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() { _, errs[i] = b.Build(context.Background(), []byte(okSource)) })
	}
	require.Eventually(t, func() bool {
		m, _ := filepath.Glob(started + ".*")
		return len(m) == 2
	}, 5*time.Second, 10*time.Millisecond)
	_, err = b.Build(context.Background(), []byte(okSource))
	assert.ErrorIs(t, err, ErrBusy)
	wg.Wait()
	assert.NoError(t, errs[0])
	assert.NoError(t, errs[1])
	_, err = b.Build(context.Background(), []byte(okSource))
	assert.NoError(t, err, "free again")
}

func TestBuilder_Build_OutputLimit(t *testing.T) {
	goBin := fakeGo(t, "/bin/dd if=/dev/zero of=out.wasm bs=1024 count=8 2>/dev/null")
	b, err := New(NewConfig().WithGo(goBin).WithCacheDir(t.TempDir()).WithMaxOutput(4 << 10))
	require.NoError(t, err)
	_, err = b.Build(context.Background(), []byte(okSource))
	assert.Equal(t, []Diagnostic{{Message: "the module is 8192 bytes, more than the limit of 4096 bytes (0 MiB)"}}, diagnostics(t, err))
}

func TestNew_Errors(t *testing.T) {
	_, err := New(NewConfig().WithGo(filepath.Join(t.TempDir(), "nogo")))
	assert.ErrorIs(t, err, ErrNoToolchain)
	assert.Contains(t, err.Error(), "no Go toolchain found")
	var b *Builder
	assert.ErrorIs(t, b.Available(), ErrNoToolchain)
	_, err = b.Build(context.Background(), []byte(okSource))
	assert.ErrorIs(t, err, ErrNoToolchain)
	_, err = New(NewConfig().WithTimeout(0))
	assert.Error(t, err)
	_, err = New(NewConfig().WithMaxConcurrent(0))
	assert.Error(t, err)
}

func TestParseOutput(t *testing.T) {
	out := "# operator\n./main.go:7:2: undefined: x\n/tmp/b/operator/main.go:9: bad\n\thave int\n\twant string\nflowlab/wasmops/sdk/x.go:1:1: sdk broke\n/tmp/b: too many errors\n"
	assert.Equal(t, []Diagnostic{
		{7, 2, "undefined: x"},
		{9, 0, "bad\nhave int\nwant string"},
		{0, 0, "flowlab/wasmops/sdk/x.go:1:1: sdk broke"},
		{0, 0, ".: too many errors"},
	}, parseOutput(out, "/tmp/b"))
}

// The shared build cache is trimmed, oldest files first, when a build leaves
// it beyond the limit.
func TestBuilder_Build_TrimsCache(t *testing.T) {
	goBin := fakeGo(t, `/bin/mkdir -p "$GOCACHE/00" && /bin/dd if=/dev/zero of="$GOCACHE/00/$$-d" bs=1024 count=40 2>/dev/null; echo fake > out.wasm`)
	b, err := New(NewConfig().WithGo(goBin).WithCacheDir(t.TempDir()).WithCacheLimit(100 << 10))
	require.NoError(t, err)
	for range 6 {
		_, err := b.Build(context.Background(), []byte(okSource))
		require.NoError(t, err)
		assert.LessOrEqual(t, diskcache.Size(b.gocache), int64(100<<10))
		time.Sleep(10 * time.Millisecond) // distinct modification times
	}
	assert.Positive(t, diskcache.Size(b.gocache))
}
