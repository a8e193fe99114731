package network

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func fill(t *testing.T, p *Pool, records int) *Buffer {
	t.Helper()
	b := p.TryGet()
	require.NotNil(t, b)
	for i := range records {
		b.data = AppendRecord(b.data, int64(i), []byte("k"), []byte("v"))
		b.records++
	}
	return b
}

func TestPool_lastReturnedFirst(t *testing.T) {
	p := NewPool(3, 64)
	a, b := p.TryGet(), p.TryGet()
	require.NotNil(t, a)
	require.NotNil(t, b)
	p.Put(a)
	p.Put(b)
	assert.Same(t, b, p.TryGet(), "the buffer returned last, whose memory is warm, comes first")
	assert.Same(t, a, p.TryGet())
	assert.NotNil(t, p.TryGet())
	assert.Nil(t, p.TryGet())
	assert.False(t, p.Available())
	assert.Equal(t, 3, p.Used())
}

func TestPool_Freed(t *testing.T) {
	p := NewPool(1, 64)
	b := p.TryGet()
	select {
	case <-p.Freed():
		t.Fatal("signaled before any buffer came back")
	default:
	}
	go p.Put(b)
	<-p.Freed()
	assert.Same(t, b, p.TryGet())
	assert.Equal(t, 0, len(b.data), "a returned buffer is empty")
}

func TestChannel_Send_creditBased(t *testing.T) {
	g := NewGate(2, 2, 0) // two channels, two exclusive buffers each, no floating
	p := NewPool(5, 64)
	c := g.Channel(0)

	for range 3 {
		c.Send(fill(t, p, 1))
	}
	assert.Equal(t, 1, c.Backlog(), "third buffer waits for credit")
	assert.Equal(t, 1, p.Used(), "transferred buffers return to the sender's pool at once")
	in, excl, _ := g.Usage()
	assert.Equal(t, 0.5, in)
	assert.Equal(t, 0.5, excl)

	d, ok := g.Poll()
	require.True(t, ok)
	assert.Equal(t, 1, d.Records())
	assert.Equal(t, 1, c.Backlog(), "taking a buffer is not yet freeing it")
	g.Recycle(d)
	assert.Equal(t, 0, c.Backlog(), "the recycled buffer is credit for the backlog")
	assert.Equal(t, 0, p.Used())
}

func TestChannel_Send_floatingBuffersGoToBacklog(t *testing.T) {
	g := NewGate(2, 1, 2)
	p := NewPool(8, 64)
	hot, cold := g.Channel(0), g.Channel(1)
	for range 4 {
		hot.Send(fill(t, p, 1))
	}
	assert.Equal(t, 1, hot.Backlog(), "one exclusive and both floating buffers taken")
	_, _, floating := g.Usage()
	assert.Equal(t, 1.0, floating)

	cold.Send(fill(t, p, 1))
	assert.Equal(t, 0, cold.Backlog(), "a channel's exclusive buffer is its own")

	var got []int
	for {
		d, ok := g.Poll()
		if !ok {
			break
		}
		got = append(got, d.Channel)
		g.Recycle(d)
	}
	assert.Equal(t, []int{0, 1, 0, 0, 0}, got, "channels take turns; recycling lets the backlog in")
}

func TestChannel_SendEvent_inOrderWithoutCredit(t *testing.T) {
	g := NewGate(1, 1, 0)
	p := NewPool(4, 64)
	c := g.Channel(0)
	c.Send(fill(t, p, 1))
	c.Send(fill(t, p, 2))
	c.SendEvent(EndOfPartition)
	d, _ := g.Poll()
	assert.Equal(t, 1, d.Records())
	_, ok := g.Poll()
	assert.False(t, ok, "the event waits behind the buffer that waits for credit")
	g.Recycle(d)
	d, _ = g.Poll()
	assert.Equal(t, 2, d.Records())
	d2, ok := g.Poll()
	require.True(t, ok)
	assert.Equal(t, EndOfPartition, d2.Event)
}

func TestWriter_Emit_partitioning(t *testing.T) {
	tests := []struct {
		part Partitioning
		want []int // records per channel
	}{
		{Rebalance, []int{3, 4, 3}}, // starts at channel 1 and goes round
		{Broadcast, []int{10, 10, 10}},
	}
	for _, tt := range tests {
		g := NewGate(3, 4, 0)
		chans := []*Channel{g.Channel(0), g.Channel(1), g.Channel(2)}
		w := NewWriter(NewPool(10, 1024), chans, tt.part, 1, false, func(*Pool) *Buffer { return nil })
		for i := range 10 {
			require.NoError(t, w.Emit(0, fmt.Appendf(nil, "k%d", i), nil))
		}
		w.Finish()
		got := make([]int, 3)
		for {
			d, ok := g.Poll()
			if !ok {
				break
			}
			got[d.Channel] += d.Records()
		}
		assert.Equal(t, tt.want, got, "partitioning %d", tt.part)
	}
}

