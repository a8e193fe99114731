package instrument

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// StopExport is the name under which the instrumented module exports its stop
// flag: a mutable i32 global, 0 at instantiation. Setting it to any non-zero
// value makes the guest trap ("unreachable") within 4096 function entries or
// loop iterations.
const StopExport = "flowlab_stop"

// StartExport is the name under which the instrumented module exports the
// function of its start section, which Instrument removes: wazero would run
// it inside Instantiate, before the host can reach the stop flag, so a start
// function that never returns would hang the host. The host calls it
// instead, right after instantiation, under its deadline, before anything
// else.
const StartExport = "flowlab_start"

// Section ids of the binary format.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13
)

// sectionRank gives the position each known non-custom section must have
// relative to the others: the tag section sits between memory and global, the
// data count section before code.
var sectionRank = [...]int{
	secType:      1,
	secImport:    2,
	secFunction:  3,
	secTable:     4,
	secMemory:    5,
	secTag:       6,
	secGlobal:    7,
	secExport:    8,
	secStart:     9,
	secElement:   10,
	secDataCount: 11,
	secCode:      12,
	secData:      13,
}

// tickInterval is the number of checks between two polls of the stop flag.
const tickInterval = 4096

// newGlobals are the appended globals: the stop flag (mutable i32 = 0) and
// the tick countdown (mutable i32 = tickInterval).
var newGlobals = [...]byte{
	0x7F, 0x01, 0x41, 0x00, 0x0B,
	0x7F, 0x01, 0x41, 0x80, 0x20, 0x0B, // 4096
}

// newMemory is the memory added to a module that has none, so that the check
// has a memory to call memory.grow on: no pages, maximum 0.
var newMemory = [...]byte{0x01, 0x01, 0x00, 0x00} // count 1, flags 1, min 0, max 0

// checkSequence returns the code inserted at every function entry and loop
// header. stop and tick are the indices of the two new globals; mem64 says
// whether memory 0 is a 64-bit memory.
func checkSequence(stop, tick uint32, mem64 bool) []byte {
	return appendCheck(nil, stop, tick, mem64)
}

// appendCheck appends the check to b: see [checkSequence].
func appendCheck(b []byte, stop, tick uint32, mem64 bool) []byte {
	// global.get $tick  i32.const 1  i32.sub  global.set $tick
	b = appendLEB(append(b, 0x23), tick)
	b = appendLEB(append(b, 0x41, 0x01, 0x6B, 0x24), tick)
	// global.get $tick  i32.eqz  if  i32.const 4096  global.set $tick
	b = appendLEB(append(b, 0x23), tick)
	b = appendLEB(append(b, 0x45, 0x04, 0x40, 0x41, 0x80, 0x20, 0x24), tick)
	// global.get $stop  if  unreachable  end
	b = appendLEB(append(b, 0x23), stop)
	b = append(b, 0x04, 0x40, 0x00, 0x0B)
	// i32.const 0 (i64.const 0)  memory.grow 0  drop  end
	if mem64 {
		b = append(b, 0x42, 0x00)
	} else {
		b = append(b, 0x41, 0x00)
	}
	return append(b, 0x40, 0x00, 0x1A, 0x0B)
}

type section struct {
	id    byte
	off   int // offset of the id byte
	start int // first content byte
	end   int // one past the last content byte
}

func (s section) errorf(format string, args ...any) error {
	return fmt.Errorf("section %d at offset %d: %s", s.id, s.off, fmt.Sprintf(format, args...))
}

// insPool recycles the list of insertion points found in the code section.
var insPool = sync.Pool{New: func() any { s := make([]uint32, 0, 4096); return &s }}

// Instrument returns a copy of the WebAssembly module wasm in which a guest
// call can be stopped: it exports a mutable i32 global [StopExport], 0 at
// instantiation, and checks it at least every 4096 function entries and
// loop iterations, trapping with "unreachable" once the host has set it to
// non-zero. The same checks leave compiled code regularly (through a
// memory.grow of 0 pages), so that a spinning guest neither holds its P
// forever nor blocks the garbage collector's stop-the-world; a module without
// a memory gets an empty one for that.
//
// The module's start function, if any, is not run at instantiation: it is
// exported as [StartExport] for the host to call. Every table gets a maximum
// of at most [MaxTableEntries].
//
// The input is not modified. Instrument fails, with an error naming what and
// where, on a binary it cannot fully decode, on a module that exceeds one of
// the limits (see limits.go: functions, body size, nesting, br_table targets,
// locals, types, globals, imports, exports, segments, tables), and on a
// module that already exports [StopExport] or [StartExport].
func Instrument(wasm []byte) ([]byte, error) {
	return instrument(wasm, &defaultLimits)
}

