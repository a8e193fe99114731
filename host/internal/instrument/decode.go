package instrument

import "fmt"

// Negative positions returned by the scanning helpers.
const (
	errTruncated = -1 - iota
	errLEBTooLong
	errBadValType
	errBadMutability
	errBadTagAttribute
	errBadLimits
	errBadBlockType
	errBadCatch
	errBadFence
	errBadHeapType
	errTableInit
)

// lebProblem describes a negative position returned by a helper; what names
// the thing being decoded.
func lebProblem(code int, what string) string {
	switch code {
	case errTruncated:
		return "truncated " + what
	case errLEBTooLong:
		return "malformed LEB128 in " + what
	case errBadValType:
		return "invalid value type in " + what
	case errBadMutability:
		return "invalid global mutability in " + what
	case errBadTagAttribute:
		return "invalid tag attribute in " + what
	case errBadLimits:
		return "invalid limits flags in " + what
	case errBadBlockType:
		return "invalid block type in " + what
	case errBadCatch:
		return "invalid catch clause in " + what
	case errBadFence:
		return "invalid atomic.fence flags in " + what
	case errBadHeapType:
		return "invalid heap type in " + what
	case errTableInit:
		return "table with an initializer expression in " + what
	}
	return fmt.Sprintf("error %d in %s", code, what)
}

// readU32 decodes an unsigned LEB128 u32 at b[p:] and returns it with the
// position after it, or a negative error position.
func readU32(b []byte, p int) (uint32, int) {
	if p < 0 {
		return 0, p
	}
	if p < len(b) && b[p] < 0x80 {
		return uint32(b[p]), p + 1
	}
	var v uint32
	for i := 0; i < 5; i++ {
		if p >= len(b) {
			return 0, errTruncated
		}
		c := b[p]
		p++
		v |= uint32(c&0x7F) << (7 * i)
		if c < 0x80 {
			if i == 4 && c > 0x0F {
				return 0, errLEBTooLong
			}
			return v, p
		}
	}
	return 0, errLEBTooLong
}

// skipLEB skips an LEB128 number of at most max bytes.
func skipLEB(b []byte, p, max int) int {
	if p < 0 {
		return p
	}
	for i := 0; i < max; i++ {
		if p >= len(b) {
			return errTruncated
		}
		c := b[p]
		p++
		if c < 0x80 {
			return p
		}
	}
	return errLEBTooLong
}

// skipS33 skips a signed LEB128 s33 that must be non-negative (a type index).
func skipTypeIndex(b []byte, p int, bad int) int {
	for i := 0; i < 5; i++ {
		if p >= len(b) {
			return errTruncated
		}
		c := b[p]
		p++
		if c < 0x80 {
			if c&0x40 != 0 {
				return bad // negative
			}
			return p
		}
	}
	return errLEBTooLong
}

// isAbstractHeapType reports whether the one-byte (negative s33) encoding c
// names an abstract heap type, or the short form of a nullable reference
// type: func, extern, exn and the GC ones.
func isAbstractHeapType(c byte) bool {
	switch c {
	case 0x70, 0x6F, 0x69, // func, extern, exn
		0x73, 0x72, 0x74, // nofunc, noextern, noexn
		0x71, 0x6E, 0x6D, 0x6C, 0x6B, 0x6A: // none, any, eq, i31, struct, array
		return true
	}
	return false
}

// skipHeapType skips a heap type: an abstract one (one byte) or a type index.
func skipHeapType(b []byte, p int) int {
	if p < 0 {
		return p
	}
	if p >= len(b) {
		return errTruncated
	}
	c := b[p]
	if c >= 0x40 && c < 0x80 {
		if isAbstractHeapType(c) {
			return p + 1
		}
		return errBadHeapType
	}
	return skipTypeIndex(b, p, errBadHeapType)
}

