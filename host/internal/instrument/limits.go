package instrument

import "fmt"

// Limits on the shape of a module, checked by Instrument before wazero sees
// it. wazero v1.12's compiler takes time (or memory) that grows faster than
// the module in several dimensions: 10,000 nested loops (30 KB) took 18 s to
// compile, a br_table of a million targets over 2 minutes and 2.4 GB, 30,000
// blocks one after the other (210 KB) 32 s.
//
// Each limit was measured with wazero's compiler
// (wazero.NewRuntimeConfigCompiler) on generated modules, instrumented
// (shapes_test.go: TestMeasureShapes finds where a shape passes about 1 s),
// and set so that the worst accepted module of each shape compiles in under
// about 1.3 s on a 2-core amd64 machine (BenchmarkCompileWorstAccepted),
// while real modules pass with a margin. The largest real values, among the
// Go-built wasip1 modules of wasmops (2.2 to 2.8 MB), are given as "Go: n";
// the C and WAT modules are far below. See "Limits" in the package
// documentation for the times.
const (
	// MaxFunctions bounds the functions of a module, imported and
	// defined, not counting the one Instrument adds ($sampled, see "Stack
	// samples" in the package documentation): a module of MaxFunctions
	// functions is accepted and comes out with one more, which wazero,
	// with no limit of its own below 2^27, compiles like any other (50,000
	// empty functions: 1.0 s). Go: 1,885.
	MaxFunctions = 50_000

	// MaxBodySize bounds the size in bytes of one function body (512 KiB
	// of straight-line code: 0.13 s). Go: 29,238.
	MaxBodySize = 512 << 10

	// MaxNesting bounds how deep blocks, loops, ifs and trys nest in a
	// function, the function's own body not counted. Loops are the
	// costly ones: 1000 nested, 0.16 s; 2000, 0.9 s; 3000, 3.4 s. Go:
	// 549 (blocks).
	MaxNesting = 1000

	// MaxBranches bounds what makes basic blocks in one function: blocks,
	// loops, ifs, elses, trys, branches (br, br_if, br_on_*) and
	// br_table targets, a loop counting four (the check Instrument adds
	// to it has two ifs; measured, a loop costs about four branches), and
	// two more for the check at the function's entry. wazero's compile
	// time grows with the square of it: 10,000 br_ifs, 0.75 s; 30,000,
	// 5.6 s. Go: 2,185.
	MaxBranches = 10_000

	// MaxBranchesTotal bounds the count of MaxBranches summed over the
	// functions of a module: each costs wazero about 2 µs even in small
	// functions (600,000 in 9,375 functions: 1.3 s). Go: 154,031.
	MaxBranchesTotal = 600_000

	// MaxBranchCost bounds the sum over the functions of a module of the
	// square of each one's count of MaxBranches, which the compile time
	// follows: two functions at MaxBranches, 1.0 to 1.5 s. Go: 39.7 M.
	MaxBranchCost = 200_000_000

	// MaxBrTableTargets bounds the targets (labels and the default) of
	// one br_table: its compile time grows with the square (10,000
	// targets, 0.07 s; 100,000, 2.8 s). Go: 896.
	MaxBrTableTargets = 4000

	// MaxBrTableTargetsTotal bounds the br_table targets of all the
	// functions of a module together (500,000 in br_tables of 100: 0.5 to
	// 0.8 s). Go: 63,034.
	MaxBrTableTargetsTotal = 500_000

	// MaxLocals bounds the locals a function declares (its parameters
	// not counted), as web engines do. wazero accepts up to 2^32 and
	// allocates from the declared count. 50,000 used in 1000 nested
	// loops: 0.16 s. Go: 17.
	MaxLocals = 50_000

	// MaxTypes bounds the function types of a module, not counting the
	// one Instrument adds, (param i32) for $sampled (10,000 types of 100
	// params and 100 results: 0.46 s). Go: 16.
	MaxTypes = 10_000

	// MaxParams and MaxResults bound the parameters and results of one
	// function type: wazero's time per type grows with their square (1000
	// types of 1000 params: 1.3 s). Go: 4 and 1.
	MaxParams  = 100
	MaxResults = 100

	// MaxGlobals bounds the globals of a module, imported and defined,
	// not counting the three that Instrument adds (100,000: 0.04 s). Go: 8.
	MaxGlobals = 100_000

	// MaxImports and MaxExports bound the entries of the import and
	// export sections, MaxExports not counting the exports Instrument
	// adds (100,000: 0.04 s). Go: 18 and 6.
	MaxImports = 100_000
	MaxExports = 100_000

	// MaxDataSegments and MaxElementSegments bound the data and element
	// segments of a module (1,000,000 data segments: 0.13 s; 100,000
	// element segments: 0.04 s). Go: 32,236 and 1.
	MaxDataSegments    = 1_000_000
	MaxElementSegments = 100_000

	// MaxTables bounds the tables of a module, imported and defined: the
	// host reserves memory for each at MaxTableEntries. Go, C and WAT: 1.
	MaxTables = 4

	// MaxTableEntries bounds the entries of one table: a table whose
	// minimum is larger is rejected, and a table with no maximum or a
	// larger one gets MaxTableEntries as its maximum, so that table.grow
	// past it returns -1 at once, without allocating. wazero stores 8
	// bytes per entry: the tables of one instance hold at most
	// MaxTables * MaxTableEntries * 8 bytes (3.2 MB). Go: 5,963.
	MaxTableEntries = 100_000
)