// instrument is Instrument with the given limits.
func instrument(wasm []byte, lim *limits) ([]byte, error) {
	if len(wasm) < 4 || string(wasm[:4]) != "\x00asm" {
		return nil, errors.New(`not a WebAssembly module: missing \0asm magic`)
	}
	if len(wasm) < 8 {
		return nil, errors.New("not a WebAssembly module: truncated version")
	}
	if v := binary.LittleEndian.Uint32(wasm[4:8]); v != 1 {
		return nil, fmt.Errorf("unsupported WebAssembly version %d", v)
	}

	var secBuf [24]section
	secs := secBuf[:0]
	imp, mem, glob, exp, code := -1, -1, -1, -1, -1
	tab, start := -1, -1
	lastRank := 0
	for p := 8; p < len(wasm); {
		s := section{id: wasm[p], off: p}
		size, q := readU32(wasm, p+1)
		if q < 0 {
			return nil, s.errorf("%s", lebProblem(q, "section size"))
		}
		s.start = q
		s.end = q + int(size)
		if uint64(q)+uint64(size) > uint64(len(wasm)) {
			return nil, s.errorf("truncated (size %d, %d bytes left)", size, len(wasm)-q)
		}
		if s.id != secCustom {
			if int(s.id) >= len(sectionRank) {
				return nil, s.errorf("unknown section id")
			}
			r := sectionRank[s.id]
			if r <= lastRank {
				return nil, s.errorf("duplicate or out of order")
			}
			lastRank = r
		}
		switch s.id {
		case secImport:
			imp = len(secs)
		case secTable:
			tab = len(secs)
		case secStart:
			start = len(secs)
		case secMemory:
			mem = len(secs)
		case secGlobal:
			glob = len(secs)
		case secExport:
			exp = len(secs)
		case secCode:
			code = len(secs)
		}
		secs = append(secs, s)
		p = s.end
	}

	var im imports
	if imp >= 0 {
		var err error
		if im, err = scanImports(wasm, secs[imp], lim); err != nil {
			return nil, err
		}
	}
	if err := checkCounts(wasm, secs, im, lim); err != nil {
		return nil, err
	}
	var tables []byte // the rewritten table section's content
	if tab >= 0 {
		var err error
		if tables, err = rewriteTables(wasm, secs[tab], im.tables, lim); err != nil {
			return nil, err
		}
	}
	startFunc, hasStart := uint32(0), start >= 0
	if hasStart {
		s := secs[start]
		var q int
		startFunc, q = readU32(wasm[:s.end], s.start)
		if q < 0 {
			return nil, s.errorf("%s", lebProblem(q, "start function"))
		}
		if q != s.end {
			return nil, s.errorf("%d bytes after the start function", s.end-q)
		}
	}
	hasMemory, mem64 := im.memories > 0, im.firstMemory64
	emptyMem := false // a memory section that declares no memory: replaced
	if mem >= 0 && !hasMemory {
		s := secs[mem]
		n, q := readU32(wasm[:s.end], s.start)
		if q < 0 {
			return nil, s.errorf("%s", lebProblem(q, "memory count"))
		}
		if n > 0 {
			if q >= s.end {
				return nil, s.errorf("truncated memory type")
			}
			hasMemory, mem64 = true, wasm[q]&0x04 != 0
		} else {
			emptyMem = true
		}
	}
	globCount, globCountEnd := uint32(0), 0
	if glob >= 0 {
		s := secs[glob]
		n, q := readU32(wasm[:s.end], s.start)
		if q < 0 {
			return nil, s.errorf("%s", lebProblem(q, "global count"))
		}
		globCount, globCountEnd = n, q
	}
	if n := uint64(im.globals) + uint64(globCount); n > lim.globals {
		return nil, overLimit(n, "globals", lim.globals)
	}
	if uint64(im.globals)+uint64(globCount) > 0xFFFFFFFF-2 {
		return nil, errors.New("too many globals to add two")
	}
	stopIdx := im.globals + globCount
	tickIdx := stopIdx + 1

	expCount, expCountEnd := uint32(0), 0
	if exp >= 0 {
		var err error
		expCount, expCountEnd, err = scanExports(wasm, secs[exp], stopIdx, lim)
		if err != nil {
			return nil, err
		}
	}

	var chkBuf [64]byte
	chk := appendCheck(chkBuf[:0], stopIdx, tickIdx, mem64)

	// Pass 1 over the code: find every insertion point.
	insp := insPool.Get().(*[]uint32)
	defer func() {
		if cap(*insp) <= 1<<20 {
			*insp = (*insp)[:0]
			insPool.Put(insp)
		}
	}()
	ins := (*insp)[:0]
	bc := bodyCheck{stop: stopIdx, lim: lim}
	codeCount, codeCountEnd, newCodeSize := uint32(0), 0, 0
	if code >= 0 {
		s := secs[code]
		b := wasm[:s.end]
		n, p := readU32(b, s.start)
		if p < 0 {
			return nil, s.errorf("%s", lebProblem(p, "function count"))
		}
		codeCount, codeCountEnd = n, p
		newCodeSize = p - s.start
		for i := uint32(0); i < n; i++ {
			fn := uint64(im.funcs) + uint64(i)
			bodyOff := p
			if p >= len(b) {
				return nil, s.errorf("function %d at offset %d: truncated (section declares %d bodies, has %d)", fn, bodyOff, n, i)
			}
			size, q := readU32(b, p)
			if q < 0 {
				return nil, s.errorf("function %d at offset %d: %s", fn, bodyOff, lebProblem(q, "body size"))
			}
			end := q + int(size)
			if uint64(q)+uint64(size) > uint64(len(b)) {
				return nil, s.errorf("function %d at offset %d: truncated (body size %d, %d bytes left in section)", fn, bodyOff, size, len(b)-q)
			}
			if uint64(size) > lim.bodySize {
				*insp = ins
				return nil, funcError(wasm, secs, fn, overLimit(uint64(size), "bytes of code", lim.bodySize))
			}
			before := len(ins)
			var err error
			ins, err = scanBody(b[:end], q, &bc, ins, nil)
			if err != nil {
				*insp = ins
				if _, ok := err.(*limitError); ok {
					return nil, funcError(wasm, secs, fn, err)
				}
				return nil, s.errorf("function %d at offset %d: %v", fn, bodyOff, err)
			}
			grown := uint64(size) + uint64(len(ins)-before)*uint64(len(chk))
			if grown > 0xFFFFFFFF {
				*insp = ins
				return nil, s.errorf("function %d at offset %d: instrumented body too large", fn, bodyOff)
			}
			newCodeSize += lebLen(uint32(grown)) + int(grown)
			p = end
		}
		*insp = ins
		if p != s.end {
			return nil, s.errorf("%d bytes after the last function body", s.end-p)
		}
		if uint64(newCodeSize) > 0xFFFFFFFF {
			return nil, s.errorf("instrumented code section too large")
		}
	}

	// Sizes of the rewritten or new sections.
	globSize := 1 + len(newGlobals) // new section: count 2 + entries
	if glob >= 0 {
		s := secs[glob]
		globSize = lebLen(globCount+2) + (s.end - globCountEnd) + len(newGlobals)
	}
	expEntry := 1 + len(StopExport) + 1 + lebLen(stopIdx)
	expAdded := uint32(1)
	if hasStart {
		expEntry += 1 + len(StartExport) + 1 + lebLen(startFunc)
		expAdded++
	}
	expSize := lebLen(expAdded) + expEntry
	if exp >= 0 {
		s := secs[exp]
		expSize = lebLen(expCount+expAdded) + (s.end - expCountEnd) + expEntry
	}
	total := len(wasm)
	total += 1 + lebLen(uint32(globSize)) + globSize
	total += 1 + lebLen(uint32(expSize)) + expSize
	if !hasMemory {
		total += 2 + len(newMemory)
	}
	if emptyMem {
		total -= secs[mem].end - secs[mem].off
	}
	if glob >= 0 {
		total -= secs[glob].end - secs[glob].off
	}
	if exp >= 0 {
		total -= secs[exp].end - secs[exp].off
	}
	if tab >= 0 {
		total += 1 + lebLen(uint32(len(tables))) + len(tables) - (secs[tab].end - secs[tab].off)
	}
	if hasStart {
		total -= secs[start].end - secs[start].off
	}
	if code >= 0 {
		s := secs[code]
		total += 1 + lebLen(uint32(newCodeSize)) + newCodeSize - (s.end - s.off)
	}

	// Pass 2: emit.
	out := make([]byte, 0, total)
	out = append(out, wasm[:8]...)
	memDone, globDone, expDone := hasMemory, false, false
	emitMemory := func() {
		out = append(out, secMemory, byte(len(newMemory)))
		out = append(out, newMemory[:]...)
		memDone = true
	}
	emitGlobal := func() {
		out = append(out, secGlobal)
		out = appendLEB(out, uint32(globSize))
		if glob >= 0 {
			s := secs[glob]
			out = appendLEB(out, globCount+2)
			out = append(out, wasm[globCountEnd:s.end]...)
		} else {
			out = append(out, 2)
		}
		out = append(out, newGlobals[:]...)
		globDone = true
	}
	emitExport := func() {
		out = append(out, secExport)
		out = appendLEB(out, uint32(expSize))
		if exp >= 0 {
			s := secs[exp]
			out = appendLEB(out, expCount+expAdded)
			out = append(out, wasm[expCountEnd:s.end]...)
		} else {
			out = appendLEB(out, expAdded)
		}
		out = append(out, byte(len(StopExport)))
		out = append(out, StopExport...)
		out = append(out, 0x03)
		out = appendLEB(out, stopIdx)
		if hasStart {
			out = append(out, byte(len(StartExport)))
			out = append(out, StartExport...)
			out = append(out, 0x00)
			out = appendLEB(out, startFunc)
		}
		expDone = true
	}
	for i, s := range secs {
		if s.id != secCustom {
			r := sectionRank[s.id]
			if !memDone && r > sectionRank[secMemory] {
				emitMemory()
			}
			if !globDone && r >= sectionRank[secGlobal] {
				emitGlobal()
			}
			if !expDone && r >= sectionRank[secExport] {
				emitExport()
			}
		}
		switch i {
		case glob, exp, start:
			// Emitted above, or removed.
		case tab:
			out = append(out, secTable)
			out = appendLEB(out, uint32(len(tables)))
			out = append(out, tables...)
		case mem:
			if emptyMem {
				emitMemory()
			} else {
				out = append(out, wasm[s.off:s.end]...)
			}
		case code:
			out = append(out, secCode)
			out = appendLEB(out, uint32(newCodeSize))
			out = appendLEB(out, codeCount)
			out = emitCode(out, wasm[:s.end], codeCountEnd, codeCount, ins, chk)
		default:
			out = append(out, wasm[s.off:s.end]...)
		}
	}
	if !memDone {
		emitMemory()
	}
	if !globDone {
		emitGlobal()
	}
	if !expDone {
		emitExport()
	}
	return out, nil
}

