package host

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Config is the sandbox's limits. It is immutable: each WithX returns a copy.
type Config struct {
	memoryLimit   uint32 // bytes of linear memory per instance
	callTimeout   time.Duration
	initTimeout   time.Duration
	outputQuota   int // records emitted per call
	logPerCall    int // bytes of log per call
	stateLimit    int // bytes of keyed state per subtask
	maxModuleSize int
	cacheDir      string
	cacheLimit    int64
	heapMemory    bool // linear memory on the Go heap, even where it can be mapped (tests and benchmarks)
}

// NewConfig returns the default limits: 64 MiB of memory per instance, 1 s
// of running time per call and 5 s to start an instance, 100000 records
// emitted per call, 64 KiB of log per call, 16 MiB of keyed state per
// subtask, modules up to 32 MiB, and a compilation cache of up to 512 MiB
// in the user's cache directory.
func NewConfig() Config {
	cache := ""
	if dir, err := os.UserCacheDir(); err == nil {
		cache = filepath.Join(dir, "flowlab", "wazero")
	}
	return Config{
		memoryLimit:   64 << 20,
		callTimeout:   time.Second,
		initTimeout:   5 * time.Second,
		outputQuota:   100_000,
		logPerCall:    64 << 10,
		stateLimit:    16 << 20,
		maxModuleSize: 32 << 20,
		cacheDir:      cache,
		cacheLimit:    512 << 20,
	}
}

// WithMemoryLimit sets the linear memory an instance may have, rounded down
// to whole 64 KiB pages (at least one). Default 64 MiB.
func (c Config) WithMemoryLimit(bytes uint32) Config {
	c.memoryLimit = max(bytes, pageSize)
	return c
}

// WithCallTimeout sets how long one call into the guest may run. Running
// time is the guest's own: on Linux the CPU time of its thread, elsewhere
// wall time less the time blocked on backpressure in emit. Default 1 s.
func (c Config) WithCallTimeout(d time.Duration) Config {
	c.callTimeout = d
	return c
}

// WithInitTimeout sets how long each call that starts an instance (its
// start function, _initialize, flowlab_init) may run, counted as for
// WithCallTimeout. Default 5 s.
func (c Config) WithInitTimeout(d time.Duration) Config {
	c.initTimeout = d
	return c
}

// WithOutputQuota sets how many records one call may emit. Default 100000.
func (c Config) WithOutputQuota(records int) Config {
	c.outputQuota = records
	return c
}

// WithLogLimit sets the bytes of log one call may write. Default 64 KiB.
// (The runtime keeps the latest 256 KiB of each subtask's log, stdout and
// stderr.)
func (c Config) WithLogLimit(perCall int) Config {
	c.logPerCall = perCall
	return c
}

// WithStateLimit sets the bytes of keyed state a subtask may hold: its keys
// and values, and 96 bytes per entry for what the host spends to keep it.
// Whatever the bytes, there are at most 100000 entries. Default 16 MiB.
func (c Config) WithStateLimit(bytes int) Config {
	c.stateLimit = bytes
	return c
}

// WithMaxModuleSize sets the largest module accepted. Default 32 MiB.
func (c Config) WithMaxModuleSize(bytes int) Config {
	c.maxModuleSize = bytes
	return c
}

// WithCacheDir sets the directory of the compilation cache; "" keeps
// compiled code in memory only. Default: flowlab/wazero in the user's cache
// directory.
func (c Config) WithCacheDir(dir string) Config {
	c.cacheDir = dir
	return c
}

// WithCacheLimit sets how many bytes the compilation cache directory may
// hold: when a compilation takes it past that, the oldest files are
// removed. Default 512 MiB.
func (c Config) WithCacheLimit(bytes int64) Config {
	c.cacheLimit = bytes
	return c
}

// withHeapMemory has wazero allocate linear memory on the Go heap, as off
// Linux, to compare with the mapped memory (memory.go).
func (c Config) withHeapMemory() Config {
	c.heapMemory = true
	return c
}

const pageSize = 64 << 10

// check rejects limits that cannot work; New reports it.
func (c Config) check() error {
	switch {
	case c.callTimeout <= 0:
		return fmt.Errorf("call timeout must be positive, got %v", c.callTimeout)
	case c.initTimeout <= 0:
		return fmt.Errorf("init timeout must be positive, got %v", c.initTimeout)
	case c.outputQuota < 1:
		return fmt.Errorf("output quota must be at least 1 record per call, got %d", c.outputQuota)
	case c.cacheLimit < 0:
		return fmt.Errorf("cache limit must not be negative, got %d", c.cacheLimit)
	case c.logPerCall < 0, c.stateLimit < 0:
		return fmt.Errorf("log and state limits must not be negative, got %d and %d", c.logPerCall, c.stateLimit)
	case c.maxModuleSize < 8:
		return fmt.Errorf("module size limit must be at least 8 bytes, got %d", c.maxModuleSize)
	}
	return nil
}
