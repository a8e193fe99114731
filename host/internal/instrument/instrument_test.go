package instrument

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

// allFeatures is everything wazero v1.12 can compile.
const allFeatures = api.CoreFeaturesV2 | experimental.CoreFeaturesThreads |
	experimental.CoreFeaturesTailCall | experimental.CoreFeaturesExtendedConst |
	experimental.CoreFeaturesExceptionHandling | experimental.CoreFeaturesTypedFunctionReferences

// moduleCase is one committed test input, testdata/wasm/<name>.wasm (built
// from testdata/wat/<name>.wat or the guest sources by testdata/generate.sh).
type moduleCase struct {
	name      string
	stop      uint32 // index of the stop global (the tick global follows)
	mem64     bool   // memory 0 is 64-bit
	checks    int    // inserted checks: defined functions + loops; -1: not counted
	wazero    bool   // wazero v1.12 can compile it
	wabtFlags string // wasm2wat/wasm-validate flags for the wabt cross-check
}

var moduleCases = []moduleCase{
	{name: "empty", stop: 0, checks: 0, wazero: true},
	{name: "no_sections", stop: 0, checks: 1, wazero: true},
	{name: "imported_globals", stop: 3, checks: 2, wazero: true},
	{name: "existing_globals", stop: 3, checks: 2, wazero: true},
	{name: "datacount", stop: 0, checks: 1, wazero: true},
	{name: "nested_loops", stop: 0, checks: 2 + 6, wazero: true},
	{name: "semantics", stop: 0, checks: 7 + 4, wazero: true},
	{name: "mvp", stop: 1, checks: 5 + 1, wazero: true},
	{name: "signext", stop: 0, checks: 1, wazero: true},
	{name: "multivalue", stop: 0, checks: 2 + 1, wazero: true},
	{name: "reftypes", stop: 0, checks: 1, wazero: true},
	{name: "bulk", stop: 0, checks: 2, wazero: true},
	{name: "tailcall", stop: 0, checks: 2, wazero: true, wabtFlags: "--enable-tail-call"},
	{name: "simd", stop: 0, checks: 1 + 1, wazero: true},
	{name: "threads", stop: 0, checks: 1 + 1, wazero: true, wabtFlags: "--enable-threads"},
	{name: "relaxed_simd", stop: 0, checks: 1 + 1, wabtFlags: "--enable-relaxed-simd"},
	{name: "exceptions_legacy", stop: 0, checks: 3 + 1, wabtFlags: "--enable-exceptions"},
	{name: "multimemory", stop: 0, checks: 1 + 1, wabtFlags: "--enable-multi-memory"},
	{name: "memory64", stop: 0, mem64: true, checks: 1 + 1, wabtFlags: "--enable-memory64"},
	{name: "cguest", stop: 7, checks: -1, wazero: true},
	{name: "goguest", stop: 8, checks: -1, wazero: true},
}

func TestCheckSequence(t *testing.T) {
	require.Equal(t, []byte{0x80, 0x20}, appendLEB(nil, tickInterval), "newGlobals and appendCheck encode 4096")
	require.Equal(t, []byte{
		0x23, 0x81, 0x01, 0x41, 0x01, 0x6B, 0x24, 0x81, 0x01, // global.get 129  i32.const 1  i32.sub  global.set 129
		0x23, 0x81, 0x01, 0x45, 0x04, 0x40, // global.get 129  i32.eqz  if
		0x41, 0x80, 0x20, 0x24, 0x81, 0x01, //   i32.const 4096  global.set 129
		0x23, 0x80, 0x01, 0x04, 0x40, 0x00, 0x0B, //   global.get 128  if  unreachable  end
		0x23, 0x82, 0x01, 0x04, 0x40, 0x41, 0x7F, 0x10, 0xC8, 0x01, 0x0B, //   global.get 130  if  i32.const -1  call 200  end
		0x42, 0x00, 0x40, 0x00, 0x1A, //   i64.const 0  memory.grow 0  drop
		0x0B, // end
	}, checkSequence(added{128, 129, 130, 200}, true))
	require.Equal(t, []byte{
		0x23, 0x02, 0x04, 0x40, 0x41, 0xC0, 0x00, 0x10, 0x80, 0x01, 0x0B, // global.get 2  if  i32.const 64  call 128  end
	}, appendSample(nil, added{0, 1, 2, 128}, 64))
	for _, v := range []int32{0, 1, -1, 63, 64, -64, -65, 8191, 8192, 1 << 30, -1 << 31, 1<<31 - 1} {
		require.Equal(t, sleb(v), appendSLEB(nil, v), "%d", v)
		require.Len(t, sleb(v), slebLen(v), "%d", v)
		require.Len(t, appendSample(nil, added{0, 1, 200, 1 << 20}, v), sampleLen(added{0, 1, 200, 1 << 20}, v))
	}
}

