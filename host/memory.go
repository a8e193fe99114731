package host

import (
	"context"

	"github.com/tetratelabs/wazero/experimental"
)

// linearMemories backs the linear memory of a Host's instances. Where the
// platform allows (memory_linux.go), each instance's memory is a mapping of
// the memory limit reserved without access and opened as the guest grows
// into it, so that an instance costs what it touches, not the limit
// (RATIONALE.md, "Why is linear memory mapped, not allocated?"); elsewhere,
// and with Config.withHeapMemory, wazero allocates it on the Go heap,
// capacity the limit (WithMemoryCapacityFromMax).
type linearMemories struct {
	alloc *mmapAllocator // nil: wazero's own
}

func newLinearMemories(cfg Config) linearMemories {
	if cfg.heapMemory {
		return linearMemories{}
	}
	return linearMemories{alloc: newMmapAllocator()}
}

// instantiating returns the context to instantiate a module with.
func (lm linearMemories) instantiating(ctx context.Context) context.Context {
	if lm.alloc == nil {
		return ctx
	}
	return experimental.WithMemoryAllocator(ctx, lm.alloc)
}

// closing tells that the Host is closing: the instances it closes may be in
// a call on another goroutine.
func (lm linearMemories) closing() {
	if lm.alloc != nil {
		lm.alloc.closing.Store(true)
	}
}
