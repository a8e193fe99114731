package runtime

import (
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
)

const controlled = `
name: controlled
tasks:
  - {name: source, operator: generator, config: {rate: 400}}
  - {name: work, operator: passthrough}
  - {name: sink, operator: discard}
`

func TestJob_SetCost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := start(t, controlled, nil)
		snap := settle(j, 3*time.Second)
		assert.Equal(t, metrics.Float(0), vertex(t, snap, "work").Subtasks[0].BusyTimeMsPerSecond)
		require.NoError(t, j.SetCost("work", time.Millisecond))
		snap = settle(j, 3*time.Second) // a full 2s window after the change
		work := vertex(t, snap, "work")
		assert.Equal(t, metrics.Float(400), work.Subtasks[0].BusyTimeMsPerSecond)
		assert.Equal(t, "1ms", work.Cost)
		assert.Equal(t, time.Millisecond, j.Spec().Tasks[1].Cost)
	})
}

func TestJob_SetRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := start(t, controlled, nil)
		require.NoError(t, j.SetRate("source", 1000))
		snap := settle(j, 3*time.Second)
		source := vertex(t, snap, "source")
		assert.InDelta(t, 1000, source.Metrics.NumRecordsOutPerSecond, 5)
		require.NotNil(t, source.Rate)
		assert.Equal(t, 1000.0, *source.Rate)
		assert.Equal(t, 1000.0, j.Spec().Tasks[0].Config["rate"])
		assert.Nil(t, vertex(t, snap, "work").Rate, "only sources have a rate")
	})
}

func TestJob_Snapshot_RateBeforeSubtasks(t *testing.T) {
	// The snapshot published before the subtasks start (what a page opened
	// at once draws), and those of a restart, show a source's rate: the
	// configured one, then the one set live.
	synctest.Test(t, func(t *testing.T) {
		j := start(t, controlled, nil)
		snap := j.Snapshot()
		source := vertex(t, snap, "source")
		require.NotNil(t, source.Rate, "the first snapshot has the configured rate")
		assert.Equal(t, 400.0, *source.Rate)
		assert.Nil(t, vertex(t, snap, "work").Rate)

		settle(j, time.Second)
		require.NoError(t, j.SetRate("source", 700))
		require.NoError(t, j.SetConfig("source", "keys", 5)) // restarts the job
		j.publish(time.Now())                                // between attempts: reconfigure dropped the subtasks
		source = vertex(t, j.Snapshot(), "source")
		require.NotNil(t, source.Rate)
		assert.Equal(t, 700.0, *source.Rate)
	})
}

func TestJob_SetParallelism(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := start(t, controlled, nil)
		require.NoError(t, j.SetCost("work", time.Millisecond))
		require.NoError(t, j.SetRate("source", 1500))
		settle(j, time.Second)
		require.NoError(t, j.SetParallelism("work", 3))
		snap := settle(j, 3*time.Second)
		assert.Equal(t, metrics.StateRunning, snap.State)
		assert.Equal(t, 1, snap.Restarts, "a rescale restarts the job")
		work := vertex(t, snap, "work")
		require.Len(t, work.Subtasks, 3)
		for _, s := range work.Subtasks {
			// 1500 records/s rebalanced over 3 subtasks at 1 ms each.
			assert.Equal(t, metrics.Float(500), s.BusyTimeMsPerSecond, "subtask %d", s.Subtask)
		}
		s := j.Spec()
		assert.Equal(t, spec.Rebalance, s.Edges[0].Partitioning, "forward edges of unequal parallelism become rebalance")
		assert.Equal(t, spec.Rebalance, s.Edges[1].Partitioning)
		assert.Equal(t, 3, s.Tasks[1].Parallelism)
		assert.Empty(t, j.Failures())
	})
}

func TestJob_SetPaused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := start(t, controlled, nil)
		require.NoError(t, j.SetCost("work", 2*time.Millisecond)) // 800 ms/s busy
		settle(j, time.Second)
		j.SetPaused(true)
		snap := settle(j, 3*time.Second)
		assert.True(t, snap.Paused)
		before := vertex(t, snap, "source").Metrics.NumRecordsOut
		for _, name := range []string{"source", "work", "sink"} {
			assert.Equal(t, 1000.0, vertex(t, snap, name).Subtasks[0].IdleTimeMsPerSecond, name)
		}
		snap = settle(j, time.Second)
		assert.Equal(t, before, vertex(t, snap, "source").Metrics.NumRecordsOut, "a paused source emits nothing")
		j.SetPaused(false)
		snap = settle(j, 3*time.Second)
		assert.False(t, snap.Paused)
		assert.Equal(t, metrics.Float(800), vertex(t, snap, "work").Subtasks[0].BusyTimeMsPerSecond)
	})
}

