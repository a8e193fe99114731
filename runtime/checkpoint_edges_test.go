package runtime

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime/spec"
)

// A counter fed by a forward edge holds a count for every key in each
// subtask: a rescale cannot split that, so it is refused, naming why, and
// the job goes on with its counts intact.
func TestCheckpoint_RescaleForwardFed(t *testing.T) {
	want := map[string]int64{}
	for i := range 3000 {
		want["k"+strconv.Itoa(i%7)+"/count"] += 2
	}
	for _, mode := range []string{spec.Aligned, spec.Unaligned} {
		t.Run(mode, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				j := startWith(t, fmt.Sprintf(exactlyOnceJob, 2, "forward"),
					&spec.Checkpoint{Interval: 200 * time.Millisecond, Mode: mode, Timeout: time.Minute, Retained: 1}, checkpointOps(&counterShared{}))
				time.Sleep(1500 * time.Millisecond)
				err := j.SetParallelism("count", 3)
				require.Error(t, err)
				assert.Contains(t, err.Error(), "count keeps keyed state, and its input from src is partitioned by forward")
				<-j.Done()
				require.NoError(t, j.Err())
				assert.Equal(t, want, counts(t, j, "count"))
			})
		})
	}
}

func TestRescale_KeyInTwoSubtasks(t *testing.T) {
	old := []subtaskSnapshot{{state: OperatorState{Keyed: map[string][]byte{"k/count": []byte("1")}}},
		{state: OperatorState{Keyed: map[string][]byte{"k/count": []byte("2")}}}}
	_, err := rescale(old, 3, 1024, false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `state key "k/count" is held by more than one old subtask (1 among them)`)
}

// The aligned timeout holds also when, at the deadline, the barrier has
// left the sender's backlog but waits in the receiver's input queue behind
// buffers it has not taken yet: the checkpoint still turns unaligned at
// about the deadline (the source finds it in the map's gate and promotes
// it there; without that the checkpoint ended at ~2.6s).
func TestCheckpoint_AlignedTimeoutBarrierInReceiverQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 1500 * time.Millisecond
		j := startWith(t, fmt.Sprintf(slowSinkJob, 512, ""),
			&spec.Checkpoint{Interval: time.Second, Mode: spec.Aligned, Timeout: time.Minute, AlignedTimeout: timeout, Retained: 1}, nil)
		time.Sleep(20 * time.Second)
		c := nextCompleted(t, j, nextCompleted(t, j, 0).ID)
		assert.True(t, c.Unaligned)
		assert.Less(t, c.EndToEndDuration, timeout.Milliseconds()+300, "completes soon after the aligned timeout")
	})
}

// A short bounded source finishes long before the other.
const finishedEarlyJob = `
network: {buffer-size: 256}
tasks:
  - {name: short, operator: seq, config: {count: 100, keys: 7, rate: 1000}}
  - {name: long, operator: seq, config: {count: 3000, keys: 7, rate: 1000}}
  - {name: count, operator: counter, parallelism: 2}
edges:
  - {from: short, to: count, partitioning: hash}
  - {from: long, to: count, partitioning: hash}
`

// A finished source's final state is part of every later checkpoint (it is
// what a restore hands it), so each of them counts its size.
func TestCheckpoint_FinishedSubtaskStateSize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := startWith(t, finishedEarlyJob,
			&spec.Checkpoint{Interval: 200 * time.Millisecond, Mode: spec.Aligned, Timeout: time.Minute, Retained: 1}, checkpointOps(&counterShared{}))
		time.Sleep(2 * time.Second)
		cps := j.Checkpoints()
		require.Greater(t, cps.Completed, 3)
		for _, c := range cps.History {
			if c.Status != "COMPLETED" {
				continue
			}
			s := c.Tasks[0].Subtasks[0]
			assert.True(t, s.Acknowledged)
			assert.Positive(t, s.StateSize, "checkpoint %d: state size of the short source", c.ID)
		}
	})
}

// A legacy source at an unlimited rate under backpressure emits up to 1024
// records per Emit call at the sink's pace (~10 s here); it takes a
// checkpoint's trigger between two records, as Flink's legacy source does,
// so an unaligned checkpoint starts at once.
func TestCheckpoint_LegacySourceTriggerDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		y := strings.Replace(fmt.Sprintf(slowSinkJob, 512, ""), "operator: generator, config: {rate: 10000", "operator: legacy-generator, config: {rate: 0", 1)
		require.Contains(t, y, "legacy-generator")
		j := startWith(t, y, &spec.Checkpoint{Interval: time.Second, Mode: spec.Unaligned, Timeout: time.Minute, Retained: 1}, nil)
		time.Sleep(20 * time.Second)
		c := nextCompleted(t, j, nextCompleted(t, j, 0).ID)
		assert.Less(t, c.Tasks[0].Subtasks[0].StartDelay, int64(1000), "start delay at the source")
		assert.Less(t, c.EndToEndDuration, int64(1500))
	})
}
