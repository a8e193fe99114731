package network

import "fmt"

// Partitioning decides which channels of a writer receive a record.
type Partitioning uint8

// Partitionings, as Flink's partitioners.
const (
	Forward   Partitioning = iota // the one channel to the subtask of the same index
	Rebalance                     // round robin
	Hash                          // by key, through key groups
	Broadcast                     // every channel
)

// MaxParallelism is the number of key groups, Flink's default max parallelism.
const MaxParallelism = 128

// KeyChannel is the channel of a key among n, as Flink assigns keys: the key's
// hash picks one of MaxParallelism key groups, and key groups are split into
// n contiguous ranges.
func KeyChannel(key []byte, n int) int {
	h := uint32(2166136261) // FNV-1a, inline so hashing does not allocate
	for _, c := range key {
		h = (h ^ uint32(c)) * 16777619
	}
	keyGroup := int(fmix32(h) % MaxParallelism)
	return keyGroup * n / MaxParallelism
}

// fmix32 is murmur3's finalizer, which Flink applies to key hashes too.
func fmix32(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// Acquire is called when TryGet found no free buffer: it waits on Freed
// until TryGet takes one. The subtask supplies it so that the wait is
// measured as hard backpressure and ends on cancellation (returning nil).
type Acquire func(*Pool) *Buffer

// Writer serializes a subtask's output records into buffers, one buffer
// being filled per channel, and sends full buffers (Flink's RecordWriter and
// ResultPartition). One goroutine writes.
type Writer struct {
	pool      *Pool
	channels  []*Channel
	current   []*Buffer
	part      Partitioning
	next      int
	flushEach bool
	acquire   Acquire
}

// NewWriter returns a writer into channels (one per downstream subtask, or
// the single forward one). start is the first rebalance channel; flushEach
// sends every record at once (buffer-timeout 0).
func NewWriter(pool *Pool, channels []*Channel, part Partitioning, start int, flushEach bool, acquire Acquire) *Writer {
	return &Writer{
		pool:      pool,
		channels:  channels,
		current:   make([]*Buffer, len(channels)),
		part:      part,
		next:      start % len(channels),
		flushEach: flushEach,
		acquire:   acquire,
	}
}

// Pool is the writer's buffer pool.
func (w *Writer) Pool() *Pool { return w.pool }

// ErrCanceled is returned by Emit when the buffer wait ended by cancellation.
var ErrCanceled = fmt.Errorf("canceled")

// Emit writes one record to the channels its partitioning picks. A record
// must fit in one buffer.
func (w *Writer) Emit(ts int64, key, value []byte) error {
	n := EncodedSize(key, value)
	if n > w.pool.size {
		return tooLarge(n, len(key), len(value), w.pool.size)
	}
	rec := Record{TS: ts, Key: key, Value: value}
	if w.part == Broadcast && len(w.channels) > 1 {
		return w.emit(rec, nil)
	}
	i := w.pick(rec)
	if b := w.current[i]; !w.flushEach && b != nil && len(b.data)+n <= b.limit {
		put(b, rec, n) // the common case, without the calls below
		return nil
	}
	return w.write(i, rec, nil)
}

// pick returns the channel of rec, for any partitioning but Broadcast to
// more than one channel; a Rebalance writer moves on to the next channel.
func (w *Writer) pick(rec Record) int {
	switch {
	case len(w.channels) == 1:
		return 0
	case w.part == Rebalance:
		i := w.next
		if w.next++; w.next == len(w.channels) {
			w.next = 0
		}
		return i
	case w.part == Hash:
		return KeyChannel(rec.Key, len(w.channels))
	}
	return 0
}

// CheckEmitBatch is Check, with the buffer size as the limit, and then
// EmitBatch, in one walk over batch where the writer has one channel and
// sends buffers only when full: the walk that checks the records also
// measures the two runs they go in, what is left of the buffer being filled
// and a fresh one, so the records are read once. (A fresh buffer debloated
// smaller than the rest takes the walk of EmitBatch.) Nothing is written
// from a batch that fails the check.
func (w *Writer) CheckEmitBatch(batch []byte) (int, error) {
	if len(w.channels) > 1 || w.flushEach {
		n, err := Check(batch, w.pool.size)
		if err == nil {
			err = w.EmitBatch(batch)
		}
		return n, err
	}
	b := w.current[0]
	room := 0
	if b != nil {
		room = b.limit - len(b.data)
	}
	var first, rest run
	n, split := 0, 0
	for off := 0; off < len(batch); n++ {
		ts, _, end, ok := header(batch, off)
		if !ok || end-off > w.pool.size {
			return 0, badRecord(batch, off, w.pool.size)
		}
		if end <= room && split == off {
			first.add(ts)
			split = end
		} else {
			rest.add(ts)
		}
		off = end
	}
	if split > 0 {
		first.write(b, batch[:split])
	}
	if split == len(batch) {
		return n, nil
	}
	_, _, end, _ := header(batch, split)
	b, err := w.room(0, end-split)
	switch {
	case err != nil:
		return 0, err
	case len(batch)-split <= b.limit-len(b.data):
		rest.write(b, batch[split:])
		return n, nil
	}
	return n, w.EmitBatch(batch[split:])
}

// run is what a run of records adds to a buffer besides its bytes.
type run struct {
	records          int
	latest, earliest int64
}

func (r *run) add(ts int64) {
	if r.records == 0 {
		r.latest, r.earliest = ts, ts
	}
	r.records++
	r.latest = max(r.latest, ts)
	r.earliest = min(r.earliest, ts)
}

// write appends the run's records, data, to b.
func (r *run) write(b *Buffer, data []byte) {
	b.data = append(b.data, data...)
	b.records += r.records
	b.latest = max(b.latest, r.latest)
	b.earliest = min(b.earliest, r.earliest)
}

// EmitBatch writes the records of batch, which Check has found whole and
// well formed with none larger than a buffer, as Emit would one by one. To
// one channel, which every partitioning picks, the records go in runs: one
// copy per buffer.
func (w *Writer) EmitBatch(batch []byte) error {
	if len(w.channels) > 1 || w.flushEach {
		r := NewReader(batch)
		for off := 0; ; off = r.Offset() {
			rec, ok := r.Next()
			if !ok {
				return nil
			}
			if err := w.emit(rec, batch[off:r.Offset()]); err != nil {
				return err
			}
		}
	}
	for len(batch) > 0 {
		_, _, first, _ := header(batch, 0)
		b, err := w.room(0, first)
		if err != nil {
			return err
		}
		// The run is the records that fit whole in what is left of b (at
		// least the first, which room made room for, even when it is larger
		// than a debloated b.limit).
		run := batch[:min(len(batch), max(b.limit-len(b.data), first))]
		off := 0
		for ts, _, end, ok := header(run, 0); ok; ts, _, end, ok = header(run, off) {
			b.latest = max(b.latest, ts)
			b.earliest = min(b.earliest, ts)
			b.records++
			off = end
		}
		b.data = append(b.data, run[:off]...)
		batch = batch[off:]
	}
	return nil
}

// emit writes rec to the channels its partitioning picks; enc is its
// encoding if the caller has it, nil to encode it here.
func (w *Writer) emit(rec Record, enc []byte) error {
	if w.part != Broadcast || len(w.channels) == 1 {
		return w.write(w.pick(rec), rec, enc)
	}
	for i := range w.channels {
		if err := w.write(i, rec, enc); err != nil {
			return err
		}
	}
	return nil
}

func (w *Writer) write(i int, rec Record, enc []byte) error {
	n := len(enc)
	if enc == nil {
		n = EncodedSize(rec.Key, rec.Value)
	}
	b, err := w.room(i, n)
	if err != nil {
		return err
	}
	if enc != nil {
		b.data = append(b.data, enc...)
		b.records++
		b.latest = max(b.latest, rec.TS)
		b.earliest = min(b.earliest, rec.TS)
	} else {
		put(b, rec, n)
	}
	if w.flushEach {
		w.channels[i].Send(b)
		w.current[i] = nil
	}
	return nil
}

// put encodes rec, of n bytes, at the end of b, which has room for it.
func put(b *Buffer, rec Record, n int) {
	off := len(b.data)
	b.data = b.data[:off+n]
	putRecord(b.data[off:], rec.TS, rec.Key, rec.Value)
	copy(b.data[off+HeaderSize:], rec.Key)
	copy(b.data[off+HeaderSize+len(rec.Key):], rec.Value)
	b.records++
	b.latest = max(b.latest, rec.TS)
	b.earliest = min(b.earliest, rec.TS)
}

// room returns channel i's buffer being filled, with room for n more bytes:
// a full one is sent and a free one taken, waiting for it if need be. A
// buffer is full when n more bytes would take it past its limit, the size
// its channel's receiver announced when the buffer was taken; an empty
// buffer takes any record.
func (w *Writer) room(i, n int) (*Buffer, error) {
	b := w.current[i]
	if b != nil && len(b.data) > 0 && len(b.data)+n > b.limit {
		w.channels[i].Send(b)
		b, w.current[i] = nil, nil // acquire below may flush the writer
	}
	if b == nil {
		if b = w.pool.TryGet(); b == nil {
			if b = w.acquire(w.pool); b == nil {
				return nil, ErrCanceled
			}
		}
		if size := w.channels[i].BufferSize(); size > 0 {
			b.limit = min(size, b.limit)
		}
		if !w.flushEach { // a buffer of one record would be touched for nothing
			own(b.data[:b.limit])
		}
		w.current[i] = b
	}
	return b, nil
}

// cacheLine is the cache line size of the machines Flowlab runs on (amd64
// and arm64 servers); a wrong guess costs only speed.
const cacheLine = 64

// own stores to every cache line of mem, a buffer's memory about to be
// filled. Its lines were last read by the receiver, most likely on another
// core, which must give up its copy of each before the first store to it
// completes. Records written one by one reach a new line only every few
// records, so few such stores are pending at once and the writer stalls
// on each; stored back to back here, they are pending together. See
// RATIONALE.md, "Why does a writer store to every cache line of a buffer
// before filling it?".
func own(mem []byte) {
	for i := 0; i < len(mem); i += cacheLine {
		mem[i] = 0
	}
}

// Flush sends partially filled buffers of channels that have no backlog (a
// channel with backlog will ask again at the next flush: sending now would
// only queue a small buffer behind full ones).
func (w *Writer) Flush() {
	for i, b := range w.current {
		if b != nil && w.channels[i].Backlog() == 0 {
			w.channels[i].Send(b)
			w.current[i] = nil
		}
	}
}

// Barrier sends what each channel has buffered, then barrier b on every
// channel, whatever the partitioning.
func (w *Writer) Barrier(b Barrier) {
	for i, buf := range w.current {
		if buf != nil {
			w.channels[i].Send(buf)
			w.current[i] = nil
		}
		w.channels[i].SendBarrier(b)
	}
}

// PromoteBarrier makes the aligned barrier of checkpoint id unaligned on
// every channel where it still waits behind buffers.
func (w *Writer) PromoteBarrier(id int64) {
	for _, c := range w.channels {
		c.PromoteBarrier(id)
	}
}

// Finish sends everything buffered, then EndOfPartition on every channel.
func (w *Writer) Finish() {
	for i, b := range w.current {
		if b != nil {
			w.channels[i].Send(b)
			w.current[i] = nil
		}
		w.channels[i].SendEvent(EndOfPartition)
	}
}
