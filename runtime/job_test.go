package runtime

import (
	"errors"
	"fmt"
	goruntime "runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
)

func TestNetwork_MemoryBoundedUnderRateMismatch(t *testing.T) {
	for _, test := range []struct {
		perChannel, floating int
		buffers              int // the sender's pool and the receiver's gate together
	}{
		{2, 8, (1*2 + 8) + (1*2 + 8)},
		{1, 0, 2 + 1}, // the smallest network: a sender pool of one buffer per channel plus one
	} {
		t.Run(fmt.Sprintf("buffers-per-channel=%d/floating-buffers-per-gate=%d", test.perChannel, test.floating), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// 100000 records/s offered, 1000/s taken.
				j := start(t, fmt.Sprintf(`
name: mismatch
network: {buffer-size: 1kb, buffers-per-channel: %d, floating-buffers-per-gate: %d}
tasks:
  - {name: source, operator: generator, config: {rate: 100000, keys: 10}}
  - {name: sink, operator: discard, cost: 1ms}
`, test.perChannel, test.floating), nil)
				const recordSize = int64(16 + len("key-0") + 16)
				pools := int64(test.buffers * 1024)
				var heap [2]uint64
				for i := range 200 {
					snap := settle(j, 100*time.Millisecond)
					inFlight := vertex(t, snap, "source").Metrics.NumRecordsOut - vertex(t, snap, "sink").Metrics.NumRecordsIn
					require.LessOrEqual(t, inFlight*recordSize, pools, "at %v", time.Duration(i)*100*time.Millisecond)
					if i == 20 || i == 199 {
						goruntime.GC()
						var ms goruntime.MemStats
						goruntime.ReadMemStats(&ms)
						heap[min(i/100, 1)] = ms.HeapAlloc
					}
				}
				assert.Less(t, int64(heap[1])-int64(heap[0]), int64(1<<20), "heap grew from %d to %d bytes", heap[0], heap[1])
				snap := j.Snapshot()
				assert.InDelta(t, 1000, vertex(t, snap, "source").Metrics.NumRecordsOutPerSecond, 20, "the source is held to the sink's pace")
			})
		})
	}
}

// failing is a passthrough that fails at its failAt-th record of the
// attempts for which fail returns true.
func failing(failAt int, fail func() bool, panics bool) OperatorType {
	return processorType(func(Context) (Processor, error) {
		return &failingOp{failAt: failAt, fail: fail(), panics: panics}, nil
	})
}

type failingOp struct {
	failAt, seen int
	fail, panics bool
}

func (f *failingOp) Process(in Batch, out Output) error {
	return in.Each(func(r Record) error {
		if f.seen++; f.fail && f.seen == f.failAt {
			if f.panics {
				panic("operator bug")
			}
			return fmt.Errorf("boom at record %d", f.seen)
		}
		return out.Emit(r.TS, r.Key, r.Value)
	})
}

func TestJob_RestartsThenFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := start(t, `
name: failing
restart: {strategy: fixed-delay, attempts: 2, delay: 1s}
tasks:
  - {name: source, operator: generator, config: {rate: 100}}
  - {name: map, operator: fail, parallelism: 2}
  - {name: sink, operator: discard}
`, map[string]OperatorType{"fail": failing(20, func() bool { return true }, false)})
		snap := settle(j, 500*time.Millisecond)
		assert.Equal(t, metrics.StateRestarting, snap.State, "records 20 of the first attempt arrive at 400ms")
		assert.Contains(t, snap.Failure, "boom at record 20")
		<-j.Done()
		snap = j.Snapshot()
		assert.Equal(t, metrics.StateFailed, snap.State)
		assert.Equal(t, 2, snap.Restarts)
		require.Error(t, j.Err())
		assert.Regexp(t, `^task "map" subtask [12]/2: boom at record 20$`, j.Err().Error())
	})
}

