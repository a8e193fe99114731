package network

import (
	"sync"
	"sync/atomic"
	"time"
)

// Event is an in-band control message that travels with the data, in order.
type Event uint8

// Events.
const (
	NoEvent           Event = iota
	EndOfPartition          // the sender has finished; nothing follows on this channel
	CheckpointBarrier       // Delivery.Barrier says which checkpoint
)

// Barrier is a checkpoint barrier: what a source injects into its outputs
// when a checkpoint is triggered, and every task forwards once it has
// taken its snapshot.
type Barrier struct {
	ID        int64
	Timestamp int64 // when the checkpoint was triggered, ms since the epoch
	// Unaligned: the barrier overtakes the data queued ahead of it, in the
	// sender's backlog and in the receiver's channel, as in Flink's
	// unaligned checkpoints; that data is the checkpoint's in-flight data.
	Unaligned bool
}

// Overtaken is a copy of a buffer of records that an unaligned barrier
// overtook on its way.
type Overtaken struct {
	Data             []byte
	Records          int
	Earliest, Latest int64
}

// segment is a receiver-side buffer: one credit while free, one received
// buffer while it holds data.
type segment struct {
	data     []byte
	records  int
	latest   int64    // the latest timestamp of its records, as the writer kept it
	earliest int64    // the earliest, as the writer kept it (meaningless without records)
	owner    *Channel // for exclusive segments
	floating bool
}

// Delivery is what a receiver takes from its gate: a buffer of records or an event.
type Delivery struct {
	seg     *segment
	Event   Event
	Channel int // index of the input channel within the gate
	Barrier Barrier
	// For an unaligned barrier, copies of what it overtook, in order: the
	// buffers received on its channel and not yet taken, then those on the
	// link and in the sender's backlog. The buffers themselves are still
	// delivered (taken) after it.
	Overtaken []Overtaken
}

// Data is the encoded batch of records (empty for an event).
func (d Delivery) Data() []byte {
	if d.seg == nil {
		return nil
	}
	return d.seg.data
}

// Records is the number of records in Data.
func (d Delivery) Records() int {
	if d.seg == nil {
		return 0
	}
	return d.seg.records
}

// LatestTS is the latest timestamp of the records in Data (0 for none, and
// never below 0), known without decoding them: the writer kept it.
func (d Delivery) LatestTS() int64 {
	if d.seg == nil {
		return 0
	}
	return d.seg.latest
}

// EarliestTS is the earliest timestamp of the records in Data (0 for none),
// known without decoding them: the writer kept it as it kept LatestTS.
// Latency is measured from the two.
func (d Delivery) EarliestTS() int64 {
	if d.seg == nil || d.seg.records == 0 {
		return 0
	}
	return d.seg.earliest
}

// Gate is a receiver's input gate: its input channels, their exclusive
// buffers and the gate's floating buffers. One goroutine receives from it;
// any number of senders send into its channels.
type Gate struct {
	notify    chan struct{}
	urgent    chan struct{} // also told of priority deliveries
	priorityN atomic.Int32  // priority.len(), readable without the lock

	mu             sync.Mutex
	channels       []*Channel
	priority       ring[Delivery] // unaligned barriers, taken before any data
	ready          ring[*Channel] // channels with received data, in arrival order
	waiting        ring[*Channel] // channels with backlog but no credit
	floatingFree   []*segment
	floatingTotal  int
	exclusiveTotal int
	// Segments holding data, received or being processed: the only counts
	// the buffer usages derive from, so that they cannot disagree.
	exclusiveHolding int
	floatingHolding  int
	holdingBytes     int // the bytes of data in those segments
}

// Channel is one input channel of a gate, fed by exactly one sender.
type Channel struct {
	gate      *Gate
	index     int
	exclusive []*segment // free exclusive segments: the channel's own credit
	backlog   ring[item] // sender side: buffers and events waiting for credit
	received  ring[Delivery]
	queued    atomic.Int32 // backlog length, readable without the lock
	isReady   bool         // in gate.ready
	isWaiting bool         // in gate.waiting
	blocked   bool         // the receiver takes nothing from it (aligning a checkpoint)
	// The buffer size the receiver announced to the sender (buffer
	// debloating), 0 for the sender's own.
	size      atomic.Int32
	bandwidth int     // bytes per second of a simulated link; 0 for none
	wire      *Buffer // the buffer crossing the link, if any
}