// limits holds the limits Instrument applies: the constants above, or none
// at all when the shape tests measure what wazero does beyond them.
type limits struct {
	functions, bodySize, nesting, branches, branchCost, brTargets uint64
	brTargetsTotal, branchesTotal                                 uint64
	locals, types, params, results, globals, imports, exports     uint64
	dataSegments, elementSegments, tables, tableEntries           uint64
}

var defaultLimits = limits{
	functions: MaxFunctions, bodySize: MaxBodySize, nesting: MaxNesting,
	branches: MaxBranches, branchesTotal: MaxBranchesTotal, branchCost: MaxBranchCost,
	brTargets: MaxBrTableTargets, brTargetsTotal: MaxBrTableTargetsTotal,
	locals: MaxLocals, types: MaxTypes, params: MaxParams, results: MaxResults,
	globals: MaxGlobals, imports: MaxImports, exports: MaxExports,
	dataSegments: MaxDataSegments, elementSegments: MaxElementSegments,
	tables: MaxTables, tableEntries: MaxTableEntries,
}

// noLimits is for measuring (TestMeasureShapes): every count wazero itself
// accepts. Tables still get a maximum, of 2^32-1.
var noLimits = limits{
	functions: 1 << 32, bodySize: 1 << 32, nesting: 1 << 32,
	branches: 1 << 62, branchesTotal: 1 << 62, branchCost: 1 << 62,
	brTargets: 1 << 32, brTargetsTotal: 1 << 62,
	locals: 1 << 32, types: 1 << 32, params: 1 << 32, results: 1 << 32,
	globals: 1 << 32, imports: 1 << 32, exports: 1 << 32,
	dataSegments: 1 << 32, elementSegments: 1 << 32,
	tables: 1 << 32, tableEntries: 1<<32 - 1,
}

// limitError is a module that is well formed but exceeds a limit. Its
// message names the limit and the amount; Instrument adds the function.
type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }

// overLimit returns the error for n things, more than limit: "2000 tables,
// more than the limit of 16".
func overLimit(n uint64, what string, limit uint64) error {
	return &limitError{fmt.Sprintf("%d %s, more than the limit of %d", n, what, limit)}
}

// checkCounts checks the counts of the type, function, element, data count
// and data sections, the parameters and results of every function type, and
// the number of imported tables.
func checkCounts(wasm []byte, secs []section, im imports, lim *limits) error {
	if uint64(im.tables) > lim.tables {
		return overLimit(uint64(im.tables), "tables", lim.tables)
	}
	for _, s := range secs {
		b := wasm[:s.end]
		switch s.id {
		case secType:
			if err := checkTypes(b, s, lim); err != nil {
				return err
			}
		case secFunction:
			n, q := readU32(b, s.start)
			if q < 0 {
				return s.errorf("%s", lebProblem(q, "function count"))
			}
			if total := uint64(im.funcs) + uint64(n); total > lim.functions {
				return overLimit(total, "functions", lim.functions)
			}
		case secElement, secData, secDataCount:
			n, q := readU32(b, s.start)
			if q < 0 {
				return s.errorf("%s", lebProblem(q, "segment count"))
			}
			if s.id == secElement && uint64(n) > lim.elementSegments {
				return overLimit(uint64(n), "element segments", lim.elementSegments)
			}
			if s.id != secElement && uint64(n) > lim.dataSegments {
				return overLimit(uint64(n), "data segments", lim.dataSegments)
			}
		}
	}
	return nil
}