// skipValType skips a value type: a number or vector type, a short-form
// reference type, or (ref null? heaptype).
func skipValType(b []byte, p int) int {
	if p < 0 {
		return p
	}
	if p >= len(b) {
		return errTruncated
	}
	switch c := b[p]; c {
	case 0x7F, 0x7E, 0x7D, 0x7C, 0x7B: // i32 i64 f32 f64 v128
		return p + 1
	case 0x63, 0x64: // (ref null ht), (ref ht)
		return skipHeapType(b, p+1)
	default:
		if isAbstractHeapType(c) {
			return p + 1
		}
		return errBadValType
	}
}

// skipBlockType skips a block type: 0x40 (empty), a value type, or a
// non-negative s33 type index.
func skipBlockType(b []byte, p int) int {
	if p >= len(b) {
		return errTruncated
	}
	c := b[p]
	switch {
	case c == 0x40:
		return p + 1
	case c < 0x40: // one-byte type index
		return p + 1
	case c < 0x80:
		p = skipValType(b, p)
		if p == errBadValType {
			return errBadBlockType
		}
		return p
	}
	return skipTypeIndex(b, p, errBadBlockType)
}

// skipMemarg skips a memory argument: alignment flags (bit 6 set: a memory
// index follows, multi-memory) and an offset (u64 with memory64).
func skipMemarg(b []byte, p int) int {
	align, p := readU32(b, p)
	if align&0x40 != 0 {
		p = skipLEB(b, p, 5)
	}
	return skipLEB(b, p, 10)
}

// Immediate kinds of one-byte opcodes.
const (
	kInvalid = iota
	kNone
	kU32      // one u32 (label, function, local, table, tag, type, memory index)
	kU32x2    // two u32
	kBlock    // block type, opens a block
	kLoop     // block type, opens a loop: insertion point after it
	kEnd      // closes a block or the function
	kDelegate // label; closes a legacy try
	kGlobal   // global index, checked against the stop global
	kMemarg
	kI32
	kI64
	kF32
	kF64
	kBrTable
	kSelectT
	kRefNull
	kTryTable
	kPrefixFC
	kPrefixFD
	kPrefixFE
	kBranch // label: br, br_if, br_on_null, br_on_non_null
	kElse
	kCall // function index: call; after a call of an import, a sample point
	kFunc // function index: return_call, ref.func
)

// Immediate kinds of 0xFD (SIMD) sub-opcodes.
const (
	vInvalid = iota
	vNone
	vMemarg
	vMemargLane
	vBytes16
	vLane
)

var (
	opKind   [256]uint8
	simdKind [0x114]uint8
	// fcImms is the number of u32 immediates of 0xFC sub-opcodes 0..17.
	fcImms = [...]uint8{0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 2, 1, 2, 1, 2, 1, 1, 1}
)