func TestWriter_Emit_tooLarge(t *testing.T) {
	g := NewGate(1, 1, 0)
	w := NewWriter(NewPool(2, 64), []*Channel{g.Channel(0)}, Forward, 0, false, nil)
	err := w.Emit(0, []byte("key"), make([]byte, 64))
	assert.EqualError(t, err, "record of 83 bytes (key 3, value 64, header 16) does not fit in a network buffer of 64 bytes: raise network.buffer-size")
}

func TestKeyChannel(t *testing.T) {
	for n := 1; n <= MaxParallelism; n++ {
		seen := map[int]bool{}
		for k := range 1000 {
			c := KeyChannel(fmt.Appendf(nil, "key-%d", k), n)
			require.True(t, c >= 0 && c < n)
			seen[c] = true
			assert.Equal(t, c, KeyChannel(fmt.Appendf(nil, "key-%d", k), n), "stable")
		}
		if n <= 8 {
			assert.Len(t, seen, n, "1000 keys reach all %d channels", n)
		}
	}
}

// TestKeyChannel_Spread checks that keys of any length fill the key groups
// evenly.
func TestKeyChannel_Spread(t *testing.T) {
	for _, format := range []string{"%d", "key-%d", "a-somewhat-longer-key-%d"} {
		groups := make([]int, MaxParallelism)
		for k := range 100 * MaxParallelism {
			groups[KeyChannel(fmt.Appendf(nil, format, k), MaxParallelism)]++
		}
		for g, n := range groups {
			assert.True(t, n >= 60 && n <= 140, "%q: key group %d has %d keys, 100 expected", format, g, n)
		}
	}
}

func TestReader(t *testing.T) {
	var batch []byte
	batch = AppendRecord(batch, 7, []byte("a"), []byte("bc"))
	batch = AppendRecord(batch, -1, nil, nil)
	r := NewReader(batch)
	rec, ok := r.Next()
	require.True(t, ok)
	assert.Equal(t, Record{TS: 7, Key: []byte("a"), Value: []byte("bc")}, rec)
	rec, ok = r.Next()
	require.True(t, ok)
	assert.Equal(t, int64(-1), rec.TS)
	_, ok = r.Next()
	assert.False(t, ok)
	assert.NoError(t, r.Err())

	r = NewReader(batch[:len(batch)-1])
	r.Next()
	_, ok = r.Next()
	assert.False(t, ok)
	assert.ErrorIs(t, r.Err(), ErrCorrupt)
}

func FuzzReader(f *testing.F) {
	f.Add(AppendRecord(nil, 1, []byte("key"), []byte("value")))
	f.Add([]byte{})
	f.Add(make([]byte, 15))
	f.Fuzz(func(t *testing.T, batch []byte) {
		r := NewReader(batch)
		again := []byte{}
		for {
			rec, ok := r.Next()
			if !ok {
				break
			}
			again = AppendRecord(again, rec.TS, rec.Key, rec.Value)
		}
		if r.Err() == nil {
			assert.Equal(t, batch, again, "a valid batch re-encodes to itself")
		} else {
			assert.Equal(t, batch[:len(again)], again, "the valid prefix re-encodes to itself")
		}
	})
}

func TestWriter_Emit_flushWhileWaitingForBuffer(t *testing.T) {
	g := NewGate(2, 4, 0)
	pool := NewPool(2, 64)
	var w *Writer
	w = NewWriter(pool, []*Channel{g.Channel(0), g.Channel(1)}, Rebalance, 0, false, func(p *Pool) *Buffer {
		w.Flush() // as the subtask does when the flush is due mid-wait
		for {
			if b := p.TryGet(); b != nil {
				return b
			}
			<-p.Freed()
		}
	})
	for range 8 {
		require.NoError(t, w.Emit(0, []byte("0123456789"), []byte("0123456789")))
	}
	w.Finish()
	records := 0
	for {
		d, ok := g.Poll()
		if !ok {
			break
		}
		records += d.Records()
		g.Recycle(d)
	}
	assert.Equal(t, 8, records, "no buffer sent twice")
	assert.Equal(t, 0, pool.Used())
}