func TestJob_RecoversAfterRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var attempts atomic.Int32
		firstAttempt := func() bool { return attempts.Add(1) <= 2 } // both subtasks of attempt 1
		j := start(t, `
name: recovering
restart: {attempts: 1, delay: 100ms}
tasks:
  - {name: source, operator: generator, config: {rate: 1000, count: 500}}
  - {name: map, operator: fail, parallelism: 2}
  - {name: sink, operator: discard}
`, map[string]OperatorType{"fail": failing(10, firstAttempt, true)})
		<-j.Done()
		require.NoError(t, j.Err())
		snap := j.Snapshot()
		assert.Equal(t, metrics.StateFinished, snap.State)
		assert.Equal(t, 1, snap.Restarts)
		assert.Contains(t, snap.Failure, "panic: operator bug", "the last failure stays visible")
		assert.Equal(t, int64(500), vertex(t, snap, "sink").Metrics.NumRecordsIn, "the restarted attempt runs from scratch")
	})
}

func TestJob_Cancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := start(t, `
name: cancel
network: {buffer-size: 1kb}
tasks:
  - {name: source, operator: generator}
  - {name: sink, operator: discard, cost: 10ms}
`, nil)
		settle(j, time.Second)
		j.Cancel()
		<-j.Done()
		assert.Equal(t, metrics.StateCanceled, j.Snapshot().State)
		assert.NoError(t, j.Err())
		// synctest.Test fails if any goroutine of the job were left behind.
	})
}

// windowOp counts records per key and emits the counts every second, on a timer.
type windowOp struct {
	ctx    Context
	counts map[string]int
}

func (w *windowOp) Process(in Batch, _ Output) error {
	return in.Each(func(r Record) error {
		if len(w.counts) == 0 {
			w.ctx.SetTimer(time.Now().Truncate(time.Second).Add(time.Second))
		}
		w.counts[string(r.Key)]++
		return nil
	})
}

func (w *windowOp) OnTimer(at time.Time, out Output) error {
	for k, n := range w.counts {
		if err := out.Emit(at.UnixMilli(), []byte(k), fmt.Append(nil, n)); err != nil {
			return err
		}
	}
	clear(w.counts)
	return nil
}

func TestSubtask_Timers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		received := &tally{counts: map[string]int{}}
		ops := tallyOperators(&tally{counts: map[string]int{}}, received)
		ops["window"] = processorType(func(ctx Context) (Processor, error) {
			return &windowOp{ctx: ctx, counts: map[string]int{}}, nil
		})
		j := start(t, `
name: timers
tasks:
  - {name: source, operator: generator, config: {rate: 100, keys: 3}}
  - {name: window, operator: window}
  - {name: sink, operator: tally-sink}
`, ops)
		snap := settle(j, 5500*time.Millisecond)
		// Windows fired at 4s and 5s: one record per key each.
		assert.InDelta(t, 3, vertex(t, snap, "window").Metrics.NumRecordsOutPerSecond, 0.5)
		received.mu.Lock()
		defer received.mu.Unlock()
		assert.Len(t, received.counts, 3)
	})
}