func TestJob_Restart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := start(t, controlled, nil)
		snap := settle(j, time.Second)
		require.Greater(t, vertex(t, snap, "sink").Metrics.NumRecordsIn, int64(300))
		since := snap.Since
		j.Restart()
		snap = settle(j, 500*time.Millisecond)
		assert.Greater(t, snap.Since, since, "the new attempt started later")
		assert.Equal(t, metrics.StateRunning, snap.State)
		assert.Equal(t, 1, snap.Restarts, "a restart asked for counts, as every restart does")
		assert.Empty(t, j.Failures(), "it is not a failure")
		assert.Less(t, vertex(t, snap, "sink").Metrics.NumRecordsIn, int64(300), "counts start over with fresh subtasks")
		assert.Equal(t, 1, vertex(t, snap, "sink").Subtasks[0].Attempt)
	})
}

func TestJob_SetWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := start(t, controlled, nil)
		settle(j, 3*time.Second)
		require.NoError(t, j.SetCost("work", time.Millisecond))
		require.NoError(t, j.SetWindow(100*time.Millisecond))
		snap := settle(j, 200*time.Millisecond)
		assert.Equal(t, int64(100), snap.WindowMs)
		assert.Equal(t, metrics.Float(400), vertex(t, snap, "work").Subtasks[0].BusyTimeMsPerSecond, "one tick after the change, a one-tick window shows it")
		require.NoError(t, j.SetWindow(60*time.Second))
		snap = settle(j, 5*time.Second)
		assert.Equal(t, metrics.Float(400), vertex(t, snap, "work").Subtasks[0].BusyTimeMsPerSecond, "a window longer than the history averages what there is")
		assert.Equal(t, 60*time.Second, j.Spec().Metrics.Window)
	})
}

type loggingOp struct{ ctx Context }

func (o loggingOp) Process(in Batch, _ Output) error {
	o.ctx.Logs().Add(StreamLog, "batch")
	o.ctx.Logs().Writer(StreamStderr).Write([]byte("err "))
	o.ctx.Logs().Writer(StreamStderr).Write([]byte("line\n"))
	return nil
}

func TestJob_Logs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := start(t, `
name: logs
network: {buffer-timeout: 0}
tasks:
  - {name: source, operator: generator, config: {rate: 10, count: 2}}
  - {name: sink, operator: logging, parallelism: 2}
edges:
  - {from: source, to: sink, partitioning: broadcast}
`, map[string]OperatorType{"logging": processorType(func(ctx Context) (Processor, error) { return loggingOp{ctx}, nil })})
		<-j.Done()
		lines, err := j.Logs("sink")
		require.NoError(t, err)
		require.Len(t, lines, 8, "2 records to each of 2 subtasks, 2 lines each")
		subtasks := map[int]int{}
		for _, l := range lines {
			subtasks[l.Subtask]++
		}
		assert.Equal(t, map[int]int{0: 4, 1: 4}, subtasks)
		assert.Equal(t, LogLine{Time: lines[0].Time, Subtask: lines[0].Subtask, Stream: StreamStderr, Text: "err line"}, lines[1])
		_, err = j.Logs("nope")
		assert.EqualError(t, err, `no task "nope" in job "logs" (tasks: source, sink)`)
	})
}

func TestJob_Failures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := start(t, `
name: failing
restart: {strategy: fixed-delay, attempts: 1, delay: 1s}
tasks:
  - {name: source, operator: generator, config: {rate: 100}}
  - {name: map, operator: fail}
`, map[string]OperatorType{"fail": failing(20, func() bool { return true }, false)})
		<-j.Done()
		f := j.Failures()
		require.Len(t, f, 2)
		assert.Equal(t, Failure{Time: f[0].Time, Task: "map", Subtask: 0, Message: "boom at record 20"}, f[0])
		assert.Equal(t, 1, j.Snapshot().Restarts)
	})
}

func TestJob_Controls_Errors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := start(t, controlled, nil)
		assert.EqualError(t, j.SetCost("nope", 0), `no task "nope" in job "controlled" (tasks: source, work, sink)`)
		assert.EqualError(t, j.SetCost("work", -time.Second), `cost must be between 0 and 10s, got -1s`)
		assert.EqualError(t, j.SetRate("work", 10), `task "work" has no rate: only the sources generator and legacy-generator do`)
		assert.EqualError(t, j.SetRate("source", -1), `rate must be between 0 and 1e+08 records per second, got -1`)
		assert.EqualError(t, j.SetParallelism("work", 0), `parallelism must be between 1 and 128, got 0`)
		assert.EqualError(t, j.SetWindow(150*time.Millisecond), `window: must be a whole multiple of metrics.tick (100ms), got 150ms`)
		j.Cancel()
		<-j.Done()
		assert.EqualError(t, j.SetParallelism("work", 2), `job "controlled" has ended (CANCELED)`)
	})
}