// SetBandwidth makes the channel a simulated link that carries one buffer
// at a time at bytes per second, so that the network can be the
// bottleneck. Call it before anything is sent.
func (c *Channel) SetBandwidth(bytesPerSecond int) { c.bandwidth = bytesPerSecond }

type item struct {
	buf     *Buffer
	event   Event
	barrier Barrier
}

// NewGate returns a gate of n channels, each with exclusive buffers of its
// own, and floating buffers shared by all. Its buffers have no memory of
// their own: each takes a sender's, whose size the sender's pool sets.
func NewGate(n, exclusive, floating int) *Gate {
	g := &Gate{
		notify:         make(chan struct{}, 1),
		urgent:         make(chan struct{}, 1),
		channels:       make([]*Channel, n),
		floatingTotal:  floating,
		exclusiveTotal: n * exclusive,
	}
	for i := range g.channels {
		c := &Channel{gate: g, index: i}
		for range exclusive {
			c.exclusive = append(c.exclusive, &segment{owner: c})
		}
		g.channels[i] = c
	}
	for range floating {
		g.floatingFree = append(g.floatingFree, &segment{floating: true})
	}
	return g
}

// Channel returns the i-th input channel.
func (g *Gate) Channel(i int) *Channel { return g.channels[i] }

// Channels is the number of input channels.
func (g *Gate) Channels() int { return len(g.channels) }

// Notify receives a value after something was delivered; the receiver polls
// until Poll reports nothing, then waits on Notify.
func (g *Gate) Notify() <-chan struct{} { return g.notify }

// Urgent receives a value after a priority delivery (an unaligned barrier):
// a receiver that waits for something else (an output buffer) may wait on
// it too, to take the barrier at once.
func (g *Gate) Urgent() <-chan struct{} { return g.urgent }

// HasPriority reports whether a priority delivery waits to be polled.
func (g *Gate) HasPriority() bool { return g.priorityN.Load() > 0 }

// Poll takes the next delivery: a priority one if any, else the next of the
// channels with data in turn, skipping blocked channels.
func (g *Gate) Poll() (Delivery, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.priority.len() > 0 {
		g.priorityN.Add(-1)
		return g.priority.pop(), true
	}
	for g.ready.len() > 0 {
		c := g.ready.pop()
		if c.blocked || c.received.len() == 0 { // blocked, or its barrier was promoted out
			c.isReady = false // Unblock or the next delivery makes it ready again
			continue
		}
		d := c.received.pop()
		if c.received.len() > 0 {
			g.ready.push(c)
		} else {
			c.isReady = false
		}
		return d, true
	}
	return Delivery{}, false
}

// Block makes Poll take nothing more from channel i until Unblock: an
// aligned checkpoint's barrier arrived on it. Its buffers stay in the gate,
// and its sender runs out of credit, as in Flink.
func (g *Gate) Block(i int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.channels[i].blocked = true
}

// Unblock ends every Block.
func (g *Gate) Unblock() {
	g.mu.Lock()
	defer g.mu.Unlock()
	woke := false
	for _, c := range g.channels {
		if !c.blocked {
			continue
		}
		c.blocked = false
		if c.received.len() > 0 && !c.isReady {
			c.isReady = true
			g.ready.push(c)
			woke = true
		}
	}
	if woke {
		signal(g.notify)
	}
}

// signal wakes whoever waits on ch, if anyone will.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Recycle gives a processed delivery's buffer back as credit, which lets
// waiting backlog in.
func (g *Gate) Recycle(d Delivery) {
	seg := d.seg
	if seg == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	seg.records, seg.latest, seg.earliest = 0, 0, 0
	g.holdingBytes -= len(seg.data)
	if !seg.floating {
		g.exclusiveHolding--
		seg.owner.exclusive = append(seg.owner.exclusive, seg)
		seg.owner.drainLocked()
		return
	}
	g.floatingHolding--
	g.floatingFree = append(g.floatingFree, seg)
	for g.waiting.len() > 0 && len(g.floatingFree) > 0 {
		c := g.waiting.pop()
		c.isWaiting = false
		c.drainLocked()
	}
}

