// Package diskcache keeps a cache directory within a size: when its files
// take more than a limit, the least recently modified go first. Errors are
// ignored: a cache is an optimization, and a file that cannot be removed is
// only counted.
package diskcache

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Trim removes the oldest regular files under dir, by modification time,
// until they take at most to bytes, if they take more than limit. keep, if
// not nil, names files never removed (they still count).
func Trim(dir string, limit, to int64, keep func(path string) bool) {
	type file struct {
		path string
		size int64
		mod  time.Time
	}
	var files []file
	var total int64
	walk(dir, func(path string, info fs.FileInfo) {
		files = append(files, file{path, info.Size(), info.ModTime()})
		total += info.Size()
	})
	if total <= limit {
		return
	}
	slices.SortFunc(files, func(a, b file) int { return a.mod.Compare(b.mod) })
	for _, f := range files {
		if total <= to {
			break
		}
		if keep != nil && keep(f.path) {
			continue
		}
		if os.Remove(f.path) == nil {
			total -= f.size
		}
	}
}

// Size is the bytes the regular files under dir take.
func Size(dir string) int64 {
	var total int64
	walk(dir, func(_ string, info fs.FileInfo) { total += info.Size() })
	return total
}

func walk(dir string, fn func(path string, info fs.FileInfo)) {
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil && info.Mode().IsRegular() {
			fn(path, info)
		}
		return nil
	})
}
