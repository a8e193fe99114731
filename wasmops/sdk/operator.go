package sdk

import (
	"errors"
	"runtime"
	"strconv"
	"unsafe"
)

// operator is what the exports dispatch to: the one operator the module
// registered in an init function.
type operator interface {
	// kind names the registering function, for error messages.
	kind() string
	// start runs once after the config is known, before the first record.
	start() error
	// process handles one batch.
	process(in *Batch) error
	// timer handles a timer set through hostTimer firing.
	timer(ts int64) error
}

var (
	registered operator
	started    bool
	onTimer    func(c *Context, ts int64) error
	out        Output
	batch      Batch // the batch being processed: a variable, so that it does not escape per call
)

func register(op operator, fnIsNil bool) {
	if fnIsNil {
		panic("sdk." + op.kind() + ": the function is nil")
	}
	if registered != nil {
		panic("sdk." + op.kind() + ": this module already registered sdk." + registered.kind() + "; a module is exactly one operator")
	}
	registered = op
}

// Map registers the module's operator: fn is called for every input record
// and its result is emitted. The TS of the result is ignored: an output
// record has the timestamp of its input record. The result may alias r or a
// buffer that fn reuses: it is copied before fn is called again. A result
// that is r itself, its key and value changed in place if at all, costs no
// copy: the SDK hands it to the host where it lies in the input buffer.
func Map(fn func(r Record) Record) { register(&mapOp{fn}, fn == nil) }

// MapValue registers the module's operator: fn is called with the value of
// every input record, and the record is emitted with its key and the value
// fn returns. It is Map for operators that keep the key, and costs less per
// record: a Record (56 bytes) is too large for Go's compiler to keep in
// registers, so a function returning one clears its result in memory when
// it starts (wasm memory.fill) and copies the Record out (memory.copy);
// wazero runs both as calls of the Go runtime's memmove, about 35 ns per
// record, a sixth of what a Map of short values costs in the guest. The
// result may alias value or a buffer that fn reuses, as for Map.
func MapValue(fn func(value []byte) []byte) { register(&mapValueOp{fn}, fn == nil) }

// Filter registers the module's operator: a record is emitted unchanged if fn
// returns true for it, and dropped otherwise.
func Filter(fn func(r Record) bool) { register(&filterOp{fn}, fn == nil) }

// ProcessBatch registers the module's operator as a function of whole input
// batches: fn reads the records of in with in.Next, and emits with out: Keep
// for a record that goes out as it came in (changed in place, if at all),
// Emit for any other. It is the fastest way to write an operator: in Go's
// wasm code every call costs about as much as a short record's work (the
// compiler passes arguments in memory and spills what the caller keeps), and
// Map, MapValue and Filter call fn for every record, while a loop over in
// makes no call per record: Next, TS, Key, Value and Keep are inlined. An
// error fails the call as for FlatMap, after the records emitted before it.
//
//	sdk.ProcessBatch(func(in *sdk.Batch, out *sdk.Output) error {
//		for in.Next() {
//			if bytes.IndexByte(in.Value(), '#') >= 0 {
//				out.Keep(in)
//			}
//		}
//		return nil
//	})
func ProcessBatch(fn func(in *Batch, out *Output) error) { register(&batchOp{fn}, fn == nil) }

// FlatMap registers the module's operator: fn is called for every input
// record and emits zero, one or many records to out. An error fails the call:
// the host discards the instance and the job restarts per its restart
// strategy, with the error's text as the reason.
func FlatMap(fn func(r Record, out *Output) error) { register(&flatMapOp{fn}, fn == nil) }

// KeyedProcess registers the module's operator as a keyed process function,
// like Flink's KeyedProcessFunction: fn is called for every input record with
// a Context scoped to the record's key, through which it emits records and
// sets processing-time timers for that key. Keyed state lives in the host (see
// State), so it outlives the instance. An error fails the call as for FlatMap.
func KeyedProcess(fn func(c *Context, r Record) error) { register(&keyedOp{fn: fn}, fn == nil) }

// OnTimer registers the function called when a timer set with
// Context.SetTimer fires: once per key and time set, in order of time, then of
// key, with c scoped to the key that set the timer and ts the time it was set
// for. It needs KeyedProcess. Timers are held by the instance: they do not
// survive a restart of the instance, unlike keyed state.
func OnTimer(fn func(c *Context, ts int64) error) { onTimer = fn }

