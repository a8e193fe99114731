package runtime

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime/internal/network"
	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
)

// seqSource emits count records at rate per second: key "k<i mod keys>",
// value i. Its position is its operator state.
type seqSource struct {
	count, keys int
	rate        float64
	sent        int
	start       time.Time
	base        int // sent at start
}

func (s *seqSource) Emit(now time.Time, out SourceOutput) (time.Time, bool, error) {
	if s.start.IsZero() {
		s.start, s.base = now, s.sent
	}
	for n := 0; s.sent < s.count && out.Available() && n < 100; n++ {
		due := s.start.Add(time.Duration(float64(s.sent-s.base+1) / s.rate * float64(time.Second)))
		if due.After(now) {
			return due, false, nil
		}
		key := "k" + strconv.Itoa(s.sent%s.keys)
		if err := out.Emit(now.UnixMilli(), []byte(key), []byte(strconv.Itoa(s.sent))); err != nil {
			return now, false, err
		}
		s.sent++
	}
	return now, s.sent == s.count, nil
}

func (s *seqSource) SnapshotState() (OperatorState, error) {
	return OperatorState{Operator: binary.AppendUvarint(nil, uint64(s.sent))}, nil
}

func (s *seqSource) RestoreState(st OperatorState) error {
	n, _ := binary.Uvarint(st.Operator)
	s.sent = int(n)
	return nil
}

// counter counts records per key in keyed state; it fails once, at the
// failAt-th record it takes over all attempts, if failAt > 0.
type counter struct {
	mu     sync.Mutex
	counts map[string]int64
	shared *counterShared
}

type counterShared struct {
	failAt int64
	taken  atomic.Int64
	failed atomic.Bool
}

func (c *counter) Process(in Batch, out Output) error {
	return in.Each(func(r Record) error {
		if n := c.shared.taken.Add(1); c.shared.failAt > 0 && n >= c.shared.failAt && c.shared.failed.CompareAndSwap(false, true) {
			return errors.New("injected failure")
		}
		c.mu.Lock()
		c.counts[string(r.Key)+"/count"]++
		c.mu.Unlock()
		return out.Emit(r.TS, r.Key, r.Value)
	})
}

func (c *counter) SnapshotState() (OperatorState, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := OperatorState{Keyed: map[string][]byte{}}
	for k, n := range c.counts {
		st.Keyed[k] = strconv.AppendInt(nil, n, 10)
	}
	return st, nil
}

func (c *counter) RestoreState(st OperatorState) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range st.Keyed {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return err
		}
		c.counts[k] = n
	}
	return nil
}

func (c *counter) ViewState(max int) StateView {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := StateView{Keys: len(c.counts)}
	for _, k := range slices.Sorted(maps.Keys(c.counts)) {
		val := strconv.AppendInt(nil, c.counts[k], 10)
		v.Bytes += int64(len(k) + len(val))
		if len(v.Entries) < max {
			v.Entries = append(v.Entries, StateEntry{Key: []byte(k), Value: val})
		}
	}
	return v
}

// checkpointOps are the test operators: "seq" (config count, keys, rate)
// and "counter" sharing shared.
func checkpointOps(shared *counterShared) map[string]OperatorType {
	return map[string]OperatorType{
		"seq": func(tc TaskConfig) (Prepared, error) {
			count, keys, rate := tc.Config["count"].(int), tc.Config["keys"].(int), tc.Config["rate"].(int)
			return Prepared{NewSource: func(Context) (Source, error) {
				return &seqSource{count: count, keys: keys, rate: float64(rate)}, nil
			}}, nil
		},
		"counter": processorType(func(Context) (Processor, error) {
			return &counter{counts: map[string]int64{}, shared: shared}, nil
		}),
	}
}

// startWith parses yaml, sets its checkpoint config (if cp is not nil) and
// starts it with the built-in operators plus ops.
func startWith(t *testing.T, yaml string, cp *spec.Checkpoint, ops map[string]OperatorType) *Job {
	t.Helper()
	s, err := spec.Parse([]byte(yaml))
	require.NoError(t, err)
	if cp != nil {
		s.Checkpoint = cp
	}
	j, err := Start(context.Background(), s, func(name string) (OperatorType, error) {
		if typ, ok := ops[name]; ok {
			return typ, nil
		}
		return Builtins(name)
	})
	require.NoError(t, err)
	t.Cleanup(func() { j.Cancel(); <-j.Done() })
	return j
}

