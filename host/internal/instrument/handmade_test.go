package instrument

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
)

// Hand-assembled modules, for encodings wabt 1.0.32 cannot write (typed
// function references, try_table/exnref) and for malformed input.

func leb(v uint32) []byte { return appendLEB(nil, v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// sec is a section: id, size, content.
func sec(id byte, content ...[]byte) []byte {
	c := cat(content...)
	return cat([]byte{id}, leb(uint32(len(c))), c)
}

// vec is a vector: count, items.
func vec(items ...[]byte) []byte { return cat(append([][]byte{leb(uint32(len(items)))}, items...)...) }

// str is a name.
func str(s string) []byte { return cat(leb(uint32(len(s))), []byte(s)) }

// body is a size-prefixed function body: locals vector, then code.
func body(locals []byte, code ...byte) []byte {
	c := cat(locals, code)
	return cat(leb(uint32(len(c))), c)
}

func module(sections ...[]byte) []byte {
	return cat([]byte("\x00asm\x01\x00\x00\x00"), cat(sections...))
}

var (
	typeI32toI32 = []byte{0x60, 0x01, 0x7F, 0x01, 0x7F}
	typeI32toNil = []byte{0x60, 0x01, 0x7F, 0x00}
	typeNil      = []byte{0x60, 0x00, 0x00}
	noLocals     = []byte{0x00}
)

// funcrefsModule uses typed function references: (ref null 0) locals and
// block types, ref.func, br_on_null, br_on_non_null, ref.as_non_null,
// call_ref and return_call_ref.
func funcrefsModule() []byte {
	return module(
		sec(secType, vec(typeI32toI32)),
		sec(secFunction, vec([]byte{0}, []byte{0}, []byte{0})),
		sec(secExport, vec(cat(str("callref"), []byte{0, 1}), cat(str("tailref"), []byte{0, 2}))),
		sec(secElement, vec([]byte{0x03, 0x00, 0x01, 0x00})), // declarative: func 0
		sec(secCode, vec(
			body(noLocals, 0x20, 0x00, 0x41, 0x01, 0x6A, 0x0B), // local.get 0  i32.const 1  i32.add
			body([]byte{0x01, 0x01, 0x63, 0x00}, // (local (ref null 0))
				0xD2, 0x00, 0x21, 0x01, // ref.func 0  local.set 1
				0x02, 0x40, 0x20, 0x01, 0xD5, 0x00, 0x1A, 0x0B, // block  local.get 1  br_on_null 0  drop  end
				0x02, 0x64, 0x00, 0x20, 0x01, 0xD6, 0x00, 0xD2, 0x00, 0x0B, 0x1A, // block (result (ref 0))  local.get 1  br_on_non_null 0  ref.func 0  end  drop
				0x03, 0x63, 0x00, 0x20, 0x01, 0x0B, 0x1A, // loop (result (ref null 0))  local.get 1  end  drop
				0x20, 0x00, 0x20, 0x01, 0xD4, 0x14, 0x00, 0x0B), // local.get 0  local.get 1  ref.as_non_null  call_ref 0
			body(noLocals, 0x20, 0x00, 0xD2, 0x00, 0x15, 0x00, 0x0B), // local.get 0  ref.func 0  return_call_ref 0
		)),
	)
}

// exnrefModule uses the exception handling proposal's final encoding: a tag
// section, try_table with catch and catch_all_ref clauses, throw and
// throw_ref, an exnref block type, and a loop inside a try_table.
func exnrefModule() []byte {
	return module(
		sec(secType, vec(typeI32toI32, typeI32toNil, typeNil)),
		sec(secFunction, vec([]byte{0}, []byte{2})),
		sec(secTag, vec([]byte{0x00, 0x01})), // tag 0: (param i32)
		sec(secExport, vec(cat(str("catch"), []byte{0, 0}))),
		sec(secCode, vec(
			body(noLocals,
				0x02, 0x7F, // block (result i32)
				0x1F, 0x40, 0x01, 0x00, 0x00, 0x00, //   try_table (catch 0 0)
				0x03, 0x40, 0x0B, //     loop end
				0x20, 0x00, 0x08, 0x00, //     local.get 0  throw 0
				0x0B,       //   end
				0x41, 0x00, //   i32.const 0
				0x0B,             // end
				0x41, 0x01, 0x6A, // i32.const 1  i32.add
				0x0B),
			body(noLocals,
				0x02, 0x69, // block (result exnref)
				0x1F, 0x40, 0x01, 0x03, 0x00, //   try_table (catch_all_ref 0)
				0x41, 0x07, 0x08, 0x00, //     i32.const 7  throw 0
				0x0B, //   end
				0x00, //   unreachable
				0x0B, // end
				0x0A, // throw_ref
				0x0B),
		)),
	)
}

func TestHandmadeModules(t *testing.T) {
	for _, c := range []struct {
		name   string
		wasm   []byte
		fn     string
		funcs  uint32 // functions: the index of $sampled
		checks int
	}{
		{"funcrefs", funcrefsModule(), "callref", 3, 3 + 1},
		{"exnref", exnrefModule(), "catch", 2, 2 + 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := Instrument(c.wasm)
			require.NoError(t, err)
			// No globals, memory or exports of its own... except the exports.
			assert.Equal(t, c.checks, bytes.Count(out, checkSequence(added{0, 1, 2, c.funcs}, false)))
			for _, e := range engines {
				t.Run(e.name, func(t *testing.T) {
					ctx, r := newRuntime(t, e.cfg())
					callIn, err := instantiate(t, ctx, r, c.wasm).ExportedFunction(c.fn).Call(ctx, 41)
					require.NoError(t, err)
					assert.Equal(t, []uint64{42}, callIn)
					mod := instantiate(t, ctx, r, out)
					got, err := mod.ExportedFunction(c.fn).Call(ctx, 41)
					require.NoError(t, err)
					assert.Equal(t, callIn, got)
					stopFlag(t, mod).Set(1)
					trapsSoon(t, ctx, mod.ExportedFunction(c.fn), 41)
				})
			}
		})
	}
}

func TestGCInstructionsRejected(t *testing.T) {
	m := module(
		sec(secType, vec(typeNil)),
		sec(secFunction, vec([]byte{0})),
		sec(secCode, vec(body(noLocals, 0xFB, 0x0F, 0x0B))), // array.len
	)
	_, err := Instrument(m)
	require.EqualError(t, err, "section 10 at offset 18: function 0 at offset 21: unknown opcode 0xfb at offset 23 (GC instructions are not supported)")
}

func TestErrors(t *testing.T) {
	hdr := "\x00asm\x01\x00\x00\x00"
	oneFunc := func(code ...byte) []byte {
		return module(
			sec(secType, vec(typeNil)),
			sec(secFunction, vec([]byte{0})),
			sec(secCode, vec(body(noLocals, code...))),
		)
	}
	// In oneFunc modules the code section is at offset 18, the body at 21,
	// its locals at 22 and the first instruction at 23.
	for _, c := range []struct {
		name string
		wasm []byte
		want string // the whole error, or a part of it after "..."
	}{
		{"nil", nil, `not a WebAssembly module: missing \0asm magic`},
		{"text", []byte("(module)"), `not a WebAssembly module: missing \0asm magic`},
		{"no version", []byte("\x00asm"), "not a WebAssembly module: truncated version"},
		{"version 2", []byte("\x00asm\x02\x00\x00\x00"), "unsupported WebAssembly version 2"},
		{"component", []byte("\x00asm\x0d\x00\x01\x00"), "unsupported WebAssembly version 65549"},
		{"truncated section", []byte(hdr + "\x0a\x10\x01"), "section 10 at offset 8: truncated (size 16, 1 bytes left)"},
		{"truncated section size", []byte(hdr + "\x0a\x80"), "section 10 at offset 8: truncated section size"},
		{"unknown section", []byte(hdr + "\x0e\x00"), "section 14 at offset 8: unknown section id"},
		{"out of order", module(sec(secFunction, vec()), sec(secType, vec())), "section 1 at offset 11: duplicate or out of order"},
		{"duplicate", module(sec(secType, vec()), sec(secType, vec())), "section 1 at offset 11: duplicate or out of order"},
		{"data count after code", module(sec(secCode, vec()), sec(secDataCount, leb(0))), "section 12 at offset 11: duplicate or out of order"},
		{"unknown opcode", oneFunc(0x17, 0x0B), "section 10 at offset 18: function 0 at offset 21: unknown opcode 0x17 at offset 23"},
		{"unknown opcode later", oneFunc(0x01, 0x01, 0xFF, 0x0B), "...unknown opcode 0xff at offset 25"},
		{"unknown simd", oneFunc(0xFD, 0x9A, 0x01, 0x0B), "...unknown opcode 0xfd 0x9a at offset 23"},
		{"unknown simd 2-byte", oneFunc(0xFD, 0x94, 0x02, 0x0B), "...unknown opcode 0xfd 0x114 at offset 23"},
		{"unknown 0xfc", oneFunc(0xFC, 0x12, 0x0B), "...unknown opcode 0xfc 0x12 at offset 23"},
		{"unknown 0xfe", oneFunc(0xFE, 0x04, 0x0B), "...unknown opcode 0xfe 0x04 at offset 23"},
		{"fence flags", oneFunc(0xFE, 0x03, 0x01, 0x0B), "...invalid atomic.fence flags in instruction at offset 23"},
		{"bad block type", oneFunc(0x02, 0x50, 0x0B, 0x0B), "...invalid block type in instruction at offset 23"},
		{"negative type index", oneFunc(0x02, 0xFF, 0x7F, 0x0B, 0x0B), "...invalid block type in instruction at offset 23"},
		{"bad select type", oneFunc(0x1C, 0x01, 0x50, 0x0B), "...invalid value type in instruction at offset 23"},
		{"bad catch", oneFunc(0x1F, 0x40, 0x01, 0x04, 0x00, 0x0B, 0x0B), "...invalid catch clause in instruction at offset 23"},
		{"long LEB", oneFunc(0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x0B), "...malformed LEB128 in instruction at offset 23"},
		{"truncated immediate", oneFunc(0x44, 0x00, 0x00), "...truncated instruction at offset 23"},
		{"truncated v128.const", oneFunc(0xFD, 0x0C, 0x00), "...truncated instruction at offset 23"},
		{"missing end", oneFunc(0x01), "...body at offset 22 ends inside a block (missing end)"},
		{"unclosed block", oneFunc(0x02, 0x40, 0x0B), "...missing end"},
		{"code after end", oneFunc(0x0B, 0x01), "...function ends at offset 23, 1 bytes before the end of its body"},
		{"delegate outside try", oneFunc(0x18, 0x00, 0x0B), "...delegate at offset 23 outside any try"},
		{"bad local type", module(sec(secType, vec(typeNil)), sec(secFunction, vec([]byte{0})),
			sec(secCode, vec(body([]byte{0x01, 0x01, 0x50}, 0x0B)))), "...invalid value type in locals at offset 22"},
		{"too many locals", module(sec(secType, vec(typeNil)), sec(secFunction, vec([]byte{0})),
			sec(secCode, vec(body([]byte{0x02, 0xD0, 0x86, 0x03, 0x7F, 0x01, 0x7E}, 0x0B)))), "function 0: 50001 locals, more than the limit of 50000"},
		{"missing body", module(sec(secType, vec(typeNil)), sec(secFunction, vec([]byte{0}, []byte{0})),
			sec(secCode, []byte{0x02}, body(noLocals, 0x0B))), "...function 1 at offset 25: truncated (section declares 2 bodies, has 1)"},
		{"body past section", module(sec(secType, vec(typeNil)), sec(secFunction, vec([]byte{0})),
			sec(secCode, []byte{0x01, 0x09, 0x00, 0x0B})), "...function 0 at offset 21: truncated (body size 9, 2 bytes left in section)"},
		{"trailing bytes in code", module(sec(secType, vec(typeNil)), sec(secFunction, vec([]byte{0})),
			sec(secCode, vec(body(noLocals, 0x0B)), []byte{0x00})), "...1 bytes after the last function body"},
		{"type past the types", module(sec(secType, vec(typeNil)), sec(secFunction, vec([]byte{1})),
			sec(secCode, vec(body(noLocals, 0x0B)))), "section 3 at offset 14: function 0 at offset 17: type 1 does not exist (module has 1)"},
		{"more bodies than functions", module(sec(secType, vec(typeNil)), sec(secFunction, vec([]byte{0})),
			sec(secCode, vec(body(noLocals, 0x0B), body(noLocals, 0x0B)))), "section 10 at offset 18: 2 function bodies for 1 functions"},
		{"no code section", module(sec(secType, vec(typeNil)), sec(secFunction, vec([]byte{0}))), "no code section for 1 functions"},
		{"global.set of the stop global", oneFunc(0x41, 0x00, 0x24, 0x00, 0x0B), "...instruction at offset 25 uses global 0, which does not exist (module has 0)"},
		{"global.get of the tick global", module(
			sec(secType, vec(typeNil)), sec(secFunction, vec([]byte{0})),
			sec(secGlobal, vec([]byte{0x7F, 0x00, 0x41, 0x00, 0x0B})),
			sec(secCode, vec(body(noLocals, 0x23, 0x02, 0x1A, 0x0B)))), "...instruction at offset 31 uses global 2, which does not exist (module has 1)"},
		{"exported stop global", module(sec(secExport, vec(cat(str("g"), []byte{0x03, 0x00})))),
			`section 7 at offset 8: export "g" at offset 11: global 0 does not exist (module has 0)`},
		{"already instrumented", module(sec(secExport, vec(cat(str(StopExport), []byte{0x00, 0x00})))),
			`module already exports "flowlab_stop" (export 0 at offset 11)`},
		{"unknown import kind", module(sec(secImport, vec(cat(str("a"), str("b"), []byte{0x05, 0x00})))),
			"section 2 at offset 8: import 0 at offset 11: unknown import kind 0x05"},
		{"bad limits", module(sec(secImport, vec(cat(str("a"), str("b"), []byte{0x02, 0x10, 0x00})))),
			"section 2 at offset 8: import 0 at offset 11: invalid limits flags in import type"},
		{"truncated import", module(sec(secImport, vec(cat(str("a"), str("b"))))),
			"section 2 at offset 8: import 0 at offset 11: truncated name"},
		{"trailing bytes in imports", module(sec(secImport, vec(), []byte{0x00})),
			"section 2 at offset 8: 1 bytes after the last import"},
		{"export kind", module(sec(secExport, vec(cat(str("x"), []byte{0x07, 0x00})))),
			"section 7 at offset 8: export 0 at offset 11: unknown export kind 0x07"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := Instrument(c.wasm)
			require.Error(t, err)
			assert.Nil(t, out)
			if rest, ok := strings.CutPrefix(c.want, "..."); ok {
				assert.Contains(t, err.Error(), rest)
			} else {
				assert.EqualError(t, err, c.want)
			}
			// wazero rejects these modules too: Instrument refuses nothing
			// that would have run.
			if c.name != "already instrumented" && c.name != "too many locals" {
				r := wazero.NewRuntimeWithConfig(t.Context(), wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(allFeatures))
				defer r.Close(t.Context())
				_, werr := r.CompileModule(t.Context(), c.wasm)
				assert.Error(t, werr, "wazero accepts it")
			}
		})
	}
}

// TestEmptyMemorySection checks that a memory section declaring no memory is
// replaced, not duplicated.
func TestEmptyMemorySection(t *testing.T) {
	in := module(sec(secType, vec(typeNil)), sec(secFunction, vec([]byte{0})), sec(secMemory, vec()),
		sec(secCode, vec(body(noLocals, 0x0B))))
	out, err := Instrument(in)
	require.NoError(t, err)
	secs := sections(t, out)
	var mems int
	for _, s := range secs {
		if s.id == secMemory {
			mems++
			assert.Equal(t, newMemory[:], s.content)
		}
	}
	assert.Equal(t, 1, mems)
	assert.Equal(t, len(out), cap(out))
	r := wazero.NewRuntimeWithConfig(t.Context(), wazero.NewRuntimeConfigInterpreter())
	defer r.Close(t.Context())
	_, err = r.CompileModule(t.Context(), out)
	require.NoError(t, err)
}
