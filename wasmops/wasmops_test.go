package wasmops

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every example operator folder (NAME/NAME.wasm) is bundled.
func TestFS(t *testing.T) {
	entries, err := os.ReadDir(".")
	require.NoError(t, err)
	var want, got []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(e.Name(), e.Name()+".wasm")); err == nil {
			want = append(want, e.Name())
		}
	}
	err = fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			got = append(got, path.Dir(p))
		}
		return err
	})
	require.NoError(t, err)
	sort.Strings(got)
	assert.Equal(t, want, got)
	assert.Contains(t, got, "upper")
}

// The committed .wasm files are what build.sh builds from the sources beside
// them, byte for byte. A toolchain that is absent, or of another version
// than the one in toolchains.txt, is skipped.
func TestBuild_UpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every module")
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	out := t.TempDir()
	cmd := exec.Command("sh", "build.sh", out)
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	log, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", log)
	t.Logf("%s", log)

	versions := func(file string) map[string]string {
		b, _ := os.ReadFile(file)
		m := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			tool, version, _ := strings.Cut(line, " ")
			m[tool] = version
		}
		return m
	}
	committed, current := versions("toolchains.txt"), versions(filepath.Join(out, "toolchains.txt"))

	built, err := filepath.Glob(filepath.Join(out, "*", "*.wasm"))
	require.NoError(t, err)
	require.NotEmpty(t, built, "build.sh built nothing")
	for _, file := range built {
		rel, _ := filepath.Rel(out, file)
		tool := toolchain(rel)
		if committed[tool] != current[tool] {
			t.Logf("%s: not compared: built with %s %s, committed with %s", rel, tool, current[tool], committed[tool])
			continue
		}
		want, err := os.ReadFile(rel)
		require.NoError(t, err)
		got, err := os.ReadFile(file)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want, got), "%s is not what build.sh builds from its source: run wasmops/build.sh and commit it", rel)
	}
}

// toolchain names the toolchain that builds a module, by its source.
func toolchain(rel string) string {
	dir, name := filepath.Split(rel)
	name = strings.TrimSuffix(name, ".wasm")
	switch {
	case exists(filepath.Join(dir, name+".wat")):
		return "wat2wasm" // hostile/NAME.wat
	case exists(filepath.Join(dir, name, "main.go")):
		return "go" // hostile/NAME/main.go
	case exists(filepath.Join(dir, "main.go")):
		return "go"
	}
	if cs, _ := filepath.Glob(filepath.Join(dir, "*.c")); len(cs) > 0 {
		return "clang"
	}
	return "wat2wasm"
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