func init() {
	set := func(lo, hi int, k uint8) {
		for i := lo; i <= hi; i++ {
			opKind[i] = k
		}
	}
	set(0x00, 0x01, kNone)     // unreachable nop
	set(0x02, 0x02, kBlock)    // block
	set(0x03, 0x03, kLoop)     // loop
	set(0x04, 0x04, kBlock)    // if
	set(0x05, 0x05, kElse)     // else
	set(0x06, 0x06, kBlock)    // try (legacy exceptions)
	set(0x07, 0x09, kU32)      // catch (legacy) throw rethrow (legacy)
	set(0x0A, 0x0A, kNone)     // throw_ref
	set(0x0B, 0x0B, kEnd)      // end
	set(0x0C, 0x0D, kBranch)   // br br_if
	set(0x0E, 0x0E, kBrTable)  // br_table
	set(0x0F, 0x0F, kNone)     // return
	set(0x10, 0x10, kCall)     // call
	set(0x11, 0x11, kU32x2)    // call_indirect
	set(0x12, 0x12, kFunc)     // return_call
	set(0x13, 0x13, kU32x2)    // return_call_indirect
	set(0x14, 0x15, kU32)      // call_ref return_call_ref
	set(0x18, 0x18, kDelegate) // delegate (legacy)
	set(0x19, 0x19, kNone)     // catch_all (legacy)
	set(0x1A, 0x1B, kNone)     // drop select
	set(0x1C, 0x1C, kSelectT)  // select t*
	set(0x1F, 0x1F, kTryTable) // try_table
	set(0x20, 0x22, kU32)      // local.get/set/tee
	set(0x23, 0x24, kGlobal)   // global.get/set
	set(0x25, 0x26, kU32)      // table.get/set
	set(0x28, 0x3E, kMemarg)   // loads and stores
	set(0x3F, 0x40, kU32)      // memory.size/grow
	set(0x41, 0x41, kI32)      // i32.const
	set(0x42, 0x42, kI64)      // i64.const
	set(0x43, 0x43, kF32)      // f32.const
	set(0x44, 0x44, kF64)      // f64.const
	set(0x45, 0xC4, kNone)     // numeric, sign extension
	set(0xD0, 0xD0, kRefNull)  // ref.null
	set(0xD1, 0xD1, kNone)     // ref.is_null
	set(0xD2, 0xD2, kFunc)     // ref.func
	set(0xD3, 0xD4, kNone)     // ref.eq ref.as_non_null
	set(0xD5, 0xD6, kBranch)   // br_on_null br_on_non_null
	set(0xFC, 0xFC, kPrefixFC) // saturating truncation, bulk memory, tables
	set(0xFD, 0xFD, kPrefixFD) // SIMD
	set(0xFE, 0xFE, kPrefixFE) // threads
	setv := func(lo, hi int, k uint8) {
		for i := lo; i <= hi; i++ {
			simdKind[i] = k
		}
	}
	setv(0x00, 0x0B, vMemarg)     // v128.load* v128.store
	setv(0x0C, 0x0D, vBytes16)    // v128.const i8x16.shuffle
	setv(0x0E, 0x14, vNone)       // swizzle, splats
	setv(0x15, 0x22, vLane)       // extract/replace lane
	setv(0x23, 0x53, vNone)       // comparisons, bitwise
	setv(0x54, 0x5B, vMemargLane) // load/store lane
	setv(0x5C, 0x5D, vMemarg)     // load zero
	setv(0x5E, 0xFF, vNone)       // arithmetic, conversions
	for _, unassigned := range []int{
		0x9A, 0xA2, 0xA5, 0xA6, 0xAF, 0xB0, 0xB2, 0xB3, 0xB4, 0xBB,
		0xC2, 0xC5, 0xC6, 0xCF, 0xD0, 0xD2, 0xD3, 0xD4, 0xE2, 0xEE,
	} {
		simdKind[unassigned] = vInvalid
	}
	setv(0x100, 0x113, vNone) // relaxed SIMD
}

// unknownOpcode formats the error for an opcode the decoder does not know.
func unknownOpcode(op byte, sub uint32, prefixed bool, off int) error {
	if prefixed {
		return fmt.Errorf("unknown opcode 0x%02x 0x%02x at offset %d", op, sub, off)
	}
	if op == 0xFB {
		return fmt.Errorf("unknown opcode 0xfb at offset %d (GC instructions are not supported)", off)
	}
	return fmt.Errorf("unknown opcode 0x%02x at offset %d", op, off)
}

// bodyCheck is what scanBody checks bodies against.
type bodyCheck struct {
	stop      uint32   // global.get and global.set of indices >= stop are rejected
	funcs     uint32   // call, return_call and ref.func of indices >= funcs are rejected
	imports   uint32   // the functions < imports are imported
	calls     []uint32 // appended to: offset after, index of every call of an import
	lim       *limits  // locals, nesting, branches and br_table targets
	brTargets uint64   // br_table targets in the bodies scanned so far
	branches  uint64   // their branches (see scanBody)
	cost      uint64   // sum of the squares of their branches
}

