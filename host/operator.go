package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"flowlab/host/internal/instrument"
	"flowlab/runtime"
)

// OperatorType adapts the module to the runtime: each subtask gets an
// instance. The task's config goes to flowlab_init as JSON. Nothing of the
// guest runs here: a job starts without waiting on guest code, and an
// instance that fails to start (its start function, _initialize or
// flowlab_init trap, run too long or reject the config) fails its subtask
// with the operator's message.
func (m *Module) OperatorType() runtime.OperatorType {
	return func(tc runtime.TaskConfig) (runtime.Prepared, error) {
		if tc.Config == nil {
			tc.Config = map[string]any{}
		}
		config, err := json.Marshal(tc.Config)
		if err != nil {
			return runtime.Prepared{}, &runtime.ConfigError{Msg: err.Error()}
		}
		if len(tc.Config) > 0 && !m.exports[exportInit] {
			return runtime.Prepared{}, &runtime.ConfigError{Msg: fmt.Sprintf("operator %q takes no config: it does not export %s", m.name, exportInit)}
		}
		return runtime.Prepared{
			NewProcessor: func(ctx runtime.Context) (runtime.Processor, error) {
				op, err := m.newOperator(ctx, config)
				if err != nil {
					return nil, err // not a nil *operator
				}
				return op, nil
			},
			Memory: m.memory(),
			State:  m.state(),
		}, nil
	}
}

// state is the most keyed state an operator of the module may hold (and
// hand a checkpoint), with its timers.
func (m *Module) state() int64 {
	var n int64
	if m.imports["state_put"] {
		n += int64(m.host.cfg.stateLimit)
	}
	if m.imports["timer"] {
		n += runtime.MaxTimers * 8
	}
	return n
}

// instanceBytes is what wazero holds for an instance besides its linear
// memory and tables (its functions, globals, call stack): measured at
// 150-500 KiB for the example operators, counted with room to spare.
const instanceBytes = 1 << 20

// timerBytes is what the runtime holds per pending timer (a heap entry and
// a set entry), counted with room to spare.
const timerBytes = 100

// tableBytes is the most the tables of an instance may hold: wazero keeps
// 8 bytes per entry.
const tableBytes = instrument.MaxTables * instrument.MaxTableEntries * 8

// memory is the most an operator of the module may hold: its instance's
// linear memory at its limit (reserved whole up front, as address space on
// Linux: see memory_linux.go), and
// tables at their limits, keyed state if it imports state_put, and timers
// if it imports timer.
func (m *Module) memory() int64 {
	cfg := m.host.cfg
	n := int64(cfg.memoryLimit) + instanceBytes + tableBytes
	if m.imports["state_put"] {
		n += int64(cfg.stateLimit)
	}
	if m.imports["timer"] {
		n += runtime.MaxTimers * timerBytes
	}
	return n
}

// operator is one subtask's Wasm operator: its instance, replaced after any
// failure, and what outlives instances (keyed state).
type operator struct {
	mod    *Module
	ctx    runtime.Context
	config []byte
	inst   *instance

	// stateMu guards state and stateBytes: the subtask's goroutine writes
	// them (state_put, RestoreState) and reads them (state_get,
	// SnapshotState), ViewState reads them from any goroutine. A value is
	// never modified once stored, only replaced, so a value read under the
	// lock may be used after it (see state.go).
	stateMu    sync.Mutex
	state      map[string][]byte
	stateBytes int // keys, values and stateEntryCost per entry

	sampling sampling
}

func (m *Module) newOperator(ctx runtime.Context, config []byte) (*operator, error) {
	op := &operator{mod: m, ctx: ctx, config: config, state: map[string][]byte{}}
	if _, err := op.instance(); err != nil {
		return nil, err
	}
	return op, nil
}

// Process implements runtime.Processor: the whole batch in one call.
func (op *operator) Process(b runtime.Batch, out runtime.Output) error {
	in, err := op.instance()
	if err != nil {
		return err
	}
	data := b.Bytes()
	ptr, err := in.reserve(len(data))
	if err == nil {
		in.mem.Write(ptr, data)
		in.out, in.ts = out, b.LatestTS()
		_, err = in.call(in.process, exportProcess, uint64(len(data)))
		in.out = nil
	}
	if err != nil {
		op.discard()
	}
	return err
}