// funcCount returns the number of functions of wasm, imported and defined:
// the index Instrument gives $sampled.
func funcCount(t testing.TB, wasm []byte) uint32 {
	t.Helper()
	n := uint64(0)
	for _, s := range sections(t, wasm) {
		switch s.id {
		case secFunction:
			c, _ := uleb(t, s.content)
			n += c
		case secImport:
			c, rest := uleb(t, s.content)
			for range c {
				var l uint64
				l, rest = uleb(t, rest)
				l, rest = uleb(t, rest[l:])
				rest = rest[l:]
				kind := rest[0]
				rest = rest[1:]
				switch kind {
				case 0:
					n++
					_, rest = uleb(t, rest)
				case 1:
					rest = rest[1:]
					flags := rest[0]
					_, rest = uleb(t, rest[1:])
					if flags&1 != 0 {
						_, rest = uleb(t, rest)
					}
				case 2:
					flags := rest[0]
					_, rest = uleb(t, rest[1:])
					if flags&1 != 0 {
						_, rest = uleb(t, rest)
					}
				case 3:
					rest = rest[2:]
				case 4:
					_, rest = uleb(t, rest[1:])
				}
			}
		}
	}
	return uint32(n)
}

// addedFor returns the indices of what Instrument adds to the module of c.
func addedFor(t testing.TB, c moduleCase, in []byte) added {
	return added{c.stop, c.stop + 1, c.stop + 2, funcCount(t, in)}
}

func readInput(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "wasm", name+".wasm"))
	require.NoError(t, err)
	return b
}

func instrumentCase(t testing.TB, name string) (in, out []byte) {
	t.Helper()
	in = readInput(t, name)
	orig := bytes.Clone(in)
	out, err := Instrument(in)
	require.NoError(t, err)
	require.Equal(t, orig, in, "Instrument modified its input")
	return in, out
}

// rawSection is a section as the tests see it, parsed independently of the
// package's own reader.
type rawSection struct {
	id      byte
	content []byte
}

func uleb(t testing.TB, b []byte) (uint64, []byte) {
	t.Helper()
	v, n := binary.Uvarint(b)
	require.Positive(t, n, "bad LEB128")
	return v, b[n:]
}

func sections(t testing.TB, wasm []byte) []rawSection {
	t.Helper()
	require.Equal(t, "\x00asm\x01\x00\x00\x00", string(wasm[:8]))
	var out []rawSection
	b := wasm[8:]
	for len(b) > 0 {
		id := b[0]
		size, rest := uleb(t, b[1:])
		require.LessOrEqual(t, size, uint64(len(rest)))
		out = append(out, rawSection{id, rest[:size]})
		b = rest[size:]
	}
	return out
}

func customNames(t testing.TB, secs []rawSection) []string {
	var names []string
	for _, s := range secs {
		if s.id == 0 {
			n, rest := uleb(t, s.content)
			names = append(names, string(rest[:n]))
		}
	}
	return names
}

