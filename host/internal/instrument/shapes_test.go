package instrument

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
)

// Generated module shapes, one per dimension that makes wazero's compile time
// or memory grow faster than the module: the limits in limits.go were chosen
// by compiling these (TestMeasureShapes), and BenchmarkCompileWorstAccepted
// compiles each at its largest accepted size.

// shape builds a module from a size n.
type shape struct {
	name string
	gen  func(n int) []byte
	max  int // the largest n the limits accept
	over int // an n they reject, 0 if none does
}

// oneFunc is a module with one exported function of type () -> () and the
// given locals and code (the final end included).
func singleFunc(locals []byte, code []byte) []byte {
	return module(
		sec(secType, vec(typeNil)),
		sec(secFunction, vec([]byte{0})),
		sec(secExport, vec(cat(str("f"), []byte{0, 0}))),
		sec(secCode, vec(body(locals, code...))),
	)
}

// repeat returns n copies of b.
func repeat[T any](b []T, n int) []T {
	out := make([]T, 0, len(b)*n)
	for range n {
		out = append(out, b...)
	}
	return out
}

// nested opens n blocks with open, then closes them all.
func nested(open []byte, n int) []byte {
	return cat(repeat(open, n), repeat([]byte{0x0B}, n), []byte{0x0B})
}

func nestedLoops(n int) []byte  { return singleFunc(noLocals, nested([]byte{0x03, 0x40}, n)) }
func nestedBlocks(n int) []byte { return singleFunc(noLocals, nested([]byte{0x02, 0x40}, n)) }
func nestedIfs(n int) []byte    { return singleFunc(noLocals, nested([]byte{0x41, 0x00, 0x04, 0x40}, n)) }

// seqBlocks is n blocks one after the other, each left by a br_if: n
// branches, n+1 basic blocks.
func seqBlocks(n int) []byte {
	return singleFunc(noLocals, cat(repeat([]byte{0x02, 0x40, 0x41, 0x00, 0x0D, 0x00, 0x0B}, n), []byte{0x0B}))
}

// seqEmptyBlocks is n empty blocks one after the other.
func seqEmptyBlocks(n int) []byte {
	return singleFunc(noLocals, cat(repeat([]byte{0x02, 0x40, 0x0B}, n), []byte{0x0B}))
}

// seqBrIfs is n br_ifs out of the function's body.
func seqBrIfs(n int) []byte {
	return singleFunc(noLocals, cat(repeat([]byte{0x41, 0x00, 0x0D, 0x00}, n), []byte{0x0B}))
}

// seqLoops is n loops one after the other, each iterating by a br_if.
func seqLoops(n int) []byte {
	return singleFunc(noLocals, cat(repeat([]byte{0x03, 0x40, 0x41, 0x00, 0x0D, 0x00, 0x0B}, n), []byte{0x0B}))
}

// brTable is one br_table of n targets (n-1 labels and the default) inside a
// block.
func brTable(n int) []byte {
	return singleFunc(noLocals, cat([]byte{0x02, 0x40, 0x41, 0x00, 0x0E}, leb(uint32(n-1)),
		repeat([]byte{0x00}, n), []byte{0x0B, 0x0B}))
}

// brTables is n/100 functions of one br_table of 100 targets each: the
// module's total of br_table targets.
func brTables(n int) []byte {
	one := body(noLocals, cat([]byte{0x02, 0x40, 0x41, 0x00, 0x0E}, leb(99), repeat([]byte{0x00}, 100), []byte{0x0B, 0x0B})...)
	k := n / 100
	return module(sec(secType, vec(typeNil)), sec(secFunction, vec(repeat([][]byte{{0}}, k)...)),
		sec(secCode, cat(leb(uint32(k)), repeat(one, k))))
}

// straightLocals is a body of about n bytes that sets each of 1000 i64
// locals to the sum of two others, over and over: many SSA variables, no
// control flow.
func straightLocals(n int) []byte {
	const locals = 1000
	var code []byte
	for i := 0; len(code) < n; i = (i + 1) % locals {
		code = append(code, 0x20)
		code = appendLEB(code, uint32(i))
		code = append(code, 0x20)
		code = appendLEB(code, uint32((i+7)%locals))
		code = append(code, 0x7C, 0x21) // i64.add local.set
		code = appendLEB(code, uint32((i+1)%locals))
	}
	code = append(code, 0x20, 0x00, 0x1A) // local.get 0 drop
	return singleFunc(cat(leb(1), leb(locals), []byte{0x7E}), append(code, 0x0B))
}

// straightConsts is a body of about n bytes of i32.const 1, i32.add: one
// long dependency chain.
func straightConsts(n int) []byte {
	return singleFunc(noLocals, cat([]byte{0x41, 0x00}, repeat([]byte{0x41, 0x01, 0x6A}, n/3), []byte{0x1A, 0x0B}))
}

