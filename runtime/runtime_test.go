package runtime

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
)

// start parses a spec and starts it with the built-in operators plus extra ones.
func start(t *testing.T, yaml string, extra map[string]OperatorType) *Job {
	t.Helper()
	return startWith(t, yaml, nil, extra)
}

// settle runs the job for d of fake time and returns the snapshot of the last tick.
func settle(j *Job, d time.Duration) *metrics.Job {
	time.Sleep(d + time.Millisecond) // past the tick at d, which is then published
	return j.Snapshot()
}

func vertex(t *testing.T, snap *metrics.Job, name string) metrics.Vertex {
	t.Helper()
	for _, v := range snap.Vertices {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no vertex %q", name)
	return metrics.Vertex{}
}

// assertAccounted checks that every subtask's time adds up to one second.
func assertAccounted(t *testing.T, snap *metrics.Job) {
	t.Helper()
	for _, v := range snap.Vertices {
		for _, s := range v.Subtasks {
			busy := float64(s.BusyTimeMsPerSecond)
			if math.IsNaN(busy) {
				continue
			}
			assert.Equal(t, 1000.0, s.IdleTimeMsPerSecond+busy+s.BackPressuredTimeMsPerSecond, "%s[%d]: %+v", v.Name, s.Subtask, s)
		}
	}
}

func TestMetrics_RateLimitedSourceIntoCost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := start(t, `
name: rate
tasks:
  - {name: source, operator: generator, config: {rate: 400}}
  - {name: sink, operator: discard, cost: 1ms}
`, nil)
		snap := settle(j, 10*time.Second)
		sink := vertex(t, snap, "sink").Subtasks[0]
		assert.Equal(t, 400.0, float64(sink.BusyTimeMsPerSecond))
		assert.Equal(t, 600.0, sink.IdleTimeMsPerSecond)
		assert.Equal(t, 0.0, sink.BackPressuredTimeMsPerSecond)
		// Records arrive 40 at a time, every 100ms: whether the batch at a
		// window's edge is in it depends on the order of events at one instant.
		assert.InDelta(t, 400.0, sink.NumRecordsInPerSecond, 20)
		source := vertex(t, snap, "source").Subtasks[0]
		assert.Equal(t, 0.0, source.BackPressuredTimeMsPerSecond)
		assert.InDelta(t, 400.0, source.NumRecordsOutPerSecond, 0.5)
		assertAccounted(t, snap)
	})
}

func TestMetrics_SlowSinkBackpressuresEveryUpstream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := start(t, `
name: slow-sink
network: {buffer-size: 1kb}
tasks:
  - {name: source, operator: generator, parallelism: 2}
  - {name: map, operator: passthrough, parallelism: 2}
  - {name: sink, operator: discard, cost: 1ms}
`, nil)
		snap := settle(j, 10*time.Second)
		sink := vertex(t, snap, "sink")
		assert.Equal(t, 1000.0, float64(sink.Subtasks[0].BusyTimeMsPerSecond))
		assert.Equal(t, metrics.Colors{Fill: "#ee6464", Border: "#ee2222"}, sink.Colors)
		assert.InDelta(t, 1000.0, sink.Subtasks[0].NumRecordsInPerSecond, 5)
		for _, name := range []string{"source", "map"} {
			v := vertex(t, snap, name)
			assert.Equal(t, metrics.LevelHigh, v.Backpressure.Level)
			for _, s := range v.Subtasks {
				assert.GreaterOrEqual(t, s.BackPressuredTimeMsPerSecond, 990.0, "%s[%d]", name, s.Subtask)
				assert.True(t, s.IsBackPressured, "%s[%d]", name, s.Subtask)
				assert.Equal(t, 1.0, s.OutPoolUsage, "%s[%d]", name, s.Subtask)
			}
		}
		assert.Equal(t, 1.0, vertex(t, snap, "map").Subtasks[0].InPoolUsage)
		assertAccounted(t, snap)
	})
}

