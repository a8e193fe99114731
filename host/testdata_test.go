package host

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rebuild is a command in a testdata .wat file's comments that builds a
// committed .wasm from it: "wat2wasm [FLAGS] NAME.wat -o NAME.wasm".
var rebuild = regexp.MustCompile(`wat2wasm((?: --?[a-z-]+)*) (\S+\.wat) -o (\S+\.wasm)`)

// Every .wasm in testdata is what its .wat's rebuild command makes of it.
func TestTestdata_UpToDate(t *testing.T) {
	wat2wasm, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Skip("no wat2wasm (apt-get install wabt)")
	}
	sources, err := filepath.Glob("testdata/*.wat")
	require.NoError(t, err)
	built := 0
	for _, src := range sources {
		text, err := os.ReadFile(src)
		require.NoError(t, err)
		for _, m := range rebuild.FindAllStringSubmatch(string(text), -1) {
			flags, wat, wasm := m[1], m[2], m[3]
			require.Equal(t, filepath.Base(src), wat, "%s builds another file", src)
			out := filepath.Join(t.TempDir(), wasm)
			args := append(regexp.MustCompile(`\S+`).FindAllString(flags, -1), src, "-o", out)
			log, err := exec.Command(wat2wasm, args...).CombinedOutput()
			require.NoError(t, err, "%s", log)
			want, err := os.ReadFile(filepath.Join("testdata", wasm))
			require.NoError(t, err)
			got, err := os.ReadFile(out)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(want, got), "testdata/%s is not what %s builds: run the command in its comment", wasm, src)
			built++
		}
	}
	assert.GreaterOrEqual(t, built, len(sources), "a rebuild command per source at least")
}
