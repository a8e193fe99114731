package runtime

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLogs_Bounded(t *testing.T) {
	l := NewLogs(3)
	for range 100_000 {
		l.Add(StreamLog, "") // empty lines count too
	}
	l.Writer(StreamStdout).Write([]byte(strings.Repeat("\n", 100_000)))
	lines := l.Lines()
	assert.Len(t, lines, logsKept/lineOverhead)
	assert.Equal(t, 3, lines[0].Subtask)
}

func TestLogs_Writer(t *testing.T) {
	l := NewLogs(0)
	w := l.Writer(StreamStderr)
	w.Write([]byte("panic: boom\n\ngoroutine 1 [running]:\nmain.f"))
	w.Write([]byte("()\n\tmain.go:3"))
	assert.Equal(t, "goroutine 1 [running]:\nmain.f()\n\tmain.go:3", l.Tail(StreamStderr, 2))
	assert.Equal(t, "panic: boom", l.Last(StreamStderr, func(s string) bool { return strings.HasPrefix(s, "panic:") }))
	assert.Empty(t, l.Last(StreamStdout, func(string) bool { return true }))
}
