// Package abitest runs Flowlab Wasm operators (ABI v1, docs/ABI.md) in tests:
// it loads a module on wazero against an in-memory host that implements the
// flowlab imports (emit, fail, log, now_ms, timer, state_get, state_put) and
// WASI, calls the exports on batches of records, and reports what the
// operator emitted, failed with, logged and asked for.
//
// It is a test harness, not the sandbox: it checks every pointer against
// guest memory and bounds calls by a deadline (which stops loops, not
// loop-free recursion), but the limits that matter in production are the
// host's (package flowlab/host). Its clock is fake: now_ms returns
// Operator.Clock, and Advance moves it and fires the timers that fall due.
package abitest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// Config is the harness's limits. It is immutable: each WithX returns a copy.
type Config struct {
	memoryPages uint32
	timeout     time.Duration
	quota       int
	interpreter bool
}

// NewConfig returns the defaults: the host's default memory limit (64 MiB)
// and output quota (100000 records per call), a deadline of 10 s per call,
// longer than the host's 1 s so that a slow test machine does not fail a
// correct operator, and wazero's compiler, or its interpreter in a test
// binary built with -race (see WithInterpreter).
func NewConfig() Config {
	return Config{memoryPages: 1024, timeout: 10 * time.Second, quota: 100_000, interpreter: raceEnabled}
}

// WithInterpreter runs modules on wazero's interpreter instead of its
// compiler: much slower to run, much faster to load. Under the race detector,
// compiling a Go module takes half a minute. Default: true in a test binary
// built with -race, else false.
func (c Config) WithInterpreter(on bool) Config {
	c.interpreter = on
	return c
}

// WithMemoryLimit sets the linear memory of the instance in bytes, rounded
// down to whole 64 KiB pages (at least one). Default 64 MiB.
func (c Config) WithMemoryLimit(bytes uint32) Config {
	c.memoryPages = max(bytes/65536, 1)
	return c
}

// WithTimeout sets the deadline of one call. Default 10 s.
func (c Config) WithTimeout(d time.Duration) Config {
	c.timeout = d
	return c
}

// WithOutputQuota sets how many records one call may emit before emit
// returns -1. Default 100000.
func (c Config) WithOutputQuota(records int) Config {
	c.quota = records
	return c
}

// Record is a record in or out of an operator, with strings so that tests
// can compare records with ==.
type Record struct {
	TS    int64
	Key   string
	Value string
}

func (r Record) String() string { return fmt.Sprintf("%d %q=%q", r.TS, r.Key, r.Value) }

// KV returns a record with timestamp 0.
func KV(key, value string) Record { return Record{Key: key, Value: value} }

// EncodeBatch encodes records in the batch encoding of ABI v1: per record,
// little endian, ts_ms i64, key_len u32, val_len u32, key, value.
func EncodeBatch(records ...Record) []byte {
	var b []byte
	for _, r := range records {
		b = binary.LittleEndian.AppendUint64(b, uint64(r.TS))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(r.Key)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(r.Value)))
		b = append(b, r.Key...)
		b = append(b, r.Value...)
	}
	return b
}

// Result is what one call of an export did.
type Result struct {
	Code     int32    // what the export returned (0 for exports without a result)
	Out      []Record // emitted records, stamped as the host stamps them
	Fail     string   // the last message given to fail, if any
	Logs     []string // the messages given to log
	Timers   []int64  // the times given to timer
	QuotaHit bool     // emit returned -1 at least once
}

// Failed reports whether the call failed: a negative code.
func (r Result) Failed() bool { return r.Code < 0 }

// Operator is one instance of a module with its in-memory host. It is not
// safe for concurrent use.
type Operator struct {
	// Clock is what now_ms returns, in milliseconds. Advance moves it.
	Clock int64
	// State is the keyed state of state_get and state_put. Share a map
	// between two Operators to model an instance restart.
	State map[string][]byte
	// Stdout and Stderr receive what the module writes through WASI.
	Stdout, Stderr bytes.Buffer

	cfg     Config
	rt      wazero.Runtime
	mod     api.Module
	mem     api.Memory
	fns     map[string]api.Function
	pending []int64 // timers set and not fired, sorted, distinct
	inPtr   uint32
	inCap   uint32
	res     *Result // the call under way
	ts      int64   // the timestamp of emits in the call under way
}

