package network

import (
	"math"
	"sync"
	"sync/atomic"
)

// Buffer is a sender's network buffer: records encoded back to back.
type Buffer struct {
	data    []byte
	records int
	latest  int64 // the latest timestamp of its records, kept as they are written; 0 for none
	// The earliest timestamp of its records, kept the same way; none while
	// it holds no records (then it is math.MaxInt64, so min keeps it).
	earliest int64
	// The fill threshold: the buffer counts as full once the next record
	// would take it past limit, which is the pool's buffer size unless the
	// receiver announced a smaller one (buffer debloating). Its memory is
	// always the pool's size, so a record too large for limit still fits
	// alone.
	limit int
	pool  *Pool
}

// Pool is a sender's local buffer pool of a fixed number of fixed-size
// buffers. Memory is allocated the first time a buffer is used. A Pool is
// drawn from by one goroutine (its writer) and refilled by any.
//
// Free buffers are a stack: the buffer returned last is taken first, so
// while the receivers keep up, the same few buffers' memory goes round and
// stays in cache, rather than all of the pool's (a channel's FIFO order,
// as before, was about 4% slower across an exchange).
type Pool struct {
	size  int
	total int
	mu    sync.Mutex
	free  []*Buffer     // under mu
	nfree atomic.Int32  // len(free), for Available and Used without the lock
	freed chan struct{} // one token, sent by Put, for a writer waiting for a buffer
}

// OutputBuffers is the size of a sender's pool for channels output channels,
// as Flink sizes a ResultPartition's local pool: room for what the receivers
// can take (perChannel exclusive buffers each, plus floating ones), and never
// fewer than one buffer per channel plus one. A writer holds one partially
// filled buffer per channel; without the extra one, a pool of exactly one
// buffer per channel would be empty while every channel holds a partial
// buffer, so the sender would find its output unavailable until the buffer
// timeout sent them, and records would cross one timeout at a time.
func OutputBuffers(channels, perChannel, floating int) int {
	return max(channels*perChannel+floating, channels+1)
}

// NewPool returns a pool of n buffers of size bytes each.
func NewPool(n, size int) *Pool {
	p := &Pool{size: size, total: n, free: make([]*Buffer, n), freed: make(chan struct{}, 1)}
	for i := range p.free {
		p.free[i] = &Buffer{pool: p, earliest: math.MaxInt64}
	}
	p.nfree.Store(int32(n))
	return p
}

// BufferSize is the size of each buffer.
func (p *Pool) BufferSize() int { return p.size }

// TryGet returns a free buffer, or nil if there is none.
func (p *Pool) TryGet() *Buffer {
	if p.nfree.Load() == 0 {
		return nil
	}
	p.mu.Lock()
	n := len(p.free)
	if n == 0 {
		p.mu.Unlock()
		return nil
	}
	b := p.free[n-1]
	p.free = p.free[:n-1]
	p.nfree.Store(int32(n - 1))
	p.mu.Unlock()
	return p.ready(b)
}

// Freed is signaled when a buffer is returned, for a select that waits for
// one; it may also be signaled for a buffer taken since, so the waiter
// looks again with TryGet or Available.
func (p *Pool) Freed() <-chan struct{} { return p.freed }

// Available reports whether a buffer is free now.
func (p *Pool) Available() bool { return p.nfree.Load() > 0 }

// Buffers is the number of buffers in the pool.
func (p *Pool) Buffers() int { return p.total }

// Used is the number of buffers in use (being filled or queued), from which
// Flink's buffers.outPoolUsage is computed.
func (p *Pool) Used() int { return p.total - int(p.nfree.Load()) }

// Put returns a buffer to its pool. It never blocks.
func (p *Pool) Put(b *Buffer) {
	b.data = b.data[:0]
	b.records, b.latest, b.earliest = 0, 0, math.MaxInt64
	p.mu.Lock()
	p.free = append(p.free, b)
	p.nfree.Store(int32(len(p.free)))
	p.mu.Unlock()
	select {
	case p.freed <- struct{}{}:
	default:
	}
}

// ready allocates a buffer's memory the first time it is used. A transfer
// swaps memory with the receiver's buffer, which has none before its first
// use either: from then on the same memory goes round.
func (p *Pool) ready(b *Buffer) *Buffer {
	if cap(b.data) < p.size {
		b.data = make([]byte, 0, p.size)
	}
	b.limit = p.size
	return b
}
