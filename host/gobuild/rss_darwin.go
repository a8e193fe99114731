package gobuild

func maxrssBytes(n int64) int64 { return n } // bytes on macOS
