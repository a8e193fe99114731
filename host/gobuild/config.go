package gobuild

import (
	"os"
	"path/filepath"
	"time"
)

// Config is the builder's settings and limits. It is immutable: each WithX
// returns a copy. Impossible values are rejected by New.
type Config struct {
	goPath        string
	cacheDir      string
	timeout       time.Duration
	maxSource     int
	maxOutput     int
	maxConcurrent int
	cacheLimit    int64
}

// NewConfig returns the defaults: the go command found on PATH, a cache
// directory under the user's cache directory (flowlab/gobuild), 60 s per
// build, sources up to 256 KiB, modules up to 32 MiB (the host's upload
// limit), 2 builds at once, and a Go build cache trimmed to 256 MiB.
func NewConfig() Config {
	cache := ""
	if dir, err := os.UserCacheDir(); err == nil {
		cache = filepath.Join(dir, "flowlab", "gobuild")
	}
	return Config{
		cacheDir:      cache,
		timeout:       60 * time.Second,
		maxSource:     256 << 10,
		maxOutput:     32 << 20,
		maxConcurrent: 2,
		cacheLimit:    256 << 20,
	}
}

// WithGo sets the go command to use, a path. Default: "go" found on PATH.
func (c Config) WithGo(path string) Config {
	c.goPath = path
	return c
}

// WithCacheDir sets the builder's directory: the Go build cache (GOCACHE) is
// its gobuild-cache, shared by all builds, and each build's temporary module
// is made in its work directory and removed after the build. Default
// flowlab/gobuild under os.UserCacheDir(); New fails if there is none.
func (c Config) WithCacheDir(dir string) Config {
	c.cacheDir = dir
	return c
}

// WithTimeout sets how long one build may run before the go command and
// everything it started are killed. Default 60 s.
func (c Config) WithTimeout(d time.Duration) Config {
	c.timeout = d
	return c
}

// WithMaxSource sets the largest source accepted, in bytes. Default 256 KiB.
func (c Config) WithMaxSource(n int) Config {
	c.maxSource = n
	return c
}

// WithMaxOutput sets the largest module a build may produce, in bytes.
// Default 32 MiB, the host's largest module (host.Config.WithMaxModuleSize).
func (c Config) WithMaxOutput(n int) Config {
	c.maxOutput = n
	return c
}

// WithMaxConcurrent sets how many builds may run at once; Build returns
// ErrBusy beyond. Default 2.
func (c Config) WithMaxConcurrent(n int) Config {
	c.maxConcurrent = n
	return c
}

// WithCacheLimit sets the size the Go build cache is trimmed to, oldest files
// first, when a build leaves it larger. Default 256 MiB: a warm cache of
// the standard library, the SDK and the templates takes 22 MiB (Go 1.26),
// and each other operator adds its own compilation only. 0 or less trims it
// to nothing after every build.
func (c Config) WithCacheLimit(bytes int64) Config {
	c.cacheLimit = bytes
	return c
}
