//go:build !linux

package host

import "time"

// threadCPUTime would be the calling thread's CPU time; deadlines here
// count wall time.
func threadCPUTime() (time.Duration, bool) { return 0, false }

func threadClocks() bool { return false }