func TestOutputBuffers(t *testing.T) {
	tests := []struct{ channels, perChannel, floating, want int }{
		{1, 2, 8, 10}, // the defaults: what the receiver can take
		{1, 1, 0, 2},  // one partial buffer and one to fill
		{4, 1, 0, 5},
		{4, 1, 1, 5},
		{4, 1, 2, 6},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, OutputBuffers(tt.channels, tt.perChannel, tt.floating), "%+v", tt)
	}
}

func TestGate_Usage_bufferOnTheLinkIsNotInUse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewGate(1, 1, 2) // one exclusive and two floating buffers
		p := NewPool(4, 64)
		c := g.Channel(0)
		c.SetBandwidth(64) // one 64-byte buffer a second
		b := fill(t, p, 2)
		for len(b.data) < 64 {
			b.data = append(b.data, 0)
		}
		c.Send(b)
		c.Send(fill(t, p, 1))
		in, excl, floating := g.Usage()
		assert.Equal(t, [3]float64{0, 0, 0}, [3]float64{in, excl, floating}, "credit is taken, but no data has arrived")
		assert.Equal(t, 2, p.Used(), "the sender's buffers wait for the link")

		time.Sleep(time.Second)
		synctest.Wait()
		in, excl, floating = g.Usage()
		assert.Equal(t, [3]float64{1.0 / 3, 1, 0}, [3]float64{in, excl, floating}, "the first buffer arrived in the exclusive one")

		time.Sleep(time.Second)
		synctest.Wait()
		in, excl, floating = g.Usage()
		assert.Equal(t, [3]float64{2.0 / 3, 1, 0.5}, [3]float64{in, excl, floating}, "the second in a floating one")
		assert.Equal(t, 0, p.Used())
		for {
			d, ok := g.Poll()
			if !ok {
				break
			}
			g.Recycle(d)
		}
		in, excl, floating = g.Usage()
		assert.Equal(t, [3]float64{0, 0, 0}, [3]float64{in, excl, floating})
	})
}

func TestCheck(t *testing.T) {
	two := AppendRecord(AppendRecord(nil, 1, []byte("k"), []byte("v")), 2, nil, []byte("value")) // 18 + 21 bytes
	n, err := Check(two, 21)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	n, err = Check(nil, 0)
	require.NoError(t, err)
	assert.Zero(t, n)
}

func TestCheck_Errors(t *testing.T) {
	two := AppendRecord(AppendRecord(nil, 1, []byte("k"), []byte("v")), 2, nil, []byte("value"))
	tests := []struct {
		batch []byte
		limit int
		want  string
	}{
		{two[:len(two)-1], 64, "corrupt record batch: record at offset 18 of 21 bytes (key 0, value 5, header 16) runs past the end, 20 bytes left"},
		{two[:20], 64, "corrupt record batch: 2 trailing bytes at offset 18, less than a record header (16 bytes)"},
		{two, 20, "record at offset 18: record of 21 bytes (key 0, value 5, header 16) does not fit in a network buffer of 20 bytes: raise network.buffer-size"},
	}
	for _, tt := range tests {
		_, err := Check(tt.batch, tt.limit)
		assert.EqualError(t, err, tt.want)
	}
}

func TestWriter_latestTS(t *testing.T) {
	g := NewGate(1, 4, 0)
	w := NewWriter(NewPool(4, 64), []*Channel{g.Channel(0)}, Forward, 0, false, nil)
	for _, ts := range []int64{-5, -3} {
		require.NoError(t, w.Emit(ts, nil, nil))
	}
	w.Flush()
	require.NoError(t, w.EmitBatch(AppendRecord(AppendRecord(nil, 9, nil, nil), 4, nil, nil)))
	w.Finish()
	var got []int64
	for d, ok := g.Poll(); ok && d.Event == NoEvent; d, ok = g.Poll() {
		got = append(got, d.LatestTS())
	}
	assert.Equal(t, []int64{0, 9}, got, "kept as written, never below 0 (what a decode from 0 finds)")
}

