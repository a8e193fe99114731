package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMemTotal(t *testing.T) {
	n, ok := memTotal(strings.NewReader("MemFree: 10 kB\nMemTotal:       16318480 kB\n"))
	require.True(t, ok)
	assert.Equal(t, int64(16318480)<<10, n)
	_, ok = memTotal(strings.NewReader("nothing\n"))
	assert.False(t, ok)
	assert.Positive(t, defaultMemory())
}

func TestByteSize_Set(t *testing.T) {
	for in, want := range map[string]int64{"4GiB": 4 << 30, "512 MiB": 512 << 20, "2g": 2 << 30, "1.5GiB": 3 << 29, "1073741824": 1 << 30} {
		var b byteSize
		require.NoError(t, b.Set(in), in)
		assert.Equal(t, want, int64(b), in)
	}
	var b byteSize = 8 << 30
	assert.Equal(t, "8GiB", b.String())
	for _, in := range []string{"", "lots", "-1GiB", "0", "4 PiB"} {
		assert.Error(t, b.Set(in), in)
	}
}
