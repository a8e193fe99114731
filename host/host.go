package host

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"weak"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"flowlab/host/internal/instrument"
)

// Host compiles and runs Wasm operators. It is safe for concurrent use.
type Host struct {
	cfg   Config
	rt    wazero.Runtime
	cache wazero.CompilationCache
	wasi  map[string]api.FunctionDefinition // WASI preview 1 functions by name
	mem   linearMemories                    // how instances get their linear memory

	mu       sync.Mutex
	compiled map[[sha256.Size]byte]*cacheEntry // by the sha256 of the module's bytes

	trimming sync.Mutex // one trimCache of the cache directory at a time
}

// trimCache trims the cache directory after a compilation, which may have
// added to it.
func (h *Host) trimCache() {
	if h.trimming.TryLock() { // one running will do
		defer h.trimming.Unlock()
		trimCache(h.cfg.cacheDir, h.cfg.cacheLimit)
	}
}

// cacheEntry is a module being compiled, or compiled. One compilation of a
// module runs at a time, and the others wait for it: wazero v1.12
// publishes a module read from the file cache before it is ready, so that a
// concurrent compilation of the same module can return it and an instance
// made from it panics (wazero/wazero#2547). Different modules compile
// concurrently.
type cacheEntry struct {
	ready  chan struct{} // closed when compiled (or failed: err)
	module weak.Pointer[compiledModule]
	err    error
}

// compiledModule is a module compiled once, shared by every Module of the
// same bytes. When none refers to it any more (its uploads replaced or
// forgotten, its jobs gone) it is closed, its code unmapped, and forgotten.
type compiledModule struct {
	compiled wazero.CompiledModule
	exports  map[string]bool // optional exports present
	imports  map[string]bool // flowlab imports used
}

// New returns a Host with the given limits.
func New(ctx context.Context, cfg Config) (*Host, error) {
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	// Linear memory is reserved whole, so that growth never copies: mapped
	// where it can be (memory.go), else on the Go heap at capacity.
	rc := wazero.NewRuntimeConfigCompiler().
		WithMemoryLimitPages(cfg.memoryLimit / pageSize).
		WithMemoryCapacityFromMax(true)
	var cache wazero.CompilationCache
	if cfg.cacheDir != "" {
		trimCache(cfg.cacheDir, cfg.cacheLimit)
		var err error
		if cache, err = wazero.NewCompilationCacheWithDir(cfg.cacheDir); err != nil {
			return nil, fmt.Errorf("compilation cache %s: %w", cfg.cacheDir, err)
		}
		rc = rc.WithCompilationCache(cache)
	}
	h := &Host{cfg: cfg, rt: wazero.NewRuntimeWithConfig(ctx, rc), cache: cache, mem: newLinearMemories(cfg), compiled: map[[sha256.Size]byte]*cacheEntry{}}
	var err error
	if _, err = wasi_snapshot_preview1.Instantiate(ctx, h.rt); err != nil {
		return nil, errors.Join(err, h.Close(ctx))
	}
	h.wasi = h.rt.Module(wasi_snapshot_preview1.ModuleName).ExportedFunctionDefinitions()
	if err := instantiateImports(ctx, h.rt); err != nil {
		return nil, errors.Join(err, h.Close(ctx))
	}
	return h, nil
}

// Close releases every module and instance.
func (h *Host) Close(ctx context.Context) error {
	h.mem.closing()
	err := h.rt.Close(ctx)
	if h.cache != nil {
		err = errors.Join(err, h.cache.Close(ctx))
	}
	return err
}

// Module is a validated, compiled operator module.
type Module struct {
	host *Host
	name string
	*compiledModule
}

// Name is the name the module was compiled under.
func (m *Module) Name() string { return m.name }

// Export names of ABI v1.
const (
	exportMemory     = "memory"
	exportInput      = "flowlab_input"
	exportProcess    = "flowlab_process"
	exportInit       = "flowlab_init"
	exportTimer      = "flowlab_timer"
	exportInitialize = "_initialize"
	exportStart      = "_start"
)

type signature struct{ params, results []api.ValueType }

func (s signature) String() string {
	return fmt.Sprintf("(%s) -> (%s)", typeNames(s.params), typeNames(s.results))
}

func typeNames(ts []api.ValueType) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = api.ValueTypeName(t)
	}
	return strings.Join(names, ", ")
}

var (
	i32, i64 = api.ValueTypeI32, api.ValueTypeI64
	exports  = map[string]signature{
		exportInput:      {[]api.ValueType{i32}, []api.ValueType{i32}},
		exportProcess:    {[]api.ValueType{i32}, []api.ValueType{i32}},
		exportInit:       {[]api.ValueType{i32}, []api.ValueType{i32}},
		exportTimer:      {[]api.ValueType{i64}, []api.ValueType{i32}},
		exportInitialize: {nil, nil},
	}
	required = []string{exportInput, exportProcess}
)

