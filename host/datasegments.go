package host

import (
	"bytes"
	"slices"
)

// mergeDataSegments returns wasm with its active data segments merged where
// they are at most maxDataGap bytes apart, the gaps filled with zeros, or
// wasm itself if it cannot tell that this changes nothing.
//
// Go's linker splits a module's data at every run of 8 or more zero bytes:
// a Go operator has some 27,000 segments of 24 bytes on average, and wazero
// decodes and allocates each one on every compilation, even from its cache
// (about 4 ms of 45), and copies each one into every new instance. Merged,
// they are a few segments and 0.5 MB more of zeros.
//
// Merging is exact when every segment is active, for memory 0, at an
// i32.const offset, and no two overlap: memory starts zeroed and data is the
// first thing written to it, so the gaps were zeros anyway, and the order in
// which segments that do not overlap are copied does not matter (a segment
// out of bounds fails the instantiation either way, as the merged one ends
// where the last one did). Segment indices change, which matters only to
// memory.init and data.drop; a module that uses them has a data count
// section, and is left alone.
func mergeDataSegments(wasm []byte) []byte {
	if !bytes.HasPrefix(wasm, []byte("\x00asm\x01\x00\x00\x00")) {
		return wasm
	}
	header, dataStart, dataEnd := -1, -1, -1 // the data section: its id byte, its contents
	for p := 8; p < len(wasm); {
		id := wasm[p]
		size, q, ok := leb32(wasm, p+1)
		if !ok || uint64(q)+uint64(size) > uint64(len(wasm)) {
			return wasm
		}
		switch id {
		case 11: // data
			header, dataStart, dataEnd = p, q, q+int(size)
		case 12: // data count: memory.init and data.drop may name segments
			return wasm
		}
		p = q + int(size)
	}
	if dataStart < 0 {
		return wasm
	}
	segs, ok := dataSegments(wasm[dataStart:dataEnd])
	if !ok || len(segs) < 2 {
		return wasm
	}
	slices.SortStableFunc(segs, func(a, b dataSegment) int {
		switch {
		case a.offset < b.offset:
			return -1
		case a.offset > b.offset:
			return 1
		}
		return 0
	})
	merged := []dataSegment{segs[0]}
	owned := false // whether the last merged segment's data is a buffer of its own, not part of wasm
	for _, s := range segs[1:] {
		last := &merged[len(merged)-1]
		end := uint64(last.offset) + uint64(len(last.data))
		switch {
		case uint64(s.offset) < end: // overlap: order matters
			return wasm
		case uint64(s.offset)-end <= maxDataGap:
			if !owned {
				last.data, owned = slices.Clone(last.data), true
			}
			last.data = append(last.data, make([]byte, uint64(s.offset)-end)...)
			last.data = append(last.data, s.data...)
		default:
			merged, owned = append(merged, s), false
		}
	}

	var section []byte
	section = appendLEB(section, uint32(len(merged)))
	for _, s := range merged {
		section = append(section, 0, 0x41) // active, memory 0; i32.const
		section = appendSLEB(section, int32(s.offset))
		section = append(section, 0x0b) // end
		section = appendLEB(section, uint32(len(s.data)))
		section = append(section, s.data...)
	}
	out := make([]byte, 0, len(wasm)-(dataEnd-dataStart)+len(section)+5)
	out = append(out, wasm[:header]...)
	out = append(out, 11)
	out = appendLEB(out, uint32(len(section)))
	out = append(out, section...)
	return append(out, wasm[dataEnd:]...)
}

// maxDataGap is the largest run of zeros between segments that
// mergeDataSegments fills: Go leaves gaps of a few dozen bytes.
const maxDataGap = 4096

type dataSegment struct {
	offset uint32
	data   []byte
}

// dataSegments parses the contents of a data section whose segments are
// all active, for memory 0, at an i32.const offset; false if any is not.
func dataSegments(b []byte) ([]dataSegment, bool) {
	n, p, ok := leb32(b, 0)
	if !ok || uint64(n) > uint64(len(b)) {
		return nil, false
	}
	segs := make([]dataSegment, 0, n)
	for range n {
		var flags uint32
		if flags, p, ok = leb32(b, p); !ok {
			return nil, false
		}
		switch flags {
		case 0:
		case 2: // active with a memory index: only 0
			var mem uint32
			if mem, p, ok = leb32(b, p); !ok || mem != 0 {
				return nil, false
			}
		default: // passive
			return nil, false
		}
		if p >= len(b) || b[p] != 0x41 { // i32.const
			return nil, false
		}
		var offset int32
		if offset, p, ok = sleb32(b, p+1); !ok || p >= len(b) || b[p] != 0x0b {
			return nil, false
		}
		var size uint32
		if size, p, ok = leb32(b, p+1); !ok || uint64(p)+uint64(size) > uint64(len(b)) {
			return nil, false
		}
		segs = append(segs, dataSegment{uint32(offset), b[p : p+int(size)]})
		p += int(size)
	}
	return segs, p == len(b)
}

// leb32 reads an unsigned LEB128 u32 at p and returns it and the position
// after it.
func leb32(b []byte, p int) (uint32, int, bool) {
	var v uint64
	for shift := 0; shift < 35; shift += 7 {
		if p >= len(b) {
			return 0, p, false
		}
		c := b[p]
		p++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return uint32(v), p, v <= 0xffffffff
		}
	}
	return 0, p, false
}

// sleb32 reads a signed LEB128 i32 at p.
func sleb32(b []byte, p int) (int32, int, bool) {
	var v int64
	shift := 0
	for {
		if p >= len(b) || shift >= 35 {
			return 0, p, false
		}
		c := b[p]
		p++
		v |= int64(c&0x7f) << shift
		shift += 7
		if c < 0x80 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return int32(v), p, v >= -1<<31 && v < 1<<31
		}
	}
}

func appendLEB(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendSLEB(b []byte, v int32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 && c&0x40 == 0 || v == -1 && c&0x40 != 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