func TestMetrics_HotKeyMakesOneSubtaskBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := start(t, `
name: hot-key
network: {buffer-size: 1kb}
tasks:
  - {name: source, operator: generator, config: {rate: 500, keys: 1}}
  - {name: count, operator: discard, parallelism: 3, cost: 2ms}
edges:
  - {from: source, to: count, partitioning: hash}
`, nil)
		snap := settle(j, 10*time.Second)
		count := vertex(t, snap, "count")
		busy := 0
		for _, s := range count.Subtasks {
			if s.NumRecordsIn > 0 {
				busy++
				assert.Equal(t, 1000.0, float64(s.BusyTimeMsPerSecond))
			} else {
				assert.Equal(t, 1000.0, s.IdleTimeMsPerSecond)
			}
		}
		assert.Equal(t, 1, busy)
		assert.Equal(t, metrics.Float(100), count.Busy)
		assert.Equal(t, 1000.0, float64(count.Metrics.BusyTimeMsPerSecond))
		assert.InDelta(t, 100.0, count.DataSkew, 0.01) // all records on one of three subtasks
		assertAccounted(t, snap)
	})
}

func TestMetrics_LegacySourceBusyIsNaN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := start(t, `
name: legacy
network: {buffer-size: 1kb}
tasks:
  - {name: source, operator: legacy-generator}
  - {name: sink, operator: discard, cost: 1ms}
`, nil)
		snap := settle(j, 10*time.Second)
		source := vertex(t, snap, "source")
		assert.True(t, math.IsNaN(float64(source.Subtasks[0].BusyTimeMsPerSecond)))
		assert.True(t, math.IsNaN(float64(source.Busy)))
		// Backpressure is still measured, as hard backpressure: a legacy
		// source never asks whether the output is available.
		assert.GreaterOrEqual(t, source.Subtasks[0].HardBackPressuredTimeMsPerSecond, 990.0)
		assert.Equal(t, metrics.Colors{Fill: "#888888", Border: "#000000"}, source.Colors)
		assertAccounted(t, snap)
	})
}

func TestJob_BoundedFinishes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := start(t, `
name: bounded
tasks:
  - {name: source, operator: generator, parallelism: 2, config: {rate: 1000, count: 500}}
  - {name: sink, operator: discard, parallelism: 3, cost: 100us}
`, nil)
		<-j.Done()
		require.NoError(t, j.Err())
		snap := j.Snapshot()
		assert.Equal(t, metrics.StateFinished, snap.State)
		assert.Equal(t, int64(1000), vertex(t, snap, "source").Metrics.NumRecordsOut)
		assert.Equal(t, int64(1000), vertex(t, snap, "sink").Metrics.NumRecordsIn)
	})
}

// Bytes are the records' encoded size (16 bytes of header, "key-0" and 16
// bytes of value: 37), counted once taken in and once per output written;
// accumulated times add up to the time since the attempt started.
func TestMetrics_BytesAndAccumulatedTimes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := start(t, `
name: bytes
tasks:
  - {name: source, operator: generator, config: {rate: 400, keys: 1, count: 4000}}
  - {name: map, operator: passthrough}
  - {name: sink, operator: discard, cost: 1ms}
`, nil)
		snap := settle(j, 5*time.Second)
		since := time.UnixMilli(snap.Since)
		elapsed := time.UnixMilli(snap.Timestamp).Sub(since).Milliseconds()
		for _, v := range snap.Vertices {
			s := v.Subtasks[0]
			total := int64(s.AccumulatedBusyTime) + s.AccumulatedBackPressuredTime + s.AccumulatedIdleTime
			assert.InDelta(t, elapsed, total, 1, "%s: %+v", v.Name, s)
			assert.Equal(t, v.Metrics.AccumulatedIdleTime, s.AccumulatedIdleTime)
		}
		sink := vertex(t, snap, "sink").Subtasks[0]
		// 1ms for each of 400 records a second, from the first records on:
		// they reach the sink after two buffer timeouts (100ms each).
		assert.InDelta(t, 1920, int64(sink.AccumulatedBusyTime), 10)
		assert.InDelta(t, 3080, sink.AccumulatedIdleTime, 10)
		assert.InDelta(t, 400*37, sink.NumBytesInPerSecond, 37*20)

		<-j.Done()
		snap = j.Snapshot()
		source, mapper, last := vertex(t, snap, "source"), vertex(t, snap, "map"), vertex(t, snap, "sink")
		assert.Equal(t, int64(0), source.Metrics.NumBytesIn)
		assert.Equal(t, int64(4000*37), source.Metrics.NumBytesOut)
		assert.Equal(t, int64(4000*37), mapper.Metrics.NumBytesIn)
		assert.Equal(t, int64(4000*37), mapper.Metrics.NumBytesOut)
		assert.Equal(t, int64(4000*37), last.Metrics.NumBytesIn)
		assert.Equal(t, int64(0), last.Metrics.NumBytesOut, "a sink writes to no output")
	})
}