// cache holds compiled modules for the life of the test process: a Go module
// takes most of a second to compile. compiling serializes the compilations of
// one module, so that parallel tests compile it once.
var (
	cache     = wazero.NewCompilationCache()
	compiling sync.Map // sha256 of the module -> *sync.Mutex
)

// ABI v1: the imports a module may use and the exports it may have.
var (
	i32, i64 = api.ValueTypeI32, api.ValueTypeI64
	imports  = map[string]signature{
		"emit":      {[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}},
		"fail":      {[]api.ValueType{i32, i32}, nil},
		"log":       {[]api.ValueType{i32, i32}, nil},
		"now_ms":    {nil, []api.ValueType{i64}},
		"timer":     {[]api.ValueType{i64}, nil},
		"state_get": {[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}},
		"state_put": {[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}},
	}
	exports = map[string]signature{
		"flowlab_input":   {[]api.ValueType{i32}, []api.ValueType{i32}},
		"flowlab_process": {[]api.ValueType{i32}, []api.ValueType{i32}},
		"flowlab_init":    {[]api.ValueType{i32}, []api.ValueType{i32}},
		"flowlab_timer":   {[]api.ValueType{i64}, []api.ValueType{i32}},
		"_initialize":     {nil, nil},
	}
)

type signature struct{ params, results []api.ValueType }

func (s signature) equal(params, results []api.ValueType) bool {
	return slices.Equal(s.params, params) && slices.Equal(s.results, results)
}