// Output is where an operator emits records. Emitting copies: key and value
// may be reused as soon as Emit returns.
//
// The SDK gathers the records of a call in an output buffer and hands them
// to the host in one crossing (flowlab.emit_batch, ABI v1.1) when the buffer
// is full and when the call ends, also when it fails. Records kept with Keep
// are not copied while nothing else is emitted after them: a run of them is
// handed over where it lies in the input buffer.
type Output struct {
	n       int
	stopped bool
	in      *Batch // the batch of the call; nil in a timer
	// The records kept since the last Emit: in.b[runFrom:runTo].
	runFrom, runTo int
}

var (
	outBuf []byte // records emitted, not yet handed to the host, in the batch encoding
	outTS  int64  // the timestamp of records emitted in a timer
)

// flushSize is how many bytes of output the SDK gathers before it hands
// them to the host.
const flushSize = 64 << 10

// Emit emits one record with the given key and value, and the timestamp of
// the input record being processed (in a ProcessBatch function, the current
// record of the batch, before the first Next the first; in OnTimer, the
// timer's). It returns false if the
// host's output quota for this call is exhausted (or was earlier in the
// call): the operator should stop emitting and return; the SDK stops feeding
// it records for the rest of the batch. The SDK learns of the quota when it
// hands the host its output buffer, so records emitted up to then past the
// quota are dropped (and the host fails the call anyway).
func (o *Output) Emit(key, value []byte) bool {
	if o.stopped {
		return false
	}
	ts := outTS
	if o.in != nil && len(o.in.b) >= headerSize {
		o.cut(o.in.at)
		ts = o.in.TS()
	}
	outBuf = appendRecord(outBuf, ts, key, value)
	o.n++
	return len(outBuf) < flushSize || o.flush()
}

// EmitString is Emit for strings, without copying them first.
func (o *Output) EmitString(key, value string) bool {
	return o.Emit(stringBytes(key), stringBytes(value))
}

// Keep emits the current record of in, the batch of the call, as it lies in
// the input buffer: with its timestamp, and its key and value as they are
// now (changed in place, if at all). Records kept one after the other are
// handed to the host without a copy, unless something is emitted after them.
// Like Emit past the quota, Keep past it drops the record.
func (o *Output) Keep(in *Batch) {
	if in.at != o.runTo {
		o.cut(in.at)
	}
	o.runTo = in.end
	o.n++
}

// cut ends the run of kept records: it joins the output buffer, behind what
// was emitted before it, and the next run starts at at.
func (o *Output) cut(at int) {
	if o.runTo > o.runFrom {
		outBuf = append(outBuf, o.in.b[o.runFrom:o.runTo]...)
		if len(outBuf) >= flushSize {
			o.flush()
		}
	}
	o.runFrom, o.runTo = at, at
}

// Stopped reports whether the output quota of this call is exhausted.
func (o *Output) Stopped() bool { return o.stopped }

// Emitted is the number of records emitted (and kept) so far in this call.
func (o *Output) Emitted() int { return o.n }

func (o *Output) reset(in *Batch) {
	*o = Output{in: in}
	outBuf = outBuf[:0]
}

// flush hands the output buffer to the host.
func (o *Output) flush() bool {
	ok := o.send(outBuf)
	outBuf = outBuf[:0]
	return ok
}

// finish hands the host what the call emitted: a run of kept records that
// ends it from where it lies if nothing precedes it, else after the rest.
func (o *Output) finish() {
	if len(outBuf) == 0 && o.in != nil {
		o.send(o.in.b[o.runFrom:o.runTo])
		return
	}
	if o.in != nil {
		o.cut(o.runTo)
	}
	o.flush()
}

// send hands records in the batch encoding to the host and reports whether
// the quota still holds.
func (o *Output) send(b []byte) bool {
	if len(b) > 0 && !o.stopped && hostEmitBatch(b) < 0 {
		o.stopped = true
	}
	return !o.stopped
}

// same reports whether a result of a map is the input slice in, so that
// the record is emitted where it lies.
func same(result, in []byte) bool {
	return len(result) == len(in) && (len(in) == 0 || unsafe.SliceData(result) == unsafe.SliceData(in))
}