// counts sums the counter's keyed state over its subtasks.
func counts(t *testing.T, j *Job, task string) map[string]int64 {
	t.Helper()
	sts, err := j.State(task, 1<<20)
	require.NoError(t, err)
	out := map[string]int64{}
	for _, st := range sts {
		for _, e := range st.Entries {
			n, err := strconv.ParseInt(string(e.Value), 10, 64)
			require.NoError(t, err)
			out[string(e.Key)] += n
		}
	}
	return out
}

// assertKeyed checks that every key's state is at the subtask its record
// key hashes to.
func assertKeyed(t *testing.T, j *Job, task string) {
	t.Helper()
	sts, err := j.State(task, 1<<20)
	require.NoError(t, err)
	for _, st := range sts {
		for _, e := range st.Entries {
			assert.Equal(t, network.KeyChannel([]byte(RecordKey(string(e.Key))), len(sts)), st.Subtask, "subtask of %s", e.Key)
		}
	}
}

const exactlyOnceJob = `
restart: {attempts: 3, delay: 100ms}
network: {buffer-size: 256}
tasks:
  - {name: src, operator: seq, parallelism: 2, config: {count: 3000, keys: 7, rate: 1000}}
  - {name: count, operator: counter, parallelism: %d}
  - {name: sink, operator: discard, cost: 1ms}
edges:
  - {from: src, to: count, partitioning: %s}
  - {from: count, to: sink}
`

// Every key's count ends equal to the records of that key, to the record,
// though the counter fails halfway and the job restores its latest
// checkpoint: exactly-once keyed state, for each partitioning and mode.
func TestCheckpoint_ExactlyOnce(t *testing.T) {
	want := map[string]int64{}
	for i := range 3000 {
		want["k"+strconv.Itoa(i%7)+"/count"] += 2 // two source subtasks
	}
	for _, mode := range []string{spec.Aligned, spec.Unaligned} {
		for _, c := range []struct {
			part string
			p    int
		}{{"hash", 3}, {"rebalance", 3}, {"forward", 2}} {
			t.Run(mode+"/"+c.part, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					shared := &counterShared{failAt: 3000}
					j := startWith(t, fmt.Sprintf(exactlyOnceJob, c.p, c.part),
						&spec.Checkpoint{Interval: 200 * time.Millisecond, Mode: mode, Timeout: time.Minute, Retained: 1}, checkpointOps(shared))
					<-j.Done()
					require.NoError(t, j.Err())
					assert.True(t, shared.failed.Load(), "the counter failed once")
					assert.Equal(t, want, counts(t, j, "count"))
					cps := j.Checkpoints()
					assert.Equal(t, 1, cps.Restored)
					assert.Positive(t, cps.Completed)
					require.NotNil(t, cps.LatestRestored)
					if mode == spec.Unaligned {
						assert.Positive(t, cps.LatestCompleted.PersistedData, "the sink is slower than the sources")
					}
				})
			})
		}
	}
}

// Without checkpoints a failure starts the counts from scratch: the
// records before it are counted twice... or rather, the state is lost and
// the sources start over, so the counts equal the records only by the
// restart's replay of everything.
func TestCheckpoint_OffStartsOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		shared := &counterShared{failAt: 3000}
		j := startWith(t, fmt.Sprintf(exactlyOnceJob, 3, "hash"), nil, checkpointOps(shared))
		<-j.Done()
		require.NoError(t, j.Err())
		cps := j.Checkpoints()
		assert.False(t, cps.Enabled)
		assert.Zero(t, cps.Total)
		assert.Zero(t, cps.Restored)
	})
}

func TestCheckpoint_Stats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := startWith(t, fmt.Sprintf(exactlyOnceJob, 3, "hash"),
			&spec.Checkpoint{Interval: 200 * time.Millisecond, Mode: spec.Aligned, Timeout: time.Minute, Retained: 1},
			checkpointOps(&counterShared{}))
		time.Sleep(time.Second)
		cps := j.Checkpoints()
		require.NotEmpty(t, cps.History)
		c := cps.LatestCompleted
		require.NotNil(t, c)
		assert.Equal(t, metrics.CheckpointCompleted, c.Status)
		assert.Equal(t, 6, c.NumSubtasks)
		assert.Equal(t, 6, c.NumAcknowledged)
		assert.Positive(t, c.StateSize)
		assert.Len(t, c.Tasks, 3)
		assert.Equal(t, "count", c.Tasks[1].Name)
		for _, s := range c.Tasks[1].Subtasks {
			assert.True(t, s.Acknowledged)
		}
		assert.Zero(t, c.PersistedData)
	})
}