// Usage reports Flink's buffers.inPoolUsage, inputExclusiveBuffersUsage and
// inputFloatingBuffersUsage: the fractions of all, exclusive and floating
// buffers in use, where in use means holding data, from its arrival until
// the receiver recycles it. inPoolUsage is thus the other two weighted by
// their buffers, as Flink's CreditBasedInputBuffersUsageGauge is.
//
// A buffer whose credit was taken for data still crossing a simulated link
// is not in use yet, as in Flink, where a credited buffer stays in its
// channel's queue of available buffers until data arrives for it: a slow
// link shows full output pools upstream and empty input pools downstream.
func (g *Gate) Usage() (in, exclusive, floating float64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if total := g.exclusiveTotal + g.floatingTotal; total > 0 {
		in = float64(g.exclusiveHolding+g.floatingHolding) / float64(total)
	}
	if g.exclusiveTotal > 0 {
		exclusive = float64(g.exclusiveHolding) / float64(g.exclusiveTotal)
	}
	if g.floatingTotal > 0 {
		floating = float64(g.floatingHolding) / float64(g.floatingTotal)
	}
	return in, exclusive, floating
}

// Buffers is the number of buffers of the gate: exclusive ones of all its
// channels and floating ones.
func (g *Gate) Buffers() int { return g.exclusiveTotal + g.floatingTotal }

// QueuedBytes is the data held in the gate's buffers: received and not yet
// recycled by the receiver.
func (g *Gate) QueuedBytes() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.holdingBytes
}

// SetBufferSize announces to the senders of every channel the size of the
// buffers they should fill (buffer debloating): each buffer a sender takes
// from then on counts as full once the next record would take it past size
// bytes. Memory is unchanged: a buffer is still the sender's buffer size,
// which also caps size.
func (g *Gate) SetBufferSize(size int) {
	for _, c := range g.channels {
		c.size.Store(int32(size))
	}
}

// BufferSize is the buffer size announced to the channel's sender by
// SetBufferSize, 0 if none was.
func (c *Channel) BufferSize() int { return int(c.size.Load()) }

// Send queues a finished buffer on the channel; it is transferred at once if
// the channel has credit. Send never blocks; the buffer goes back to its
// pool when transferred.
func (c *Channel) Send(b *Buffer) { c.enqueue(item{buf: b}) }

// SendEvent queues an event behind all data sent before it. Events need no credit.
func (c *Channel) SendEvent(e Event) { c.enqueue(item{event: e}) }

// SendBarrier sends a checkpoint barrier. An aligned one queues behind all
// data sent before it, as any event; an unaligned one overtakes that data:
// it is delivered at once, ahead of everything, carrying copies of the
// buffers it overtook in the backlog and on the link, which are still sent
// and delivered after it.
func (c *Channel) SendBarrier(b Barrier) {
	if !b.Unaligned {
		c.enqueue(item{event: CheckpointBarrier, barrier: b})
		return
	}
	g := c.gate
	g.mu.Lock()
	defer g.mu.Unlock()
	c.overtakeLocked(b, c.received.len(), c.backlog.len())
}

// PromoteBarrier makes the aligned barrier of checkpoint id unaligned if it
// still waits behind buffers, in the backlog or received and not yet taken:
// it overtakes those ahead of it (the aligned checkpoint timeout, checked by
// the sender). It reports whether the barrier was found.
func (c *Channel) PromoteBarrier(id int64) bool {
	g := c.gate
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := range c.received.len() {
		if d := c.received.at(i); d.Event == CheckpointBarrier && d.Barrier.ID == id {
			c.received = without(c.received, i)
			c.promoteLocked(d.Barrier, i, -1)
			return true
		}
	}
	for i := range c.backlog.len() {
		if it := c.backlog.at(i); it.event == CheckpointBarrier && it.barrier.ID == id {
			c.backlog = without(c.backlog, i)
			c.queued.Add(-1)
			c.promoteLocked(it.barrier, c.received.len(), i)
			return true
		}
	}
	return false
}

// promoteLocked delivers an aligned barrier, taken out of where it waited,
// as an unaligned one ahead of what was in front of it.
func (c *Channel) promoteLocked(b Barrier, received, backlog int) {
	b.Unaligned = true
	c.overtakeLocked(b, received, backlog)
}

// without is r without its i-th element.
func without[T any](r ring[T], i int) ring[T] {
	var rest ring[T]
	for k := range r.len() {
		if k != i {
			rest.push(r.at(k))
		}
	}
	return rest
}

