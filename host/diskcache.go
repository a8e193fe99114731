package host

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// instrumentDirPrefix names the cache's directories of instrumented
// modules, one per version of the instrumenter.
const instrumentDirPrefix = "flowlab-instrument-"

// trimCache keeps the cache directory (wazero's compiled code and the
// instrumented modules beside it) within limit bytes: it removes the
// instrumented modules of other instrumenter versions, which nothing reads
// any more, then the oldest files until the rest fits. A removed file costs
// the next compilation of its module the time the cache saved. Errors are
// ignored: the cache is an optimization.
func trimCache(dir string, limit int64) {
	type file struct {
		path string
		size int64
		mod  time.Time
	}
	var files []file
	var total int64
	current := instrumentDirPrefix + instrumenterVersion()
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if name := d.Name(); strings.HasPrefix(name, instrumentDirPrefix) && name != current && filepath.Dir(path) == dir {
				os.RemoveAll(path)
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil || !info.Mode().IsRegular() {
			return nil
		}
		files = append(files, file{path, info.Size(), info.ModTime()})
		total += info.Size()
		return nil
	})
	if total <= limit {
		return
	}
	slices.SortFunc(files, func(a, b file) int { return a.mod.Compare(b.mod) })
	for _, f := range files {
		if total <= limit {
			break
		}
		if os.Remove(f.path) == nil {
			total -= f.size
		}
	}
}
