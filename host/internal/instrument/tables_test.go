package instrument

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
)

// sleb is a signed LEB128 i32.
func sleb(v int32) []byte {
	var b []byte
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// tableLimits returns the limits of the tables of the table section of wasm:
// min and max (-1: none).
func tableLimits(t *testing.T, wasm []byte) [][2]int64 {
	t.Helper()
	var out [][2]int64
	for _, s := range sections(t, wasm) {
		if s.id != secTable {
			continue
		}
		n, rest := uleb(t, s.content)
		for range n {
			rest = rest[1:] // funcref or externref
			flags := rest[0]
			var min, max uint64
			min, rest = uleb(t, rest[1:])
			lim := [2]int64{int64(min), -1}
			if flags&1 != 0 {
				max, rest = uleb(t, rest)
				lim[1] = int64(max)
			}
			out = append(out, lim)
		}
	}
	return out
}

func tablesModule(tables ...[]byte) []byte {
	return module(sec(secTable, vec(tables...)))
}

func TestInstrument_Tables(t *testing.T) {
	funcref := func(limits ...byte) []byte { return append([]byte{0x70}, limits...) }
	in := tablesModule(
		funcref(0x00, 0x05),                           // 5, no maximum
		funcref(0x01, 0x05, 0x0A),                     // 5..10
		cat(funcref(0x01, 0x00), leb(1<<31)),          // 0..2^31
		cat([]byte{0x6F, 0x00}, leb(MaxTableEntries)), // externref, limit, no maximum
	)
	out, err := Instrument(in)
	require.NoError(t, err)
	assert.Equal(t, [][2]int64{{5, -1}, {5, 10}, {0, 1 << 31}, {MaxTableEntries, -1}}, tableLimits(t, in))
	assert.Equal(t, [][2]int64{{5, MaxTableEntries}, {5, 10}, {0, MaxTableEntries}, {MaxTableEntries, MaxTableEntries}}, tableLimits(t, out))
	assert.Equal(t, len(out), cap(out), "output size")
	require.NoError(t, compiles(out))
}

func TestInstrument_Tables_Errors(t *testing.T) {
	many := make([][]byte, MaxTables+1)
	for i := range many {
		many[i] = []byte{0x70, 0x00, 0x00}
	}
	importTable := func(min uint32) []byte {
		return cat(str("env"), str("t"), []byte{0x01, 0x70, 0x00}, leb(min))
	}
	for _, c := range []struct {
		name string
		wasm []byte
		want string
	}{
		{"minimum", tablesModule([]byte{0x70, 0x00, 0x00}, cat([]byte{0x70, 0x00}, leb(MaxTableEntries+1))),
			fmt.Sprintf("%d entries in table 1, more than the limit of %d", MaxTableEntries+1, MaxTableEntries)},
		{"tables", tablesModule(many...), fmt.Sprintf("%d tables, more than the limit of %d", MaxTables+1, MaxTables)},
		{"imported and defined", module(sec(secImport, vec(importTable(0))), sec(secTable, vec(many[1:]...))),
			fmt.Sprintf("%d tables, more than the limit of %d", MaxTables+1, MaxTables)},
		{"imported minimum", module(sec(secImport, vec(importTable(MaxTableEntries+1)))),
			fmt.Sprintf("%d entries in imported table 0, more than the limit of %d", MaxTableEntries+1, MaxTableEntries)},
		{"shared", tablesModule([]byte{0x70, 0x03, 0x00, 0x01}), "section 4 at offset 8: table 0 at offset 11: invalid limits flags 0x03"},
		{"with an initializer", tablesModule([]byte{0x40, 0x00, 0x70, 0x00, 0x00, 0xD0, 0x70, 0x0B}),
			"section 4 at offset 8: table 0 at offset 11: table with an initializer expression in table type"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := Instrument(c.wasm)
			assert.Nil(t, out)
			assert.EqualError(t, err, c.want)
		})
	}
}

