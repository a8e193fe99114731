package host

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/host/internal/instrument"
	"flowlab/runtime"
)

// A Host with a cache directory keeps instrumented modules there, and a new
// Host uses them; an entry that is not whole is instrumented again.
func TestHost_InstrumentCache(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	wasm := hostileWasm(t, "loop") // small, instrumented, and it must stay stoppable
	sum := sha256.Sum256(wasm)
	want, err := instrument.Instrument(wasm)
	require.NoError(t, err)
	want = mergeDataSegments(want)

	compile := func() {
		t.Helper()
		h, err := New(ctx, sandbox().WithCacheDir(dir))
		require.NoError(t, err)
		defer h.Close(ctx)
		m, err := h.Compile(ctx, "loop.wasm", wasm)
		require.NoError(t, err)
		op, err := m.newOperator(newTestContext(), []byte("{}"))
		require.NoError(t, err)
		defer op.Close()
		err = op.Process(runtime.NewBatch(runtime.Record{Value: []byte("x")}), nil)
		assert.ErrorContains(t, err, "stopped after running longer than the limit", "the module is instrumented")
	}
	compile()
	files, err := filepath.Glob(filepath.Join(dir, "flowlab-instrument-*", hex.EncodeToString(sum[:])+".wasm"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	got, ok := readInstrumented(files[0])
	require.True(t, ok)
	assert.Equal(t, want, got)

	compile() // from the cache

	// A torn write, a flipped bit: instrumented again, and the entry rewritten.
	for _, corrupt := range []func([]byte) []byte{
		func(b []byte) []byte { return b[:len(b)/2] },
		func(b []byte) []byte { b[len(b)/2] ^= 1; return b },
		func([]byte) []byte { return nil },
	} {
		b, err := os.ReadFile(files[0])
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(files[0], corrupt(bytes.Clone(b)), 0o600))
		_, ok := readInstrumented(files[0])
		assert.False(t, ok)
		compile()
		got, ok := readInstrumented(files[0])
		require.True(t, ok)
		assert.Equal(t, want, got)
	}
}

// Without a cache directory nothing is written.
func TestHost_InstrumentCache_None(t *testing.T) {
	ctx := context.Background()
	h, err := New(ctx, sandbox().WithCacheDir(""))
	require.NoError(t, err)
	defer h.Close(ctx)
	_, err = h.Compile(ctx, "loop.wasm", hostileWasm(t, "loop"))
	require.NoError(t, err)
	assert.Len(t, instrumenterVersion(), 16)
}
