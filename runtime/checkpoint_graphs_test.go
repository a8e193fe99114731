package runtime

import (
	"fmt"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime/spec"
)

// src1 feeds a (rebalance) and b (broadcast), src2 feeds b (hash); a and b
// feed the join (hash), a keyed counter.
const diamondJob = `
restart: {attempts: 3, delay: 100ms}
network: {buffer-size: 256%s}
tasks:
  - {name: s1, operator: seq, parallelism: 2, config: {count: 1000, keys: 7, rate: 1000}}
  - {name: s2, operator: seq, parallelism: 1, config: {count: 3000, keys: 7, rate: 1000}}
  - {name: a, operator: passthrough, parallelism: 2}
  - {name: b, operator: passthrough, parallelism: 3}
  - {name: join, operator: counter, parallelism: 3}
  - {name: sink, operator: discard, cost: 1ms}
edges:
  - {from: s1, to: a, partitioning: rebalance}
  - {from: s1, to: b, partitioning: broadcast}
  - {from: s2, to: b, partitioning: hash}
  - {from: a, to: join, partitioning: hash}
  - {from: b, to: join, partitioning: hash}
  - {from: join, to: sink}
`

// A diamond with two bounded sources of different lengths, broadcast and
// hash edges, a join of two inputs that fails once at various points:
// every key's count ends exact.
func TestCheckpoint_DiamondExactlyOnce(t *testing.T) {
	want := map[string]int64{}
	for i := range 1000 {
		want["k"+strconv.Itoa(i%7)+"/count"] += 2 * 4 // s1: 2 subtasks, via a once and via b (broadcast) thrice
	}
	for i := range 3000 {
		want["k"+strconv.Itoa(i%7)+"/count"]++
	}
	modes := []struct {
		name string
		cp   spec.Checkpoint
		net  string
	}{
		{"aligned", spec.Checkpoint{Interval: 200 * time.Millisecond, Mode: spec.Aligned, Timeout: time.Minute, Retained: 1}, ""},
		{"unaligned", spec.Checkpoint{Interval: 200 * time.Millisecond, Mode: spec.Unaligned, Timeout: time.Minute, Retained: 1}, ""},
		{"aligned-timeout", spec.Checkpoint{Interval: 200 * time.Millisecond, Mode: spec.Aligned, Timeout: time.Minute, AlignedTimeout: 20 * time.Millisecond, Retained: 1}, ""},
		{"unaligned-bandwidth0", spec.Checkpoint{Interval: 150 * time.Millisecond, Mode: spec.Unaligned, Timeout: time.Minute, Retained: 1}, ", buffer-timeout: 0ms"},
	}
	for _, m := range modes {
		for _, failAt := range []int64{700, 2500, 4000, 6100, 9000, 10500} {
			t.Run(fmt.Sprintf("%s/%d", m.name, failAt), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					shared := &counterShared{failAt: failAt}
					cp := m.cp
					j := startWith(t, fmt.Sprintf(diamondJob, m.net), &cp, checkpointOps(shared))
					<-j.Done()
					require.NoError(t, j.Err())
					assert.True(t, shared.failed.Load())
					assert.Equal(t, want, counts(t, j, "join"))
					cps := j.Checkpoints()
					t.Logf("completed %d failed %d restored %d", cps.Completed, cps.Failed, cps.Restored)
				})
			})
		}
	}
}

// Two keyed counters in a row.
const twoCountersJob = `
restart: {attempts: 3, delay: 100ms}
network: {buffer-size: 256%s}
tasks:
  - {name: src, operator: seq, parallelism: 2, config: {count: 3000, keys: 7, rate: 1000}}
  - {name: c1, operator: counter, parallelism: 3}
  - {name: c2, operator: counter, parallelism: 2, cost: 800us}
edges:
  - {from: src, to: c1, partitioning: hash}
  - {from: c1, to: c2, partitioning: hash%s}
`

// Two keyed stages, a simulated link between them, failures at various
// points: both stages' counts end exact.
func TestCheckpoint_TwoStagesExactlyOnce(t *testing.T) {
	want := map[string]int64{}
	for i := range 3000 {
		want["k"+strconv.Itoa(i%7)+"/count"] += 2
	}
	modes := []struct {
		name    string
		cp      spec.Checkpoint
		net, bw string
	}{
		{"aligned", spec.Checkpoint{Interval: 200 * time.Millisecond, Mode: spec.Aligned, Timeout: time.Minute, Retained: 1}, "", ""},
		{"unaligned", spec.Checkpoint{Interval: 200 * time.Millisecond, Mode: spec.Unaligned, Timeout: time.Minute, Retained: 1}, "", ""},
		{"unaligned-link", spec.Checkpoint{Interval: 100 * time.Millisecond, Mode: spec.Unaligned, Timeout: time.Minute, Retained: 1}, "", ", bandwidth: 2kb"},
		{"aligned-timeout-link", spec.Checkpoint{Interval: 100 * time.Millisecond, Mode: spec.Aligned, Timeout: time.Minute, AlignedTimeout: 30 * time.Millisecond, Retained: 1}, "", ", bandwidth: 2kb"},
		{"unaligned-timeout0", spec.Checkpoint{Interval: 100 * time.Millisecond, Mode: spec.Unaligned, Timeout: time.Minute, Retained: 1}, ", buffer-timeout: 0ms", ""},
		{"aligned-timeout-debloat", spec.Checkpoint{Interval: 100 * time.Millisecond, Mode: spec.Aligned, Timeout: time.Minute, AlignedTimeout: 30 * time.Millisecond, Retained: 1}, ", buffer-debloat: {target: 100ms}", ""},
	}
	for _, m := range modes {
		for _, failAt := range []int64{1500, 4000, 6100, 8800, 11000} {
			t.Run(fmt.Sprintf("%s/%d", m.name, failAt), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					shared := &counterShared{failAt: failAt}
					cp := m.cp
					j := startWith(t, fmt.Sprintf(twoCountersJob, m.net, m.bw), &cp, checkpointOps(shared))
					<-j.Done()
					require.NoError(t, j.Err())
					assert.True(t, shared.failed.Load())
					assert.Equal(t, want, counts(t, j, "c1"), "c1")
					assert.Equal(t, want, counts(t, j, "c2"), "c2")
					cps := j.Checkpoints()
					t.Logf("completed %d failed %d restored %d persisted %d", cps.Completed, cps.Failed, cps.Restored, cps.LatestCompleted.PersistedData)
				})
			})
		}
	}
}
