package gobuild

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
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
	type file struct {
		path string
		size int64
		mod  time.Time
	}
	var files []file
	var total int64
	filepath.WalkDir(b.gocache, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			files = append(files, file{p, fi.Size(), fi.ModTime()})
			total += fi.Size()
		}
		return nil
	})
	if total <= b.cfg.cacheLimit {
		return
	}
	slices.SortFunc(files, func(a, b file) int { return a.mod.Compare(b.mod) })
	for _, f := range files {
		if total <= b.cfg.cacheLimit/4*3 {
			break
		}
		if filepath.Dir(f.path) == b.gocache {
			continue // README, trim.txt: the cache's own
		}
		if os.Remove(f.path) == nil {
			total -= f.size
		}
	}
}

// cacheSize is the size of the Go build cache in bytes.
func (b *Builder) cacheSize() int64 {
	var total int64
	filepath.WalkDir(b.gocache, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				total += fi.Size()
			}
		}
		return nil
	})
	return total
}
