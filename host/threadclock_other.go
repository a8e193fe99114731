//go:build !linux

package host

import "time"

// threadCPUTime would be the calling thread's CPU time; deadlines here
// count wall time.
func threadCPUTime() (tid int, cpu time.Duration, ok bool) { return 0, 0, false }

func threadClocks() bool { return false }