// Context is what a keyed process function may do: it is scoped to the key
// of the record (or timer) being processed.
type Context struct {
	key []byte
	op  *keyedOp
}

// Key is the key of the record being processed, or of the timer firing. It
// must not be modified, and is valid only during the call.
func (c *Context) Key() []byte { return c.key }

// Emit emits one record; see Output.Emit.
func (c *Context) Emit(key, value []byte) bool { return out.Emit(key, value) }

// Output is the output of the call, for helpers that take an *Output.
func (c *Context) Output() *Output { return &out }

// Now is the host's processing time in milliseconds since the Unix epoch.
func (c *Context) Now() int64 { return Now() }

// SetTimer asks for the OnTimer function to be called for the current key at
// processing time ts (milliseconds since the Unix epoch) or soon after. Setting
// the same time twice for a key fires once. A time in the past fires as soon
// as the host runs timers, after this call.
func (c *Context) SetTimer(ts int64) {
	if c.op.timers.set(c.key, ts) {
		hostTimer(ts)
	}
}

type mapOp struct{ fn func(Record) Record }

func (*mapOp) kind() string      { return "Map" }
func (*mapOp) start() error      { return nil }
func (*mapOp) timer(int64) error { return nil }
func (m *mapOp) process(in *Batch) error {
	fn := mapFields(m.fn)
	for in.Next() {
		key, value := in.Key(), in.Value()
		_, k, v := fn(in.TS(), key, value)
		if same(k, key) && same(v, value) {
			out.Keep(in) // changed in place, if at all
		} else if !out.Emit(k, v) {
			return nil
		}
	}
	return in.err()
}

type mapValueOp struct{ fn func([]byte) []byte }

func (*mapValueOp) kind() string      { return "MapValue" }
func (*mapValueOp) start() error      { return nil }
func (*mapValueOp) timer(int64) error { return nil }
func (m *mapValueOp) process(in *Batch) error {
	fn := m.fn
	for in.Next() {
		value := in.Value()
		if v := fn(value); same(v, value) {
			out.Keep(in)
		} else if !out.Emit(in.Key(), v) {
			return nil
		}
	}
	return in.err()
}

type filterOp struct{ fn func(Record) bool }

func (*filterOp) kind() string      { return "Filter" }
func (*filterOp) start() error      { return nil }
func (*filterOp) timer(int64) error { return nil }
func (f *filterOp) process(in *Batch) error {
	fn := filterFields(f.fn)
	for in.Next() {
		if fn(in.TS(), in.Key(), in.Value()) {
			out.Keep(in)
		}
	}
	return in.err()
}

type batchOp struct{ fn func(*Batch, *Output) error }

func (*batchOp) kind() string      { return "ProcessBatch" }
func (*batchOp) start() error      { return nil }
func (*batchOp) timer(int64) error { return nil }
func (p *batchOp) process(in *Batch) error {
	if err := p.fn(in, &out); err != nil {
		return err
	}
	return in.err()
}

type flatMapOp struct {
	fn func(Record, *Output) error
}

func (*flatMapOp) kind() string      { return "FlatMap" }
func (*flatMapOp) start() error      { return nil }
func (*flatMapOp) timer(int64) error { return nil }
func (f *flatMapOp) process(in *Batch) error {
	fn := f.fn
	for !out.stopped && in.Next() {
		if err := fn(in.Record(), &out); err != nil {
			return err
		}
	}
	if out.stopped {
		return nil // the rest of the batch is not read
	}
	return in.err()
}

type keyedOp struct {
	fn     func(*Context, Record) error
	ctx    Context
	timers timerService
	keyBuf []byte
}

func (*keyedOp) kind() string { return "KeyedProcess" }
func (k *keyedOp) start() error {
	k.ctx.op = k
	return nil
}

func (k *keyedOp) process(in *Batch) error {
	for !out.stopped && in.Next() {
		r := in.Record()
		k.ctx.key = r.Key
		if err := k.fn(&k.ctx, r); err != nil {
			return err
		}
	}
	if out.stopped {
		return nil // the rest of the batch is not read
	}
	return in.err()
}

