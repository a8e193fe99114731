package runtime

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime/internal/network"
)

// received is what one channel of a gate received: its buffers' bytes,
// record counts and latest timestamps, in order.
type received struct {
	data    [][]byte
	records []int
	latest  []int64
}

// outputTo returns a subtask whose one output writes to a gate of channels
// channels with buffers of size bytes, and a function that finishes the
// output and reports what each channel received.
func outputTo(part network.Partitioning, channels, size int, flushEach bool) (*subtask, func() []received) {
	g := network.NewGate(channels, 64, 0) // credit for everything the tests send
	var chans []*network.Channel
	for i := range channels {
		chans = append(chans, g.Channel(i))
	}
	s := &subtask{}
	s.writers = []*network.Writer{network.NewWriter(network.NewPool(64*channels, size), chans, part, 1, flushEach, nil)}
	return s, func() []received {
		s.writers[0].Finish()
		got := make([]received, channels)
		for {
			d, ok := g.Poll()
			if !ok {
				return got
			}
			if d.Event == network.NoEvent {
				r := &got[d.Channel]
				r.data = append(r.data, append([]byte(nil), d.Data()...))
				r.records = append(r.records, d.Records())
				r.latest = append(r.latest, d.LatestTS())
			}
			g.Recycle(d)
		}
	}
}

func testRecords() []Record {
	var recs []Record
	for i := range 40 {
		recs = append(recs, Record{
			TS:    int64((i * 7919) % 1000), // out of order, so the latest is not the last
			Key:   fmt.Appendf(nil, "key-%d", i%13),
			Value: make([]byte, i%29),
		})
	}
	return recs
}

func TestSubtask_EmitBatch(t *testing.T) {
	recs := testRecords()
	batch := NewBatch(recs...).Bytes()
	for _, part := range []network.Partitioning{network.Forward, network.Rebalance, network.Hash, network.Broadcast} {
		for _, channels := range []int{1, 3} {
			if part == network.Forward && channels > 1 {
				continue
			}
			for _, flushEach := range []bool{false, true} {
				t.Run(fmt.Sprintf("partitioning %d to %d channels, flush each %v", part, channels, flushEach), func(t *testing.T) {
					one, finishOne := outputTo(part, channels, 128, flushEach)
					for _, r := range recs {
						require.NoError(t, one.Emit(r.TS, r.Key, r.Value))
					}
					all, finishAll := outputTo(part, channels, 128, flushEach)
					n, err := all.EmitBatch(batch)
					require.NoError(t, err)
					assert.Equal(t, len(recs), n)
					assert.Equal(t, one.out, all.out, "numRecordsOut as record by record")
					assert.Equal(t, one.outBytes, all.outBytes, "bytes out as record by record")
					want, got := finishOne(), finishAll()
					assert.Equal(t, want, got, "the same buffers, records and latest timestamps on every channel")
					for _, r := range got {
						for i, data := range r.data {
							assert.Equal(t, decodedLatest(t, data), r.latest[i], "LatestTS is the decoded latest")
						}
					}
				})
			}
		}
	}
}

// decodedLatest is the latest timestamp of an encoded batch, decoded.
func decodedLatest(t *testing.T, data []byte) int64 {
	var latest int64
	require.NoError(t, Batch{data: data}.Each(func(r Record) error { latest = max(latest, r.TS); return nil }))
	return latest
}

func TestSubtask_EmitBatch_Errors(t *testing.T) {
	good := NewBatch(Record{TS: 1, Key: []byte("a"), Value: []byte("bc")}, Record{TS: 2, Key: []byte("d")}).Bytes() // 19 + 17 bytes
	pastEnd := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(pastEnd[19+12:], 1000) // the second record's value length
	tests := []struct {
		name    string
		data    []byte
		corrupt bool
		want    string
	}{
		{"length past the end", pastEnd, true,
			"corrupt record batch: record at offset 19 of 1017 bytes (key 1, value 1000, header 16) runs past the end, 17 bytes left"},
		{"trailing bytes", append(append([]byte(nil), good...), 1, 2, 3), true,
			"corrupt record batch: 3 trailing bytes at offset 36, less than a record header (16 bytes)"},
		{"record larger than a buffer", append(append([]byte(nil), good...), NewBatch(Record{Value: make([]byte, 100)}).Bytes()...), false,
			"record at offset 36: record of 116 bytes (key 0, value 100, header 16) does not fit in a network buffer of 64 bytes: raise network.buffer-size"},
	}
	for _, tt := range tests {
		// two channels check first; one checks in the walk that writes
		for _, channels := range []int{2, 1} {
			t.Run(fmt.Sprintf("%s/channels=%d", tt.name, channels), func(t *testing.T) {
				s, finish := outputTo(network.Rebalance, channels, 64, false)
				n, err := s.EmitBatch(tt.data)
				assert.EqualError(t, err, tt.want)
				assert.Equal(t, tt.corrupt, err != nil && errors.Is(err, ErrCorrupt))
				assert.Zero(t, n)
				assert.Zero(t, s.out, "nothing counted")
				assert.Equal(t, make([]received, channels), finish(), "nothing emitted")
			})
		}
	}
}

func TestSubtask_EmitBatch_empty(t *testing.T) {
	s, finish := outputTo(network.Forward, 1, 64, true)
	n, err := s.EmitBatch(nil)
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.Zero(t, s.out)
	assert.Equal(t, []received{{}}, finish(), "not even an empty buffer")
}

func TestSubtask_EmitBatch_noOutputs(t *testing.T) {
	s := &subtask{}
	n, err := s.EmitBatch(NewBatch(Record{Value: make([]byte, 1<<20)}).Bytes())
	require.NoError(t, err, "a sink's records go nowhere, whatever their size, as with Emit")
	assert.Equal(t, 1, n)
	assert.Equal(t, int64(1), s.out)
}