func TestJob_SetConfig(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := start(t, `
name: skewed
tasks:
  - {name: source, operator: generator, config: {rate: 1000, keys: 100, skew: 3}}
  - {name: count, operator: passthrough, parallelism: 4, cost: 500us}
edges:
  - {from: source, to: count, partitioning: hash}
`, nil)
		snap := settle(j, 3*time.Second)
		assert.Greater(t, vertex(t, snap, "count").DataSkew, 50.0)
		require.NoError(t, j.SetConfig("source", "skew", 0))
		snap = settle(j, 3*time.Second)
		assert.Less(t, vertex(t, snap, "count").DataSkew, 20.0)
		assert.Equal(t, 0, j.Spec().Tasks[0].Config["skew"])
		assert.Equal(t, 1000, j.Spec().Tasks[0].Config["rate"], "the rest of the config stays")
		assert.EqualError(t, j.SetConfig("source", "skew", -1), "tasks[0].config.skew: must be between 0 and 10, got -1")
		assert.Equal(t, 0, j.Spec().Tasks[0].Config["skew"], "an invalid change changes nothing")
	})
}

func TestJob_SetOperator(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := start(t, controlled, nil)
		require.NoError(t, j.SetOperator("sink", OpPassthrough))
		snap := settle(j, time.Second)
		assert.Equal(t, OpPassthrough, vertex(t, snap, "sink").Operator)
		assert.Contains(t, j.SetOperator("sink", "nope").Error(), `tasks[2].operator: unknown operator "nope"`)
	})
}

func TestMetrics_SourceCost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := start(t, `
name: costly-source
tasks:
  - {name: source, operator: generator, cost: 1ms, config: {rate: 400}}
  - {name: sink, operator: discard}
`, nil)
		snap := settle(j, 3*time.Second)
		source := vertex(t, snap, "source")
		assert.Equal(t, metrics.Float(400), source.Subtasks[0].BusyTimeMsPerSecond)
		assert.InDelta(t, 400, source.Metrics.NumRecordsOutPerSecond, 2)
		require.NoError(t, j.SetRate("source", 0))
		snap = settle(j, 3*time.Second)
		source = vertex(t, snap, "source")
		assert.Equal(t, metrics.Float(1000), source.Subtasks[0].BusyTimeMsPerSecond, "unlimited, the cost is the limit")
		assert.InDelta(t, 1000, source.Metrics.NumRecordsOutPerSecond, 50)
	})
}

func TestJob_SetRate_fromAnyRateWithinATick(t *testing.T) {
	for _, from := range []float64{1e-6, 0.1, 2} {
		t.Run(fmt.Sprint(from), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				j := start(t, controlled, nil)
				settle(j, time.Second)
				require.NoError(t, j.SetRate("source", from))
				snap := settle(j, 3*time.Second) // the source now waits long for its next record
				before := vertex(t, snap, "source").Metrics.NumRecordsOut
				require.NoError(t, j.SetRate("source", 500))
				snap = settle(j, 100*time.Millisecond) // one metrics tick
				// 500 records/s for the 99 ms up to the tick: 50 records, the first at once.
				assert.GreaterOrEqual(t, vertex(t, snap, "source").Metrics.NumRecordsOut-before, int64(45))
			})
		})
	}
}

// TestJob_Restart_replaysBoundedJob shows what a restart does until there
// are checkpoints: the new attempt starts from scratch, so a bounded job's
// records reach its sink again, and the counters are the new attempt's.
func TestJob_Restart_replaysBoundedJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sent, received := &tally{counts: map[string]int{}}, &tally{counts: map[string]int{}}
		j := start(t, `
name: bounded
network: {buffer-timeout: 10ms}
tasks:
  - {name: source, operator: tally-generator, parallelism: 2, config: {rate: 1000, count: 1000, keys: 10}}
  - {name: sink, operator: tally-sink, parallelism: 2}
`, tallyOperators(sent, received))
		snap := settle(j, 500*time.Millisecond)
		assert.Equal(t, 0, snap.Restarts)
		firstAttempt := vertex(t, snap, "sink").Metrics.NumRecordsIn
		require.Greater(t, firstAttempt, int64(900))
		j.Restart()
		<-j.Done()
		require.NoError(t, j.Err())
		snap = j.Snapshot()
		assert.Equal(t, metrics.StateFinished, snap.State)
		assert.Equal(t, 1, snap.Restarts)
		for _, name := range []string{"source", "sink"} {
			for _, s := range vertex(t, snap, name).Subtasks {
				assert.Equal(t, 1, s.Attempt, "%s[%d]", name, s.Subtask)
			}
		}
		assert.Equal(t, int64(2000), vertex(t, snap, "source").Metrics.NumRecordsOut, "the last attempt's count")
		assert.Equal(t, int64(2000), vertex(t, snap, "sink").Metrics.NumRecordsIn)
		total := 0
		for _, n := range received.counts {
			total += n
		}
		assert.GreaterOrEqual(t, int64(total), 2000+firstAttempt, "the first attempt's records reached the sink, then all of them again")
	})
}

