package runtime

import (
	"context"
	"math"
	"sync/atomic"
	"time"

	"flowlab/runtime/internal/network"
	"flowlab/runtime/spec"
)

// Buffer debloating, as Flink's BufferDebloater: the smallest buffer size a
// gate announces, how many periods its throughput is averaged over, and by
// how much a new size must differ from the last one announced to be
// announced (Flink's buffer-debloat.min-buffer-size, .samples and
// .threshold-percentages, at their defaults).
const (
	debloatMinSize   = 256
	debloatSamples   = 20
	debloatThreshold = 0.25
)

// debloater sizes the buffers the senders into a subtask's gate fill, so
// that the data in flight in the gate takes about target to consume.
type debloater struct {
	gate   *network.Gate
	target time.Duration
	min    int // debloatMinSize, or less if the buffers are smaller
	max    int // network.buffer-size

	// Of the last period, owned by the debloating goroutine.
	at         time.Time
	bytes      int64         // taken in by then
	idle       time.Duration // spent idle by then
	throughput float64       // bytes per second while not idle, averaged; 0 before the first measure

	size      atomic.Int64 // the size announced last: debloatedBufferSize
	consumeMs atomic.Int64 // estimatedTimeToConsumeBuffersMs
}

func newDebloater(gate *network.Gate, cfg *spec.BufferDebloat, bufferSize int) *debloater {
	d := &debloater{gate: gate, target: cfg.Target, min: min(debloatMinSize, bufferSize), max: bufferSize}
	d.size.Store(int64(bufferSize))
	return d
}

// debloat updates the buffer size of every subtask's gate every period,
// until ctx is done.
func debloat(ctx context.Context, subtasks [][]*subtask, period time.Duration, now time.Time) {
	for _, sts := range subtasks {
		for _, s := range sts {
			if s.debloat != nil {
				s.debloat.at = now
			}
		}
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			for _, sts := range subtasks {
				for _, s := range sts {
					if d := s.debloat; d != nil {
						d.update(now, s.inBytesPub.Load(), s.clk.waited(waitIdle, now))
					}
				}
			}
		case <-ctx.Done():
			return
		}
	}
}

// update measures the throughput of the period ending at now, in which the
// subtask's input had reached bytes and its idle time idle, and announces
// a new buffer size if it differs enough from the last.
//
// As Flink's ThroughputCalculator, the throughput is over the time the
// subtask was not idle: what it can consume, not what it was offered. A
// period spent idle throughout teaches nothing and keeps the last size.
func (d *debloater) update(now time.Time, bytes int64, idle time.Duration) {
	active := now.Sub(d.at) - (idle - d.idle)
	consumed := bytes - d.bytes
	d.at, d.bytes, d.idle = now, bytes, idle
	if active <= 0 {
		return
	}
	sample := float64(consumed) / active.Seconds()
	if d.throughput == 0 {
		d.throughput = sample
	} else {
		const alpha = 2.0 / (debloatSamples + 1) // an exponential moving average over about debloatSamples periods
		d.throughput += alpha * (sample - d.throughput)
	}
	if d.throughput > 0 {
		d.consumeMs.Store(int64(math.Round(float64(d.gate.QueuedBytes()) * 1000 / d.throughput)))
	}
	desired := d.throughput * d.target.Seconds() // bytes in flight
	size := min(max(int(desired/float64(d.gate.Buffers())), d.min), d.max)
	last := int(d.size.Load())
	if size == last {
		return
	}
	// A change smaller than the threshold is not worth announcing, except
	// to reach a bound.
	if size != d.min && size != d.max && math.Abs(float64(size-last)) < debloatThreshold*float64(last) {
		return
	}
	d.size.Store(int64(size))
	d.gate.SetBufferSize(size)
}