// checkStructure verifies the output's section order, the new type,
// function, globals and exports, and the number of inserted checks.
func checkStructure(t *testing.T, c moduleCase, in, out []byte) {
	secsIn, secsOut := sections(t, in), sections(t, out)
	assert.Equal(t, customNames(t, secsIn), customNames(t, secsOut), "custom sections")
	a := addedFor(t, c, in)

	order := map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}
	last := 0
	var global, export, code []byte
	got := map[byte][]byte{}
	for _, s := range secsOut {
		if s.id == 0 {
			continue
		}
		require.Greater(t, order[s.id], last, "section %d out of order", s.id)
		last = order[s.id]
		got[s.id] = s.content
		switch s.id {
		case 6:
			global = s.content
		case 7:
			export = s.content
		case 10:
			code = s.content
		}
	}
	// Non-custom sections other than type, function, table, global, export
	// and code are unchanged (the test modules have no start section).
	rewritten := func(id byte) bool { return id == 1 || id == 3 || id == 4 || id == 6 || id == 7 || id == 10 }
	var keptIn, keptOut []rawSection
	typesIn, funcsIn := []byte{0}, []byte{0}
	for _, s := range secsIn {
		switch s.id {
		case 1:
			typesIn = s.content
		case 3:
			funcsIn = s.content
		}
		if !rewritten(s.id) {
			keptIn = append(keptIn, s)
		}
	}
	for _, s := range secsOut {
		if s.id == 5 && bytes.Equal(s.content, newMemory[:]) && !hasMemory(t, in) {
			continue // added: the module had no memory
		}
		if !rewritten(s.id) {
			keptOut = append(keptOut, s)
		}
	}
	assert.True(t, hasMemory(t, out), "output has a memory")
	assert.Equal(t, keptIn, keptOut)

	// The type of $sampled is appended to the types, $sampled to the
	// functions.
	nTypes, restTypes := uleb(t, typesIn)
	assert.Equal(t, cat(leb(uint32(nTypes+1)), restTypes, sampledType[:]), got[1], "type section")
	nFuncs, restFuncs := uleb(t, funcsIn)
	assert.Equal(t, cat(leb(uint32(nFuncs+1)), restFuncs, leb(uint32(nTypes))), got[3], "function section")

	require.NotNil(t, global, "global section")
	require.True(t, bytes.HasSuffix(global, newGlobals[:]), "new globals appended: % x", global)
	require.NotNil(t, export, "export section")
	n, rest := uleb(t, export)
	want := map[string][2]uint64{
		StopExport: {3, uint64(a.stop)}, TickExport: {3, uint64(a.tick)},
		SampleExport: {3, uint64(a.sample)}, SampledExport: {0, uint64(a.sampled)},
	}
	found := map[string][2]uint64{}
	for i := uint64(0); i < n; i++ {
		var l uint64
		l, rest = uleb(t, rest)
		name := string(rest[:l])
		kind := rest[l]
		var idx uint64
		idx, rest = uleb(t, rest[l+1:])
		if _, ok := want[name]; ok {
			found[name] = [2]uint64{uint64(kind), idx}
			assert.GreaterOrEqual(t, i, n-4, "%s appended last", name)
		}
	}
	assert.Equal(t, want, found, "added exports")
	assert.Empty(t, rest)

	require.True(t, bytes.HasSuffix(code, appendSampledBody(nil, a)), "$sampled appended: % x", code)
	if c.checks >= 0 {
		chk := checkSequence(a, c.mem64)
		assert.Equal(t, c.checks, bytes.Count(code, chk), "inserted checks")
	}
}

// hasMemory reports whether the module imports or defines a memory.
func hasMemory(t testing.TB, wasm []byte) bool {
	for _, s := range sections(t, wasm) {
		switch s.id {
		case 5:
			if n, _ := uleb(t, s.content); n > 0 {
				return true
			}
		case 2:
			// Scan the imports for kind 2.
			n, rest := uleb(t, s.content)
			for range n {
				var l uint64
				l, rest = uleb(t, rest)
				l2, r2 := uleb(t, rest[l:])
				rest = r2[l2:]
				kind := rest[0]
				rest = rest[1:]
				switch kind {
				case 0:
					_, rest = uleb(t, rest)
				case 1:
					rest = rest[1:]
					flags := rest[0]
					_, rest = uleb(t, rest[1:])
					if flags&1 != 0 {
						_, rest = uleb(t, rest)
					}
				case 2:
					return true
				case 3:
					rest = rest[2:]
				case 4:
					_, rest = uleb(t, rest[1:])
				}
			}
		}
	}
	return false
}