func TestStart_Errors(t *testing.T) {
	tests := []struct{ spec, want string }{
		{`
tasks:
  - {name: source, operator: genrator}`, `line 3: tasks[0].operator: unknown operator "genrator" (built-in: generator, legacy-generator, passthrough, discard)`},
		{`
tasks:
  - name: source
    operator: generator
    config: {rate: -1}`, `line 5: tasks[0].config.rate: must be between 0 and 1e+08, got -1`},
		{`
tasks:
  - {name: source, operator: generator, config: {speed: 1}}`, `line 3: tasks[0].config.speed: unknown field (valid: rate, count, keys, skew, value-size)`},
		{`
network: {buffer-size: 64b}
tasks:
  - {name: source, operator: generator, config: {value-size: 64}}`, `line 4: tasks[0].config.value-size: records of 86 bytes (value 64, key and header 22) do not fit in network.buffer-size 64`},
		{`
tasks:
  - {name: map, operator: passthrough}`, `line 3: tasks[0].operator: task "map" has no input: add an edge into it, or use a source (generator, legacy-generator)`},
		{`
tasks:
  - {name: a, operator: generator}
  - {name: b, operator: generator}`, `line 4: tasks[1].operator: generator is a source and takes no input, but an edge from "a" feeds it`},
	}
	for _, tt := range tests {
		s, err := spec.Parse([]byte(tt.spec))
		require.NoError(t, err)
		_, err = Start(t.Context(), s, Builtins)
		var errs spec.Errors
		require.True(t, errors.As(err, &errs), "%v", err)
		assert.EqualError(t, err, tt.want)
	}
}

// TestNetwork_SmallestBuffersFinish runs bounded jobs over the smallest legal
// network, one exclusive buffer per channel and no floating ones, as Flink
// allows: records must not wait for the buffer timeout to get through.
func TestNetwork_SmallestBuffersFinish(t *testing.T) {
	const (
		count = 2000 // records per source subtask
		rate  = 4000 // records per second per source subtask: 500 ms of emitting
		cost  = 20 * time.Microsecond
	)
	for _, part := range []string{spec.Forward, spec.Rebalance, spec.Hash, spec.Broadcast} {
		for _, p := range []int{1, 2} {
			for _, timeout := range []time.Duration{0, 10 * time.Millisecond, 100 * time.Millisecond} {
				for _, limited := range []bool{true, false} {
					name := fmt.Sprintf("%s/parallelism=%d/buffer-timeout=%v/rate-limited=%v", part, p, timeout, limited)
					t.Run(name, func(t *testing.T) {
						synctest.Test(t, func(t *testing.T) {
							testSmallestBuffers(t, part, p, timeout, limited, count, rate, cost)
						})
					})
				}
			}
		}
	}
}

func testSmallestBuffers(t *testing.T, part string, p int, timeout time.Duration, limited bool, count, rate int, cost time.Duration) {
	// A rate-limited source takes count/rate to emit; an unlimited one is
	// held to the sink's pace, whose subtasks take at most every record
	// (all of a broadcast, or of a hot hash channel) at cost each. After the
	// last record, at most one buffer timeout passes before it is sent,
	// plus a tick of slack.
	sourceRate, sinkCost := 0, cost
	bound := time.Duration(p*count) * cost
	if limited {
		sourceRate, sinkCost = rate, 0
		bound = time.Duration(count) * time.Second / time.Duration(rate)
	}
	bound += timeout + 100*time.Millisecond
	received := &tally{counts: map[string]int{}}
	sent := &tally{counts: map[string]int{}}
	begin := time.Now()
	j := start(t, fmt.Sprintf(`
name: smallest-buffers
network: {buffer-size: 256b, buffers-per-channel: 1, floating-buffers-per-gate: 0, buffer-timeout: %v}
tasks:
  - {name: source, operator: tally-generator, parallelism: %d, config: {count: %d, rate: %d, keys: 20}}
  - {name: sink, operator: tally-sink, parallelism: %[2]d, cost: %[5]v}
edges:
  - {from: source, to: sink, partitioning: %[6]s}
`, timeout, p, count, sourceRate, sinkCost, part), tallyOperators(sent, received))
	<-j.Done()
	took := time.Since(begin) // simulated time
	require.NoError(t, j.Err())
	assert.Equal(t, metrics.StateFinished, j.Snapshot().State)
	want := sent.counts
	if part == spec.Broadcast {
		want = map[string]int{}
		for k, n := range sent.counts {
			want[k] = n * p
		}
	}
	assert.Equal(t, want, received.counts, "every record arrives, once")
	assert.LessOrEqual(t, took, bound, "the job took %v of simulated time", took)
}