// A legacy source's accumulated busy time is unknown, as its busy time is.
func TestMetrics_LegacySourceAccumulatedBusyIsNaN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := start(t, `
name: legacy
tasks:
  - {name: source, operator: legacy-generator, config: {rate: 10}}
  - {name: sink, operator: discard}
`, nil)
		snap := settle(j, time.Second)
		source := vertex(t, snap, "source")
		assert.True(t, math.IsNaN(float64(source.Subtasks[0].AccumulatedBusyTime)))
		assert.True(t, math.IsNaN(float64(source.Metrics.AccumulatedBusyTime)))
		assert.False(t, math.IsNaN(float64(vertex(t, snap, "sink").Metrics.AccumulatedBusyTime)))
	})
}

// tally counts records per key; sources and sinks of a test share one.
type tally struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c *tally) add(key []byte) {
	c.mu.Lock()
	c.counts[string(key)]++
	c.mu.Unlock()
}

type tallyOutput struct {
	SourceOutput
	t *tally
}

func (o tallyOutput) Emit(ts int64, key, value []byte) error {
	o.t.add(key)
	return o.SourceOutput.Emit(ts, key, value)
}

// tallySource is a generator that counts what it emits.
type tallySource struct {
	Source
	t *tally
}

func (s tallySource) Emit(now time.Time, out SourceOutput) (time.Time, bool, error) {
	return s.Source.Emit(now, tallyOutput{out, s.t})
}

type tallySink struct{ t *tally }

func (s tallySink) Process(in Batch, _ Output) error {
	return in.Each(func(r Record) error { s.t.add(r.Key); return nil })
}

func tallyOperators(sent, received *tally) map[string]OperatorType {
	return map[string]OperatorType{
		"tally-generator": func(tc TaskConfig) (Prepared, error) {
			p, err := generatorType(false)(tc)
			if err != nil {
				return p, err
			}
			newSource := p.NewSource
			p.NewSource = func(ctx Context) (Source, error) {
				src, err := newSource(ctx)
				return tallySource{src, sent}, err
			}
			return p, nil
		},
		"tally-sink": processorType(func(Context) (Processor, error) { return tallySink{received}, nil }),
	}
}

func TestNetwork_NoRecordLostOrDuplicated(t *testing.T) {
	for _, test := range []struct{ part, link string }{
		{spec.Forward, ""}, {spec.Rebalance, ""}, {spec.Hash, ""}, {spec.Broadcast, ""},
		{spec.Forward, "64kb"}, {spec.Rebalance, "64kb"}, {spec.Hash, "64kb"}, {spec.Broadcast, "64kb"},
	} {
		part, link, name := test.part, "", test.part
		if test.link != "" {
			name += " over a link of " + test.link + "/s"
			link = ", bandwidth: " + test.link
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sent, received := &tally{counts: map[string]int{}}, &tally{counts: map[string]int{}}
				// A fast source and a slow one (whose buffers leave only by
				// the timeout), a middle task slowed down enough to
				// backpressure both, and tiny buffers.
				j := start(t, fmt.Sprintf(`
name: exactly-once-delivery
network: {buffer-size: 256b, buffers-per-channel: 1, floating-buffers-per-gate: 2, buffer-timeout: 50ms}
tasks:
  - {name: fast, operator: tally-generator, parallelism: 3, config: {count: 3000, keys: 50, skew: 1.2}}
  - {name: slow, operator: tally-generator, parallelism: 3, config: {count: 40, rate: 20, keys: 7}}
  - {name: middle, operator: passthrough, parallelism: 3, cost: 50us}
  - {name: sink, operator: tally-sink, parallelism: 3}
edges:
  - {from: fast, to: middle, partitioning: %[1]s}
  - {from: slow, to: middle, partitioning: %[1]s}
  - {from: middle, to: sink, partitioning: %[1]s%[2]s}
`, part, link), tallyOperators(sent, received))
				<-j.Done()
				require.NoError(t, j.Err())
				want := sent.counts
				if part == spec.Broadcast {
					want = map[string]int{}
					for k, n := range sent.counts {
						want[k] = n * 3 * 3 // two broadcast edges into three subtasks each
					}
				}
				assert.Equal(t, want, received.counts)
				assert.Len(t, sent.counts, 50) // the slow source's 7 keys are among the fast one's 50
			})
		})
	}
}

