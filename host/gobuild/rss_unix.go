//go:build unix && !darwin

package gobuild

func maxrssBytes(n int64) int64 { return n << 10 } // KiB on Linux and the BSDs
