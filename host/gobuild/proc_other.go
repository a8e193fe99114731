//go:build !unix

package gobuild

import "os/exec"

// setProcessGroup: elsewhere, cancellation kills the go command only.
func setProcessGroup(cmd *exec.Cmd) {}

func maxRSS(cmd *exec.Cmd) int64 { return 0 }