func TestMetrics_SlowLinkIsTheBottleneck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Records of 37 bytes at 2000/s need 74 kB/s; the link carries 32 KiB/s.
		j := start(t, `
name: slow-link
network: {buffer-size: 1kb}
tasks:
  - {name: source, operator: generator, config: {rate: 2000, keys: 10}}
  - {name: sink, operator: discard}
edges:
  - {from: source, to: sink, bandwidth: 32kb}
`, nil)
		snap := settle(j, 5*time.Second)
		assertAccounted(t, snap)
		source, sink := vertex(t, snap, "source").Subtasks[0], vertex(t, snap, "sink").Subtasks[0]
		assert.Greater(t, source.BackPressuredTimeMsPerSecond, 900.0, "the sender waits for the link")
		assert.Equal(t, 1.0, source.OutPoolUsage, "its output buffers queue for the link")
		assert.Greater(t, sink.IdleTimeMsPerSecond, 990.0, "the receiver waits for data")
		assert.Less(t, sink.InPoolUsage, 0.2, "its input buffers are empty")
		const recordsPerBuffer = 1024 / 37
		assert.InDelta(t, 32*recordsPerBuffer, sink.NumRecordsInPerSecond, 32*recordsPerBuffer*0.05, "32 buffers a second cross")
	})
}

// TestMetrics_PoolUsagesAgree samples every tick of jobs over every edge kind,
// with and without a slow link, and checks that buffers.inPoolUsage is the
// exclusive and floating usages weighted by their buffers, as in Flink (a
// buffer is in use while it holds data, not while its data is on the link);
// and that a link-bound edge shows full output pools upstream and empty
// input pools downstream.
func TestMetrics_PoolUsagesAgree(t *testing.T) {
	const perChannel, floating = 2, 8
	for _, part := range []string{spec.Forward, spec.Rebalance, spec.Hash, spec.Broadcast} {
		for _, link := range []bool{false, true} {
			// Two sources of 37-byte records at 2000/s each: over a link of
			// 32 KiB/s per channel every channel is link-bound; without one,
			// the sinks are too slow instead.
			name, sink := part, "{name: sink, operator: discard, parallelism: 2, cost: 600us}"
			bandwidth := ""
			if link {
				name += " over a slow link"
				sink = "{name: sink, operator: discard, parallelism: 2}"
				bandwidth = ", bandwidth: 32kb"
			}
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					j := start(t, fmt.Sprintf(`
name: pool-usages
network: {buffer-size: 1kb, buffers-per-channel: %d, floating-buffers-per-gate: %d}
tasks:
  - {name: source, operator: generator, parallelism: 2, config: {rate: 2000, keys: 100}}
  - %s
edges:
  - {from: source, to: sink, partitioning: %s%s}
`, perChannel, floating, sink, part, bandwidth), nil)
					channels := 2 // per sink gate: one from each source subtask
					if part == spec.Forward {
						channels = 1
					}
					exclusiveTotal := float64(channels * perChannel)
					total := exclusiveTotal + floating
					for i := range 50 { // 5 s
						<-j.Updated()
						snap := j.Snapshot()
						for _, s := range vertex(t, snap, "sink").Subtasks {
							assert.InDelta(t, s.InPoolUsage*total,
								s.InputExclusiveBuffersUsage*exclusiveTotal+s.InputFloatingBuffersUsage*floating, 1e-9,
								"tick %d, sink[%d]: %+v", i, s.Subtask, s)
							if link && i >= 10 {
								assert.LessOrEqual(t, s.InPoolUsage, 0.1, "tick %d, sink[%d]: its input buffers are empty", i, s.Subtask)
							}
						}
						for _, s := range vertex(t, snap, "source").Subtasks {
							if link && i >= 10 {
								assert.GreaterOrEqual(t, s.OutPoolUsage, 0.8, "tick %d, source[%d]: its output buffers wait for the link", i, s.Subtask)
							}
						}
					}
				})
			})
		}
	}
}
