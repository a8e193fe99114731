package host

import (
	"os"
	"path/filepath"
	"strings"

	"flowlab/host/internal/diskcache"
)

// instrumentDirPrefix names the cache's directories of instrumented
// modules, one per version of the instrumenter.
const instrumentDirPrefix = "flowlab-instrument-"

// trimCache keeps the cache directory (wazero's compiled code and the
// instrumented modules beside it) within limit bytes: it removes the
// instrumented modules of other instrumenter versions, which nothing reads
// any more, then the oldest files until the rest fits. A removed file costs
// the next compilation of its module the time the cache saved.
func trimCache(dir string, limit int64) {
	entries, _ := os.ReadDir(dir)
	current := instrumentDirPrefix + instrumenterVersion()
	for _, e := range entries {
		if name := e.Name(); e.IsDir() && strings.HasPrefix(name, instrumentDirPrefix) && name != current {
			os.RemoveAll(filepath.Join(dir, name))
		}
	}
	diskcache.Trim(dir, limit, limit, nil)
}