// Compile validates a module and compiles it. Errors say in plain words what
// is wrong: not Wasm, too large, a forbidden import by name, a missing export
// or a wrong signature.
func (h *Host) Compile(ctx context.Context, name string, wasm []byte) (*Module, error) {
	if len(wasm) > h.cfg.maxModuleSize {
		return nil, fmt.Errorf("operator %q: module is %d bytes, larger than the limit of %d bytes", name, len(wasm), h.cfg.maxModuleSize)
	}
	if !bytes.HasPrefix(wasm, []byte("\x00asm")) {
		return nil, fmt.Errorf("operator %q: not a WebAssembly module (a .wasm file starts with \\0asm; this one starts with %q)", name, wasm[:min(len(wasm), 8)])
	}
	sum := sha256.Sum256(wasm)
	for {
		h.mu.Lock()
		e := h.compiled[sum]
		if e == nil {
			e = &cacheEntry{ready: make(chan struct{})}
			h.compiled[sum] = e
			h.mu.Unlock()
			cm, err := h.compileEntry(ctx, sum, e, wasm)
			if err != nil {
				return nil, fmt.Errorf("operator %q: %w", name, err)
			}
			return &Module{host: h, name: name, compiledModule: cm}, nil
		}
		h.mu.Unlock()
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, fmt.Errorf("operator %q: %w", name, ctx.Err())
		}
		if e.err != nil {
			return nil, fmt.Errorf("operator %q: %w", name, e.err)
		}
		if cm := e.module.Value(); cm != nil {
			return &Module{host: h, name: name, compiledModule: cm}, nil
		}
		// collected meanwhile: its cleanup forgets e, and the next round compiles again
	}
}

// compileEntry compiles a module for its cache entry. A failure is not
// cached: the waiting compilations get it, the next one tries again.
func (h *Host) compileEntry(ctx context.Context, sum [sha256.Size]byte, e *cacheEntry, wasm []byte) (*compiledModule, error) {
	defer close(e.ready)
	cm, err := h.compileModule(ctx, sum, wasm)
	if err != nil {
		e.err = err
		h.forget(sum, e)
		return nil, err
	}
	e.module = weak.Make(cm)
	goruntime.AddCleanup(cm, func(c wazero.CompiledModule) {
		h.forget(sum, e)
		c.Close(context.Background())
	}, cm.compiled)
	return cm, nil
}

// forget removes a module's cache entry, if it is still e.
func (h *Host) forget(sum [sha256.Size]byte, e *cacheEntry) {
	h.mu.Lock()
	if h.compiled[sum] == e {
		delete(h.compiled, sum)
	}
	h.mu.Unlock()
}

// compileModule instruments, compiles and validates a module.
func (h *Host) compileModule(ctx context.Context, sum [sha256.Size]byte, wasm []byte) (*compiledModule, error) {
	instrumented, err := h.instrument(sum, wasm)
	if err != nil {
		return nil, fmt.Errorf("invalid module: %w", err)
	}
	if h.cfg.cacheDir != "" {
		defer h.trimCache()
	}
	compiled, err := h.compile(ctx, instrumented)
	if err != nil {
		return nil, fmt.Errorf("invalid module: %w", err)
	}
	cm := &compiledModule{compiled: compiled, exports: map[string]bool{}, imports: map[string]bool{}}
	if err := cm.validate(h.wasi); err != nil {
		compiled.Close(ctx)
		return nil, err
	}
	return cm, nil
}

