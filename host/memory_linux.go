package host

import (
	goruntime "runtime"
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
	"golang.org/x/sys/unix"
)

// mmapAllocator gives each instance its linear memory as an anonymous
// private mapping of the maximum size (the memory limit), reserved with no
// access (PROT_NONE: no page, no commit charge) and made readable and
// writable as the guest grows into it. The kernel fills a page with zeros
// when it is first touched, so instantiation neither clears nor commits the
// reservation, growth is one mprotect, and the bytes past the memory's size
// fault even if wazero's bounds checks did not. Free unmaps it.
type mmapAllocator struct {
	closing atomic.Bool // the Host is closing: see mappedMemory.Free
}

func newMmapAllocator() *mmapAllocator { return &mmapAllocator{} }

// opened counts the bytes of every mapped memory opened for access (grown
// into): what tests compare with the Go heap.
var opened atomic.Int64

// mappedBytes is how many bytes of linear memory are mapped and open, over
// every Host.
func mappedBytes() int64 { return opened.Load() }

// Allocate implements experimental.MemoryAllocator. When the mapping cannot
// be made, the memory is on the Go heap, as without an allocator.
func (a *mmapAllocator) Allocate(capacity, max uint64) experimental.LinearMemory {
	if max == 0 || max > 1<<32 {
		return &heapMemory{buf: make([]byte, 0, capacity)}
	}
	b, err := unix.Mmap(-1, 0, int(max), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return &heapMemory{buf: make([]byte, 0, capacity)}
	}
	m := &mappedMemory{alloc: a, mapping: &mapping{b: b}}
	// wazero frees the memory of a closed instance, not of one that failed
	// to instantiate after its memory was made (a data segment out of
	// bounds): that one is unmapped when collected.
	m.cleanup = goruntime.AddCleanup(m, (*mapping).unmap, m.mapping)
	return m
}

// mappedMemory is one instance's linear memory.
type mappedMemory struct {
	alloc   *mmapAllocator
	mapping *mapping
	cleanup goruntime.Cleanup
}

// mapping is the reservation of a mappedMemory.
type mapping struct {
	b    []byte       // all of it
	open atomic.Int64 // bytes from the start readable and writable
}

func (mp *mapping) unmap() {
	_ = unix.Munmap(mp.b)
	opened.Add(-mp.open.Swap(0))
	mp.b = nil
}

// Reallocate implements experimental.LinearMemory: the first size bytes,
// opened if they were not, or nil past the reservation or if the kernel
// refuses (then memory.grow returns -1).
func (m *mappedMemory) Reallocate(size uint64) []byte {
	mp := m.mapping
	if size > uint64(len(mp.b)) {
		return nil
	}
	if n, open := int64(size), mp.open.Load(); n > open {
		if err := unix.Mprotect(mp.b[open:n], unix.PROT_READ|unix.PROT_WRITE); err != nil {
			return nil
		}
		opened.Add(n - open)
		mp.open.Store(n)
	}
	return mp.b[:size:size]
}

// Free implements experimental.LinearMemory: wazero calls it when the
// instance is closed. An instance is closed by its operator, on the
// goroutine that calls it, when no call is under way; but closing the Host
// closes whatever instances are left, and one may still be in a call on
// another goroutine: then the pages are given back and the range stays
// mapped (fresh zeros to a guest still writing), its addresses lost until
// the process ends, rather than the guest faulting on unmapped memory.
func (m *mappedMemory) Free() {
	m.cleanup.Stop()
	mp := m.mapping
	if m.alloc.closing.Load() {
		_ = unix.Madvise(mp.b, unix.MADV_DONTNEED)
		opened.Add(-mp.open.Swap(0))
		return
	}
	mp.unmap()
}

// heapMemory is a linear memory on the Go heap, for when no mapping can be
// made: wazero's own, growing within capacity without copying.
type heapMemory struct{ buf []byte }

func (m *heapMemory) Reallocate(size uint64) []byte {
	if size > uint64(cap(m.buf)) {
		m.buf = append(m.buf[:cap(m.buf)], make([]byte, size-uint64(cap(m.buf)))...)
	}
	m.buf = m.buf[:size]
	return m.buf
}

func (m *heapMemory) Free() { m.buf = nil }