// overtakeLocked delivers barrier b ahead of everything, with copies of the
// first received buffers not taken yet and, unless backlog is negative, of
// the buffer on the link and of the first backlog items.
func (c *Channel) overtakeLocked(b Barrier, received, backlog int) {
	g := c.gate
	d := Delivery{Event: CheckpointBarrier, Channel: c.index, Barrier: b}
	for i := range received {
		if r := c.received.at(i); r.seg != nil {
			d.Overtaken = append(d.Overtaken, r.Copy())
		}
	}
	if backlog >= 0 && c.wire != nil {
		d.Overtaken = append(d.Overtaken, copied(c.wire))
	}
	for i := range max(backlog, 0) {
		if it := c.backlog.at(i); it.buf != nil {
			d.Overtaken = append(d.Overtaken, copied(it.buf))
		}
	}
	g.priority.push(d)
	g.priorityN.Add(1)
	signal(g.urgent)
	signal(g.notify)
}

func copied(b *Buffer) Overtaken {
	return Overtaken{Data: append([]byte(nil), b.data...), Records: b.records, Earliest: b.earliest, Latest: b.latest}
}

// Copy is a copy of the delivery's buffer, as in-flight data.
func (d Delivery) Copy() Overtaken {
	return Overtaken{Data: append([]byte(nil), d.Data()...), Records: d.Records(), Earliest: d.EarliestTS(), Latest: d.LatestTS()}
}

// Backlog is the number of buffers and events waiting for credit.
func (c *Channel) Backlog() int { return int(c.queued.Load()) }

func (c *Channel) enqueue(it item) {
	g := c.gate
	g.mu.Lock()
	defer g.mu.Unlock()
	c.backlog.push(it)
	c.queued.Add(1)
	c.drainLocked()
}

// drainLocked transfers backlog to the receiver while there is credit:
// exclusive segments first, then floating ones, which thus go to the
// channels that have backlog (Flink announces backlog for exactly this).
// Over a simulated link, a buffer holds its credit and the sender's buffer
// while it crosses, and what follows waits behind it.
func (c *Channel) drainLocked() {
	g := c.gate
	for c.backlog.len() > 0 && c.wire == nil {
		it := c.backlog.peek()
		var seg *segment
		if it.buf != nil {
			if seg = c.creditLocked(); seg == nil {
				if !c.isWaiting {
					c.isWaiting = true
					g.waiting.push(c)
				}
				return
			}
		}
		c.backlog.pop()
		c.queued.Add(-1)
		if it.buf != nil && c.bandwidth > 0 {
			c.wire = it.buf
			crossing := time.Duration(len(it.buf.data)) * time.Second / time.Duration(c.bandwidth)
			time.AfterFunc(crossing, func() {
				g.mu.Lock()
				defer g.mu.Unlock()
				c.wire = nil
				c.deliverLocked(it, seg)
				c.drainLocked()
			})
			return
		}
		c.deliverLocked(it, seg)
	}
}

// deliverLocked hands an item to the receiver, a buffer in the segment of
// credit it took.
func (c *Channel) deliverLocked(it item, seg *segment) {
	g := c.gate
	d := Delivery{Event: it.event, Channel: c.index, Barrier: it.barrier}
	if it.buf != nil {
		// The bytes change hands by swapping memory: the sender's buffer
		// goes back to its pool with the segment's free memory.
		seg.data, it.buf.data = it.buf.data, seg.data
		seg.records, seg.latest, seg.earliest = it.buf.records, it.buf.latest, it.buf.earliest
		it.buf.pool.Put(it.buf)
		d.seg = seg
		g.holdingBytes += len(seg.data)
		if seg.floating {
			g.floatingHolding++
		} else {
			g.exclusiveHolding++
		}
	}
	c.received.push(d)
	if !c.isReady && !c.blocked {
		c.isReady = true
		g.ready.push(c)
	}
	signal(g.notify)
}

func (c *Channel) creditLocked() *segment {
	g := c.gate
	if n := len(c.exclusive); n > 0 {
		seg := c.exclusive[n-1]
		c.exclusive = c.exclusive[:n-1]
		return seg
	}
	if n := len(g.floatingFree); n > 0 {
		seg := g.floatingFree[n-1]
		g.floatingFree = g.floatingFree[:n-1]
		return seg
	}
	return nil
}