// emitCode appends the function bodies starting at b[p:], with chk inserted at
// every insertion point in ins (sorted, all inside the bodies).
func emitCode(out, b []byte, p int, n uint32, ins []uint32, chk []byte) []byte {
	k := 0
	for range n {
		size, q := readU32(b, p)
		end := q + int(size)
		j := k
		for j < len(ins) && int(ins[j]) < end {
			j++
		}
		out = appendLEB(out, size+uint32((j-k)*len(chk)))
		last := q
		for _, at := range ins[k:j] {
			out = append(out, b[last:at]...)
			out = append(out, chk...)
			last = int(at)
		}
		out = append(out, b[last:end]...)
		k = j
		p = end
	}
	return out
}

// imports summarises the import section.
type imports struct {
	funcs, globals, memories, tables uint32
	firstMemory64                    bool // the first imported memory is 64-bit
}

// scanImports counts the imported functions, globals, memories and tables,
// and checks the minimum size of imported tables.
func scanImports(wasm []byte, s section, lim *limits) (im imports, err error) {
	b := wasm[:s.end]
	n, p := readU32(b, s.start)
	if p < 0 {
		return im, s.errorf("%s", lebProblem(p, "import count"))
	}
	if uint64(n) > lim.imports {
		return im, overLimit(uint64(n), "imports", lim.imports)
	}
	for i := uint32(0); i < n; i++ {
		off := p
		p = skipName(b, p)
		if p >= 0 {
			p = skipName(b, p)
		}
		if p >= 0 && p >= len(b) {
			p = errTruncated
		}
		if p < 0 {
			return im, s.errorf("import %d at offset %d: %s", i, off, lebProblem(p, "name"))
		}
		kind := b[p]
		p++
		switch kind {
		case 0x00: // function: type index
			im.funcs++
			p = skipLEB(b, p, 5)
		case 0x01: // table: reference type, limits
			im.tables++
			p = skipTableRefType(b, p)
			if p >= 0 && p < len(b) && b[p]&0x04 == 0 {
				if min, _ := readU32(b, p+1); uint64(min) > lim.tableEntries {
					return im, overLimit(uint64(min), fmt.Sprintf("entries in imported table %d", im.tables-1), lim.tableEntries)
				}
			}
			p = skipLimits(b, p)
		case 0x02: // memory: limits
			if im.memories == 0 && p < len(b) {
				im.firstMemory64 = b[p]&0x04 != 0
			}
			im.memories++
			p = skipLimits(b, p)
		case 0x03: // global: value type, mutability
			im.globals++
			p = skipValType(b, p)
			if p >= 0 {
				if p >= len(b) {
					p = errTruncated
				} else if b[p] > 1 {
					p = errBadMutability
				} else {
					p++
				}
			}
		case 0x04: // tag: attribute 0, type index
			if p >= len(b) {
				p = errTruncated
			} else if b[p] != 0 {
				p = errBadTagAttribute
			} else {
				p = skipLEB(b, p+1, 5)
			}
		default:
			return im, s.errorf("import %d at offset %d: unknown import kind 0x%02x", i, off, kind)
		}
		if p < 0 {
			return im, s.errorf("import %d at offset %d: %s", i, off, lebProblem(p, "import type"))
		}
	}
	if p != s.end {
		return im, s.errorf("%d bytes after the last import", s.end-p)
	}
	return im, nil
}

