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

// SampleExport is the name under which the instrumented module exports its
// sample request: a mutable i32 global, 0 at instantiation. The host sets it
// to 1 to ask for a stack sample; the guest then calls the function
// [SampledExport] at its next slow check (see [TickExport]) or right after
// its next call to an imported function, whichever comes first, and that
// function sets it back to 0. The host reads the guest's stack in a wazero
// function listener attached to [SampledExport] only.
const SampleExport = "flowlab_sample"

// TickExport is the name under which the instrumented module exports the
// countdown of its checks: a mutable i32 global, 4096 at instantiation,
// decremented at every check; the check that brings it to 0 resets it to
// 4096 and polls [StopExport] and [SampleExport]. The host sets it to 1 so
// that the very next check polls them (a write that races with the guest's
// own decrement can be lost: the poll then comes at most 4096 checks later).
// The host must never set it to 0 or a negative value: the countdown would
// then take 2^32 checks to reach 0 again.
const TickExport = "flowlab_tick"

// SampledExport is the name under which the instrumented module exports the
// function it calls when a stack sample was requested ([SampleExport]): a
// function of type (param i32), appended after all the module's functions,
// whose body only sets [SampleExport] back to 0. Its parameter says where the
// guest was: -1 (0xFFFFFFFF as an unsigned i32) at a check (a function entry
// or a loop header: the caller's frame is the function that made the check),
// or X, right after the caller's call to imported function X returned.
const SampledExport = "flowlab_sampled"

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

// newGlobals are the appended globals: the stop flag (mutable i32 = 0), the
// tick countdown (mutable i32 = tickInterval) and the sample request (mutable
// i32 = 0).
var newGlobals = [...]byte{
	0x7F, 0x01, 0x41, 0x00, 0x0B,
	0x7F, 0x01, 0x41, 0x80, 0x20, 0x0B, // 4096
	0x7F, 0x01, 0x41, 0x00, 0x0B,
}

// sampledType is the type of the appended function $sampled: (param i32).
var sampledType = [...]byte{0x60, 0x01, 0x7F, 0x00}

// added holds the indices of what Instrument adds to a module.
type added struct {
	stop, tick, sample uint32 // globals
	sampled            uint32 // function
}

// newMemory is the memory added to a module that has none, so that the check
// has a memory to call memory.grow on: no pages, maximum 0.
var newMemory = [...]byte{0x01, 0x01, 0x00, 0x00} // count 1, flags 1, min 0, max 0

// checkSequence returns the code inserted at every function entry and loop
// header. a has the indices of the new globals and function; mem64 says
// whether memory 0 is a 64-bit memory.
func checkSequence(a added, mem64 bool) []byte {
	return appendCheck(nil, a, mem64)
}

// appendCheck appends the check to b: see [checkSequence].
func appendCheck(b []byte, a added, mem64 bool) []byte {
	tick := a.tick
	// global.get $tick  i32.const 1  i32.sub  global.set $tick
	b = appendLEB(append(b, 0x23), tick)
	b = appendLEB(append(b, 0x41, 0x01, 0x6B, 0x24), tick)
	// global.get $tick  i32.eqz  if  i32.const 4096  global.set $tick
	b = appendLEB(append(b, 0x23), tick)
	b = appendLEB(append(b, 0x45, 0x04, 0x40, 0x41, 0x80, 0x20, 0x24), tick)
	// global.get $stop  if  unreachable  end
	b = appendLEB(append(b, 0x23), a.stop)
	b = append(b, 0x04, 0x40, 0x00, 0x0B)
	// global.get $sample  if  i32.const -1  call $sampled  end
	b = appendSample(b, a, -1)
	// i32.const 0 (i64.const 0)  memory.grow 0  drop  end
	if mem64 {
		b = append(b, 0x42, 0x00)
	} else {
		b = append(b, 0x41, 0x00)
	}
	return append(b, 0x40, 0x00, 0x1A, 0x0B)
}

// appendSample appends to b the code that calls $sampled with param if a
// sample was requested: global.get $sample  if  i32.const param  call
// $sampled  end. It leaves the stack as it was.
func appendSample(b []byte, a added, param int32) []byte {
	b = appendLEB(append(b, 0x23), a.sample)
	b = appendSLEB(append(b, 0x04, 0x40, 0x41), param)
	b = appendLEB(append(b, 0x10), a.sampled)
	return append(b, 0x0B)
}

