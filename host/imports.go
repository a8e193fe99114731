package host

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"flowlab/runtime"
)

// importModule is the module name of the host functions of ABI v1 and v1.1.
const importModule = "flowlab"

var importSignatures = map[string]signature{
	"emit":       {[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}},
	"emit_batch": {[]api.ValueType{i32, i32}, []api.ValueType{i32}}, // ABI v1.1
	"fail":       {[]api.ValueType{i32, i32}, nil},
	"log":        {[]api.ValueType{i32, i32}, nil},
	"now_ms":     {nil, []api.ValueType{i64}},
	"timer":      {[]api.ValueType{i64}, nil},
	"state_get":  {[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}},
	"state_put":  {[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}},
}

// importNames are the names of the flowlab imports, sorted.
var importNames = slices.Sorted(maps.Keys(importSignatures))

var importFuncs = map[string]func(*instance, []uint64){
	"emit":       (*instance).emit,
	"emit_batch": (*instance).emitBatch,
	"fail":       (*instance).fail,
	"log":        (*instance).log,
	"now_ms":     func(_ *instance, stack []uint64) { stack[0] = api.EncodeI64(time.Now().UnixMilli()) },
	"timer":      (*instance).setTimer,
	"state_get":  (*instance).stateGet,
	"state_put":  (*instance).statePut,
}