// scanBody decodes one function body, b[p:] (b ends where the body ends), and
// appends to ins the insertion points: the first instruction, and the
// instruction after every loop's block type; and to c.calls the offset
// after, and the function index of, every call of an imported function.
// global.get and global.set of indices >= c.stop are rejected, and so are
// call, return_call and ref.func of indices >= c.funcs and a body over c.lim
// (a *limitError). If offs is not nil, the offset of every instruction is
// appended to it (for tests).
func scanBody(b []byte, p int, c *bodyCheck, ins []uint32, offs *[]uint32) ([]uint32, error) {
	start, stop, lim := p, c.stop, c.lim
	groups, p := readU32(b, p)
	var locals uint64
	for i := uint32(0); i < groups && p >= 0; i++ {
		var n uint32
		n, p = readU32(b, p)
		locals += uint64(n)
		p = skipValType(b, p)
	}
	if p < 0 {
		return ins, fmt.Errorf("%s", lebProblem(p, fmt.Sprintf("locals at offset %d", start)))
	}
	if locals > lim.locals {
		return ins, overLimit(locals, "locals", lim.locals)
	}
	ins = append(ins, uint32(p))
	depth, deepest := 1, 1 // the function's own block is depth 1
	// branches counts what makes basic blocks: blocks, loops (four: the
	// check has two ifs), ifs, elses, trys, branches and br_table targets.
	// It starts at 2, for the check at the function's entry.
	branches := uint64(2)
	for p < len(b) {
		off := p
		op := b[p]
		p++
		if offs != nil {
			*offs = append(*offs, uint32(off))
		}
		switch opKind[op] {
		case kNone:
		case kU32:
			if p < len(b) && b[p] < 0x80 {
				p++
			} else {
				p = skipLEB(b, p, 5)
			}
		case kBranch:
			branches++
			if p < len(b) && b[p] < 0x80 {
				p++
			} else {
				p = skipLEB(b, p, 5)
			}
		case kElse:
			branches++
		case kEnd:
			depth--
			if depth == 0 {
				if p != len(b) {
					return ins, fmt.Errorf("function ends at offset %d, %d bytes before the end of its body", off, len(b)-p)
				}
				if uint64(deepest-1) > lim.nesting {
					return ins, &limitError{fmt.Sprintf("blocks nested %d deep, more than the limit of %d", deepest-1, lim.nesting)}
				}
				if branches > lim.branches {
					return ins, &limitError{fmt.Sprintf("%d blocks, branches and br_table targets, more than the limit of %d", branches, lim.branches)}
				}
				return ins, c.addCost(branches)
			}
		case kGlobal:
			var idx uint32
			idx, p = readU32(b, p)
			if p >= 0 && idx >= stop {
				return ins, fmt.Errorf("instruction at offset %d uses global %d, which does not exist (module has %d)", off, idx, stop)
			}
		case kCall, kFunc:
			var idx uint32
			idx, p = readU32(b, p)
			if p >= 0 {
				if idx >= c.funcs {
					return ins, fmt.Errorf("instruction at offset %d uses function %d, which does not exist (module has %d)", off, idx, c.funcs)
				}
				if idx < c.imports && opKind[op] == kCall {
					c.calls = append(c.calls, uint32(p), idx)
				}
			}
		case kMemarg:
			p = skipMemarg(b, p)
		case kI32:
			p = skipLEB(b, p, 5)
		case kLoop:
			if depth++; depth > deepest {
				deepest = depth
			}
			branches += 4
			p = skipBlockType(b, p)
			if p >= 0 {
				ins = append(ins, uint32(p))
			}
		case kBlock:
			if depth++; depth > deepest {
				deepest = depth
			}
			branches++
			p = skipBlockType(b, p)
		case kU32x2:
			p = skipLEB(b, p, 5)
			p = skipLEB(b, p, 5)
		case kI64:
			p = skipLEB(b, p, 10)
		case kF32:
			p += 4
			if p > len(b) {
				p = errTruncated
			}
		case kF64:
			p += 8
			if p > len(b) {
				p = errTruncated
			}
		case kBrTable:
			var n uint32
			n, p = readU32(b, p)
			if p >= 0 {
				targets := uint64(n) + 1
				if targets > lim.brTargets {
					return ins, overLimit(targets, fmt.Sprintf("targets in the br_table at offset %d", off), lim.brTargets)
				}
				branches += targets
				if c.brTargets += targets; c.brTargets > lim.brTargetsTotal {
					return ins, overLimit(c.brTargets, fmt.Sprintf("br_table targets in the module up to the one at offset %d", off), lim.brTargetsTotal)
				}
			}
			for i := uint64(0); i <= uint64(n) && p >= 0; i++ {
				p = skipLEB(b, p, 5)
			}
		case kSelectT:
			var n uint32
			n, p = readU32(b, p)
			for i := uint32(0); i < n && p >= 0; i++ {
				p = skipValType(b, p)
			}
		case kRefNull:
			p = skipHeapType(b, p)
		case kDelegate:
			depth--
			if depth == 0 {
				return ins, fmt.Errorf("delegate at offset %d outside any try", off)
			}
			p = skipLEB(b, p, 5)
		case kTryTable:
			if depth++; depth > deepest {
				deepest = depth
			}
			branches++
			p = skipBlockType(b, p)
			var n uint32
			n, p = readU32(b, p)
			for i := uint32(0); i < n && p >= 0; i++ {
				if p >= len(b) {
					p = errTruncated
					break
				}
				switch b[p] {
				case 0x00, 0x01: // catch, catch_ref: tag, label
					p = skipLEB(b, skipLEB(b, p+1, 5), 5)
				case 0x02, 0x03: // catch_all, catch_all_ref: label
					p = skipLEB(b, p+1, 5)
				default:
					p = errBadCatch
				}
			}
		case kPrefixFC:
			var sub uint32
			sub, p = readU32(b, p)
			if p < 0 {
				break
			}
			if sub >= uint32(len(fcImms)) {
				return ins, unknownOpcode(op, sub, true, off)
			}
			for i := uint8(0); i < fcImms[sub]; i++ {
				p = skipLEB(b, p, 5)
			}
		case kPrefixFD:
			var sub uint32
			sub, p = readU32(b, p)
			if p < 0 {
				break
			}
			k := uint8(vInvalid)
			if sub < uint32(len(simdKind)) {
				k = simdKind[sub]
			}
			switch k {
			case vNone:
			case vMemarg:
				p = skipMemarg(b, p)
			case vMemargLane:
				p = skipMemarg(b, p)
				if p >= 0 {
					p++
				}
			case vBytes16:
				p += 16
			case vLane:
				p++
			default:
				return ins, unknownOpcode(op, sub, true, off)
			}
			if p > len(b) {
				p = errTruncated
			}
		case kPrefixFE:
			var sub uint32
			sub, p = readU32(b, p)
			if p < 0 {
				break
			}
			switch {
			case sub <= 0x02 || (sub >= 0x10 && sub <= 0x4E):
				p = skipMemarg(b, p)
			case sub == 0x03: // atomic.fence
				if p >= len(b) {
					p = errTruncated
				} else if b[p] != 0 {
					p = errBadFence
				} else {
					p++
				}
			default:
				return ins, unknownOpcode(op, sub, true, off)
			}
		default:
			return ins, unknownOpcode(op, 0, false, off)
		}
		if p < 0 {
			return ins, fmt.Errorf("%s", lebProblem(p, fmt.Sprintf("instruction at offset %d", off)))
		}
	}
	return ins, fmt.Errorf("body at offset %d ends inside a block (missing end)", start)
}

// addCost adds a function's branches to the module's branch cost.
func (c *bodyCheck) addCost(branches uint64) error {
	if c.branches += branches; c.branches > c.lim.branchesTotal {
		return &limitError{fmt.Sprintf("its %d blocks, branches and br_table targets bring the module's to %d, more than the limit of %d",
			branches, c.branches, c.lim.branchesTotal)}
	}
	if c.cost += branches * branches; c.cost > c.lim.branchCost {
		return &limitError{fmt.Sprintf("its %d blocks, branches and br_table targets bring the module's branch cost (the sum of their squares over functions) to %d, more than the limit of %d",
			branches, c.cost, c.lim.branchCost)}
	}
	return nil
}

// appendLEB appends v as an unsigned LEB128.
func appendLEB(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// lebLen is the length of v as an unsigned LEB128.
func lebLen(v uint32) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// appendSLEB appends v as a signed LEB128.
func appendSLEB(b []byte, v int32) []byte {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// slebLen is the length of v as a signed LEB128.
func slebLen(v int32) int {
	n := 1
	for v >= 0x40 || v < -0x40 {
		v >>= 7
		n++
	}
	return n
}