// checkGolden compares out with testdata/golden/<name>.wasm or, for outputs
// over 64 KiB, with the SHA-256 in testdata/golden/<name>.sha256.
func checkGolden(t *testing.T, name string, out []byte) {
	path, data := filepath.Join("testdata", "golden", name+".wasm"), out
	if len(out) > 64<<10 {
		sum := sha256.Sum256(out)
		path, data = filepath.Join("testdata", "golden", name+".sha256"), []byte(hex.EncodeToString(sum[:])+"\n")
	}
	if *update {
		require.NoError(t, os.WriteFile(path, data, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -run TestInstrumentModules -update")
	require.Equal(t, want, data, "output differs from %s", path)
}

func TestInstrumentModules(t *testing.T) {
	for _, c := range moduleCases {
		t.Run(c.name, func(t *testing.T) {
			in, out := instrumentCase(t, c.name)
			require.Equal(t, len(out), cap(out), "output allocated exactly")
			checkStructure(t, c, in, out)

			// Instrumenting is deterministic.
			again, err := Instrument(in)
			require.NoError(t, err)
			require.Equal(t, out, again)

			// Instrumenting twice is refused: the export exists.
			_, err = Instrument(out)
			require.ErrorContains(t, err, `module already exports "flowlab_stop"`)

			checkGolden(t, c.name, out)

			if c.wazero {
				ctx := context.Background()
				r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(allFeatures))
				defer r.Close(ctx)
				cmIn, err := r.CompileModule(ctx, in)
				require.NoError(t, err, "original does not compile")
				cmOut, err := r.CompileModule(ctx, out)
				require.NoError(t, err, "instrumented does not compile")
				assert.Len(t, cmOut.ExportedFunctions(), len(cmIn.ExportedFunctions())+1, "one more: $sampled")
				sampled := cmOut.ExportedFunctions()[SampledExport]
				require.NotNil(t, sampled)
				assert.Equal(t, []api.ValueType{api.ValueTypeI32}, sampled.ParamTypes())
				assert.Empty(t, sampled.ResultTypes())
			}
		})
	}
}

var (
	labelComment = regexp.MustCompile(`\s*;; label = @\d+`)
	labelRef     = regexp.MustCompile(` \(;@\d+;\)`)
)

// wat2lines prints a binary with wabt's wasm2wat and normalises the lines:
// no indentation, no label comments.
func wat2lines(t *testing.T, wasm []byte, flags string) []string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "m.wasm")
	require.NoError(t, os.WriteFile(f, wasm, 0o644))
	args := append(strings.Fields(flags), f)
	if out, err := exec.Command("wasm-validate", args...).CombinedOutput(); err != nil {
		t.Fatalf("wasm-validate: %v\n%s", err, out)
	}
	txt, err := exec.Command("wasm2wat", args...).CombinedOutput()
	require.NoError(t, err, "wasm2wat: %s", txt)
	var lines []string
	for _, l := range strings.Split(string(txt), "\n") {
		l = strings.TrimSpace(l)
		l = labelComment.ReplaceAllString(l, "")
		l = labelRef.ReplaceAllString(l, "")
		lines = append(lines, l)
	}
	return lines
}