// manyLocals is one function of n i64 locals that reads and writes each.
func manyLocals(n int) []byte {
	var code []byte
	for i := range n {
		code = append(code, 0x20)
		code = appendLEB(code, uint32(i))
		code = append(code, 0x21)
		code = appendLEB(code, uint32((i+1)%n))
	}
	return singleFunc(cat(leb(1), leb(uint32(n)), []byte{0x7E}), append(code, 0x0B))
}

// loopsLocals nests loops as deep as the limit in a body using n locals in
// the innermost loop: every loop header needs a value for every variable.
func loopsLocals(n int) []byte {
	var code []byte
	code = append(code, repeat([]byte{0x03, 0x40}, MaxNesting)...)
	for i := range n {
		code = append(code, 0x20)
		code = appendLEB(code, uint32(i))
		code = append(code, 0x21)
		code = appendLEB(code, uint32((i+1)%n))
	}
	code = append(code, repeat([]byte{0x0B}, MaxNesting+1)...)
	return singleFunc(cat(leb(1), leb(uint32(n)), []byte{0x7E}), code)
}

// depthAndSize nests loops as deep as the limit, the innermost one filled
// with i32.const/drop up to a body of about n bytes.
func depthAndSize(n int) []byte {
	open := repeat([]byte{0x03, 0x40}, MaxNesting)
	fill := (n - 3*MaxNesting) / 3
	return singleFunc(noLocals, cat(open, repeat([]byte{0x41, 0x01, 0x1A}, max(fill, 0)), repeat([]byte{0x0B}, MaxNesting+1)))
}

// depthAndBranches nests loops as deep as the limit, the innermost one
// holding n br_ifs back to the outermost loop, each crossing every loop.
func depthAndBranches(n int) []byte {
	open := repeat([]byte{0x03, 0x40}, MaxNesting)
	br := cat([]byte{0x41, 0x00, 0x0D}, leb(MaxNesting-1))
	return singleFunc(noLocals, cat(open, repeat(br, n), repeat([]byte{0x0B}, MaxNesting+1)))
}

// manyFuncs is n functions, each calling the next.
func manyFuncs(n int) []byte {
	funcs := make([][]byte, n)
	bodies := make([][]byte, n)
	for i := range n {
		funcs[i] = []byte{0}
		bodies[i] = body(noLocals, cat([]byte{0x10}, leb(uint32((i+1)%n)), []byte{0x0B})...)
	}
	return module(sec(secType, vec(typeNil)), sec(secFunction, vec(funcs...)), sec(secCode, vec(bodies...)))
}

// manyParams is a function of n i64 params and n i64 results that calls
// itself with its params and returns the results.
func manyParams(n int) []byte {
	ty := cat([]byte{0x60}, leb(uint32(n)), repeat([]byte{0x7E}, n), leb(uint32(n)), repeat([]byte{0x7E}, n))
	var code []byte
	for i := range n {
		code = append(code, 0x20)
		code = appendLEB(code, uint32(i))
	}
	code = append(code, 0x10, 0x00, 0x0B)
	return module(sec(secType, vec(ty)), sec(secFunction, vec([]byte{0})), sec(secCode, vec(body(noLocals, code...))))
}

// manyTypes is n distinct function types of MaxParams params and
// MaxResults results: type i's params spell i in base 4 with i32, i64, f32
// and f64 as digits, padded with i32.
func manyTypes(n int) []byte {
	types := make([][]byte, n)
	for i := range n {
		params := repeat([]byte{0x7F}, MaxParams)
		for k, j := i, 0; k > 0; k, j = k/4, j+1 {
			params[j] = 0x7F - byte(k%4)
		}
		types[i] = cat([]byte{0x60}, leb(MaxParams), params, leb(MaxResults), repeat([]byte{0x7E}, MaxResults))
	}
	return module(sec(secType, vec(types...)))
}

// manyGlobals is n mutable i64 globals.
func manyGlobals(n int) []byte {
	gs := make([][]byte, n)
	for i := range gs {
		gs[i] = []byte{0x7E, 0x01, 0x42, 0x00, 0x0B}
	}
	return module(sec(secGlobal, vec(gs...)))
}

// manyExports is one function exported under n names.
func manyExports(n int) []byte {
	es := make([][]byte, n)
	for i := range es {
		es[i] = cat(str("e"+strconv.Itoa(i)), []byte{0, 0})
	}
	return module(sec(secType, vec(typeNil)), sec(secFunction, vec([]byte{0})), sec(secExport, vec(es...)),
		sec(secCode, vec(body(noLocals, 0x0B))))
}

// manyImports is n function imports.
func manyImports(n int) []byte {
	is := make([][]byte, n)
	for i := range is {
		is[i] = cat(str("env"), str("f"+strconv.Itoa(i)), []byte{0, 0})
	}
	return module(sec(secType, vec(typeNil)), sec(secImport, vec(is...)))
}