// scanExports checks the export section and returns its count and the
// offset just after the count.
func scanExports(wasm []byte, s section, stopIdx uint32, lim *limits) (count uint32, countEnd int, err error) {
	b := wasm[:s.end]
	n, p := readU32(b, s.start)
	if p < 0 {
		return 0, 0, s.errorf("%s", lebProblem(p, "export count"))
	}
	if uint64(n) > lim.exports {
		return 0, 0, overLimit(uint64(n), "exports", lim.exports)
	}
	countEnd = p
	for i := uint32(0); i < n; i++ {
		off := p
		l, q := readU32(b, p)
		if q >= 0 && uint64(q)+uint64(l) >= uint64(len(b)) {
			q = errTruncated
		}
		if q < 0 {
			return 0, 0, s.errorf("export %d at offset %d: %s", i, off, lebProblem(q, "name"))
		}
		name := b[q : q+int(l)]
		p = q + int(l)
		kind := b[p]
		idx, q := readU32(b, p+1)
		if q < 0 {
			return 0, 0, s.errorf("export %d at offset %d: %s", i, off, lebProblem(q, "index"))
		}
		p = q
		if string(name) == StopExport || string(name) == StartExport {
			return 0, 0, fmt.Errorf("module already exports %q (export %d at offset %d)", name, i, off)
		}
		if kind > 0x04 {
			return 0, 0, s.errorf("export %d at offset %d: unknown export kind 0x%02x", i, off, kind)
		}
		if kind == 0x03 && idx >= stopIdx {
			return 0, 0, s.errorf("export %q at offset %d: global %d does not exist (module has %d)", name, off, idx, stopIdx)
		}
	}
	if p != s.end {
		return 0, 0, s.errorf("%d bytes after the last export", s.end-p)
	}
	return n, countEnd, nil
}