// TestAgainstWabt cross-checks the output with an independent decoder: wabt
// must validate it, and its text must be the input's text with exactly one
// check after every function header (and locals) and after every loop, plus
// the new global and export. Skipped where wabt is not installed.
func TestAgainstWabt(t *testing.T) {
	for _, tool := range []string{"wasm2wat", "wasm-validate"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	for _, c := range moduleCases {
		t.Run(c.name, func(t *testing.T) {
			in, out := instrumentCase(t, c.name)
			want := wat2lines(t, in, c.wabtFlags)
			got := wat2lines(t, out, c.wabtFlags)
			chk := checkLines(addedFor(t, c, in), c.mem64)
			hadMemory := false
			for _, l := range want {
				if strings.HasPrefix(l, "(memory") || strings.HasPrefix(l, "(import") && strings.Contains(l, "(memory") {
					hadMemory = true
				}
			}
			a := addedFor(t, c, in)
			// The imported functions, as a call names them, and their index.
			imported := map[string]int32{}
			types := 0
			for _, l := range want {
				if strings.HasPrefix(l, "(type") {
					types++
				}
				if rest, ok := strings.CutPrefix(l, "(import "); ok {
					if _, f, ok := strings.Cut(rest, "(func "); ok {
						name, _, _ := strings.Cut(f, " ")
						if n, ok := strings.CutPrefix(name, "(;"); ok {
							name = strings.TrimSuffix(n, ";)")
						}
						imported["call "+name] = int32(len(imported))
					}
				}
			}
			// added is what Instrument adds outside code, line by line:
			// each may also close the module (one more ")").
			added := [][]string{
				{`(type (;` + strconv.Itoa(types) + `;) (func (param i32)))`},
				{`(func (;` + itoa(a.sampled) + `;) (type ` + strconv.Itoa(types) + `) (param i32)`, "i32.const 0", "global.set " + itoa(a.sample) + ")"},
				{`(global (;` + itoa(a.stop) + `;) (mut i32) (i32.const 0))`},
				{`(global (;` + itoa(a.tick) + `;) (mut i32) (i32.const 4096))`},
				{`(global (;` + itoa(a.sample) + `;) (mut i32) (i32.const 0))`},
				{`(export "flowlab_stop" (global ` + itoa(a.stop) + `))`},
				{`(export "flowlab_tick" (global ` + itoa(a.tick) + `))`},
				{`(export "flowlab_sample" (global ` + itoa(a.sample) + `))`},
				{`(export "flowlab_sampled" (func ` + itoa(a.sampled) + `))`},
			}
			if !hadMemory {
				added = append(added, []string{"(memory (;0;) 0 0)"})
			}
			var kept []string
			checks, loops, funcs, samples, importCalls := 0, 0, 0, 0, 0
			sampled := false // the last kept line's sample point was seen
		lines:
			for i := 0; i < len(got); i++ {
				if isCheck(got[i:], chk) {
					require.NotEmpty(t, kept)
					prev := kept[len(kept)-1]
					require.True(t, strings.HasPrefix(prev, "loop") || strings.HasPrefix(prev, "(func") ||
						strings.HasPrefix(prev, "(local"), "check after %q", prev)
					i += len(chk) - 1
					if got[i] == "end)" {
						kept[len(kept)-1] += ")"
					}
					checks++
					continue
				}
				if len(kept) > 0 && !sampled {
					if x, ok := imported[kept[len(kept)-1]]; ok {
						// After a call of an import: a sample point.
						sample := sampleLines(a, x)
						require.True(t, isCheck(got[i:], sample), "no sample point after %q at line %d", kept[len(kept)-1], i)
						i += len(sample) - 1
						if got[i] == "end)" {
							kept[len(kept)-1] += ")"
						}
						samples++
						sampled = true
						continue
					}
				}
				for _, lines := range added {
					if len(got[i:]) < len(lines) || !slices.Equal(got[i:i+len(lines)-1], lines[:len(lines)-1]) {
						continue
					}
					switch got[i+len(lines)-1] {
					case lines[len(lines)-1] + ")":
						kept[len(kept)-1] += ")"
					case lines[len(lines)-1]:
					default:
						continue
					}
					i += len(lines) - 1
					continue lines
				}
				kept = append(kept, tableMax.ReplaceAllString(got[i], "$1 $2"))
				sampled = false
			}
			for _, l := range want {
				if strings.HasPrefix(l, "loop") {
					loops++
				}
				if strings.HasPrefix(l, "(func") {
					funcs++
				}
				if _, ok := imported[strings.TrimRight(l, ")")]; ok {
					importCalls++
				}
			}
			assert.Equal(t, importCalls, samples, "one sample point after every call of an import")
			t.Logf("%d checks, %d sample points after calls of imports", checks, samples)
			wantText := strings.Join(want, "\n")
			gotText := strings.Join(kept, "\n")
			require.Equal(t, wantText, gotText)
			assert.Equal(t, funcs+loops, checks, "one check per function and loop")
			if c.checks >= 0 {
				assert.Equal(t, c.checks, checks)
			}
		})
	}
}

// tableMax matches a table line with the maximum Instrument gives a table
// that has none, as all the test modules' tables.
var tableMax = regexp.MustCompile(`^(\(table \(;\d+;\) \d+) ` + strconv.Itoa(MaxTableEntries) + ` (\w+\))`)

// checkLines is the check as wasm2wat prints it, normalised.
func checkLines(a added, mem64 bool) []string {
	zero := "i32.const 0"
	if mem64 {
		zero = "i64.const 0"
	}
	T, S := itoa(a.tick), itoa(a.stop)
	return slices.Concat([]string{"global.get " + T, "i32.const 1", "i32.sub", "global.set " + T,
		"global.get " + T, "i32.eqz", "if", "i32.const 4096", "global.set " + T,
		"global.get " + S, "if", "unreachable", "end"},
		sampleLines(a, -1),
		[]string{zero, "memory.grow", "drop", "end"})
}

// sampleLines is the call of $sampled with param as wasm2wat prints it,
// normalised.
func sampleLines(a added, param int32) []string {
	return []string{"global.get " + itoa(a.sample), "if", "i32.const " + strconv.Itoa(int(param)),
		"call " + itoa(a.sampled), "end"}
}

// isCheck reports whether lines start with the check (whose last "end" may
// also close the function: "end)").
func isCheck(lines, chk []string) bool {
	if len(lines) < len(chk) {
		return false
	}
	for i, l := range chk {
		if lines[i] != l && !(i == len(chk)-1 && lines[i] == "end)") {
			return false
		}
	}
	return true
}

func itoa(v uint32) string { return string(appendUint(nil, v)) }

func appendUint(b []byte, v uint32) []byte {
	if v >= 10 {
		b = appendUint(b, v/10)
	}
	return append(b, byte('0'+v%10))
}

// decodeOffsets returns the offset of every instruction in the code section,
// as the package's decoder sees them.
func decodeOffsets(t *testing.T, wasm []byte) []uint32 {
	t.Helper()
	p := 8
	for p < len(wasm) {
		id := wasm[p]
		size, q := readU32(wasm, p+1)
		require.Positive(t, q)
		if id != secCode {
			p = q + int(size)
			continue
		}
		end := q + int(size)
		n, q := readU32(wasm, q)
		var offs []uint32
		for range n {
			bs, bq := readU32(wasm, q)
			var err error
			_, err = scanBody(wasm[:bq+int(bs)], bq, &bodyCheck{stop: ^uint32(0), funcs: ^uint32(0), lim: &noLimits}, nil, &offs)
			require.NoError(t, err)
			q = bq + int(bs)
		}
		require.Equal(t, end, q)
		return offs
	}
	return nil
}

var objdumpInstr = regexp.MustCompile(`^ ([0-9a-f]{6}): [0-9a-f ]+\| (.*)$`)

// TestInstructionBoundariesAgainstWabt checks that the decoder finds exactly
// the instructions that wabt's disassembler finds, at the same offsets: a
// decoder that gets an immediate's length wrong would hide instructions.
// Skipped where wabt is not installed.
func TestInstructionBoundariesAgainstWabt(t *testing.T) {
	if _, err := exec.LookPath("wasm-objdump"); err != nil {
		t.Skip("wasm-objdump not installed")
	}
	for _, c := range moduleCases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join("testdata", "wasm", c.name+".wasm")
			txt, err := exec.Command("wasm-objdump", "-d", path).CombinedOutput()
			require.NoError(t, err, "%s", txt)
			var want []uint32
			for _, l := range strings.Split(string(txt), "\n") {
				m := objdumpInstr.FindStringSubmatch(l)
				if m == nil || m[2] == "" || strings.HasPrefix(m[2], "local[") {
					continue
				}
				v, err := strconv.ParseUint(m[1], 16, 32)
				require.NoError(t, err)
				want = append(want, uint32(v))
			}
			got := decodeOffsets(t, readInput(t, c.name))
			require.Equal(t, len(want), len(got), "instruction count")
			require.Equal(t, want, got)
		})
	}
}