// OnTimer implements runtime.TimerHandler; emits carry the timer's time.
func (op *operator) OnTimer(at time.Time, out runtime.Output) error {
	if !op.mod.exports[exportTimer] {
		return nil
	}
	in, err := op.instance()
	if err != nil {
		return err
	}
	in.out, in.ts = out, at.UnixMilli()
	_, err = in.call(in.timer, exportTimer, api.EncodeI64(at.UnixMilli()))
	in.out = nil
	if err != nil {
		op.discard()
	}
	return err
}

// Close implements runtime.Closer.
func (op *operator) Close() error {
	op.discard()
	return nil
}

func (op *operator) discard() {
	if op.inst != nil {
		op.inst.close()
		op.inst = nil
	}
}

// instance is one instantiation of the module, with the state of the call
// under way.
type instance struct {
	op                    *operator
	mod                   api.Module
	mem                   api.Memory
	input, process, timer api.Function
	callCtx               *callContext
	stack                 []uint64
	inPtr, inCap          uint32
	dl                    *deadline
	limit                 time.Duration // of the guest's running time per call
	quota                 int           // the output quota per call
	sample, tick          api.MutableGlobal
	hostCall              atomic.Int32 // while sampled: see stackRequest

	out      runtime.Output
	ts       int64
	emitted  int
	quotaHit bool
	failMsg  string
	logged   int
}

// instance returns the live instance, making one (with _initialize and
// flowlab_init run) if there is none.
func (op *operator) instance() (*instance, error) {
	if op.inst != nil {
		return op.inst, nil
	}
	h := op.mod.host
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions().
		WithSysNanotime().
		WithSysWalltime().
		WithStdout(op.ctx.Logs().Writer(runtime.StreamStdout)).
		WithStderr(op.ctx.Logs().Writer(runtime.StreamStderr))
	in := &instance{op: op, stack: make([]uint64, 1), quota: h.cfg.outputQuota}
	in.callCtx = &callContext{Context: context.Background(), in: in}
	mod, err := h.rt.InstantiateModule(h.mem.instantiating(in.callCtx), op.mod.compiled, cfg)
	if err != nil {
		return nil, fmt.Errorf("operator %q: instantiate: %w", op.mod.name, err)
	}
	in.mod = mod
	in.mem = mod.Memory()
	in.input = mod.ExportedFunction(exportInput)
	in.process = mod.ExportedFunction(exportProcess)
	in.timer = mod.ExportedFunction(exportTimer)
	in.sample = mod.ExportedGlobal(instrument.SampleExport).(api.MutableGlobal)
	in.tick = mod.ExportedGlobal(instrument.TickExport).(api.MutableGlobal)
	in.dl = newDeadline(mod.ExportedGlobal(instrument.StopExport).(api.MutableGlobal), in.askCheckIn, op.ctx.OutputWait, op.ctx.Done())
	in.limit = h.cfg.initTimeout
	defer func() { in.limit = h.cfg.callTimeout }()
	// The module's start function, which the instrumenter took out of the
	// start section so that it runs here, under the deadline.
	if fn := mod.ExportedFunction(instrument.StartExport); fn != nil {
		if _, err := in.call(fn, instrument.StartExport); err != nil {
			in.close()
			return nil, err
		}
	}
	if fn := mod.ExportedFunction(exportInitialize); fn != nil {
		if _, err := in.call(fn, exportInitialize); err != nil {
			in.close()
			return nil, err
		}
	}
	if fn := mod.ExportedFunction(exportInit); fn != nil {
		ptr, err := in.reserve(len(op.config))
		r := int32(0)
		if err == nil {
			in.mem.Write(ptr, op.config)
			r, err = in.call(fn, exportInit, uint64(len(op.config)))
		}
		if err != nil {
			in.close()
			if r < 0 { // the operator rejected its config
				return nil, &runtime.ConfigError{Msg: err.Error()}
			}
			return nil, err
		}
	}
	op.inst = in
	return in, nil
}

