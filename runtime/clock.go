package runtime

import (
	"sync"
	"time"
)

// waitKind is what a subtask is waiting for, if anything.
type waitKind uint8

const (
	running  waitKind = iota // not waiting: busy
	waitIdle                 // no input (or a source's next record is not due)
	waitSoft                 // output unavailable before taking the next input
	waitHard                 // blocked mid-record on an output buffer
	waitKinds
)

// clock accounts a subtask's time the way Flink's TaskIOMetricGroup does:
// waits are measured, busy time is what is left. Only waits touch it, so the
// hot path never reads the time; the sampler reads it once per tick.
type clock struct {
	mu      sync.Mutex
	kind    waitKind
	since   time.Time
	total   [waitKinds]time.Duration // finished waits, per kind
	longest [waitKinds]time.Duration // longest single wait since the last sample
}

func (c *clock) begin(k waitKind, now time.Time) {
	c.mu.Lock()
	c.kind, c.since = k, now
	c.mu.Unlock()
}

func (c *clock) end(now time.Time) {
	c.mu.Lock()
	d := now.Sub(c.since)
	c.total[c.kind] += d
	c.longest[c.kind] = max(c.longest[c.kind], d)
	c.kind = running
	c.mu.Unlock()
}

// clockSample is a clock read at one instant: cumulative waits including the
// one under way, the longest single wait since the previous read (an ongoing
// wait counts with its length so far), and what the subtask waits for now.
type clockSample struct {
	total   [waitKinds]time.Duration
	longest [waitKinds]time.Duration
	kind    waitKind
}

func (c *clock) sample(now time.Time) clockSample {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := clockSample{total: c.total, longest: c.longest, kind: c.kind}
	if c.kind != running {
		d := now.Sub(c.since)
		s.total[c.kind] += d
		s.longest[c.kind] = max(s.longest[c.kind], d)
	}
	// An ongoing wait is reported with its length so far now, and with its
	// full length by the read after it ends.
	c.longest = [waitKinds]time.Duration{}
	return s
}

// waited is the total time of one kind of wait so far, including one under way.
func (c *clock) waited(k waitKind, now time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.total[k]
	if c.kind == k {
		d += now.Sub(c.since)
	}
	return d
}

// current is what the subtask waits for now, if anything.
func (c *clock) current() waitKind {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.kind
}