// instantiateImports defines the flowlab host module. Each function finds
// the calling instance in the context of the call (see callContext).
func instantiateImports(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(importModule)
	for i, name := range importNames {
		fn, sig := importFuncs[name], importSignatures[name]
		if name == "emit" { // once per output record: without the indirect call
			fn = nil
		}
		id := int32(i + 1)
		goFn := api.GoFunc(func(ctx context.Context, stack []uint64) {
			in := instanceOf(ctx)
			if in.op.sampling.on.Load() { // see stackRequest
				in.hostCall.Store(id)
				defer in.hostCall.Store(0)
			}
			if fn == nil {
				in.emit(stack)
				return
			}
			fn(in, stack)
		})
		b.NewFunctionBuilder().WithGoFunction(goFn, sig.params, sig.results).Export(name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

// callContext is the context of every call into an instance. The host
// functions, called once per record or more, find their instance in it
// with a type assertion, not a lookup along a chain of contexts.
type callContext struct {
	context.Context
	in *instance
}

type instanceKey struct{}

// Value implements context.Context: instanceKey{} gives the instance.
func (c *callContext) Value(key any) any {
	if key == (instanceKey{}) {
		return c.in
	}
	return c.Context.Value(key)
}

// instanceOf returns the instance that a host function was called from.
func instanceOf(ctx context.Context) *instance {
	if c, ok := ctx.(*callContext); ok {
		return c.in
	}
	return ctx.Value(instanceKey{}).(*instance) // a context derived from the call's
}

// abiError aborts a guest call from a host function: the host panics with
// it, wazero unwinds the guest, and the call returns it.
type abiError struct{ msg string }

func (e *abiError) Error() string { return e.msg }

func abort(format string, args ...any) { panic(&abiError{fmt.Sprintf(format, args...)}) }

// read returns guest memory [ptr, ptr+n), or aborts the call naming the
// import and the argument. (wazero checks ptr+n against the memory's size
// in 64 bits: no wrap-around.)
func (in *instance) read(fn, arg string, ptr, n uint64) []byte {
	b, ok := in.mem.Read(uint32(ptr), uint32(n))
	if !ok {
		in.outside(fn, arg, ptr, n)
	}
	return b
}

func (in *instance) outside(fn, arg string, ptr, n uint64) {
	abort("%s: %s pointer %d with length %d is outside guest memory of %d bytes", fn, arg, uint32(ptr), uint32(n), in.mem.Size())
}

// emit is called once per output record: it does no more than check and
// pass the record on.
func (in *instance) emit(stack []uint64) {
	key := in.read("emit", "key", stack[0], stack[1])
	value := in.read("emit", "value", stack[2], stack[3])
	if in.out == nil {
		abort("emit: records may be emitted only from %s and %s", exportProcess, exportTimer)
	}
	if in.emitted >= in.quota {
		if in.quotaHit {
			abort("emit: called again after it returned -1: the output quota of %d records per call is exhausted", in.quota)
		}
		in.quotaHit = true
		stack[0] = api.EncodeI32(-1)
		return
	}
	in.emitted++
	if err := in.out.Emit(in.ts, key, value); err != nil {
		panic(err)
	}
	stack[0] = 0
}

// emitBatch is emit for many records (ABI v1.1): the guest writes them in
// the batch encoding into its own memory and crosses into the host once.
// The host checks the encoding of the records up to the output quota
// before it emits any, emits those (each with its own timestamp, straight
// from guest memory) and returns -1 if the batch holds more: records past
// the quota are neither read nor emitted, and the call fails as after
// emit's -1.
func (in *instance) emitBatch(stack []uint64) {
	data := in.read("emit_batch", "batch", stack[0], stack[1])
	if in.out == nil {
		abort("emit_batch: records may be emitted only from %s and %s", exportProcess, exportTimer)
	}
	if in.quotaHit {
		abort("emit_batch: called again after it returned -1: the output quota of %d records per call is exhausted", in.quota)
	}
	room := in.quota - in.emitted
	out, batches := in.out.(runtime.BatchOutput) // the runtime's outputs are; tests' recorders may not be
	var n, end int
	var err error
	switch {
	case batches && len(data)/headerSize <= room:
		// It cannot cross the quota (a record takes a header at least):
		// EmitBatch checks the encoding itself (to one output, in the walk
		// that writes) and emits nothing from a bad one, which scanBatch
		// then words as the host does.
		n, err = out.EmitBatch(data)
		if errors.Is(err, runtime.ErrCorrupt) {
			scanBatch(data, room)
		}
		end = len(data)
	case batches:
		n, end = scanBatch(data, room)
		_, err = out.EmitBatch(data[:end])
	default:
		n, end = scanBatch(data, room)
		for off := 0; off < end && err == nil; {
			var ts int64
			var key, value []byte
			ts, key, value, off = batchRecord(data, off)
			err = in.out.Emit(ts, key, value)
		}
	}
	in.emitted += n
	switch {
	case errors.Is(err, runtime.ErrCanceled):
		panic(err)
	case err != nil:
		abort("emit_batch: %v", err)
	case end < len(data):
		in.quotaHit = true
		stack[0] = api.EncodeI32(-1)
	default:
		stack[0] = api.EncodeI32(int32(n))
	}
}

// scanBatch checks the encoding of a batch up to its first room records and
// returns how many records it holds up to there and where they end: at
// len(data) if it holds no more than room. It aborts the call, naming
// emit_batch and the offset, if the records up to there do not add up.
func scanBatch(data []byte, room int) (n, end int) {
	for end < len(data) && n < room {
		_, _, _, end = batchRecord(data, end)
		n++
	}
	return n, end
}

// headerSize is the fixed part of a record in the batch encoding: ts_ms i64,
// key_len u32, val_len u32.
const headerSize = 16

// batchRecord decodes the record at off of a batch that holds more bytes
// from there, and returns the offset of the next one; it aborts the call if
// the batch ends within the record.
func batchRecord(data []byte, off int) (ts int64, key, value []byte, next int) {
	rest := data[off:]
	if len(rest) < headerSize {
		abort("emit_batch: %d trailing bytes at offset %d of a batch of %d bytes: a record header is %d bytes", len(rest), off, len(data), headerSize)
	}
	kl := uint64(binary.LittleEndian.Uint32(rest[8:]))
	vl := uint64(binary.LittleEndian.Uint32(rest[12:]))
	if headerSize+kl+vl > uint64(len(rest)) {
		abort("emit_batch: the record at offset %d of a batch of %d bytes has key_len %d and val_len %d, but only %d bytes follow its header",
			off, len(data), kl, vl, len(rest)-headerSize)
	}
	k := headerSize + int(kl)
	end := k + int(vl)
	return int64(binary.LittleEndian.Uint64(rest)), rest[headerSize:k:k], rest[k:end:end], off + end
}

func (in *instance) setTimer(stack []uint64) {
	if err := in.op.ctx.SetTimer(time.UnixMilli(int64(stack[0]))); err != nil {
		abort("timer: %v", err)
	}
}

const maxFailMessage = 4 << 10

func (in *instance) fail(stack []uint64) {
	msg := in.read("fail", "message", stack[0], stack[1])
	in.failMsg = string(msg[:min(len(msg), maxFailMessage)])
}

func (in *instance) log(stack []uint64) {
	msg := in.read("log", "message", stack[0], stack[1])
	cfg := in.op.mod.host.cfg
	if in.logged >= cfg.logPerCall {
		return
	}
	if in.logged+len(msg) > cfg.logPerCall {
		msg = msg[:cfg.logPerCall-in.logged]
		in.op.ctx.Logs().Add(runtime.StreamLog, fmt.Sprintf("(log limit of %d bytes per call reached; the rest of this call's log is dropped)", cfg.logPerCall))
	}
	in.logged += len(msg)
	in.op.ctx.Logs().Add(runtime.StreamLog, string(msg))
}

func (in *instance) stateGet(stack []uint64) {
	key := in.read("state_get", "key", stack[0], stack[1])
	op := in.op
	op.stateMu.Lock()
	v, ok := op.state[string(key)]
	op.stateMu.Unlock() // v is never modified in place: copied without the lock
	if !ok {
		stack[0] = api.EncodeI32(-1)
		return
	}
	dst := in.read("state_get", "destination", stack[2], stack[3])
	copy(dst, v)
	stack[0] = api.EncodeI32(int32(len(v)))
}

// stateEntryCost is what the host spends on an entry of keyed state besides
// its key and value bytes: the map's slot (a string and a slice header, a
// control byte, load factor) and the rounding of the key's and value's
// allocations up to Go's size classes. TestOperator_State_Accounting checks
// it against the heap.
const stateEntryCost = 96

// maxStateEntries bounds the entries of a subtask's keyed state, whatever
// their size.
const maxStateEntries = 100_000

func (in *instance) statePut(stack []uint64) {
	key := in.read("state_put", "key", stack[0], stack[1])
	value := in.read("state_put", "value", stack[2], stack[3])
	op := in.op
	op.stateMu.Lock()
	old, had := op.state[string(key)]
	size := op.stateBytes + len(value) - len(old)
	if !had {
		size += len(key) + stateEntryCost
	}
	if size > op.mod.host.cfg.stateLimit || !had && len(op.state) >= maxStateEntries {
		op.stateMu.Unlock()
		stack[0] = api.EncodeI32(-1)
		return
	}
	op.stateBytes = size
	// A fresh copy, never modified afterwards: a snapshot shares values
	// (see SnapshotState).
	op.state[string(key)] = append(old[:0:0], value...)
	op.stateMu.Unlock()
	stack[0] = 0
}
