package host

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"

	"flowlab/host/internal/instrument"
	"flowlab/wasmops"
)

// Merging the data segments of every bundled and hostile module leaves the
// memory an instance starts with as it was, byte for byte. (The tests that
// run the modules, examples_test.go and hostile_test.go, run them merged.)
func TestMergeDataSegments_Modules(t *testing.T) {
	mods := map[string][]byte{}
	require.NoError(t, fs.WalkDir(wasmops.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			mods[p], err = wasmops.FS.ReadFile(p)
		}
		return err
	}))
	hostile, err := filepath.Glob(filepath.Join(hostileDir, "*.wasm"))
	require.NoError(t, err)
	for _, p := range hostile {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		mods[p] = b
	}
	merged := 0
	for name, wasm := range mods {
		inst, err := instrument.Instrument(wasm)
		if err != nil {
			continue // rejected: random.wasm, forbidden-import.wasm, ...
		}
		t.Run(path.Base(name), func(t *testing.T) {
			out := mergeDataSegments(inst)
			if bytes.Equal(out, inst) {
				return
			}
			merged++
			before, ok := dataSegments(dataSection(t, inst))
			require.True(t, ok)
			after, ok := dataSegments(dataSection(t, out))
			require.True(t, ok)
			assert.Less(t, len(after), len(before)/100, "Go's segments are merged")
			assert.True(t, bytes.Equal(memoryImage(before), memoryImage(after)), "memory after instantiation differs")
			assert.Equal(t, withoutSection(inst, 11), withoutSection(out, 11), "only the data section changed")
		})
	}
	assert.NotZero(t, merged, "the Go modules are merged")
}

// memoryImage is memory after the segments are copied into it, in order.
func memoryImage(segs []dataSegment) []byte {
	var mem []byte
	for _, s := range segs {
		if end := int(s.offset) + len(s.data); end > len(mem) {
			mem = append(mem, make([]byte, end-len(mem))...)
		}
		copy(mem[s.offset:], s.data)
	}
	return mem
}

func withoutSection(wasm []byte, id byte) []byte {
	out := slices.Clone(wasm[:8])
	for p := 8; p < len(wasm); {
		size, q, _ := leb32(wasm, p+1)
		if wasm[p] != id {
			out = append(out, wasm[p:q+int(size)]...)
		}
		p = q + int(size)
	}
	return out
}

func dataSection(t *testing.T, wasm []byte) []byte {
	t.Helper()
	for p := 8; p < len(wasm); {
		size, q, ok := leb32(wasm, p+1)
		require.True(t, ok)
		if wasm[p] == 11 {
			return wasm[q : q+int(size)]
		}
		p = q + int(size)
	}
	t.Fatal("no data section")
	return nil
}

// module assembles a module of a memory of one page and the given sections
// after it.
func module(sections ...[]byte) []byte {
	b := []byte("\x00asm\x01\x00\x00\x00")
	b = append(b, 5, 3, 1, 0, 1) // memory section: one memory, min 1 page
	for _, s := range sections {
		b = append(b, s...)
	}
	return b
}

func section(id byte, contents ...byte) []byte {
	return append(appendLEB([]byte{id}, uint32(len(contents))), contents...)
}

// activeSegment is an active segment for memory 0 at an i32.const offset.
func activeSegment(offset int32, data string) []byte {
	b := appendSLEB([]byte{0, 0x41}, offset)
	b = append(b, 0x0b)
	return append(appendLEB(b, uint32(len(data))), data...)
}

func dataSec(segs ...[]byte) []byte {
	contents := appendLEB(nil, uint32(len(segs)))
	for _, s := range segs {
		contents = append(contents, s...)
	}
	return section(11, contents...)
}

func TestMergeDataSegments(t *testing.T) {
	t.Run("merged", func(t *testing.T) {
		in := module(dataSec(activeSegment(100, "cd"), activeSegment(10, "ab"), activeSegment(102, "ef"), activeSegment(9000, "far")),
			section(0, append([]byte{4}, "name"...)...))
		out := mergeDataSegments(in)
		want := module(dataSec(activeSegment(10, "ab"+strings.Repeat("\x00", 88)+"cdef"), activeSegment(9000, "far")),
			section(0, append([]byte{4}, "name"...)...))
		assert.Equal(t, want, out)
		_, err := wazero.NewRuntime(context.Background()).CompileModule(context.Background(), out)
		assert.NoError(t, err)
	})
	t.Run("offsets as unsigned", func(t *testing.T) {
		in := module(dataSec(activeSegment(-8, "x"), activeSegment(5, "y")))
		out := mergeDataSegments(in)
		assert.Equal(t, module(dataSec(activeSegment(5, "y"), activeSegment(-8, "x"))), out, "-8 is 4 GiB - 8: last")
	})
	for name, in := range map[string][]byte{
		"overlap":      module(dataSec(activeSegment(10, "abcd"), activeSegment(12, "xy"))),
		"one segment":  module(dataSec(activeSegment(10, "abcd"))),
		"passive":      module(dataSec(activeSegment(10, "ab"), []byte{1, 2, 'c', 'd'})),
		"global.get":   module(dataSec(activeSegment(10, "ab"), []byte{0, 0x23, 0, 0x0b, 1, 'x'})),
		"memory 1":     module(dataSec(activeSegment(10, "ab"), []byte{2, 1, 0x41, 20, 0x0b, 1, 'x'})),
		"data count":   module(section(12, 2), dataSec(activeSegment(10, "ab"), activeSegment(20, "cd"))),
		"truncated":    module(dataSec(activeSegment(10, "ab"), activeSegment(20, "cd")))[:28],
		"bad size":     append(module(), 11, 0xff, 0xff, 0xff, 0xff, 0x0f),
		"not wasm":     []byte("\x00asn\x01\x00\x00\x00"),
		"extra bytes":  module(section(11, append(dataSec(activeSegment(10, "ab"), activeSegment(20, "cd"))[2:], 0)...)),
		"no data":      module(),
		"i64 offset":   module(dataSec(activeSegment(10, "ab"), []byte{0, 0x42, 20, 0x0b, 1, 'x'})),
		"long leb":     module(dataSec(activeSegment(10, "ab"), []byte{0, 0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x0b, 1, 'x'})),
		"big sleb i32": module(dataSec(activeSegment(10, "ab"), []byte{0, 0x41, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x0b, 1, 'x'})),
	} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, in, mergeDataSegments(in), "left alone")
		})
	}
}

func FuzzMergeDataSegments(f *testing.F) {
	f.Add(module(dataSec(activeSegment(100, "cd"), activeSegment(10, "ab"), activeSegment(102, "ef"))))
	f.Add(module(dataSec(activeSegment(10, "abcd"), activeSegment(12, "xy"))))
	f.Fuzz(func(t *testing.T, wasm []byte) {
		out := mergeDataSegments(wasm) // must not panic
		if bytes.Equal(out, wasm) {
			return
		}
		// What was merged holds the same bytes at the same offsets.
		before, ok1 := dataSegments(dataSection(t, wasm))
		after, ok2 := dataSegments(dataSection(t, out))
		require.True(t, ok1 && ok2)
		mem := func(segs []dataSegment) map[uint64]byte {
			m := map[uint64]byte{}
			for _, s := range segs {
				for i, c := range s.data {
					if c != 0 {
						m[uint64(s.offset)+uint64(i)] = c
					}
				}
			}
			return m
		}
		assert.Equal(t, mem(before), mem(after))
	})
}