func (in *instance) close() {
	in.dl.close()
	in.mod.Close(context.Background())
}

// reserve returns a guest buffer of at least n bytes, asking the guest only
// when the last one is too small.
func (in *instance) reserve(n int) (uint32, error) {
	if uint32(n) <= in.inCap && in.inCap > 0 {
		return in.inPtr, nil
	}
	ptr, err := in.call(in.input, exportInput, uint64(n))
	if err != nil {
		return 0, err
	}
	if end := uint64(uint32(ptr)) + uint64(n); end > uint64(in.mem.Size()) {
		return 0, fmt.Errorf("operator %q: %s(%d) returned address %d, but %d bytes from there are outside guest memory of %d bytes",
			in.op.mod.name, exportInput, n, uint32(ptr), n, in.mem.Size())
	}
	in.inPtr, in.inCap = uint32(ptr), uint32(n)
	return in.inPtr, nil
}

// call calls a guest function under the sandbox's limits and turns every way
// it can go wrong into an error naming the operator, the function and the reason.
func (in *instance) call(fn api.Function, name string, args ...uint64) (int32, error) {
	in.emitted, in.quotaHit, in.failMsg, in.logged = 0, false, "", 0
	in.stack[0] = 0
	copy(in.stack, args)
	in.dl.arm(in.limit)
	in.op.sampling.live.Store(in)
	err := fn.CallWithStack(in.callCtx, in.stack)
	in.op.sampling.callEnded()
	stopped := in.dl.disarm()
	if stopped != running || err != nil || in.quotaHit {
		return 0, in.callError(name, stopped, err)
	}
	if len(fn.Definition().ResultTypes()) == 0 {
		return 0, nil
	}
	r := api.DecodeI32(in.stack[0])
	if r < 0 {
		msg := in.failMsg
		if msg == "" {
			msg = "no message (the operator did not call flowlab.fail)"
		}
		return r, in.withStderr(fmt.Errorf("%s returned %d: %s", in.prefix(name), r, msg))
	}
	return r, nil
}

func (in *instance) prefix(name string) string {
	return fmt.Sprintf("operator %q: %s", in.op.mod.name, name)
}

// callError is the error of a call that did not return normally.
func (in *instance) callError(name string, stopped stopReason, err error) error {
	prefix := in.prefix(name)
	cfg := in.op.mod.host.cfg
	var abiErr *abiError
	var exitErr *sys.ExitError
	switch {
	case stopped == canceled:
		return runtime.ErrCanceled
	case stopped == expired:
		return in.withStderr(fmt.Errorf("%s: stopped after running longer than the limit of %v per call (a loop that does not end?)", prefix, in.limit))
	case errors.As(err, &abiErr):
		return in.withStderr(fmt.Errorf("%s: %s", prefix, abiErr.msg))
	case errors.As(err, &exitErr):
		return in.withStderr(fmt.Errorf("%s: the module exited with code %d", prefix, exitErr.ExitCode()))
	case err != nil && errors.Is(err, runtime.ErrCanceled):
		return err
	case err != nil:
		return in.withStderr(fmt.Errorf("%s: %w", prefix, err))
	default: // in.quotaHit
		return fmt.Errorf("%s: emitted more than the limit of %d records in one call", prefix, cfg.outputQuota)
	}
}

// withStderr appends what the guest last wrote to stderr (a Go panic, say),
// with the line that says what went wrong when the tail (a goroutine dump)
// does not show it.
func (in *instance) withStderr(err error) error {
	logs := in.op.ctx.Logs()
	tail := logs.Tail(runtime.StreamStderr, 20)
	if tail == "" {
		return err
	}
	if cause := logs.Last(runtime.StreamStderr, isFatal); cause != "" && !strings.Contains(tail, cause) {
		tail = cause + "\n...\n" + tail
	}
	return fmt.Errorf("%w\nstderr:\n%s", err, tail)
}

// isFatal reports whether a line of stderr starts a Go runtime crash report.
func isFatal(line string) bool {
	return strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ")
}