func (k *keyedOp) timer(ts int64) error {
	if onTimer == nil {
		return nil
	}
	for !out.stopped {
		t, keys, ok := k.timers.pop(ts)
		if !ok {
			return nil
		}
		for _, key := range keys {
			k.keyBuf = append(k.keyBuf[:0], key...)
			k.ctx.key = k.keyBuf
			if err := onTimer(&k.ctx, t); err != nil {
				return err
			}
			if out.stopped {
				return nil
			}
		}
	}
	return nil
}

// The calls of ABI v1, whatever the platform. Each returns the code the
// export returns: 0 on success, -1 after an error, -2 after a panic, with the
// message given to the host through fail first.

// inputBuffer implements flowlab_input: a buffer of at least size bytes,
// reused while it is large enough.
func inputBuffer(size int) []byte {
	if size > len(inbuf) {
		inbuf = make([]byte, max(size+size/4, 16<<10))
	}
	return inbuf
}

var inbuf []byte

// callInit implements flowlab_init: the config is the first n bytes of the
// input buffer.
func callInit(n int) int32 {
	return call(func() error {
		config, err := input(n)
		if err != nil {
			return err
		}
		started = false
		if err := applyConfig(config); err != nil {
			return err
		}
		return start()
	})
}

// callProcess implements flowlab_process: the batch is the first n bytes of
// the input buffer.
func callProcess(n int) int32 {
	return call(func() error {
		b, err := input(n)
		if err != nil {
			return err
		}
		if err := start(); err != nil {
			return err
		}
		batch = Batch{b: b}
		out.in = &batch
		return registered.process(&batch)
	})
}

// callTimer implements flowlab_timer.
func callTimer(ts int64) int32 {
	return call(func() error {
		if err := start(); err != nil {
			return err
		}
		outTS = ts
		return registered.timer(ts)
	})
}

func input(n int) ([]byte, error) {
	if n < 0 || n > len(inbuf) {
		return nil, errorString("the host passed a length of " + strconv.Itoa(n) + " bytes, but the input buffer (from flowlab_input) holds " + strconv.Itoa(len(inbuf)))
	}
	return inbuf[:n], nil
}

// start starts the registered operator once.
func start() error {
	if started {
		return nil
	}
	if registered == nil {
		return errors.New("no operator registered: call sdk.Map, sdk.MapValue, sdk.Filter, sdk.FlatMap, sdk.ProcessBatch, sdk.KeyedProcess or sdk.SlidingWindow from an init function")
	}
	if _, keyed := registered.(*keyedOp); onTimer != nil && !keyed {
		return errorString("sdk.OnTimer needs sdk.KeyedProcess, but this module registered sdk." + registered.kind())
	}
	if err := registered.start(); err != nil {
		return err
	}
	started = true
	return nil
}

func call(fn func() error) (code int32) {
	out.reset(nil)
	hostBeginCall()
	defer func() {
		if p := recover(); p != nil {
			msg := appendPanicValue([]byte("panic: "), p)
			failMessage(string(append(append(msg, "\n\n"...), stack()...)))
			code = -2
		}
	}()
	err := fn()
	out.finish()
	if err != nil {
		failMessage(err.Error())
		return -1
	}
	return 0
}

// stack is the stack trace of the calling goroutine, as debug.Stack.
func stack() []byte {
	buf := make([]byte, 1024)
	for {
		n := runtime.Stack(buf, false)
		if n < len(buf) {
			return buf[:n]
		}
		buf = make([]byte, 2*len(buf))
	}
}

var failBuf []byte

func failMessage(msg string) {
	failBuf = append(failBuf[:0], msg...)
	hostFail(failBuf)
}

// Now is the host's processing time in milliseconds since the Unix epoch.
func Now() int64 { return hostNow() }

var logBuf []byte

// Log writes one entry to the operator's log, formatted as fmt.Sprint does.
// The host bounds the log per call and per subtask (see docs/ABI.md) and
// shows it in the UI. (The SDK formats with its own copy of fmt's printer,
// without fmt.Formatter: fmt itself would add 0.4 MB to every module.)
func Log(args ...any) {
	logBuf = appendPrint(logBuf[:0], args...)
	hostLog(logBuf)
}

// Logf writes one entry to the operator's log, formatted as fmt.Sprintf does
// (without fmt.Formatter and %w).
func Logf(format string, args ...any) {
	logBuf = appendPrintf(logBuf[:0], format, args...)
	hostLog(logBuf)
}
