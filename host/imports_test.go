package host

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime"
)

// flowlab.emit_batch (ABI v1.1), through testdata/batch.wasm: an echo that
// hands its input batch back with one emit_batch, or, given a "call"
// record, calls emit_batch with the arguments in it.

// batchRecorder is a recorder that also takes batches whole, as the
// runtime's outputs do (runtime.BatchOutput); it keeps the slices it is given.
type batchRecorder struct {
	recorder
	batches [][]byte
}

func (r *batchRecorder) EmitBatch(data []byte) (int, error) {
	// As the runtime's: the whole encoding is checked before any record
	// is emitted.
	for off := 0; off < len(data); {
		rest := data[off:]
		if len(rest) < headerSize ||
			uint64(headerSize)+uint64(binary.LittleEndian.Uint32(rest[8:]))+uint64(binary.LittleEndian.Uint32(rest[12:])) > uint64(len(rest)) {
			return 0, fmt.Errorf("%w at offset %d", runtime.ErrCorrupt, off)
		}
		off += headerSize + int(binary.LittleEndian.Uint32(rest[8:])) + int(binary.LittleEndian.Uint32(rest[12:]))
	}
	r.batches = append(r.batches, data)
	n := 0
	for off := 0; off < len(data); n++ {
		var ts int64
		var key, value []byte
		ts, key, value, off = batchRecord(data, off)
		r.Emit(ts, key, value)
	}
	return n, nil
}

// callBatch is the input that makes batch.wasm call emit_batch(ptr, n)
// times times.
func callBatch(ptr, n uint32, times int) runtime.Batch {
	args := binary.LittleEndian.AppendUint32(nil, ptr)
	args = binary.LittleEndian.AppendUint32(args, n)
	args = binary.LittleEndian.AppendUint32(args, uint32(times))
	return runtime.NewBatch(runtime.Record{Key: []byte("call"), Value: args})
}

// records encodes n records ("k0", "v"), ("k1", "v"), ... with timestamps
// 0, 1, ...
func records(n int) []byte {
	var recs []runtime.Record
	for i := range n {
		recs = append(recs, runtime.Record{TS: int64(i), Key: fmt.Appendf(nil, "k%d", i), Value: []byte("v")})
	}
	return runtime.NewBatch(recs...).Bytes()
}

// scratch is where the tests write batches into batch.wasm's memory for
// it to emit: below its input buffer, above what it uses itself.
const scratch = 512

// callWith writes data into a live instance of op at scratch and has it call
// emit_batch(ptr, n) times times.
func callWith(t *testing.T, op *operator, data []byte, ptr, n uint32, times int, out runtime.Output) error {
	t.Helper()
	in, err := op.instance()
	require.NoError(t, err)
	require.True(t, in.mem.Write(scratch, data))
	return op.Process(callBatch(ptr, n, times), out)
}

// lastResult is what batch.wasm's last emit_batch returned.
func lastResult(t *testing.T, op *operator) int32 {
	t.Helper()
	r, ok := op.inst.mem.ReadUint32Le(0)
	require.True(t, ok)
	return int32(r)
}

// Each record keeps its own timestamp, a timer's record has the timer's
// time, and emit_batch returns the number of records; an output that takes
// batches whole gets the guest's memory, not a copy.
func TestOperator_EmitBatch(t *testing.T) {
	h := cachedHost(t, sandbox())
	m, err := h.Compile(t.Context(), "batch", testdata(t, "batch.wasm"))
	require.NoError(t, err)
	for _, whole := range []bool{false, true} {
		t.Run(fmt.Sprintf("whole=%v", whole), func(t *testing.T) {
			op := newTestOperator(t, m, "{}")
			rec := &batchRecorder{}
			var out runtime.Output = &rec.recorder
			if whole {
				out = rec
			}
			in := runtime.NewBatch(
				runtime.Record{TS: 5, Key: []byte("k1"), Value: []byte("one")},
				runtime.Record{TS: 9},
				runtime.Record{TS: 7, Key: []byte("K"), Value: []byte("three")},
			)
			require.NoError(t, op.Process(in, out))
			assert.Equal(t, []string{"k1=one", "=", "K=three"}, rec.recs)
			assert.Equal(t, []int64{5, 9, 7}, rec.ts)
			assert.Equal(t, int32(3), lastResult(t, op))

			require.NoError(t, op.OnTimer(time.UnixMilli(1234), out))
			assert.Equal(t, "timer=", rec.recs[3])
			assert.Equal(t, int64(1234), rec.ts[3])
			assert.Equal(t, int32(1), lastResult(t, op))

			if whole {
				require.Len(t, rec.batches, 2)
				guest, ok := op.inst.mem.Read(op.inst.inPtr, uint32(len(in.Bytes())))
				require.True(t, ok)
				assert.Same(t, &guest[0], &rec.batches[0][0], "the guest's memory itself")
			}
		})
	}
}

