package gobuild

import (
	"path/filepath"

	"flowlab/host/internal/diskcache"
)

// trimCache removes the oldest files of the Go build cache (by modification
// time, which the go command refreshes on use) until it is below 3/4 of the
// limit, when it is larger than the limit. It runs after a build, and only
// when no build is running (the go command tolerates a missing cache entry,
// but not one removed while it reads it); otherwise a later build trims.
func (b *Builder) trimCache() {
	if !b.trim.TryLock() {
		return
	}
	defer b.trim.Unlock()
	diskcache.Trim(b.gocache, b.cfg.cacheLimit, b.cfg.cacheLimit/4*3, func(path string) bool {
		return filepath.Dir(path) == b.gocache // README, trim.txt: the cache's own
	})
}