func (s signature) String() string {
	name := func(ts []api.ValueType) string {
		var names []string
		for _, t := range ts {
			names = append(names, api.ValueTypeName(t))
		}
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("(%s) -> (%s)", name(s.params), name(s.results))
}

// Load compiles wasm, checks its imports and exports against ABI v1,
// instantiates it and calls _initialize if it exports it. It does not call
// flowlab_init: see Init.
func Load(ctx context.Context, wasm []byte, cfg Config) (*Operator, error) {
	o := &Operator{cfg: cfg, State: map[string][]byte{}, fns: map[string]api.Function{}}
	rc := wazero.NewRuntimeConfigCompiler()
	if cfg.interpreter {
		rc = wazero.NewRuntimeConfigInterpreter()
	}
	rc = rc.
		WithCompilationCache(cache).
		WithMemoryLimitPages(cfg.memoryPages).
		WithCloseOnContextDone(true)
	o.rt = wazero.NewRuntimeWithConfig(ctx, rc)
	err := o.load(ctx, wasm)
	if err != nil {
		o.rt.Close(ctx)
		return nil, err
	}
	return o, nil
}

func (o *Operator) load(ctx context.Context, wasm []byte) error {
	mu, _ := compiling.LoadOrStore(sha256.Sum256(wasm), new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	compiled, err := o.rt.CompileModule(ctx, wasm)
	mu.(*sync.Mutex).Unlock()
	if err != nil {
		return fmt.Errorf("compile: %w", err)
	}
	if err := check(compiled); err != nil {
		return err
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, o.rt); err != nil {
		return err
	}
	if err := o.instantiateHost(ctx); err != nil {
		return err
	}
	mc := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions().
		WithSysNanotime().
		WithSysWalltime().
		WithStdout(&o.Stdout).
		WithStderr(&o.Stderr)
	if o.mod, err = o.rt.InstantiateModule(ctx, compiled, mc); err != nil {
		return fmt.Errorf("instantiate: %w", err)
	}
	o.mem = o.mod.Memory()
	for name := range exports {
		if fn := o.mod.ExportedFunction(name); fn != nil {
			o.fns[name] = fn
		}
	}
	if fn := o.fns["_initialize"]; fn != nil {
		if _, err := o.call(fn, 0); err != nil {
			return fmt.Errorf("_initialize: %w", err)
		}
	}
	return nil
}

// check checks the imports and exports of a module against ABI v1.
func check(m wazero.CompiledModule) error {
	var errs []error
	for _, def := range m.ImportedFunctions() {
		module, name, _ := def.Import()
		switch module {
		case "flowlab":
			want, ok := imports[name]
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("import flowlab.%s is not part of ABI v1", name))
			case !want.equal(def.ParamTypes(), def.ResultTypes()):
				errs = append(errs, fmt.Errorf("import flowlab.%s has signature %v, want %v", name, signature{def.ParamTypes(), def.ResultTypes()}, want))
			}
		case wasi_snapshot_preview1.ModuleName:
		default:
			errs = append(errs, fmt.Errorf("import %s.%s is not allowed: only flowlab and wasi_snapshot_preview1", module, name))
		}
	}
	defs := m.ExportedFunctions()
	if defs["flowlab_process"] == nil && defs["_start"] != nil {
		errs = append(errs, errors.New("a command module (exports _start, not flowlab_process): build it as a reactor"))
	}
	for name, want := range exports {
		def := defs[name]
		switch {
		case def == nil && (name == "flowlab_input" || name == "flowlab_process"):
			errs = append(errs, fmt.Errorf("missing export %s %v", name, want))
		case def != nil && !want.equal(def.ParamTypes(), def.ResultTypes()):
			errs = append(errs, fmt.Errorf("export %s has signature %v, want %v", name, signature{def.ParamTypes(), def.ResultTypes()}, want))
		}
	}
	if _, ok := m.ExportedMemories()["memory"]; !ok {
		errs = append(errs, errors.New("missing export memory"))
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

// LoadFile is Load for tests: it reads the module at path, fails the test on
// any error, and closes the operator when the test ends.
func LoadFile(t testing.TB, path string, cfg Config) *Operator {
	t.Helper()
	wasm, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	o, err := Load(context.Background(), wasm, cfg)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// Close releases the instance.
func (o *Operator) Close() error { return o.rt.Close(context.Background()) }

// MemorySize is the size of the instance's linear memory in bytes.
func (o *Operator) MemorySize() uint32 { return o.mem.Size() }

// Exports reports whether the module exports the function name.
func (o *Operator) Exports(name string) bool { return o.fns[name] != nil }

// Init calls flowlab_init with config (JSON), as the host does once before
// any record. It is an error if the module does not export flowlab_init.
func (o *Operator) Init(config string) (Result, error) {
	fn := o.fns["flowlab_init"]
	if fn == nil {
		return Result{}, errors.New("the module does not export flowlab_init")
	}
	ptr, err := o.reserve(len(config))
	if err != nil {
		return Result{}, err
	}
	o.mem.Write(ptr, []byte(config))
	return o.call(fn, 0, uint64(len(config)))
}

// Process calls flowlab_process on a batch of records. Emits carry the
// timestamp of the batch's latest record, as with the host.
func (o *Operator) Process(records ...Record) (Result, error) {
	var ts int64
	for _, r := range records {
		ts = max(ts, r.TS)
	}
	return o.ProcessBatch(EncodeBatch(records...), ts)
}

// ProcessBatch calls flowlab_process on an encoded batch (which may be
// malformed on purpose); emits carry ts.
func (o *Operator) ProcessBatch(batch []byte, ts int64) (Result, error) {
	ptr, err := o.reserve(len(batch))
	if err != nil {
		return Result{}, err
	}
	o.mem.Write(ptr, batch)
	return o.call(o.fns["flowlab_process"], ts, uint64(len(batch)))
}

// Timer calls flowlab_timer(ts), whether or not a timer was set for ts; emits
// carry ts. Modules without flowlab_timer return an empty result.
func (o *Operator) Timer(ts int64) (Result, error) {
	o.pending = slices.DeleteFunc(o.pending, func(t int64) bool { return t == ts })
	fn := o.fns["flowlab_timer"]
	if fn == nil {
		return Result{}, nil
	}
	return o.call(fn, ts, uint64(ts))
}

// Pending returns the timers set and not yet fired, earliest first.
func (o *Operator) Pending() []int64 { return slices.Clone(o.pending) }

// Advance moves Clock to now and fires, in order, every timer due by then,
// including timers set by those calls. It returns the results of the timer
// calls and stops at the first error or failed call.
func (o *Operator) Advance(now int64) ([]Result, error) {
	o.Clock = max(o.Clock, now)
	var results []Result
	for n := 0; len(o.pending) > 0 && o.pending[0] <= now; n++ {
		if n == 1_000_000 {
			return results, errors.New("advance: a million timers fired; a timer loop?")
		}
		res, err := o.Timer(o.pending[0])
		results = append(results, res)
		if err != nil || res.Failed() {
			return results, err
		}
	}
	return results, nil
}

// reserve returns the address of a guest buffer of n bytes, reusing the last
// one while it is large enough, as the host does.
func (o *Operator) reserve(n int) (uint32, error) {
	if o.inCap > 0 && uint32(n) <= o.inCap {
		return o.inPtr, nil
	}
	res, err := o.call(o.fns["flowlab_input"], 0, uint64(n))
	if err != nil {
		return 0, fmt.Errorf("flowlab_input(%d): %w", n, err)
	}
	ptr := uint32(res.Code)
	if uint64(ptr)+uint64(n) > uint64(o.mem.Size()) {
		return 0, fmt.Errorf("flowlab_input(%d) returned address %d, but %d bytes from there are outside guest memory of %d bytes", n, ptr, n, o.mem.Size())
	}
	o.inPtr, o.inCap = ptr, uint32(n)
	return ptr, nil
}

// abort is how a host function stops the guest: wazero turns the panic into
// the error of the call.
type abort struct{ msg string }

func (a abort) Error() string { return a.msg }

func (o *Operator) call(fn api.Function, ts int64, args ...uint64) (Result, error) {
	var res Result
	o.res, o.ts = &res, ts
	defer func() { o.res = nil }()
	ctx, cancel := context.WithTimeout(context.Background(), o.cfg.timeout)
	defer cancel()
	out, err := fn.Call(ctx, args...)
	if err != nil {
		var exit *sys.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeDeadlineExceeded {
			return res, fmt.Errorf("stopped after the deadline of %v: %w", o.cfg.timeout, err)
		}
		return res, err
	}
	if len(out) > 0 {
		res.Code = int32(out[0])
	}
	return res, nil
}

func (o *Operator) read(fn, arg string, ptr, n uint64) []byte {
	b, ok := o.mem.Read(uint32(ptr), uint32(n))
	if !ok {
		panic(abort{fmt.Sprintf("%s: %s pointer %d with length %d is outside guest memory of %d bytes", fn, arg, uint32(ptr), uint32(n), o.mem.Size())})
	}
	return b
}

func (o *Operator) instantiateHost(ctx context.Context) error {
	fns := map[string]func([]uint64){
		"emit": func(s []uint64) {
			key := o.read("emit", "key", s[0], s[1])
			value := o.read("emit", "value", s[2], s[3])
			if len(o.res.Out) >= o.cfg.quota {
				o.res.QuotaHit = true
				s[0] = api.EncodeI32(-1)
				return
			}
			o.res.Out = append(o.res.Out, Record{o.ts, string(key), string(value)})
			s[0] = 0
		},
		"fail": func(s []uint64) { o.res.Fail = string(o.read("fail", "message", s[0], s[1])) },
		"log":  func(s []uint64) { o.res.Logs = append(o.res.Logs, string(o.read("log", "message", s[0], s[1]))) },
		"now_ms": func(s []uint64) {
			s[0] = api.EncodeI64(o.Clock)
		},
		"timer": func(s []uint64) {
			ts := int64(s[0])
			o.res.Timers = append(o.res.Timers, ts)
			if i, found := slices.BinarySearch(o.pending, ts); !found {
				o.pending = slices.Insert(o.pending, i, ts)
			}
		},
		"state_get": func(s []uint64) {
			key := o.read("state_get", "key", s[0], s[1])
			v, ok := o.State[string(key)]
			if !ok {
				s[0] = api.EncodeI32(-1)
				return
			}
			copy(o.read("state_get", "destination", s[2], s[3]), v)
			s[0] = api.EncodeI32(int32(len(v)))
		},
		"state_put": func(s []uint64) {
			key := o.read("state_put", "key", s[0], s[1])
			value := o.read("state_put", "value", s[2], s[3])
			o.State[string(key)] = bytes.Clone(value)
			s[0] = 0
		},
	}
	b := o.rt.NewHostModuleBuilder("flowlab")
	names := make([]string, 0, len(fns))
	for name := range fns {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		fn, sig := fns[name], imports[name]
		b.NewFunctionBuilder().
			WithGoFunction(api.GoFunc(func(_ context.Context, stack []uint64) { fn(stack) }), sig.params, sig.results).
			Export(name)
	}
	_, err := b.Instantiate(ctx)
	return err
}
