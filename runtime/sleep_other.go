//go:build !linux

package runtime

import "time"

// sleepInSyscall sleeps until t (on Linux, in a system call: see
// sleep_linux.go).
func sleepInSyscall(t time.Time) { time.Sleep(time.Until(t)) }
