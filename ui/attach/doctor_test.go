package attach

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime/doctor"
	"flowlab/runtime/metrics"
)

// work is what a subtask does at an instant d after the first poll (before
// it if negative): ms per second busy and backpressured; idle is the rest.
type work func(d time.Duration) (busy, bp float64)

func steady(busy, bp float64) work {
	return func(time.Duration) (float64, float64) { return busy, bp }
}

// swing is busy high for the first on of every period (a timer or a window
// firing), low the rest of it.
func swing(period, on time.Duration, high, low float64) work {
	return func(d time.Duration) (float64, float64) {
		if (d%period+period)%period < on {
			return high, 0
		}
		return low, 0
	}
}

// mean is w's average over [from, to), both multiples of 100 ms.
func mean(w work, from, to time.Duration) (busy, bp float64) {
	const step = 100 * time.Millisecond
	n := 0.0
	for d := from + step/2; d < to; d += step {
		b, p := w(d)
		busy, bp, n = busy+b, bp+p, n+1
	}
	return busy / n, bp / n
}

// javaDouble writes x as Java's String.valueOf(double) does, for values
// below 10^7: "960.0", "610.5", "NaN".
func javaDouble(x float64) string {
	if math.IsNaN(x) {
		return "NaN"
	}
	s := strconv.FormatFloat(x, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// The test data's "now": the job has run since its switch to RUNNING 596 s
// before it.
const (
	dataNow = 1718000600000
	running = 596 * time.Second
)

// flinkJob plays the "Click Analytics" job of a fake Flink: before each poll
// it sets, from what each subtask does, what Flink's metric fetcher would
// have fetched by then: the windowed gauges (busy, idle, backpressured;
// 1.19's soft and hard; isBackPressured) and, in 1.19, the accumulated
// times of the vertex details and their sums in the job details.
type flinkJob struct {
	f       *fakeFlink
	version string
	t0      time.Time // the first poll
	work    map[string][]work
	legacy  bool // the source is a legacy SourceFunction: busy time NaN
	webUI   bool // Flink's web UI is open: it refreshes the metric store too
}

// fetchInterval is the test data's metrics.fetcher.update-interval.
func (j *flinkJob) fetchInterval() time.Duration {
	if j.version == "1.13" {
		return 10 * time.Second
	}
	return 2 * time.Second
}

// refreshed is when Flink's metric store was last refreshed before the poll
// at d. Flink's MetricFetcherImpl refreshes it on demand: a request more
// than the fetcher's interval after the last refresh starts one, and is
// answered from the store as it was (the refresh is asynchronous). Alone,
// attach is answered as of its poll (as if refreshed just before). With the
// web UI open, its requests every 3 s (/config's refresh-interval, here half
// a second after attach's) start refreshes too, and some polls are answered
// from the same refresh as the poll before.
func (j *flinkJob) refreshed(d time.Duration) time.Duration {
	if !j.webUI {
		return d
	}
	var requests []time.Duration
	for at := -time.Minute; at < d; at += j.fetchInterval() {
		requests = append(requests, at)
	}
	for at := -time.Minute + 500*time.Millisecond; at < d; at += 3 * time.Second {
		requests = append(requests, at)
	}
	slices.Sort(requests)
	last := requests[0]
	for _, at := range requests {
		if at-last > j.fetchInterval() {
			last = at
		}
	}
	return last
}

// window is what Flink's time gauges average over (version.windowMs).
func (j *flinkJob) window() time.Duration {
	if j.version == "1.13" {
		return 5 * time.Second
	}
	return 60 * time.Second
}

// metric names a metric as the test data of the version does: 1.19's has
// the buffer usages only under Shuffle.Netty.
func (j *flinkJob) metric(name string) string {
	if j.version == "1.13" {
		return name
	}
	return strings.NewReplacer("buffers.inPoolUsage", "Shuffle.Netty.Input.Buffers.inPoolUsage",
		"buffers.outPoolUsage", "Shuffle.Netty.Output.Buffers.outPoolUsage").Replace(name)
}

// answer sets the answers of the poll at d after the first.
func (j *flinkJob) answer(d time.Duration) {
	now := float64(j.t0.Add(d).UnixMilli())
	d = j.refreshed(d)
	f, jid := j.f, clicks
	f.edit("/jobs/"+jid, func(doc any) { doc.(map[string]any)["now"] = now })
	for vid, subs := range j.work {
		legacy := j.legacy && vid == source
		var sumBusy, sumIdle, sumBP float64
		accs := make([][3]float64, len(subs))
		for i, w := range subs {
			busy, bp := mean(w, d-j.window(), d)
			idle, bp := math.Round(1000-busy-bp), math.Round(bp)
			busy = 1000 - min(idle+bp, 1000) // as Flink derives it
			if legacy {
				busy, idle = math.NaN(), 0
			}
			_, bpNow := w(d)
			set := func(name, value string) { f.setMetric(jid, vid, strconv.Itoa(i)+"."+name, value) }
			set("busyTimeMsPerSecond", javaDouble(busy))
			set("idleTimeMsPerSecond", strconv.FormatFloat(idle, 'f', 0, 64))
			set("backPressuredTimeMsPerSecond", strconv.FormatFloat(bp, 'f', 0, 64))
			set("isBackPressured", strconv.FormatBool(bpNow > 0))
			if j.version != "1.13" {
				set("softBackPressuredTimeMsPerSecond", strconv.FormatFloat(bp, 'f', 0, 64))
				set("hardBackPressuredTimeMsPerSecond", "0")
				if bp == 0 {
					set("maxSoftBackPressureTimeMs", "0")
				}
			}
			// Accumulated since the task started: idle and backpressured
			// are counted, busy is the rest (NaN for a legacy source).
			elapsed := float64((running + d).Milliseconds())
			b, p := mean(w, -running, d)
			accIdle, accBP := math.Round((1000-b-p)*elapsed/1000), math.Round(p*elapsed/1000)
			accBusy := elapsed - accIdle - accBP
			if legacy {
				accBusy, accIdle = math.NaN(), 0
			}
			accs[i] = [3]float64{accBusy, accIdle, accBP}
			sumBusy, sumIdle, sumBP = sumBusy+accBusy, sumIdle+accIdle, sumBP+accBP
		}
		if j.version == "1.13" { // no accumulated times before 1.16
			continue
		}
		accumulated := func(m map[string]any, acc [3]float64) {
			if math.IsNaN(acc[0]) {
				m["accumulated-busy-time"] = "NaN" // as Jackson writes a double that is not a number
			} else {
				m["accumulated-busy-time"] = acc[0]
			}
			m["accumulated-idle-time"], m["accumulated-backpressured-time"] = acc[1], acc[2]
		}
		f.edit("/jobs/"+jid+"/vertices/"+vid, func(doc any) {
			doc.(map[string]any)["now"] = now
			for i, s := range doc.(map[string]any)["subtasks"].([]any) {
				accumulated(s.(map[string]any)["metrics"].(map[string]any), accs[i])
			}
		})
		f.edit("/jobs/"+jid, func(doc any) {
			for _, v := range doc.(map[string]any)["vertices"].([]any) {
				if v := v.(map[string]any); v["id"] == vid {
					accumulated(v["metrics"].(map[string]any), [3]float64{sumBusy, sumIdle, sumBP})
				}
			}
		})
	}
}

// shiftTimes moves every time of the test data (ms since the epoch) by the
// same amount, so that its "now" is t0: the job has run 596 s at the first
// poll in a synctest bubble too.
func shiftTimes(f *fakeFlink, t0 time.Time) {
	by := float64(t0.UnixMilli() - dataNow)
	var shift func(x any)
	shift = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			for k, v := range x {
				if n, ok := v.(float64); ok && n > 1e12 && (strings.HasSuffix(k, "time") || k == "now" ||
					k == "last-modification" || k == "timestamp" || k == "start_time" || k == strings.ToUpper(k)) {
					x[k] = n + by
				} else {
					shift(v)
				}
			}
		case []any:
			for _, v := range x {
				shift(v)
			}
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, doc := range f.docs {
		shift(*doc.(*any))
	}
}

// kafkaSource makes the job's source a Source API (FLIP-27) one, as
// fromSource(..., "Kafka Source") names it: it has a busy time.
func kafkaSource(f *fakeFlink) {
	f.edit("/jobs/"+clicks, func(doc any) {
		for _, v := range doc.(map[string]any)["vertices"].([]any) {
			if v := v.(map[string]any); v["id"] == source {
				v["name"] = "Source: Kafka Source -> Map"
			}
		}
		for _, n := range doc.(map[string]any)["plan"].(map[string]any)["nodes"].([]any) {
			if n := n.(map[string]any); n["id"] == source {
				n["description"] = "Source: Kafka Source<br/>+- Map"
			}
		}
	})
	f.edit("/jobs/"+clicks+"/vertices/"+source, func(doc any) { doc.(map[string]any)["name"] = "Source: Kafka Source -> Map" })
	f.mu.Lock()
	defer f.mu.Unlock()
	list := f.metrics["/jobs/"+clicks+"/vertices/"+source+"/metrics"]
	for i := range list {
		list[i].ID = strings.Replace(list[i].ID, ".Source__Custom_Source.", ".Source__Kafka_Source.", 1)
	}
}

// found is what a test checks of a finding.
type found struct {
	Kind     doctor.Kind
	Tasks    []string
	Subtasks []doctor.Subtask
	PeriodMs int64
}

func summary(fs []doctor.Finding) []found {
	out := []found{}
	for _, f := range fs {
		out = append(out, found{f.Kind, f.Tasks, f.Subtasks, f.PeriodMs})
	}
	return out
}

// TestCluster_Doctor polls a fake Flink cluster whose subtasks do what a
// Flink expert would diagnose as each kind of finding, through a real
// Cluster on a fake clock, and feeds the snapshots to the doctor.
//
// The job is the test data's: Source -> Map (2) -HASH-> KeyedProcess -> Map
// (2) -REBALANCE-> Map -FORWARD-> Sink. Flink 1.13's fetcher refreshes the
// metrics every 10 s (its default) and its gauges average over 5 s; 1.19's
// every 2 s, averaging over 60 s, with accumulated times in the vertex
// details, which the doctor reads the varying load from. Each case polls
// for 150 s of fake time, at attach's interval (the fetcher's), and checks
// what a Doctor holds at the end and the pure verdict on all the snapshots.
func TestCluster_Doctor(t *testing.T) {
	const (
		kafka  = "Source: Kafka Source -> Map"
		custom = "Source: Custom Source -> Map"
		kp     = "KeyedProcess -> Map"
	)
	for _, tc := range []struct {
		name   string
		legacy bool                         // the source is a legacy SourceFunction, as in the test data
		webUI  bool                         // Flink's web UI is open (flinkJob.refreshed)
		work   map[string][]work            // what subtasks do, beyond calm(): by vertex
		set    map[string]map[string]string // metrics beyond calm(): buffers.* as 1.13 names them
		want   []found
		want13 []found // Flink 1.13's verdict, if it differs
	}{{
		// The keyed operator cannot keep up on either subtask: the source
		// waits with full output buffers, its input buffers are full.
		name: "bottleneck",
		work: map[string][]work{source: {steady(100, 850), steady(110, 820)}, keyed: {steady(980, 0), steady(960, 0)}},
		set: map[string]map[string]string{
			source: {"0.buffers.outPoolUsage": "1.0", "1.buffers.outPoolUsage": "1.0"},
			keyed:  {"0.buffers.inPoolUsage": "1.0", "1.buffers.inPoolUsage": "0.9"},
		},
		want: []found{{Kind: doctor.Bottleneck, Tasks: []string{kp, kafka}, Subtasks: []doctor.Subtask{{Task: kp}, {Task: kp, Subtask: 1}}}},
	}, {
		// A hot key: subtask 0 takes 19 times the records of subtask 1.
		name: "skew",
		work: map[string][]work{keyed: {steady(750, 0), steady(120, 0)}},
		set:  map[string]map[string]string{keyed: {"0.numRecordsInPerSecond": "3800.0", "1.numRecordsInPerSecond": "200.0"}},
		want: []found{{Kind: doctor.Skew, Tasks: []string{kp}, Subtasks: []doctor.Subtask{{Task: kp}}}},
	}, {
		// A legacy source, not backpressured, nothing downstream busy: it
		// may itself be what limits the job.
		name:   "legacy-source",
		legacy: true,
		work:   map[string][]work{source: {steady(900, 0), steady(900, 0)}},
		want:   []found{{Kind: doctor.LegacySource, Tasks: []string{custom}}},
	}, {
		// The test data's own story: a legacy source backpressured by the
		// keyed operator.
		name:   "legacy-source behind a bottleneck",
		legacy: true,
		work:   map[string][]work{source: {steady(150, 850), steady(180, 820)}, keyed: {steady(960, 0), steady(610, 0)}},
		set: map[string]map[string]string{
			source: {"0.buffers.outPoolUsage": "1.0", "1.buffers.outPoolUsage": "1.0"},
			keyed:  {"0.buffers.inPoolUsage": "1.0", "1.buffers.inPoolUsage": "0.6"},
		},
		want: []found{
			{Kind: doctor.Bottleneck, Tasks: []string{kp, custom}, Subtasks: []doctor.Subtask{{Task: kp}, {Task: kp, Subtask: 1}}},
			{Kind: doctor.LegacySource, Tasks: []string{custom}},
		},
	}, {
		// The source waits with full output buffers; the keyed operator
		// idles with empty input buffers: the records are on the wire.
		name: "network",
		work: map[string][]work{source: {steady(60, 900), steady(70, 880)}, keyed: {steady(150, 0), steady(140, 0)}},
		set: map[string]map[string]string{
			source: {"0.buffers.outPoolUsage": "1.0", "1.buffers.outPoolUsage": "1.0"},
			keyed:  {"0.buffers.inPoolUsage": "0.05", "1.buffers.inPoolUsage": "0.0"},
		},
		want: []found{{Kind: doctor.Network, Tasks: []string{kafka, kp}}},
	}, {
		// Timers fire every 10 s: busy 5 s, then idle. 1.19's accumulated
		// times show it every 2 s. 1.13 has none, and its 5 s gauges, fetched
		// every 10 s, see the same half of each period every time: the
		// doctor cannot tell, and the job looks healthy (underused).
		name:   "varying-load every 10 s",
		work:   map[string][]work{keyed: {swing(10*time.Second, 5*time.Second, 950, 50), swing(10*time.Second, 5*time.Second, 950, 50)}},
		want:   []found{{Kind: doctor.VaryingLoad, Tasks: []string{kp}, PeriodMs: 10_000}},
		want13: []found{{Kind: doctor.Healthy, Tasks: []string{kafka}}},
	}, {
		// Windows fire every 30 s: busy 10 s, then idle. Fetched every 10 s,
		// 1.13's 5 s gauges show it too.
		name: "varying-load every 30 s",
		work: map[string][]work{keyed: {swing(30*time.Second, 10*time.Second, 950, 50), swing(30*time.Second, 10*time.Second, 950, 50)}},
		want: []found{{Kind: doctor.VaryingLoad, Tasks: []string{kp}, PeriodMs: 30_000}},
	}, {
		// Busy, but keeping up; a little backpressure at the source is fine.
		name: "healthy",
		work: map[string][]work{source: {steady(350, 50), steady(340, 40)}, keyed: {steady(620, 0), steady(580, 0)}},
		want: []found{{Kind: doctor.Healthy, Tasks: []string{kp}}},
	}, {
		// The same, with Flink's web UI open: some polls are answered from
		// the refresh the poll before saw, and the accumulated times have
		// not moved. A steady load, still.
		name:  "healthy, with the web UI open",
		webUI: true,
		work:  map[string][]work{source: {steady(350, 50), steady(340, 40)}, keyed: {steady(620, 0), steady(580, 0)}},
		want:  []found{{Kind: doctor.Healthy, Tasks: []string{kp}}},
	}} {
		for _, version := range []string{"1.13", "1.19"} {
			t.Run(tc.name+"/"+version, func(t *testing.T) {
				want := tc.want
				if version == "1.13" && tc.want13 != nil {
					want = tc.want13
				}
				synctest.Test(t, func(t *testing.T) {
					f := newFakeFlink(t, version)
					j := &flinkJob{f: f, version: version, t0: time.Now(), legacy: tc.legacy, webUI: tc.webUI, work: calm()}
					shiftTimes(f, j.t0)
					if !tc.legacy {
						kafkaSource(f)
					}
					for vid, w := range tc.work {
						j.work[vid] = w
					}
					for vid, m := range calmPools() {
						for id, value := range m {
							f.setMetric(clicks, vid, j.metric(id), value)
						}
					}
					for vid, m := range tc.set {
						for id, value := range m {
							f.setMetric(clicks, vid, j.metric(id), value)
						}
					}
					j.answer(0)

					c := runFake(t, f)
					interval := c.Status().Interval
					require.Equal(t, j.fetchInterval(), interval, "attach polls as often as Flink's fetcher refreshes")
					job := c.Job(clicks)
					require.NotNil(t, job)
					d := doctor.New()
					var history []*metrics.Job
					observe := func() {
						s := job.Snapshot()
						require.NotNil(t, s)
						if n := len(history); n > 0 {
							require.NotSame(t, history[n-1], s, "a snapshot every poll")
						}
						history = append(history, s)
						d.Observe(s)
					}
					observe()
					for at := interval; at <= 150*time.Second; at += interval {
						j.answer(at)
						time.Sleep(interval)
						synctest.Wait()
						observe()
					}
					assert.Equal(t, want, summary(d.Findings()))
					assert.Equal(t, want, summary(doctor.Diagnose(history)), "the pure verdict agrees")
				})
			})
		}
	}
}

// calm is a job that keeps up with room to spare: every subtask a little
// busy, none backpressured.
func calm() map[string][]work {
	return map[string][]work{
		source: {steady(200, 0), steady(190, 0)},
		keyed:  {steady(300, 0), steady(280, 0)},
		mapper: {steady(120, 0)},
		sink:   {steady(50, 0)},
	}
}

// calmPools are the buffer usages of a calm job: few buffers in use.
func calmPools() map[string]map[string]string {
	return map[string]map[string]string{
		source: {"0.buffers.outPoolUsage": "0.1", "1.buffers.outPoolUsage": "0.1"},
		keyed: {"0.buffers.inPoolUsage": "0.1", "1.buffers.inPoolUsage": "0.1",
			"0.buffers.outPoolUsage": "0.1", "1.buffers.outPoolUsage": "0.05"},
		mapper: {"0.buffers.inPoolUsage": "0.1", "0.buffers.outPoolUsage": "0.0"},
		sink:   {"0.buffers.inPoolUsage": "0.0"},
	}
}