const slowSinkJob = `
network: {buffer-size: %d%s}
tasks:
  - {name: src, operator: generator, config: {rate: 10000, keys: 10, value-size: 16}}
  - {name: map, operator: passthrough}
  - {name: sink, operator: discard, cost: 10ms}
`

// latestCompleted waits until a checkpoint after id has completed and
// returns it.
func nextCompleted(t *testing.T, j *Job, after int64) *metrics.Checkpoint {
	t.Helper()
	for range 600 {
		if c := j.Checkpoints().LatestCompleted; c != nil && c.ID > after {
			return c
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("no checkpoint completed in a minute")
	return nil
}

// Under a 100x slower sink, an aligned checkpoint waits for the queue ahead
// of its barrier, so it takes twice as long behind buffers twice the size;
// an unaligned one overtakes the queue, persisting it; debloating shrinks
// the queue, and the aligned checkpoint with it.
func TestCheckpoint_UnderBackpressure(t *testing.T) {
	run := func(t *testing.T, bufferSize int, network, mode string) *metrics.Checkpoint {
		var cp *metrics.Checkpoint
		synctest.Test(t, func(t *testing.T) {
			j := startWith(t, fmt.Sprintf(slowSinkJob, bufferSize, network),
				&spec.Checkpoint{Interval: time.Second, Mode: mode, Timeout: time.Minute, Retained: 1}, nil)
			time.Sleep(20 * time.Second) // the queue fills, debloating settles
			cp = nextCompleted(t, j, nextCompleted(t, j, 0).ID)
			t.Logf("%d B buffers%s, %s: checkpoint %d: %d ms, persisted %d B, processed %d B, state %d B",
				bufferSize, network, mode, cp.ID, cp.EndToEndDuration, cp.PersistedData, cp.ProcessedData, cp.StateSize)
		})
		return cp
	}
	// 37-byte records, about 13 a buffer; some 40 buffers between the
	// source and the sink, which takes 100 records a second.
	aligned := run(t, 512, "", spec.Aligned)
	assert.Greater(t, aligned.EndToEndDuration, int64(4000))
	assert.Zero(t, aligned.PersistedData)
	assert.False(t, aligned.Unaligned)

	larger := run(t, 1024, "", spec.Aligned)
	assert.InDelta(t, 2, float64(larger.EndToEndDuration)/float64(aligned.EndToEndDuration), 0.3, "twice the queue, twice the time")

	unaligned := run(t, 512, "", spec.Unaligned)
	assert.Less(t, unaligned.EndToEndDuration, int64(3*spec.DefaultBufferTimeout/time.Millisecond))
	assert.Greater(t, unaligned.PersistedData, int64(10_000), "the queue, persisted")
	assert.True(t, unaligned.Unaligned)

	// Each of the two exchanges holds about the target in its gate, and as
	// much again in its sender's pool of debloated buffers.
	debloated := run(t, 512, ", buffer-debloat: {target: 500ms}", spec.Aligned)
	assert.Less(t, debloated.EndToEndDuration, int64(4*500+500))
	assert.Less(t, debloated.EndToEndDuration, aligned.EndToEndDuration/2)
	assert.Zero(t, debloated.PersistedData)
}

// A rescale of the keyed counter and a restart asked for both restore the
// latest checkpoint: keyed state moves to the subtasks its keys now belong
// to, and every count still ends exact.
func TestCheckpoint_RescaleAndRestart(t *testing.T) {
	want := map[string]int64{}
	for i := range 3000 {
		want["k"+strconv.Itoa(i%7)+"/count"] += 2
	}
	for _, c := range []struct {
		name   string
		change func(j *Job) error
	}{
		{"rescale down", func(j *Job) error { return j.SetParallelism("count", 2) }},
		{"rescale up", func(j *Job) error { return j.SetParallelism("count", 5) }},
		{"restart", func(j *Job) error { j.Restart(); return nil }},
	} {
		for _, mode := range []string{spec.Aligned, spec.Unaligned} {
			t.Run(c.name+"/"+mode, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					j := startWith(t, fmt.Sprintf(exactlyOnceJob, 3, "hash"),
						&spec.Checkpoint{Interval: 200 * time.Millisecond, Mode: mode, Timeout: time.Minute, Retained: 1}, checkpointOps(&counterShared{}))
					time.Sleep(1500 * time.Millisecond)
					require.NoError(t, c.change(j))
					<-j.Done()
					require.NoError(t, j.Err())
					assert.Equal(t, want, counts(t, j, "count"))
					assertKeyed(t, j, "count")
					assert.Equal(t, 1, j.Checkpoints().Restored)
				})
			})
		}
	}
}