// CheckEmitBatch into one channel fills buffers as Emit does record by
// record, whatever is left of the buffer being filled, and writes nothing
// from a bad batch.
func TestWriter_CheckEmitBatch(t *testing.T) {
	type sent struct {
		data             []byte
		records          int
		latest, earliest int64
	}
	// 100 records of 20 to 60 bytes, timestamps out of order, into 256-byte
	// buffers; debloated, the channel announces 100 bytes.
	var recs [][3]any
	for i := range 100 {
		recs = append(recs, [3]any{int64((i * 37) % 101), []byte("k"), make([]byte, 3+(i*13)%41)})
	}
	run := func(debloat bool, prefill int, batches [][2]int) []sent {
		g := NewGate(1, 64, 0)
		w := NewWriter(NewPool(64, 256), []*Channel{g.Channel(0)}, Forward, 0, false, nil)
		if debloat {
			g.SetBufferSize(100)
		}
		for _, r := range recs[:prefill] {
			require.NoError(t, w.Emit(r[0].(int64), r[1].([]byte), r[2].([]byte)))
		}
		for _, span := range batches {
			var batch []byte
			for _, r := range recs[span[0]:span[1]] {
				batch = AppendRecord(batch, r[0].(int64), r[1].([]byte), r[2].([]byte))
			}
			n, err := w.CheckEmitBatch(batch)
			require.NoError(t, err)
			require.Equal(t, span[1]-span[0], n)
		}
		w.Finish()
		var got []sent
		for d, ok := g.Poll(); ok; d, ok = g.Poll() {
			if d.Event == NoEvent {
				got = append(got, sent{append([]byte(nil), d.Data()...), d.Records(), d.LatestTS(), d.EarliestTS()})
			}
			g.Recycle(d)
		}
		return got
	}
	for _, debloat := range []bool{false, true} {
		for _, prefill := range []int{0, 1, 4} {
			for _, batches := range [][][2]int{
				{{prefill, prefill + 1}}, // one record
				{{prefill, prefill + 5}}, // into what is left, then a fresh buffer
				{{prefill, 60}},          // more than a buffer
				{{prefill, prefill}, {prefill, 30}, {30, 31}, {31, 90}}, // empty, then one after another
			} {
				t.Run(fmt.Sprintf("debloat=%v/prefill=%d/%v", debloat, prefill, batches), func(t *testing.T) {
					last := batches[len(batches)-1][1]
					want := run(debloat, last, nil) // record by record
					assert.Equal(t, want, run(debloat, prefill, batches))
				})
			}
		}
	}
}

func TestWriter_CheckEmitBatch_Errors(t *testing.T) {
	g := NewGate(1, 4, 0)
	w := NewWriter(NewPool(4, 64), []*Channel{g.Channel(0)}, Forward, 0, false, nil)
	require.NoError(t, w.Emit(7, []byte("k"), []byte("v"))) // the buffer being filled
	good := AppendRecord(nil, 1, []byte("k"), []byte("v"))
	good = good[:len(good):len(good)] // each bad batch below its own copy
	for batch, want := range map[string]string{
		string(append(good, 1, 2, 3)):                        "corrupt record batch: 3 trailing bytes at offset 18, less than a record header (16 bytes)",
		string(AppendRecord(good, 2, nil, make([]byte, 60))): "record at offset 18: record of 76 bytes (key 0, value 60, header 16) does not fit in a network buffer of 64 bytes: raise network.buffer-size",
	} {
		n, err := w.CheckEmitBatch([]byte(batch))
		assert.EqualError(t, err, want)
		assert.Zero(t, n)
	}
	w.Finish()
	d, ok := g.Poll()
	require.True(t, ok)
	assert.Equal(t, AppendRecord(nil, 7, []byte("k"), []byte("v")), d.Data(), "only the record emitted before")
}

func TestGate_SetBufferSize(t *testing.T) {
	// 64-byte records (16 header + 3 key + 45 value) into 1 KiB buffers
	// debloated to 256 bytes: 4 records a buffer, and a record larger than
	// 256 bytes alone in one, since the memory is still 1 KiB. Emit and
	// EmitBatch fill buffers alike.
	for _, batch := range []bool{false, true} {
		t.Run(fmt.Sprintf("batch=%v", batch), func(t *testing.T) {
			g := NewGate(1, 8, 8)
			w := NewWriter(NewPool(16, 1024), []*Channel{g.Channel(0)}, Forward, 0, false, func(*Pool) *Buffer { return nil })
			emit := func(value []byte) {
				if !batch {
					require.NoError(t, w.Emit(0, []byte("key"), value))
					return
				}
				require.NoError(t, w.EmitBatch(AppendRecord(nil, 0, []byte("key"), value)))
			}
			emit(make([]byte, 45)) // taken before the announcement: a full-size buffer
			g.SetBufferSize(256)
			assert.Equal(t, 256, g.Channel(0).BufferSize())
			for range 20 {
				emit(make([]byte, 45))
			}
			emit(make([]byte, 500))
			emit(make([]byte, 45))
			w.Finish()
			var sizes []int
			for {
				d, ok := g.Poll()
				if !ok {
					break
				}
				if d.Event == NoEvent {
					sizes = append(sizes, len(d.Data()))
				}
				g.Recycle(d)
			}
			// 16 records fill the full-size buffer, the other 5 go 4 and
			// 1 to 256-byte ones, then the 519-byte record alone, then one.
			assert.Equal(t, []int{16 * 64, 4 * 64, 64, 16 + 3 + 500, 64}, sizes)
			assert.Zero(t, g.QueuedBytes(), "all recycled")
		})
	}
}