// tableGrowModule has a table of no maximum and two functions () -> i32:
// grow_loop grows it by 1000 entries until table.grow returns -1 and
// returns its size; grow_huge grows it by 50 M entries at once and returns
// what table.grow returned.
func tableGrowModule() []byte {
	return module(
		sec(secType, vec([]byte{0x60, 0x00, 0x01, 0x7F})),
		sec(secFunction, vec([]byte{0}, []byte{0})),
		sec(secTable, vec([]byte{0x70, 0x00, 0x00})),
		sec(secExport, vec(cat(str("grow_loop"), []byte{0, 0}), cat(str("grow_huge"), []byte{0, 1}))),
		sec(secCode, vec(
			body(noLocals, cat(
				[]byte{0x03, 0x40}, // loop
				[]byte{0xD0, 0x70}, // ref.null func
				[]byte{0x41}, sleb(1000),
				[]byte{0xFC, 0x0F, 0x00},             // table.grow 0
				[]byte{0x41}, sleb(-1), []byte{0x47}, // i32.const -1  i32.ne
				[]byte{0x04, 0x40, 0x0C, 0x01, 0x0B}, // if  br 1  end
				[]byte{0x0B},                         // end
				[]byte{0xFC, 0x10, 0x00},             // table.size 0
				[]byte{0x0B})...),
			body(noLocals, cat([]byte{0xD0, 0x70, 0x41}, sleb(50_000_000), []byte{0xFC, 0x0F, 0x00, 0x0B})...),
		)),
	)
}

// A table declared without a maximum stops growing at MaxTableEntries:
// table.grow returns -1 from there on, without allocating.
func TestInstrument_TableGrow(t *testing.T) {
	out, err := Instrument(tableGrowModule())
	require.NoError(t, err)
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	defer r.Close(ctx)
	mod, err := r.Instantiate(ctx, out)
	require.NoError(t, err)
	res, err := mod.ExportedFunction("grow_huge").Call(ctx)
	require.NoError(t, err)
	assert.Equal(t, int32(-1), int32(res[0]), "a grow past the limit fails")
	res, err = mod.ExportedFunction("grow_loop").Call(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(MaxTableEntries), res[0], "the table grew to the limit and no further")
	res, err = mod.ExportedFunction("grow_huge").Call(ctx)
	require.NoError(t, err)
	assert.Equal(t, int32(-1), int32(res[0]))
}

// The start section is removed and its function exported as StartExport,
// so that instantiating runs nothing.
func TestInstrument_Start(t *testing.T) {
	in := module(
		sec(secType, vec(typeNil)),
		sec(secFunction, vec([]byte{0}, []byte{0})),
		sec(secExport, vec(cat(str("f"), []byte{0, 0}))),
		sec(secStart, leb(1)),
		sec(secCode, vec(body(noLocals, 0x0B), body(noLocals, 0x03, 0x40, 0x0C, 0x00, 0x0B, 0x0B))), // loop br 0 end
	)
	out, err := Instrument(in)
	require.NoError(t, err)
	assert.Equal(t, len(out), cap(out), "output size")
	for _, s := range sections(t, out) {
		assert.NotEqual(t, byte(secStart), s.id, "start section")
	}
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	defer r.Close(ctx)
	cm, err := r.CompileModule(ctx, out)
	require.NoError(t, err)
	assert.Equal(t, []string{"f", SampledExport, StartExport}, slices.Sorted(maps.Keys(cm.ExportedFunctions())))
	assert.Equal(t, uint32(1), cm.ExportedFunctions()[StartExport].Index(), "function index")
	// Instantiating returns: the loop has not run.
	mod, err := r.InstantiateModule(ctx, cm, wazero.NewModuleConfig())
	require.NoError(t, err)
	require.NotNil(t, mod.ExportedFunction(StartExport))
}

func TestInstrument_Start_Errors(t *testing.T) {
	for _, c := range []struct {
		name string
		wasm []byte
		want string
	}{
		{"already exported", module(sec(secExport, vec(cat(str(StartExport), []byte{0x00, 0x00})))),
			`module already exports "flowlab_start" (export 0 at offset 11)`},
		{"trailing bytes", module(sec(secStart, leb(0), []byte{0x00})), "section 8 at offset 8: 1 bytes after the start function"},
		{"truncated", module(sec(secStart, []byte{0x80})), "section 8 at offset 8: truncated start function"},
		{"start is $sampled", module(sec(secType, vec(typeI32toNil)), sec(secFunction, vec([]byte{0})), sec(secStart, leb(1)),
			sec(secCode, vec(body(noLocals, 0x0B)))), "section 8 at offset 19: start function 1 does not exist (module has 1)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := Instrument(c.wasm)
			assert.Nil(t, out)
			assert.EqualError(t, err, c.want)
		})
	}
}