// validate checks imports and exports against ABI v1, given the WASI
// functions there are.
func (m *compiledModule) validate(wasi map[string]api.FunctionDefinition) error {
	var errs []error
	for _, def := range m.compiled.ImportedFunctions() {
		module, fn, _ := def.Import()
		got := signature{def.ParamTypes(), def.ResultTypes()}
		switch module {
		case importModule:
			want, ok := importSignatures[fn]
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("import %s.%s is not part of ABI v1.1 (the %s imports are: %s)", module, fn, importModule, strings.Join(importNames, ", ")))
			case !slices.Equal(want.params, got.params) || !slices.Equal(want.results, got.results):
				errs = append(errs, fmt.Errorf("import %s.%s has signature %v, want %v", module, fn, got, want))
			}
			m.imports[fn] = true
		case wasi_snapshot_preview1.ModuleName:
			if wasi[fn] == nil {
				errs = append(errs, fmt.Errorf("import %s.%s is not a WASI preview 1 function", module, fn))
			}
		default:
			errs = append(errs, fmt.Errorf("import %s.%s is not allowed: operators may import only from %q and %q", module, fn, importModule, wasi_snapshot_preview1.ModuleName))
		}
	}
	for _, def := range m.compiled.ImportedMemories() {
		module, name, _ := def.Import()
		errs = append(errs, fmt.Errorf("import %s.%s is a memory: an operator must export its own memory, not import one", module, name))
	}
	defined := m.compiled.ExportedFunctions()
	if defined[exportProcess] == nil && defined[exportStart] != nil {
		return errors.New("this is a command module (it exports _start but not flowlab_process): build it as a reactor, e.g. Go with -buildmode=c-shared and //go:wasmexport, C with -mexec-model=reactor or -Wl,--no-entry")
	}
	for _, name := range required {
		if defined[name] == nil {
			errs = append(errs, fmt.Errorf("missing export %s %v", name, exports[name]))
		}
	}
	names := make([]string, 0, len(exports))
	for name := range exports {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		def := defined[name]
		if def == nil {
			continue
		}
		want, got := exports[name], signature{def.ParamTypes(), def.ResultTypes()}
		if !slices.Equal(want.params, got.params) || !slices.Equal(want.results, got.results) {
			errs = append(errs, fmt.Errorf("export %s has signature %v, want %v", name, got, want))
		}
		m.exports[name] = true
	}
	// The start function, exported by the instrumenter: wazero checked its
	// type when it was in the start section; nothing does now.
	if def := defined[instrument.StartExport]; def != nil && (len(def.ParamTypes()) > 0 || len(def.ResultTypes()) > 0) {
		errs = append(errs, fmt.Errorf("the start function has signature %v, want () -> ()", signature{def.ParamTypes(), def.ResultTypes()}))
	}
	if _, ok := m.compiled.ExportedMemories()[exportMemory]; !ok {
		errs = append(errs, errors.New(`missing export "memory": the host writes input batches into it`))
	}
	return errors.Join(errs...)
}

// compile calls wazero, turning a panic on a malformed module into an error:
// the bytes come from users, and no upload may take the server down.
func (h *Host) compile(ctx context.Context, wasm []byte) (c wazero.CompiledModule, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the compiler rejected it: %v", r)
		}
	}()
	return h.rt.CompileModule(experimental.WithFunctionListenerFactory(ctx, sampledListeners{}), wasm)
}

// instrument returns the module instrumented for deadlines (package
// instrument), its data segments merged (mergeDataSegments). With a cache
// directory, the result is kept there too, next to wazero's compiled code,
// so that a new Host (a restarted process) compiling the same module skips
// that work, a few milliseconds per MB. The cache is trusted as wazero's is
// (it holds native code): an entry is used only if it was written whole (a
// checksum), by the same code (the key has the hash of its source), for a
// module with the same sha256.
func (h *Host) instrument(sum [sha256.Size]byte, wasm []byte) ([]byte, error) {
	file := ""
	if h.cfg.cacheDir != "" {
		file = filepath.Join(h.cfg.cacheDir, instrumentDirPrefix+instrumenterVersion(), hex.EncodeToString(sum[:])+".wasm")
		if b, ok := readInstrumented(file); ok {
			return b, nil
		}
	}
	b, err := instrument.Instrument(wasm)
	if err != nil {
		return nil, err
	}
	b = mergeDataSegments(b)
	if file != "" {
		writeInstrumented(file, b) // best effort: the next compilation instruments again
	}
	return b, nil
}

// instrumentSource is the source of what instrument does, whose hash
// versions the cache of instrumented modules: any change to it invalidates
// the cache.
//
//go:embed internal/instrument/*.go datasegments.go
var instrumentSource embed.FS

var instrumenterVersion = sync.OnceValue(func() string {
	h := sha256.New()
	files, _ := fs.Glob(instrumentSource, "internal/instrument/*.go")
	for _, f := range append(files, "datasegments.go") {
		b, _ := instrumentSource.ReadFile(f)
		fmt.Fprintf(h, "%s %d\n", f, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
})

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// readInstrumented reads a cached instrumented module: the module, then the
// CRC-32C of it.
func readInstrumented(file string) ([]byte, bool) {
	b, err := os.ReadFile(file)
	if err != nil || len(b) < 8 {
		return nil, false
	}
	wasm, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(wasm, castagnoli) != sum || !bytes.HasPrefix(wasm, []byte("\x00asm")) {
		return nil, false
	}
	return wasm, true
}

// writeInstrumented writes a cached instrumented module atomically: to a
// temporary file, renamed.
func writeInstrumented(file string, wasm []byte) {
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return
	}
	tmp, err := os.CreateTemp(dir, "tmp-*")
	if err != nil {
		return
	}
	_, err = tmp.Write(binary.LittleEndian.AppendUint32(slices.Clip(wasm), crc32.Checksum(wasm, castagnoli)))
	if err = errors.Join(err, tmp.Close()); err == nil {
		err = os.Rename(tmp.Name(), file)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
}
