package diskcache

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// write makes a file of size bytes, modified age ago.
func write(t *testing.T, path string, size int, age time.Duration) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, make([]byte, size), 0o644))
	mod := time.Now().Add(-age)
	require.NoError(t, os.Chtimes(path, mod, mod))
}

func TestTrim(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a", "oldest"), 100, 4*time.Hour)
	write(t, filepath.Join(dir, "kept"), 100, 3*time.Hour)
	write(t, filepath.Join(dir, "b", "old"), 100, 2*time.Hour)
	write(t, filepath.Join(dir, "new"), 100, time.Hour)
	assert.Equal(t, int64(400), Size(dir))

	Trim(dir, 400, 100, nil)
	assert.Equal(t, int64(400), Size(dir), "within the limit: nothing goes")

	Trim(dir, 399, 200, func(path string) bool { return filepath.Base(path) == "kept" })
	assert.NoFileExists(t, filepath.Join(dir, "a", "oldest"))
	assert.FileExists(t, filepath.Join(dir, "kept"))
	assert.NoFileExists(t, filepath.Join(dir, "b", "old"))
	assert.FileExists(t, filepath.Join(dir, "new"))
	assert.Equal(t, int64(200), Size(dir))
}