// An aligned barrier waits behind the buffers sent before it; an unaligned
// one is taken first, carrying copies of the buffers received and waiting
// for credit ahead of it, which are still delivered after it.
func TestChannel_SendBarrier(t *testing.T) {
	for _, unaligned := range []bool{false, true} {
		t.Run(fmt.Sprintf("unaligned=%v", unaligned), func(t *testing.T) {
			g := NewGate(1, 1, 0) // one credit
			p := NewPool(4, 64)
			c := g.Channel(0)
			c.Send(fill(t, p, 1))
			c.Send(fill(t, p, 2))
			c.SendBarrier(Barrier{ID: 7, Unaligned: unaligned})
			var got []string
			for range 3 {
				d, ok := g.Poll()
				require.True(t, ok)
				if d.Event == CheckpointBarrier {
					assert.Equal(t, int64(7), d.Barrier.ID)
					var overtaken []int
					for _, o := range d.Overtaken {
						overtaken = append(overtaken, o.Records)
					}
					got = append(got, fmt.Sprintf("barrier%v", overtaken))
					continue
				}
				got = append(got, fmt.Sprintf("%d", d.Records()))
				g.Recycle(d)
			}
			if unaligned {
				assert.Equal(t, []string{"barrier[1 2]", "1", "2"}, got)
			} else {
				assert.Equal(t, []string{"1", "2", "barrier[]"}, got)
			}
		})
	}
}

// A blocked channel (aligning) delivers nothing until Unblock; others do.
func TestGate_Block(t *testing.T) {
	g := NewGate(2, 2, 0)
	p := NewPool(4, 64)
	g.Block(0)
	g.Channel(0).Send(fill(t, p, 1))
	g.Channel(1).Send(fill(t, p, 2))
	d, ok := g.Poll()
	require.True(t, ok)
	assert.Equal(t, 1, d.Channel)
	g.Recycle(d)
	_, ok = g.Poll()
	assert.False(t, ok, "channel 0 is blocked")
	g.Unblock()
	d, ok = g.Poll()
	require.True(t, ok)
	assert.Equal(t, 0, d.Channel)
}

// An aligned barrier stuck behind buffers without credit overtakes them
// once promoted, with their copies.
func TestChannel_PromoteBarrier(t *testing.T) {
	g := NewGate(1, 1, 0)
	p := NewPool(4, 64)
	c := g.Channel(0)
	c.Send(fill(t, p, 1))
	c.Send(fill(t, p, 3))
	c.SendBarrier(Barrier{ID: 2})
	assert.False(t, g.HasPriority())
	assert.False(t, c.PromoteBarrier(1), "no such barrier")
	require.True(t, c.PromoteBarrier(2))
	assert.True(t, g.HasPriority())
	d, ok := g.Poll()
	require.True(t, ok)
	assert.Equal(t, CheckpointBarrier, d.Event)
	assert.True(t, d.Barrier.Unaligned)
	require.Len(t, d.Overtaken, 2)
	assert.Equal(t, 3, d.Overtaken[1].Records)
	assert.Equal(t, 1, c.Backlog(), "the overtaken buffer still waits, the barrier does not")
}

// A barrier that left the backlog but waits in the receiver's queue behind
// buffers not yet taken is promoted there, ahead of them.
func TestChannel_PromoteBarrier_received(t *testing.T) {
	g := NewGate(1, 2, 0)
	p := NewPool(4, 64)
	c := g.Channel(0)
	c.Send(fill(t, p, 1))
	c.SendBarrier(Barrier{ID: 3})
	c.Send(fill(t, p, 2))
	require.True(t, c.PromoteBarrier(3))
	var got []string
	for {
		d, ok := g.Poll()
		if !ok {
			break
		}
		if d.Event == CheckpointBarrier {
			got = append(got, fmt.Sprintf("barrier %v %d", d.Barrier.Unaligned, len(d.Overtaken)))
			continue
		}
		got = append(got, fmt.Sprint(d.Records()))
		g.Recycle(d)
	}
	assert.Equal(t, []string{"barrier true 1", "1", "2"}, got)
}