// skipTableRefType skips a table's reference type: (ref null? heaptype), or
// one byte. Like wazero, it takes any other byte as a reference type (the
// length is what matters here; wazero validates the type). A 0x40 prefix
// (table with an initializer expression, which wazero also accepts in
// imports) is refused.
func skipTableRefType(b []byte, p int) int {
	if p < 0 {
		return p
	}
	if p >= len(b) {
		return errTruncated
	}
	switch b[p] {
	case 0x63, 0x64:
		return skipHeapType(b, p+1)
	case 0x40:
		return errTableInit
	}
	return p + 1
}

// skipName skips a vec(byte).
func skipName(b []byte, p int) int {
	l, q := readU32(b, p)
	if q < 0 {
		return q
	}
	if uint64(q)+uint64(l) > uint64(len(b)) {
		return errTruncated
	}
	return q + int(l)
}

// skipLimits skips table or memory limits: a flags byte (bit 0: has maximum,
// bit 1: shared, bit 2: 64-bit), the minimum and the optional maximum.
func skipLimits(b []byte, p int) int {
	if p < 0 {
		return p
	}
	if p >= len(b) {
		return errTruncated
	}
	flags := b[p]
	if flags > 0x07 {
		return errBadLimits
	}
	max := 5
	if flags&0x04 != 0 {
		max = 10
	}
	p = skipLEB(b, p+1, max)
	if flags&0x01 != 0 {
		p = skipLEB(b, p, max)
	}
	return p
}