// sampleLen is len(appendSample(nil, a, param)).
func sampleLen(a added, param int32) int {
	return 6 + lebLen(a.sample) + slebLen(param) + lebLen(a.sampled)
}

// sampledBody is the body of $sampled, with its size: no locals,
// i32.const 0  global.set $sample  end.
func appendSampledBody(b []byte, a added) []byte {
	b = append(b, byte(5+lebLen(a.sample)), 0x00, 0x41, 0x00, 0x24)
	return append(appendLEB(b, a.sample), 0x0B)
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

// scratch is the lists of insertion points found in the code section: ins,
// the offsets of the checks; calls, pairs of the offset just after a call of
// an imported function and that function's index.
type scratch struct{ ins, calls []uint32 }

// scratchPool recycles the lists of insertion points.
var scratchPool = sync.Pool{New: func() any {
	return &scratch{ins: make([]uint32, 0, 4096), calls: make([]uint32, 0, 256)}
}}

// Instrument returns a copy of the WebAssembly module wasm in which a guest
// call can be stopped: it exports a mutable i32 global [StopExport], 0 at
// instantiation, and checks it at least every 4096 function entries and
// loop iterations, trapping with "unreachable" once the host has set it to
// non-zero. The same checks leave compiled code regularly (through a
// memory.grow of 0 pages), so that a spinning guest neither holds its P
// forever nor blocks the garbage collector's stop-the-world; a module without
// a memory gets an empty one for that.
//
// For a profiler, the module also exports the checks' countdown
// ([TickExport]), a sample request ([SampleExport]) and a function
// ([SampledExport]) that the guest calls when a sample was requested, at a
// check or right after a call to an imported function: see "Stack samples"
// in the package documentation.
//
// The module's start function, if any, is not run at instantiation: it is
// exported as [StartExport] for the host to call. Every table gets a maximum
// of at most [MaxTableEntries].
//
// The input is not modified. Instrument fails, with an error naming what and
// where, on a binary it cannot fully decode, on a module that exceeds one of
// the limits (see limits.go: functions, body size, nesting, br_table targets,
// locals, types, globals, imports, exports, segments, tables), on a module
// that refers to a global or function that does not exist (which after
// instrumentation could be one of the added ones), and on a module that
// already exports one of the names Instrument adds ([StopExport],
// [StartExport], [TickExport], [SampleExport], [SampledExport]).
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
	typ, fns, tab, start, elem := -1, -1, -1, -1, -1
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
		case secType:
			typ = len(secs)
		case secImport:
			imp = len(secs)
		case secFunction:
			fns = len(secs)
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
		case secElement:
			elem = len(secs)
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
	// The counts of the type and function sections: checkCounts read them.
	typeCount, typeCountEnd := uint32(0), 0
	if typ >= 0 {
		typeCount, typeCountEnd = readU32(wasm, secs[typ].start)
	}
	fnCount, fnCountEnd := uint32(0), 0
	if fns >= 0 {
		fnCount, fnCountEnd = readU32(wasm, secs[fns].start)
	}
	if typeCount == 0xFFFFFFFF {
		return nil, errors.New("too many types to add one")
	}
	if fns >= 0 {
		// $sampled's type is added at index typeCount: a function declaring
		// that index must be refused here, or it would be valid afterwards.
		if err := checkFunctionTypes(wasm, secs[fns], fnCount, fnCountEnd, typeCount); err != nil {
			return nil, err
		}
	}
	numFuncs := uint64(im.funcs) + uint64(fnCount)
	if numFuncs >= 0xFFFFFFFF {
		return nil, errors.New("too many functions to add one")
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
		if uint64(startFunc) >= numFuncs {
			return nil, s.errorf("start function %d does not exist (module has %d)", startFunc, numFuncs)
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
	if uint64(im.globals)+uint64(globCount) > 0xFFFFFFFF-3 {
		return nil, errors.New("too many globals to add three")
	}
	stopIdx := im.globals + globCount
	a := added{stop: stopIdx, tick: stopIdx + 1, sample: stopIdx + 2, sampled: uint32(numFuncs)}
	if glob >= 0 {
		if err := scanGlobals(wasm, secs[glob], globCount, globCountEnd, stopIdx, a.sampled); err != nil {
			return nil, err
		}
	}
	if elem >= 0 {
		if err := scanElements(wasm, secs[elem], stopIdx, a.sampled); err != nil {
			return nil, err
		}
	}

	expCount, expCountEnd := uint32(0), 0
	if exp >= 0 {
		var err error
		expCount, expCountEnd, err = scanExports(wasm, secs[exp], stopIdx, a.sampled, lim)
		if err != nil {
			return nil, err
		}
	}

	var chkBuf [64]byte
	chk := appendCheck(chkBuf[:0], a, mem64)

	// Pass 1 over the code: find every insertion point.
	sc := scratchPool.Get().(*scratch)
	defer func() {
		if cap(sc.ins) <= 1<<20 && cap(sc.calls) <= 1<<20 {
			sc.ins, sc.calls = sc.ins[:0], sc.calls[:0]
			scratchPool.Put(sc)
		}
	}()
	bc := bodyCheck{stop: stopIdx, funcs: a.sampled, imports: im.funcs, lim: lim, calls: sc.calls[:0]}
	ins := sc.ins[:0]
	codeCount, codeCountEnd, newCodeSize := uint32(0), 0, 0
	if code < 0 && fnCount > 0 {
		return nil, fmt.Errorf("no code section for %d functions", fnCount)
	}
	if code >= 0 {
		s := secs[code]
		b := wasm[:s.end]
		n, p := readU32(b, s.start)
		if p < 0 {
			return nil, s.errorf("%s", lebProblem(p, "function count"))
		}
		if n == 0xFFFFFFFF {
			return nil, s.errorf("too many function bodies to add one")
		}
		if n != fnCount {
			return nil, s.errorf("%d function bodies for %d functions", n, fnCount)
		}
		codeCount, codeCountEnd = n, p
		newCodeSize = lebLen(n+1) + p - s.start - lebLen(n)
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
				sc.ins, sc.calls = ins, bc.calls
				return nil, funcError(wasm, secs, fn, overLimit(uint64(size), "bytes of code", lim.bodySize))
			}
			before, callsBefore := len(ins), len(bc.calls)
			var err error
			ins, err = scanBody(b[:end], q, &bc, ins, nil)
			if err != nil {
				sc.ins, sc.calls = ins, bc.calls
				if _, ok := err.(*limitError); ok {
					return nil, funcError(wasm, secs, fn, err)
				}
				return nil, s.errorf("function %d at offset %d: %v", fn, bodyOff, err)
			}
			grown := uint64(size) + uint64(len(ins)-before)*uint64(len(chk))
			for k := callsBefore; k < len(bc.calls); k += 2 {
				grown += uint64(sampleLen(a, int32(bc.calls[k+1])))
			}
			if grown > 0xFFFFFFFF {
				sc.ins, sc.calls = ins, bc.calls
				return nil, s.errorf("function %d at offset %d: instrumented body too large", fn, bodyOff)
			}
			newCodeSize += lebLen(uint32(grown)) + int(grown)
			p = end
		}
		sc.ins, sc.calls = ins, bc.calls
		if p != s.end {
			return nil, s.errorf("%d bytes after the last function body", s.end-p)
		}
	} else {
		newCodeSize = 1 // count 1
	}
	newCodeSize += 6 + lebLen(a.sample) // $sampled
	if uint64(newCodeSize) > 0xFFFFFFFF {
		return nil, errors.New("instrumented code section too large")
	}
	calls := bc.calls

	// Sizes of the rewritten or new sections.
	typeSize := 1 + len(sampledType) // new section: count 1 + the type
	if typ >= 0 {
		s := secs[typ]
		typeSize = lebLen(typeCount+1) + (s.end - typeCountEnd) + len(sampledType)
	}
	fnSize := 1 + lebLen(typeCount) // new section: count 1 + the type index
	if fns >= 0 {
		s := secs[fns]
		fnSize = lebLen(fnCount+1) + (s.end - fnCountEnd) + lebLen(typeCount)
	}
	globSize := 1 + len(newGlobals) // new section: count 3 + entries
	if glob >= 0 {
		s := secs[glob]
		globSize = lebLen(globCount+3) + (s.end - globCountEnd) + len(newGlobals)
	}
	expEntry := 1 + len(StopExport) + 1 + lebLen(a.stop) +
		1 + len(TickExport) + 1 + lebLen(a.tick) +
		1 + len(SampleExport) + 1 + lebLen(a.sample) +
		1 + len(SampledExport) + 1 + lebLen(a.sampled)
	expAdded := uint32(4)
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
	total += 1 + lebLen(uint32(typeSize)) + typeSize
	total += 1 + lebLen(uint32(fnSize)) + fnSize
	total += 1 + lebLen(uint32(globSize)) + globSize
	total += 1 + lebLen(uint32(expSize)) + expSize
	total += 1 + lebLen(uint32(newCodeSize)) + newCodeSize
	if !hasMemory {
		total += 2 + len(newMemory)
	}
	for _, i := range [...]int{typ, fns, glob, exp, start, code} {
		if i >= 0 {
			total -= secs[i].end - secs[i].off
		}
	}
	if emptyMem {
		total -= secs[mem].end - secs[mem].off
	}
	if tab >= 0 {
		total += 1 + lebLen(uint32(len(tables))) + len(tables) - (secs[tab].end - secs[tab].off)
	}

	// Pass 2: emit.
	out := make([]byte, 0, total)
	out = append(out, wasm[:8]...)
	typeDone, fnDone, memDone, globDone, expDone, codeDone := false, false, hasMemory, false, false, false
	// extend appends section id of size bytes: the original's entries (if
	// it has the section) and then added ones, count in all.
	extend := func(id byte, size int, count uint32, sec, countEnd int, added []byte) {
		out = append(out, id)
		out = appendLEB(out, uint32(size))
		out = appendLEB(out, count)
		if sec >= 0 {
			out = append(out, wasm[countEnd:secs[sec].end]...)
		}
		out = append(out, added...)
	}
	emitType := func() {
		extend(secType, typeSize, typeCount+1, typ, typeCountEnd, sampledType[:])
		typeDone = true
	}
	emitFunction := func() {
		extend(secFunction, fnSize, fnCount+1, fns, fnCountEnd, appendLEB(nil, typeCount))
		fnDone = true
	}
	emitMemory := func() {
		out = append(out, secMemory, byte(len(newMemory)))
		out = append(out, newMemory[:]...)
		memDone = true
	}
	emitGlobal := func() {
		extend(secGlobal, globSize, globCount+3, glob, globCountEnd, newGlobals[:])
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
		out = appendExport(out, StopExport, 0x03, a.stop)
		out = appendExport(out, TickExport, 0x03, a.tick)
		out = appendExport(out, SampleExport, 0x03, a.sample)
		out = appendExport(out, SampledExport, 0x00, a.sampled)
		if hasStart {
			out = appendExport(out, StartExport, 0x00, startFunc)
		}
		expDone = true
	}
	emitCodeSection := func() {
		out = append(out, secCode)
		out = appendLEB(out, uint32(newCodeSize))
		out = appendLEB(out, codeCount+1)
		if code >= 0 {
			out = emitCode(out, wasm[:secs[code].end], codeCountEnd, codeCount, ins, calls, chk, a)
		}
		out = appendSampledBody(out, a)
		codeDone = true
	}
	for i, s := range secs {
		if s.id != secCustom {
			r := sectionRank[s.id]
			if !typeDone && r >= sectionRank[secType] {
				emitType()
			}
			if !fnDone && r >= sectionRank[secFunction] {
				emitFunction()
			}
			if !memDone && r > sectionRank[secMemory] {
				emitMemory()
			}
			if !globDone && r >= sectionRank[secGlobal] {
				emitGlobal()
			}
			if !expDone && r >= sectionRank[secExport] {
				emitExport()
			}
			if !codeDone && r >= sectionRank[secCode] {
				emitCodeSection()
			}
		}
		switch i {
		case typ, fns, glob, exp, start, code:
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
		default:
			out = append(out, wasm[s.off:s.end]...)
		}
	}
	if !typeDone {
		emitType()
	}
	if !fnDone {
		emitFunction()
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
	if !codeDone {
		emitCodeSection()
	}
	return out, nil
}

// appendExport appends an export entry (the name is shorter than 128 bytes).
// checkFunctionTypes checks that each of the n functions of the function
// section s, whose type indices start at p, declares a type that exists.
func checkFunctionTypes(wasm []byte, s section, n uint32, p int, types uint32) error {
	b := wasm[:s.end]
	for i := uint32(0); i < n; i++ {
		off := p
		var t uint32
		if t, p = readU32(b, p); p < 0 {
			return s.errorf("function %d at offset %d: %s", i, off, lebProblem(p, "type index"))
		}
		if t >= types {
			return s.errorf("function %d at offset %d: type %d does not exist (module has %d)", i, off, t, types)
		}
	}
	return nil
}

func appendExport(out []byte, name string, kind byte, idx uint32) []byte {
	out = append(out, byte(len(name)))
	out = append(out, name...)
	return appendLEB(append(out, kind), idx)
}

// emitCode appends the n function bodies starting at b[p:], with chk
// inserted at every insertion point in ins and a call of $sampled (see
// [appendSample]) at every one in calls (both sorted, all inside the bodies).
func emitCode(out, b []byte, p int, n uint32, ins, calls []uint32, chk []byte, a added) []byte {
	k, l := 0, 0
	for range n {
		size, q := readU32(b, p)
		end := q + int(size)
		j := k
		for j < len(ins) && int(ins[j]) < end {
			j++
		}
		m, grown := l, size+uint32((j-k)*len(chk))
		for m < len(calls) && int(calls[m]) < end {
			grown += uint32(sampleLen(a, int32(calls[m+1])))
			m += 2
		}
		out = appendLEB(out, grown)
		last := q
		for k < j || l < m {
			if l == m || k < j && ins[k] < calls[l] {
				at := int(ins[k])
				out = append(out, b[last:at]...)
				out = append(out, chk...)
				last = at
				k++
			} else {
				at := int(calls[l])
				out = append(out, b[last:at]...)
				out = appendSample(out, a, int32(calls[l+1]))
				last = at
				l += 2
			}
		}
		out = append(out, b[last:end]...)
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

// addedExports are the names of the exports Instrument adds: a module that
// already exports one of them is rejected.
var addedExports = [...]string{StopExport, StartExport, TickExport, SampleExport, SampledExport}

// scanExports checks the export section and returns its count and the
// offset just after the count. Exports of globals >= stopIdx and functions
// >= funcs (the added ones) are rejected.
func scanExports(wasm []byte, s section, stopIdx, funcs uint32, lim *limits) (count uint32, countEnd int, err error) {
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
		if len(name) > 6 && string(name[:7]) == "flowlab" {
			for _, added := range addedExports {
				if string(name) == added {
					return 0, 0, fmt.Errorf("module already exports %q (export %d at offset %d)", name, i, off)
				}
			}
		}
		if kind > 0x04 {
			return 0, 0, s.errorf("export %d at offset %d: unknown export kind 0x%02x", i, off, kind)
		}
		if kind == 0x03 && idx >= stopIdx {
			return 0, 0, s.errorf("export %q at offset %d: global %d does not exist (module has %d)", name, off, idx, stopIdx)
		}
		if kind == 0x00 && idx >= funcs {
			return 0, 0, s.errorf("export %q at offset %d: function %d does not exist (module has %d)", name, off, idx, funcs)
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

// scanGlobals checks the initializers of the global section, whose count n
// ends at countEnd: a global.get of a global >= globals or a ref.func of a
// function >= funcs (the added ones) is rejected.
func scanGlobals(wasm []byte, s section, n uint32, countEnd int, globals, funcs uint32) error {
	b := wasm[:s.end]
	p := countEnd
	for i := uint32(0); i < n; i++ {
		off := p
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
		var err error
		if p >= 0 {
			p, err = skipConstExpr(b, p, globals, funcs)
		}
		if err != nil {
			return s.errorf("global %d at offset %d: %v", i, off, err)
		}
		if p < 0 {
			return s.errorf("global %d at offset %d: %s", i, off, lebProblem(p, "global"))
		}
	}
	if p != s.end {
		return s.errorf("%d bytes after the last global", s.end-p)
	}
	return nil
}

// scanElements checks the element section: a function index >= funcs, or a
// ref.func of one, or a global.get of a global >= globals, in any segment
// (offset or items) is rejected. It decodes the segments as wazero does.
func scanElements(wasm []byte, s section, globals, funcs uint32) error {
	b := wasm[:s.end]
	n, p := readU32(b, s.start)
	if p < 0 {
		return s.errorf("%s", lebProblem(p, "segment count"))
	}
	for i := uint32(0); i < n; i++ {
		off := p
		var flags uint32
		flags, p = readU32(b, p)
		var err error
		if p >= 0 && flags > 7 {
			err = fmt.Errorf("unknown segment flags %d", flags)
		}
		if p >= 0 && err == nil && flags&0x03 == 0x02 { // active, explicit table index
			p = skipLEB(b, p, 5)
		}
		if p >= 0 && err == nil && flags&0x01 == 0 { // active: offset
			p, err = skipConstExpr(b, p, globals, funcs)
		}
		if p >= 0 && err == nil && flags&0x03 != 0 { // element kind or reference type
			if p >= len(b) {
				p = errTruncated
			} else if flags&0x04 != 0 && (b[p] == 0x63 || b[p] == 0x64) {
				p = skipHeapType(b, p+1)
			} else {
				p++
			}
		}
		var items uint32
		if p >= 0 && err == nil {
			items, p = readU32(b, p)
		}
		for j := uint32(0); j < items && p >= 0 && err == nil; j++ {
			if flags&0x04 != 0 {
				p, err = skipConstExpr(b, p, globals, funcs)
				continue
			}
			itemOff := p
			var idx uint32
			if idx, p = readU32(b, p); p >= 0 && idx >= funcs {
				err = fmt.Errorf("item at offset %d: function %d does not exist (module has %d)", itemOff, idx, funcs)
			}
		}
		if err != nil {
			return s.errorf("segment %d at offset %d: %v", i, off, err)
		}
		if p < 0 {
			return s.errorf("segment %d at offset %d: %s", i, off, lebProblem(p, "element segment"))
		}
	}
	if p != s.end {
		return s.errorf("%d bytes after the last element segment", s.end-p)
	}
	return nil
}

// skipConstExpr skips a constant expression at b[p:], its end included, as
// wazero decodes one (with extended-const, SIMD and typed references), and
// returns the position after it or a negative error position. A global.get
// of a global >= globals and a ref.func of a function >= funcs (the added
// ones) are errors.
func skipConstExpr(b []byte, p int, globals, funcs uint32) (int, error) {
	for p >= 0 {
		if p >= len(b) {
			return errTruncated, nil
		}
		off := p
		op := b[p]
		p++
		switch op {
		case 0x0B: // end
			return p, nil
		case 0x41: // i32.const
			p = skipLEB(b, p, 5)
		case 0x42: // i64.const
			p = skipLEB(b, p, 10)
		case 0x43: // f32.const
			if p += 4; p > len(b) {
				p = errTruncated
			}
		case 0x44: // f64.const
			if p += 8; p > len(b) {
				p = errTruncated
			}
		case 0x6A, 0x6B, 0x6C, 0x7C, 0x7D, 0x7E: // i32/i64 add, sub, mul
		case 0x23: // global.get
			var idx uint32
			if idx, p = readU32(b, p); p >= 0 && idx >= globals {
				return 0, fmt.Errorf("global.get at offset %d uses global %d, which does not exist (module has %d)", off, idx, globals)
			}
		case 0xD2: // ref.func
			var idx uint32
			if idx, p = readU32(b, p); p >= 0 && idx >= funcs {
				return 0, fmt.Errorf("ref.func at offset %d uses function %d, which does not exist (module has %d)", off, idx, funcs)
			}
		case 0xD0: // ref.null: an abstract heap type (one byte) or a type index
			if p >= len(b) {
				p = errTruncated
			} else if b[p] < 0x80 {
				p++
			} else {
				p = skipLEB(b, p, 5)
			}
		case 0xFD: // v128.const
			if p >= len(b) {
				p = errTruncated
			} else if b[p] != 0x0C {
				return 0, fmt.Errorf("opcode 0xfd 0x%02x at offset %d not allowed in a constant expression", b[p], off)
			} else if p += 17; p > len(b) {
				p = errTruncated
			}
		default:
			return 0, fmt.Errorf("opcode 0x%02x at offset %d not allowed in a constant expression", op, off)
		}
	}
	return p, nil
}
