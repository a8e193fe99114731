package host

import (
	"bytes"
	"context"
	"os"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memoryKinds are the two ways an instance gets its linear memory: mapped
// (Linux) and on the Go heap (elsewhere, and as wazero does by itself).
var memoryKinds = []struct {
	name string
	cfg  func(Config) Config
}{
	{"mapped", func(c Config) Config { return c }},
	{"heap", Config.withHeapMemory},
}

// The memory limit holds whichever way memory is made: an instance grows to
// it and not a page further, and all of it is usable.
func TestLinearMemory_Limit(t *testing.T) {
	for _, kind := range memoryKinds {
		t.Run(kind.name, func(t *testing.T) {
			h := cachedHost(t, kind.cfg(NewConfig().WithMemoryLimit(3<<20)))
			op := newTestOperator(t, compileBundled(t, h, "wat-upper"), "{}")
			mem := op.inst.mem
			pages, ok := mem.Grow(0)
			require.True(t, ok)
			_, ok = mem.Grow(3<<20/pageSize - pages)
			require.True(t, ok, "grown to the limit")
			assert.Equal(t, uint32(3<<20), mem.Size())
			_, ok = mem.Grow(1)
			assert.False(t, ok, "grown past the limit")
			assert.Equal(t, uint32(3<<20), mem.Size())
			require.True(t, mem.WriteByte(3<<20-1, 7))
			b, _ := mem.ReadByte(3<<20 - 1)
			assert.Equal(t, byte(7), b)
		})
	}
}

// A fresh instance's memory is what the module makes it, whatever the
// instance before it left in memory: its first pages as the first
// instance's were, the rest zero up to the limit.
func TestLinearMemory_FreshIsZero(t *testing.T) {
	for _, kind := range memoryKinds {
		t.Run(kind.name, func(t *testing.T) {
			const limit = 2 << 20
			m := compileBundled(t, cachedHost(t, kind.cfg(NewConfig().WithMemoryLimit(limit))), "c-upper")
			var initial []byte
			for range 5 {
				op := newTestOperator(t, m, "{}")
				mem := op.inst.mem
				b, ok := mem.Read(0, mem.Size())
				require.True(t, ok)
				if initial == nil {
					initial = bytes.Clone(b)
				}
				require.Equal(t, initial, b, "the first pages")
				pages, ok := mem.Grow(0)
				require.True(t, ok)
				_, ok = mem.Grow(limit/pageSize - pages)
				require.True(t, ok)
				rest, _ := mem.Read(pages*pageSize, limit-pages*pageSize)
				require.Equal(t, -1, bytes.IndexFunc(rest, func(r rune) bool { return r != 0 }), "a byte not zero past the first pages")
				all, _ := mem.Read(0, limit)
				for i := range all { // dirty all of it for the next instance
					all[i] = 0xa5
				}
				require.NoError(t, op.Close())
			}
		})
	}
}

// The mapped memory of an instance is unmapped when the instance closes:
// a thousand instances made and closed leave no mapping behind.
func TestLinearMemory_ClosedUnmapped(t *testing.T) {
	if goruntime.GOOS != "linux" {
		t.Skip("linear memory is mapped on Linux only")
	}
	m := compileBundled(t, cachedHost(t, NewConfig()), "wat-upper")
	op := newTestOperator(t, m, "{}") // one of everything wazero keeps per module
	op.Close()
	maps, open := mappings(t), mappedBytes()
	for range 1000 {
		op, err := m.newOperator(newTestContext(), []byte("{}"))
		require.NoError(t, err)
		require.Equal(t, open+int64(op.inst.mem.Size()), mappedBytes())
		require.NoError(t, op.Close())
	}
	assert.Equal(t, open, mappedBytes(), "bytes mapped and open")
	// A leak would be a thousand mappings; the Go runtime may have made a
	// few of its own meanwhile.
	assert.Less(t, mappings(t)-maps, 50, "mappings in /proc/self/maps")
}

// mappings counts the mappings of the process.
func mappings(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/maps")
	require.NoError(t, err)
	return bytes.Count(b, []byte("\n"))
}

// Closing the Host while an instance is in a call, writing all over its
// memory, neither crashes the guest nor keeps the pages: the call ends at its
// deadline.
func TestLinearMemory_HostClosedDuringCall(t *testing.T) {
	if goruntime.GOOS != "linux" {
		t.Skip("linear memory is mapped on Linux only")
	}
	h, err := New(context.Background(), sandbox().WithMemoryLimit(4<<20))
	require.NoError(t, err)
	op, err := compileHostile(t, h, "memory-bomb").newOperator(newTestContext(), []byte("{}"))
	require.NoError(t, err)
	before := mappedBytes()
	done := make(chan error, 1)
	go func() { done <- op.Process(batch("k=v"), &recorder{}) }()
	for mappedBytes() < before+4<<20-pageSize { // grown to the limit, writing
		time.Sleep(time.Millisecond)
	}
	open := mappedBytes()
	require.NoError(t, h.Close(context.Background()))
	assert.LessOrEqual(t, mappedBytes(), open-4<<20, "pages given back")
	assert.Error(t, <-done)
	op.Close()
}