// manyData is n passive data segments of one byte.
func manyData(n int) []byte {
	ds := make([][]byte, n)
	for i := range ds {
		ds[i] = []byte{0x01, 0x01, 0x00}
	}
	return module(sec(secMemory, vec([]byte{0x00, 0x01})), sec(secDataCount, leb(uint32(n))), sec(secData, vec(ds...)))
}

// manyElems is n passive element segments of one function each.
func manyElems(n int) []byte {
	es := make([][]byte, n)
	for i := range es {
		es[i] = []byte{0x01, 0x00, 0x01, 0x00}
	}
	return module(sec(secType, vec(typeNil)), sec(secFunction, vec([]byte{0})), sec(secElement, vec(es...)),
		sec(secCode, vec(body(noLocals, 0x0B))))
}

// bigTable is a table of n entries (minimum).
func bigTable(n int) []byte {
	return module(sec(secTable, vec(cat([]byte{0x70, 0x00}, leb(uint32(n))))))
}

// manyTables is n tables of MaxTableEntries entries.
func manyTables(n int) []byte {
	ts := make([][]byte, n)
	for i := range ts {
		ts[i] = cat([]byte{0x70, 0x00}, leb(MaxTableEntries))
	}
	return module(sec(secTable, vec(ts...)))
}

// branchCost is n functions of as many loops as MaxBranches allows: the
// module's branch cost.
func branchCost(n int) []byte {
	one := body(noLocals, cat(repeat([]byte{0x03, 0x40, 0x41, 0x00, 0x0D, 0x00, 0x0B}, per(5)), []byte{0x0B})...)
	return module(sec(secType, vec(typeNil)), sec(secFunction, vec(repeat([][]byte{{0}}, n)...)),
		sec(secCode, cat(leb(uint32(n)), repeat(one, n))))
}

// maxCost is the most functions of branchCost the limits accept.
var maxCost = MaxBranchCost / ((2 + 5*per(5)) * (2 + 5*per(5)))

// funcsBranches is n functions of 62 br_ifs (64 with the function entry's
// check), the size where the branch cost of MaxFunctions functions would
// reach MaxBranchCost: the module's total of branches.
func funcsBranches(n int) []byte {
	one := body(noLocals, cat(repeat([]byte{0x41, 0x00, 0x0D, 0x00}, 62), []byte{0x0B})...)
	return module(sec(secType, vec(typeNil)), sec(secFunction, vec(repeat([][]byte{{0}}, n)...)),
		sec(secCode, cat(leb(uint32(n)), repeat(one, n))))
}

// per is the n of a shape repeating a unit of cost (counted by MaxBranches)
// as often as a function allows: the function's entry counts 2.
func per(cost int) int { return (MaxBranches - 2) / cost }

var shapes = []shape{
	{"nested-loops", nestedLoops, MaxNesting, MaxNesting + 1},
	{"nested-blocks", nestedBlocks, MaxNesting, MaxNesting + 1},
	{"nested-ifs", nestedIfs, MaxNesting, MaxNesting + 1},
	{"seq-blocks", seqBlocks, per(2), per(2) + 1},
	{"seq-loops", seqLoops, per(5), per(5) + 1},
	{"seq-empty-blocks", seqEmptyBlocks, per(1), per(1) + 1},
	{"seq-br-ifs", seqBrIfs, per(1), per(1) + 1},
	{"branch-cost", branchCost, maxCost, maxCost + 1},
	{"br-table", brTable, MaxBrTableTargets, MaxBrTableTargets + 1},
	{"br-tables-total", brTables, MaxBrTableTargetsTotal, MaxBrTableTargetsTotal + 100},
	{"straight-locals", straightLocals, MaxBodySize - 100, MaxBodySize + 100},
	{"straight-consts", straightConsts, MaxBodySize - 100, MaxBodySize + 100},
	{"locals", manyLocals, MaxLocals, MaxLocals + 1},
	{"depth-and-locals", loopsLocals, 50_000, 0},
	{"depth-and-size", depthAndSize, MaxBodySize - 100, MaxBodySize + 100},
	{"depth-and-branches", depthAndBranches, MaxBranches - 2 - 4*MaxNesting, MaxBranches - 1 - 4*MaxNesting},
	{"functions", manyFuncs, MaxFunctions, MaxFunctions + 1},
	{"branches-total", funcsBranches, MaxBranchesTotal / 64, MaxBranchesTotal/64 + 1},
	{"params", manyParams, MaxParams, MaxParams + 1},
	{"types", manyTypes, MaxTypes, MaxTypes + 1},
	{"globals", manyGlobals, MaxGlobals, MaxGlobals + 1},
	{"exports", manyExports, MaxExports, MaxExports + 1},
	{"imports", manyImports, MaxImports, MaxImports + 1},
	{"data-segments", manyData, MaxDataSegments, MaxDataSegments + 1},
	{"element-segments", manyElems, MaxElementSegments, MaxElementSegments + 1},
	{"table", bigTable, MaxTableEntries, MaxTableEntries + 1},
	{"tables", manyTables, MaxTables, MaxTables + 1},
}