// A checkpoint that does not complete within its timeout fails, and the
// job goes on, completing later ones once they can.
func TestCheckpoint_Timeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := startWith(t, fmt.Sprintf(slowSinkJob, 512, ""),
			&spec.Checkpoint{Interval: time.Second, Mode: spec.Aligned, Timeout: time.Second, Retained: 1}, nil)
		time.Sleep(20 * time.Second)
		cps := j.Checkpoints()
		assert.Positive(t, cps.Failed)
		require.NotNil(t, cps.LatestFailed)
		assert.Contains(t, cps.LatestFailed.FailureMessage, "expired")
		assert.Equal(t, metrics.StateRunning, j.Snapshot().State)
		require.NoError(t, j.SetCost("sink", 0)) // the queue drains: checkpoints complete again
		nextCompleted(t, j, 0)
	})
}

// The aligned timeout turns a checkpoint stuck behind a queue unaligned.
func TestCheckpoint_AlignedTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := startWith(t, fmt.Sprintf(slowSinkJob, 512, ""),
			&spec.Checkpoint{Interval: time.Second, Mode: spec.Aligned, Timeout: time.Minute, AlignedTimeout: 200 * time.Millisecond, Retained: 1}, nil)
		time.Sleep(20 * time.Second)
		c := nextCompleted(t, j, nextCompleted(t, j, 0).ID)
		assert.True(t, c.Unaligned)
		assert.Positive(t, c.PersistedData)
		assert.Less(t, c.EndToEndDuration, int64(500))
	})
}

// Unaligned checkpoints under a sustained mismatch hold no more in-flight
// data than the network's buffers, and the store retains what it is told.
func TestCheckpoint_BoundedUnderMismatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := startWith(t, fmt.Sprintf(slowSinkJob, 512, ""),
			&spec.Checkpoint{Interval: 500 * time.Millisecond, Mode: spec.Unaligned, Timeout: time.Minute, Retained: 2}, nil)
		time.Sleep(2 * time.Minute)
		cps := j.Checkpoints()
		assert.Greater(t, cps.Completed, 100)
		network := j.graph.footprint().Network
		for _, c := range cps.History {
			assert.LessOrEqual(t, c.PersistedData, network)
		}
		j.checkpoints.mu.Lock()
		assert.Len(t, j.checkpoints.retained, 2)
		j.checkpoints.mu.Unlock()
	})
}

// Turning checkpoints off restores the latest one, once: a later restart
// starts from scratch, as in a job that never took any.
func TestCheckpoint_TurnedOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := startWith(t, fmt.Sprintf(exactlyOnceJob, 3, "hash"),
			&spec.Checkpoint{Interval: 200 * time.Millisecond, Mode: spec.Aligned, Timeout: time.Minute, Retained: 1}, checkpointOps(&counterShared{}))
		time.Sleep(time.Second)
		require.NoError(t, j.SetCheckpointing(nil))
		time.Sleep(time.Second)
		cps := j.Checkpoints()
		assert.False(t, cps.Enabled)
		assert.Equal(t, 1, cps.Restored)
		assert.Positive(t, counts(t, j, "count")["k0/count"], "restored")
		j.Restart()
		time.Sleep(10 * time.Millisecond)
		assert.Equal(t, 1, j.Checkpoints().Restored)
		assert.Less(t, counts(t, j, "count")["k0/count"], int64(100), "from scratch")
	})
}

func TestSetCheckpointing_Invalid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := startWith(t, fmt.Sprintf(exactlyOnceJob, 3, "hash"), nil, checkpointOps(&counterShared{}))
		err := j.SetCheckpointing(&spec.Checkpoint{Interval: -time.Second, Mode: spec.Aligned, Timeout: time.Minute, Retained: 1})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "checkpoint.interval")
		assert.Nil(t, j.Spec().Checkpoint)
	})
}
