//go:build !linux

package host

import (
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
)

// mmapAllocator is not there off Linux: wazero allocates linear memory on
// the Go heap.
type mmapAllocator struct {
	experimental.MemoryAllocator
	closing atomic.Bool
}

func newMmapAllocator() *mmapAllocator { return nil }

// mappedBytes is always 0 off Linux: no linear memory is mapped.
func mappedBytes() int64 { return 0 }