// compileTime instruments wasm within lim and compiles it with wazero's compiler.
func compileTime(wasm []byte, lim *limits) (time.Duration, error) {
	out, err := instrument(wasm, lim)
	if err != nil {
		return 0, err
	}
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	defer r.Close(ctx)
	start := time.Now()
	cm, err := r.CompileModule(ctx, out)
	d := time.Since(start)
	if err != nil {
		return d, fmt.Errorf("wazero: %w", err)
	}
	cm.Close(ctx)
	return d, nil
}

// TestMeasureShapes measures, with FLOWLAB_MEASURE=shape:n,n,... (shape "all"
// for every shape at its largest accepted size and 1.5x beyond), how long
// wazero's compiler takes on each generated shape, ignoring the limits (the
// module is compiled as generated). It is how the limits were chosen:
//
//	FLOWLAB_MEASURE=nested-loops:1000,2000,4000 go test -run TestMeasureShapes -v ./host/internal/instrument/
func TestMeasureShapes(t *testing.T) {
	spec := os.Getenv("FLOWLAB_MEASURE")
	if spec == "" {
		t.Skip("set FLOWLAB_MEASURE=shape:n,n,... to measure")
	}
	name, sizes, _ := strings.Cut(spec, ":")
	for _, s := range shapes {
		if name != "all" && s.name != name {
			continue
		}
		ns := []int{s.max}
		if name != "all" {
			ns = nil
			for _, f := range strings.Split(sizes, ",") {
				n, err := strconv.Atoi(f)
				if err != nil {
					t.Fatal(err)
				}
				ns = append(ns, n)
			}
		}
		for _, n := range ns {
			wasm := s.gen(n)
			d, err := compileTime(wasm, &noLimits)
			t.Logf("%-18s n=%-9d %8d bytes  %v  %v", s.name, n, len(wasm), d.Round(time.Millisecond), err)
		}
	}
}

// Every shape is accepted at its largest accepted size and, where one limit
// bounds it alone, rejected beyond, naming the limit.
func TestInstrument_Limits(t *testing.T) {
	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			_, err := Instrument(s.gen(s.max))
			require.NoError(t, err)
			if s.over == 0 {
				return
			}
			_, err = Instrument(s.gen(s.over))
			var limit *limitError
			require.ErrorAs(t, err, &limit)
			assert.Contains(t, err.Error(), "more than the limit of")
		})
	}
}

// A limit error names the function by index and, from the name section,
// by name.
func TestInstrument_Limits_Errors(t *testing.T) {
	names := sec(secCustom, str("name"), []byte{0x01}, leb(7), vec(cat(leb(0), str("deep"))))
	tooBig := make([]byte, MaxBodySize) // nops
	for _, c := range []struct {
		name string
		wasm []byte
		want string
	}{
		{"nested", append(nestedLoops(MaxNesting+5), names...), "function 0 (deep): blocks nested 1005 deep, more than the limit of 1000"},
		{"branches", seqBrIfs(per(1) + 1), "function 0: 10001 blocks, branches and br_table targets, more than the limit of 10000"},
		{"body", singleFunc(noLocals, append(tooBig, 0x0B)), "function 0: 524290 bytes of code, more than the limit of 524288"},
		{"br_table", brTable(MaxBrTableTargets + 1), "function 0: 4001 targets in the br_table at offset 36, more than the limit of 4000"},
		{"functions", manyFuncs(MaxFunctions + 1), "50001 functions, more than the limit of 50000"},
		{"params", manyParams(MaxParams + 1), "101 parameters in type 0, more than the limit of 100"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := Instrument(c.wasm)
			assert.Nil(t, out)
			assert.EqualError(t, err, c.want)
		})
	}
}

// BenchmarkCompileWorstAccepted compiles, with wazero's compiler, each shape
// at the largest size the limits accept, instrumented: the time per
// operation is the worst compile time of that dimension.
//
//	go test -run '^$' -bench CompileWorstAccepted -benchtime 1x ./host/internal/instrument/
func BenchmarkCompileWorstAccepted(b *testing.B) {
	for _, s := range shapes {
		b.Run(s.name, func(b *testing.B) {
			wasm := s.gen(s.max)
			b.SetBytes(int64(len(wasm)))
			var total time.Duration
			for b.Loop() {
				d, err := compileTime(wasm, &defaultLimits)
				if err != nil {
					b.Fatal(err)
				}
				total += d
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s/compile")
		})
	}
}