// Bad arguments and bad batches fail the call, naming emit_batch and what is
// wrong, and emit nothing; the next call gets a fresh instance, which works.
func TestOperator_EmitBatch_Errors(t *testing.T) {
	h := cachedHost(t, sandbox())
	m, err := h.Compile(t.Context(), "batch", testdata(t, "batch.wasm"))
	require.NoError(t, err)
	one := records(1) // 19 bytes
	lie := binary.LittleEndian.AppendUint64(nil, 1)
	lie = binary.LittleEndian.AppendUint32(lie, 1)
	lie = binary.LittleEndian.AppendUint32(lie, 1<<30)
	lie = append(lie, "kv"...)
	short := append(binary.LittleEndian.AppendUint64(append([]byte{}, one...), 1), 5, 0, 0, 0, 0, 0, 0, 0, 'a', 'b')
	tests := []struct {
		name   string
		data   []byte // written at scratch
		ptr, n uint32
		want   string
	}{
		{"past memory", nil, 65528, 16, "batch pointer 65528 with length 16 is outside guest memory of 65536 bytes"},
		{"wraps around", nil, 0xfffffff0, 32, "batch pointer 4294967280 with length 32 is outside guest memory of 65536 bytes"},
		{"negative length", nil, scratch, 0xffffffff, "batch pointer 512 with length 4294967295 is outside guest memory of 65536 bytes"},
		{"1 GiB", nil, 0, 1 << 30, "batch pointer 0 with length 1073741824 is outside guest memory of 65536 bytes"},
		{"a value of 1 GiB claimed", lie, scratch, uint32(len(lie)),
			"the record at offset 0 of a batch of 18 bytes has key_len 1 and val_len 1073741824, but only 2 bytes follow its header"},
		{"a second record cut short", short, scratch, uint32(len(short)),
			"the record at offset 19 of a batch of 37 bytes has key_len 5 and val_len 0, but only 2 bytes follow its header"},
		{"trailing bytes", append(append([]byte{}, one...), "xyz"...), scratch, 22,
			"3 trailing bytes at offset 19 of a batch of 22 bytes: a record header is 16 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newTestOperator(t, m, "{}")
			out := &batchRecorder{}
			err := callWith(t, op, tt.data, tt.ptr, tt.n, 1, out)
			assert.EqualError(t, err, `operator "batch": flowlab_process: emit_batch: `+tt.want)
			assert.Empty(t, out.recs)
			assert.Nil(t, op.inst, "discarded")

			require.NoError(t, op.Process(batch("k=v"), out))
			assert.Equal(t, []string{"k=v"}, out.recs)
		})
	}
}

// emit_batch emits up to the output quota: a batch that would cross it
// emits the records up to it and returns -1 (records past it are not even
// read), and the call fails as after emit's -1; a call after -1 aborts it.
func TestOperator_EmitBatch_Quota(t *testing.T) {
	h := cachedHost(t, sandbox().WithOutputQuota(5))
	m, err := h.Compile(t.Context(), "batch", testdata(t, "batch.wasm"))
	require.NoError(t, err)
	const quota = `operator "batch": flowlab_process: emitted more than the limit of 5 records in one call`
	tests := []struct {
		name  string
		data  []byte
		times int
		want  []string
		err   string
	}{
		{"exactly the quota", records(5), 1, []string{"k0=v", "k1=v", "k2=v", "k3=v", "k4=v"}, ""},
		{"crossed by a batch", records(8), 1, []string{"k0=v", "k1=v", "k2=v", "k3=v", "k4=v"}, quota},
		{"crossed by the second batch", records(3), 2, []string{"k0=v", "k1=v", "k2=v", "k0=v", "k1=v"}, quota},
		{"garbage past the quota", append(records(5), "garbage"...), 1, []string{"k0=v", "k1=v", "k2=v", "k3=v", "k4=v"}, quota},
		{"called again after -1", records(8), 2, []string{"k0=v", "k1=v", "k2=v", "k3=v", "k4=v"},
			`operator "batch": flowlab_process: emit_batch: called again after it returned -1: the output quota of 5 records per call is exhausted`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newTestOperator(t, m, "{}")
			out := &batchRecorder{}
			err := callWith(t, op, tt.data, scratch, uint32(len(tt.data)), tt.times, out)
			assert.Equal(t, tt.want, out.recs)
			if tt.err == "" {
				require.NoError(t, err)
				assert.Equal(t, int32(5), lastResult(t, op))
				return
			}
			assert.EqualError(t, err, tt.err)
			assert.Nil(t, op.inst)
		})
	}
}

// An error of the output fails the call, naming emit_batch; canceling is
// not a failure.
func TestOperator_EmitBatch_OutputErrors(t *testing.T) {
	h := cachedHost(t, sandbox())
	m, err := h.Compile(t.Context(), "batch", testdata(t, "batch.wasm"))
	require.NoError(t, err)
	tooLarge := errors.New("record of 20 bytes (key 1, value 3, header 16) does not fit in a network buffer of 16 bytes: raise network.buffer-size")
	for _, out := range []runtime.Output{errOutput{tooLarge}, errBatchOutput{errOutput{tooLarge}}} {
		op := newTestOperator(t, m, "{}")
		err := op.Process(batch("k=abc"), out)
		assert.EqualError(t, err, `operator "batch": flowlab_process: emit_batch: `+tooLarge.Error())
	}
	for _, out := range []runtime.Output{errOutput{runtime.ErrCanceled}, errBatchOutput{errOutput{runtime.ErrCanceled}}} {
		op := newTestOperator(t, m, "{}")
		err := op.Process(batch("k=abc"), out)
		assert.ErrorIs(t, err, runtime.ErrCanceled)
	}
}

// errOutput is an Output that fails with err; errBatchOutput takes batches
// whole and fails with it too.
type (
	errOutput      struct{ err error }
	errBatchOutput struct{ errOutput }
)

func (o errOutput) Emit(int64, []byte, []byte) error        { return o.err }
func (o errBatchOutput) EmitBatch(data []byte) (int, error) { return 0, o.err }

// Only flowlab_process and flowlab_timer have an output to emit to.
func TestOperator_EmitBatch_OutsideProcess(t *testing.T) {
	h := cachedHost(t, sandbox())
	m, err := h.Compile(t.Context(), "batch", testdata(t, "batch.wasm"))
	require.NoError(t, err)
	_, err = m.newOperator(newTestContext(), []byte(`{"emit": true}`))
	assert.EqualError(t, err, `operator "batch": flowlab_init: emit_batch: records may be emitted only from flowlab_process and flowlab_timer`)
}