// checkTypes checks the type section: its count, and the parameters and
// results of each function type.
func checkTypes(b []byte, s section, lim *limits) error {
	n, p := readU32(b, s.start)
	if p < 0 {
		return s.errorf("%s", lebProblem(p, "type count"))
	}
	if uint64(n) > lim.types {
		return overLimit(uint64(n), "types", lim.types)
	}
	for i := uint32(0); i < n; i++ {
		off := p
		if p >= len(b) {
			return s.errorf("type %d at offset %d: truncated", i, off)
		}
		if b[p] != 0x60 {
			return s.errorf("type %d at offset %d: not a function type (0x%02x)", i, off, b[p])
		}
		p++
		for _, what := range [2]string{"parameters", "results"} {
			var m uint32
			m, p = readU32(b, p)
			if p < 0 {
				return s.errorf("type %d at offset %d: %s", i, off, lebProblem(p, what))
			}
			limit := lim.params
			if what == "results" {
				limit = lim.results
			}
			if uint64(m) > limit {
				return overLimit(uint64(m), fmt.Sprintf("%s in type %d", what, i), limit)
			}
			for j := uint32(0); j < m && p >= 0; j++ {
				p = skipValType(b, p)
			}
			if p < 0 {
				return s.errorf("type %d at offset %d: %s", i, off, lebProblem(p, what))
			}
		}
	}
	if p != s.end {
		return s.errorf("%d bytes after the last type", s.end-p)
	}
	return nil
}

// rewriteTables checks the table section (imported tables, of which there
// are imported, count too) and returns its content with every table's
// maximum at most lim.tableEntries.
func rewriteTables(wasm []byte, s section, imported uint32, lim *limits) ([]byte, error) {
	b := wasm[:s.end]
	n, p := readU32(b, s.start)
	if p < 0 {
		return nil, s.errorf("%s", lebProblem(p, "table count"))
	}
	if total := uint64(imported) + uint64(n); total > lim.tables {
		return nil, overLimit(total, "tables", lim.tables)
	}
	out := make([]byte, 0, s.end-s.start+int(n)*5)
	out = appendLEB(out, n)
	for i := uint32(0); i < n; i++ {
		off := p
		idx := uint64(imported) + uint64(i)
		p = skipTableRefType(b, p)
		if p < 0 {
			return nil, s.errorf("table %d at offset %d: %s", idx, off, lebProblem(p, "table type"))
		}
		out = append(out, b[off:p]...)
		if p >= len(b) {
			return nil, s.errorf("table %d at offset %d: truncated limits", idx, off)
		}
		flags := b[p]
		if flags > 0x01 { // shared and 64-bit tables: wazero has neither
			return nil, s.errorf("table %d at offset %d: invalid limits flags 0x%02x", idx, off, flags)
		}
		minStart := p + 1
		min, q := readU32(b, minStart)
		max := uint32(lim.tableEntries)
		if q >= 0 && flags == 0x01 {
			var m uint32
			if m, q = readU32(b, q); q >= 0 && uint64(m) < lim.tableEntries {
				max = m
			}
		}
		if q < 0 {
			return nil, s.errorf("table %d at offset %d: %s", idx, off, lebProblem(q, "limits"))
		}
		if uint64(min) > lim.tableEntries {
			return nil, overLimit(uint64(min), fmt.Sprintf("entries in table %d", idx), lim.tableEntries)
		}
		out = append(out, 0x01)
		out = append(out, b[minStart:minStart+lebLen(min)]...)
		out = appendLEB(out, max)
		p = q
	}
	if p != s.end {
		return nil, s.errorf("%d bytes after the last table", s.end-p)
	}
	return out, nil
}

// funcError is err, a limit exceeded by function fn, naming the function by
// its index and, if the module has a name section, its name.
func funcError(wasm []byte, secs []section, fn uint64, err error) error {
	if name := funcName(wasm, secs, fn); name != "" {
		return fmt.Errorf("function %d (%s): %w", fn, name, err)
	}
	return fmt.Errorf("function %d: %w", fn, err)
}

// funcName returns the name of function fn from the name section, or "".
func funcName(wasm []byte, secs []section, fn uint64) string {
	for _, s := range secs {
		if s.id != secCustom {
			continue
		}
		b := wasm[:s.end]
		l, p := readU32(b, s.start)
		if p < 0 || uint64(p)+uint64(l) > uint64(len(b)) || string(b[p:p+int(l)]) != "name" {
			continue
		}
		for p += int(l); p >= 0 && p < len(b); {
			id := b[p]
			size, q := readU32(b, p+1)
			if q < 0 || uint64(q)+uint64(size) > uint64(len(b)) {
				return ""
			}
			end := q + int(size)
			if id == 1 { // function names: vec(index, name)
				sub := b[:end]
				n, r := readU32(sub, q)
				for i := uint32(0); i < n && r >= 0; i++ {
					var idx uint32
					idx, r = readU32(sub, r)
					start := r
					r = skipName(sub, r)
					if r >= 0 && uint64(idx) == fn {
						nl, ns := readU32(sub, start)
						return string(sub[ns : ns+int(nl)])
					}
				}
				return ""
			}
			p = end
		}
	}
	return ""
}
