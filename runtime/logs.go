package runtime

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"time"
)

// Stream is where a log line came from.
type Stream string

// Streams.
const (
	StreamLog    Stream = "log"    // flowlab.log
	StreamStdout Stream = "stdout" // WASI fd 1
	StreamStderr Stream = "stderr" // WASI fd 2
)

// LogLine is one line an operator wrote.
type LogLine struct {
	Time    time.Time `json:"time"`
	Subtask int       `json:"subtask"`
	Stream  Stream    `json:"stream"`
	Text    string    `json:"text"`
}

// logsKept is how many bytes of log lines a subtask keeps; each line counts
// lineOverhead bytes more than its text, so that empty lines are bounded too.
const (
	logsKept     = 256 << 10
	lineOverhead = 64
)

// Logs keeps the latest lines of one subtask's log, stdout and stderr,
// within a byte limit: older lines are dropped first. They outlive the
// subtask's operators, so a failure's last words can still be read.
type Logs struct {
	subtask int
	mu      sync.Mutex
	limit   int
	bytes   int
	lines   []LogLine
	partial map[Stream][]byte // stdout and stderr text not yet ended by a newline
}

// NewLogs returns the logs of a subtask, keeping its latest 256 KiB.
func NewLogs(subtask int) *Logs {
	return &Logs{subtask: subtask, limit: logsKept, partial: map[Stream][]byte{}}
}

// Lines returns a copy of the lines kept, oldest first.
func (l *Logs) Lines() []LogLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]LogLine(nil), l.lines...)
}

// Tail is the last n lines of a stream, joined by newlines.
func (l *Logs) Tail(s Stream, n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var tail []string
	for i := len(l.lines) - 1; i >= 0 && len(tail) < n; i-- {
		if l.lines[i].Stream == s {
			tail = append(tail, l.lines[i].Text)
		}
	}
	if p := l.partial[s]; len(p) > 0 {
		tail = append([]string{string(p)}, tail...)
	}
	for i, j := 0, len(tail)-1; i < j; i, j = i+1, j-1 {
		tail[i], tail[j] = tail[j], tail[i]
	}
	return strings.Join(tail, "\n")
}

// Last is the latest line of a stream that match accepts, or "".
func (l *Logs) Last(s Stream, match func(string) bool) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.lines) - 1; i >= 0; i-- {
		if l.lines[i].Stream == s && match(l.lines[i].Text) {
			return l.lines[i].Text
		}
	}
	return ""
}

// Add adds a line.
func (l *Logs) Add(s Stream, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.addLocked(s, text)
}

func (l *Logs) addLocked(s Stream, text string) {
	if len(text) > l.limit {
		text = text[len(text)-l.limit:]
	}
	l.lines = append(l.lines, LogLine{Time: time.Now(), Subtask: l.subtask, Stream: s, Text: text})
	l.bytes += lineOverhead + len(text)
	drop := 0
	for l.bytes > l.limit {
		l.bytes -= lineOverhead + len(l.lines[drop].Text)
		drop++
	}
	clear(l.lines[:drop])
	l.lines = l.lines[drop:] // append copies the rest when it grows: amortized O(1)
}

// Writer is an io.Writer for a stream (a guest's stdout, say) that splits
// text into lines.
func (l *Logs) Writer(s Stream) io.Writer { return writer{l, s} }

type writer struct {
	l *Logs
	s Stream
}

func (w writer) Write(p []byte) (int, error) {
	l := w.l
	l.mu.Lock()
	defer l.mu.Unlock()
	buf := append(l.partial[w.s], p...)
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		l.addLocked(w.s, string(buf[:i]))
		buf = buf[i+1:]
	}
	if len(buf) > l.limit { // a line without end: keep its tail as a line
		l.addLocked(w.s, string(buf))
		buf = nil
	}
	l.partial[w.s] = append([]byte(nil), buf...)
	return len(p), nil
}
