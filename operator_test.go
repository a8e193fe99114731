package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/host"
)

// `flowlab operator init` writes a module that builds offline with plain go
// build into a module the host accepts.
func TestOperatorInit(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no Go toolchain")
	}
	dir := filepath.Join(t.TempDir(), "my-op")
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"flowlab", "operator", "init", dir, "-template", "timers"}, &out))
	assert.Contains(t, out.String(), "GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o my-op.wasm .")
	for _, f := range []string{"go.mod", "main.go", "README.md", "flowlab/go.mod", "flowlab/wasmops/sdk/operator.go"} {
		assert.FileExists(t, filepath.Join(dir, f))
	}
	assert.NoFileExists(t, filepath.Join(dir, "flowlab/wasmops/sdk/sdk_test.go"))

	err = run(context.Background(), []string{"flowlab", "operator", "init", dir}, &out)
	assert.ErrorContains(t, err, "is not empty")

	if testing.Short() {
		t.Skip("builds an operator")
	}
	cmd := exec.Command(goBin, "build", "-buildmode=c-shared", "-o", "my-op.wasm", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOPROXY=off", "GOFLAGS=-mod=mod", "GOWORK=off", "CGO_ENABLED=0")
	log, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", log)
	wasm, err := os.ReadFile(filepath.Join(dir, "my-op.wasm"))
	require.NoError(t, err)
	h, err := host.New(context.Background(), host.NewConfig().WithCacheDir(""))
	require.NoError(t, err)
	defer h.Close(context.Background())
	_, err = h.Compile(context.Background(), "upload:my-op", wasm)
	require.NoError(t, err)
}
