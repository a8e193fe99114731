//go:build unix

package gobuild

import (
	"os/exec"
	"syscall"
)

// setProcessGroup makes cmd the leader of a new process group and its
// cancellation kill the whole group: the go command and the compiler and
// linker it runs.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}

// maxRSS is the peak resident memory of the finished cmd and the processes it
// waited for (the largest one, not their sum), in bytes.
func maxRSS(cmd *exec.Cmd) int64 {
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return maxrssBytes(int64(ru.Maxrss))
	}
	return 0
}