func TestJob_Restart_notCountedAgainstTheRestartStrategy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var instances atomic.Int32
		secondAttempt := func() bool { return instances.Add(1) == 2 }
		j := start(t, `
name: restarted-then-failing
restart: {strategy: fixed-delay, attempts: 1, delay: 100ms}
tasks:
  - {name: source, operator: generator, config: {rate: 100, count: 100}}
  - {name: map, operator: fail}
  - {name: sink, operator: discard}
`, map[string]OperatorType{"fail": failing(10, secondAttempt, false)})
		settle(j, 300*time.Millisecond)
		j.Restart() // attempt 1, which fails at its 10th record
		<-j.Done()
		require.NoError(t, j.Err(), "the failure was the first: one restart after a failure is allowed")
		snap := j.Snapshot()
		assert.Equal(t, metrics.StateFinished, snap.State)
		assert.Equal(t, 2, snap.Restarts, "the restart asked for and the restart after the failure")
		assert.Len(t, j.Failures(), 1)
		assert.Equal(t, 2, vertex(t, snap, "map").Subtasks[0].Attempt)
	})
}

// TestJob_SetCost_appliesToTheBatchInHand lowers the cost of a sink that is
// spending 20 ms a record on a batch of a 32 KiB buffer (885 records, 17.7 s
// at that cost): the rest of the batch is spent at the new cost, so records
// flow at the new speed within a metrics tick.
func TestJob_SetCost_appliesToTheBatchInHand(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := start(t, `
name: cost-change
metrics: {tick: 100ms}
tasks:
  - {name: source, operator: generator, cost: 10us}
  - {name: sink, operator: discard, cost: 20ms}
`, nil)
		recordsIn := func() int64 { // what the sink has taken, published as it takes a batch
			j.mu.Lock()
			defer j.mu.Unlock()
			return j.subtasks[1][0].inPub.Load()
		}
		snap := settle(j, 3*time.Second)
		require.Equal(t, metrics.Float(1000), vertex(t, snap, "sink").Subtasks[0].BusyTimeMsPerSecond)
		before := recordsIn()
		require.Less(t, before, int64(2*885), "the sink is still on its first batch")

		require.NoError(t, j.SetCost("sink", 0))
		time.Sleep(100*time.Millisecond + 5*time.Millisecond) // one tick and a little slack
		assert.Greater(t, recordsIn()-before, int64(5*885), "the sink takes batch after batch")

		snap = settle(j, 3*time.Second) // a full window at the new cost, after the backlog drained
		sink, source := vertex(t, snap, "sink").Subtasks[0], vertex(t, snap, "source").Subtasks[0]
		assert.Equal(t, metrics.Float(0), sink.BusyTimeMsPerSecond)
		assert.Equal(t, 0.0, source.BackPressuredTimeMsPerSecond, "the source no longer waits for the sink")
		assert.InDelta(t, source.NumRecordsOutPerSecond, sink.NumRecordsInPerSecond, 0.02*source.NumRecordsOutPerSecond)
	})
}

// A restart asked for while the attempt is still making its operators is a
// restart, not a failure, even when an operator gives up because of it.
func TestJob_RestartWhileStarting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		starting := make(chan struct{}, 1)
		slowStart := processorType(func(ctx Context) (Processor, error) {
			select {
			case starting <- struct{}{}:
			default:
			}
			select {
			case <-ctx.Done():
				return nil, ErrCanceled // as a Wasm operator whose start is canceled
			case <-time.After(time.Second):
				return passthrough{}, nil
			}
		})
		j := start(t, `
restart: {attempts: 1, delay: 1ms}
tasks:
  - {name: source, operator: generator, config: {rate: 100}}
  - {name: slow, operator: slow}
`, map[string]OperatorType{"slow": slowStart})
		for range 5 {
			select {
			case <-starting:
			case <-j.Done():
				t.Fatalf("the job ended: %v, failures %v", j.Err(), j.Failures())
			}
			j.Restart()
		}
		time.Sleep(3 * time.Second)
		assert.Empty(t, j.Failures())
		assert.Equal(t, metrics.StateRunning, j.Snapshot().State)
		assert.Equal(t, 5, j.Snapshot().Restarts)
	})
}
