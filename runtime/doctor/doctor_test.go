package doctor_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime/doctor"
	"flowlab/runtime/metrics"
)

// Synthetic snapshots: a job is tasks in order with the edges between
// them; each subtask has its windowed time metrics and the accumulated
// times they imply since the attempt started.

const t0 = int64(1_700_000_000_000) // when the attempt started, ms

// st is a subtask busy and backpressured for so many ms/s, idle the rest.
func st(busy, bp float64, opts ...func(*metrics.Subtask)) metrics.Subtask {
	s := metrics.Subtask{
		BusyTimeMsPerSecond:          metrics.Float(busy),
		BackPressuredTimeMsPerSecond: bp,
		IdleTimeMsPerSecond:          1000 - bp - busy,
	}
	if math.IsNaN(busy) {
		s.IdleTimeMsPerSecond = 1000 - bp
	}
	for _, o := range opts {
		o(&s)
	}
	return s
}

func rate(in float64) func(*metrics.Subtask) {
	return func(s *metrics.Subtask) { s.NumRecordsInPerSecond = in }
}

func pools(in, out float64) func(*metrics.Subtask) {
	return func(s *metrics.Subtask) { s.InPoolUsage, s.OutPoolUsage = in, out }
}

type tk struct {
	name string
	subs []metrics.Subtask
}

func task(name string, subs ...metrics.Subtask) tk { return tk{name, subs} }

// job is a RUNNING snapshot at ms since the attempt started; edges are "a->b".
func job(at int64, tasks []tk, edges ...string) *metrics.Job {
	s := &metrics.Job{Name: "test", State: metrics.StateRunning, Since: t0, WindowMs: 2000, Timestamp: t0 + at}
	for _, t := range tasks {
		subs := make([]metrics.Subtask, len(t.subs))
		for k, sub := range t.subs {
			sub.Subtask = k
			sub.AccumulatedBusyTime = metrics.Float(float64(sub.BusyTimeMsPerSecond) * float64(at) / 1000)
			sub.AccumulatedBackPressuredTime = int64(sub.BackPressuredTimeMsPerSecond * float64(at) / 1000)
			sub.AccumulatedIdleTime = int64(sub.IdleTimeMsPerSecond * float64(at) / 1000)
			subs[k] = sub
		}
		s.Vertices = append(s.Vertices, metrics.NewVertex(t.name, t.name, "op", subs, s.Timestamp))
	}
	for _, e := range edges {
		from, to, _ := strings.Cut(e, "->")
		s.Edges = append(s.Edges, metrics.Edge{Source: from, Target: to, Partitioning: "hash"})
	}
	return s
}

// steady is a history of ten snapshots of the same metrics, one a second.
func steady(tasks []tk, edges ...string) []*metrics.Job {
	var h []*metrics.Job
	for i := range 10 {
		h = append(h, job(int64(i+1)*1000, tasks, edges...))
	}
	return h
}

func kinds(fs []doctor.Finding) []doctor.Kind {
	ks := []doctor.Kind{}
	for _, f := range fs {
		ks = append(ks, f.Kind)
	}
	return ks
}

func find(fs []doctor.Finding, k doctor.Kind) doctor.Finding {
	for _, f := range fs {
		if f.Kind == k {
			return f
		}
	}
	return doctor.Finding{}
}

var chain = []string{"source->map", "map->sink"}

func TestDiagnose_Bottleneck(t *testing.T) {
	for _, test := range []struct {
		name     string
		tasks    []tk
		edges    []string
		want     []doctor.Kind
		tasks0   [][]string // Tasks of each bottleneck finding
		subtasks []doctor.Subtask
	}{
		{
			name: "the red after the black",
			tasks: []tk{task("source", st(0, 950, pools(0, 1))), task("map", st(100, 900, pools(1, 1))),
				task("sink", st(990, 0, pools(1, 0)))},
			edges: chain, want: []doctor.Kind{doctor.Bottleneck},
			tasks0: [][]string{{"sink", "map", "source"}}, subtasks: []doctor.Subtask{{"sink", 0}},
		},
		{
			name: "a busy task that waits on a busier one is not it",
			tasks: []tk{task("source", st(0, 990)), task("map", st(550, 450)),
				task("sink", st(1000, 0))},
			edges: chain, want: []doctor.Kind{doctor.Bottleneck},
			tasks0: [][]string{{"sink", "map", "source"}}, subtasks: []doctor.Subtask{{"sink", 0}},
		},
		{
			name: "the first busy task, not the last",
			tasks: []tk{task("source", st(0, 990)), task("map", st(1000, 0)),
				task("sink", st(700, 0))},
			edges: chain, want: []doctor.Kind{doctor.Bottleneck},
			tasks0: [][]string{{"map", "source"}}, subtasks: []doctor.Subtask{{"map", 0}},
		},
		{
			name: "every busy subtask, busiest first",
			tasks: []tk{task("source", st(0, 990)),
				task("map", st(900, 0), st(1000, 0), st(300, 0))},
			edges: []string{"source->map"}, want: []doctor.Kind{doctor.Bottleneck},
			tasks0: [][]string{{"map", "source"}}, subtasks: []doctor.Subtask{{"map", 1}, {"map", 0}},
		},
		{
			name: "a diamond: the slow branch, not the idle one",
			tasks: []tk{task("source", st(0, 800, pools(0, 1)), st(0, 790, pools(0, 1))),
				task("fast", st(0, 0, pools(0, 0)), st(0, 0, pools(0, 0))),
				task("slow", st(760, 0), st(1000, 0)),
				task("enrich", st(60, 0), st(70, 0)),
				task("sink", st(10, 0), st(10, 0))},
			edges: []string{"source->fast", "source->slow", "slow->enrich", "fast->sink", "enrich->sink"},
			want:  []doctor.Kind{doctor.Bottleneck}, tasks0: [][]string{{"slow", "source"}},
			subtasks: []doctor.Subtask{{"slow", 1}, {"slow", 0}},
		},
		{
			name: "a diamond: the sink with two inputs",
			tasks: []tk{task("source", st(0, 900)), task("fast", st(10, 950)), task("slow", st(300, 650)),
				task("enrich", st(20, 970)), task("sink", st(1000, 0))},
			edges:  []string{"source->fast", "source->slow", "slow->enrich", "fast->sink", "enrich->sink"},
			want:   []doctor.Kind{doctor.Bottleneck},
			tasks0: [][]string{{"sink", "fast", "enrich", "source", "slow"}}, subtasks: []doctor.Subtask{{"sink", 0}},
		},
		{
			name: "two pipelines, two bottlenecks, the busiest first",
			tasks: []tk{task("a", st(0, 900)), task("a-sink", st(800, 0)),
				task("b", st(0, 900)), task("b-sink", st(1000, 0))},
			edges:  []string{"a->a-sink", "b->b-sink"},
			want:   []doctor.Kind{doctor.Bottleneck, doctor.Bottleneck},
			tasks0: [][]string{{"b-sink", "b"}, {"a-sink", "a"}}, subtasks: []doctor.Subtask{{"b-sink", 0}},
		},
		{
			name:  "low backpressure is no bottleneck",
			tasks: []tk{task("source", st(0, 400)), task("sink", st(600, 0))},
			edges: []string{"source->sink"}, want: []doctor.Kind{doctor.Healthy},
		},
	} {
		t.Run(test.name, func(t *testing.T) {
			fs := doctor.Diagnose(steady(test.tasks, test.edges...))
			require.Equal(t, test.want, kinds(fs))
			for i, tasks := range test.tasks0 {
				assert.Equal(t, tasks, fs[i].Tasks)
				assert.Equal(t, tasks[0]+" is the bottleneck", fs[i].Title)
				assert.NotEmpty(t, fs[i].Advice)
				assert.Equal(t, t0+10_000, fs[i].Since)
			}
			if test.subtasks != nil {
				assert.Equal(t, test.subtasks, fs[0].Subtasks)
			}
		})
	}
}

func TestDiagnose_Bottleneck_Evidence(t *testing.T) {
	fs := doctor.Diagnose(steady([]tk{task("source", st(0, 950)), task("map", st(100, 900)),
		task("sink", st(985, 0, pools(0.97, 0)))}, chain...))
	require.Len(t, fs, 1)
	var texts []string
	for _, e := range fs[0].Evidence {
		texts = append(texts, e.Text)
	}
	assert.Equal(t, []string{"sink busy 985 ms/s", "sink input buffers 97% full",
		"map backpressured 900 ms/s", "source backpressured 950 ms/s"}, texts)
	assert.Equal(t, doctor.Evidence{Task: "sink", Metric: "busyTimeMsPerSecond", Value: 985, Text: "sink busy 985 ms/s"}, fs[0].Evidence[0])
}

func TestDiagnose_Skew(t *testing.T) {
	hot := func(busy float64, in float64) metrics.Subtask { return st(busy, 0, rate(in)) }
	for _, test := range []struct {
		name     string
		tasks    []tk
		want     []doctor.Kind
		subtasks []doctor.Subtask
	}{
		{
			name: "a hot key behind backpressure",
			tasks: []tk{task("source", st(0, 900)),
				task("count", hot(150, 150), hot(120, 120), hot(1000, 1000), hot(100, 100))},
			want: []doctor.Kind{doctor.Bottleneck, doctor.Skew}, subtasks: []doctor.Subtask{{"count", 2}},
		},
		{
			name: "without backpressure",
			tasks: []tk{task("source", st(0, 0)),
				task("count", hot(700, 700), hot(50, 50), hot(40, 40), hot(60, 60))},
			want: []doctor.Kind{doctor.Skew}, subtasks: []doctor.Subtask{{"count", 0}},
		},
		{
			name: "two of four",
			tasks: []tk{task("source", st(0, 900)),
				task("count", hot(1000, 500), hot(950, 450), hot(40, 40), hot(60, 60))},
			want: []doctor.Kind{doctor.Bottleneck, doctor.Skew}, subtasks: []doctor.Subtask{{"count", 0}, {"count", 1}},
		},
		{
			name:  "even load is no skew",
			tasks: []tk{task("source", st(0, 900)), task("count", hot(1000, 500), hot(900, 450))},
			want:  []doctor.Kind{doctor.Bottleneck},
		},
		{
			name:  "skewed but idle is no skew",
			tasks: []tk{task("source", st(0, 0)), task("count", hot(300, 300), hot(0, 0))},
			want:  []doctor.Kind{doctor.Healthy},
		},
	} {
		t.Run(test.name, func(t *testing.T) {
			fs := doctor.Diagnose(steady(test.tasks, "source->count"))
			require.Equal(t, test.want, kinds(fs))
			if test.want[0] == doctor.Bottleneck {
				assert.Equal(t, test.subtasks != nil, strings.Contains(fs[0].Advice, "see the skew finding"), fs[0].Advice)
			}
			if test.subtasks == nil {
				return
			}
			f := find(fs, doctor.Skew)
			assert.Equal(t, []string{"count"}, f.Tasks)
			assert.Equal(t, test.subtasks, f.Subtasks)
			assert.Contains(t, f.Advice, "More parallelism will not help")
			assert.Contains(t, f.Advice, "salt")
			assert.Equal(t, "dataSkew", f.Evidence[len(f.Evidence)-1].Metric)
			assert.Greater(t, f.Evidence[len(f.Evidence)-1].Value, 50.0)
		})
	}
}

func TestDiagnose_LegacySource(t *testing.T) {
	nan := math.NaN()
	for _, test := range []struct {
		name  string
		tasks []tk
		want  []doctor.Kind
		title string
	}{
		{
			name:  "nothing busy: it may hide the bottleneck",
			tasks: []tk{task("source", st(nan, 0)), task("map", st(200, 0)), task("sink", st(100, 0))},
			want:  []doctor.Kind{doctor.LegacySource}, title: "source may be the bottleneck: its busy time is unknown",
		},
		{
			name:  "backpressured: the bottleneck is downstream",
			tasks: []tk{task("source", st(nan, 990)), task("map", st(1000, 0)), task("sink", st(0, 0))},
			want:  []doctor.Kind{doctor.Bottleneck, doctor.LegacySource}, title: "source is a legacy source: its busy time is unknown",
		},
		{
			name:  "something busy downstream, nothing backpressured",
			tasks: []tk{task("source", st(nan, 0)), task("map", st(700, 0)), task("sink", st(0, 0))},
			want:  []doctor.Kind{doctor.LegacySource}, title: "source is a legacy source: its busy time is unknown",
		},
		{
			name:  "a single task",
			tasks: []tk{task("source", st(nan, 0))},
			want:  []doctor.Kind{doctor.LegacySource}, title: "source may be the bottleneck: its busy time is unknown",
		},
	} {
		t.Run(test.name, func(t *testing.T) {
			var edges []string
			if len(test.tasks) > 1 {
				edges = chain
			}
			fs := doctor.Diagnose(steady(test.tasks, edges...))
			require.Equal(t, test.want, kinds(fs))
			f := find(fs, doctor.LegacySource)
			assert.Equal(t, "source", f.Tasks[0])
			assert.Equal(t, test.title, f.Title)
			assert.True(t, math.IsNaN(f.Evidence[0].Value))
			assert.Contains(t, f.Advice, "FLIP-27")
			b, err := json.Marshal(f)
			require.NoError(t, err)
			assert.Contains(t, string(b), `"metric":"busyTimeMsPerSecond","value":null,"text":"source busy N/A"`)
		})
	}
}

func TestDiagnose_Network(t *testing.T) {
	nan := math.NaN()
	for _, test := range []struct {
		name             string
		parseOut, sinkIn float64
		sinkBusy         float64
		want             []doctor.Kind
	}{
		{name: "full output, empty input", parseOut: 1, sinkIn: 0.05, sinkBusy: 40, want: []doctor.Kind{doctor.Network}},
		{name: "usages missing", parseOut: nan, sinkIn: nan, sinkBusy: 40, want: []doctor.Kind{doctor.Network}},
		{name: "a full input is no network", parseOut: 1, sinkIn: 0.9, sinkBusy: 40, want: []doctor.Kind{}},
		{name: "output not full", parseOut: 0.3, sinkIn: 0, sinkBusy: 40, want: []doctor.Kind{}},
		{name: "a busy receiver is a bottleneck", parseOut: 1, sinkIn: 1, sinkBusy: 990, want: []doctor.Kind{doctor.Bottleneck}},
	} {
		t.Run(test.name, func(t *testing.T) {
			h := steady([]tk{task("source", st(0, 950, pools(0, 1))), task("parse", st(40, 960, pools(1, test.parseOut))),
				task("sink", st(test.sinkBusy, 0, pools(test.sinkIn, 0)))}, "source->parse", "parse->sink")
			for _, s := range h {
				s.Edges[1].Bandwidth = 8192
			}
			fs := doctor.Diagnose(h)
			require.Equal(t, test.want, kinds(fs))
			if len(fs) == 0 || fs[0].Kind != doctor.Network {
				return
			}
			f := fs[0]
			assert.Equal(t, []string{"parse", "sink"}, f.Tasks)
			assert.Equal(t, "the network between parse and sink is the bottleneck", f.Title)
			metricsUsed := map[string]bool{}
			for _, e := range f.Evidence {
				metricsUsed[e.Metric] = true
			}
			assert.True(t, metricsUsed["buffers.outPoolUsage"] && metricsUsed["buffers.inPoolUsage"] && metricsUsed["bandwidth"], "%+v", f.Evidence)
			_, err := json.Marshal(fs)
			require.NoError(t, err)
		})
	}
}

func TestDiagnose_Healthy(t *testing.T) {
	for _, test := range []struct {
		name          string
		tasks         []tk
		title, advice string
		task          string
	}{
		{"an unthrottled source is just working", []tk{task("source", st(1000, 0)), task("sink", st(300, 0))},
			"no backpressure", "emits as fast as it can", "source"},
		{"underutilized", []tk{task("source", st(10, 0)), task("sink", st(150, 0))},
			"no backpressure", "underutilized", "sink"},
		{"close to the limit", []tk{task("source", st(10, 0)), task("sink", st(900, 0))},
			"no backpressure", "close to its limit", "sink"},
		{"room to spare", []tk{task("source", st(10, 0)), task("sink", st(600, 0))},
			"no backpressure", "room for spikes", "sink"},
		{"a little backpressure", []tk{task("source", st(0, 300)), task("sink", st(700, 0))},
			"a little backpressure, which is fine", "absorbs spikes", "sink"},
		{"a single task", []tk{task("source", st(1000, 0))}, "no backpressure", "emits as fast as it can", "source"},
		{"zero everywhere (no metrics)", []tk{task("source", metrics.Subtask{}), task("sink", metrics.Subtask{})},
			"no backpressure", "underutilized", "source"},
	} {
		t.Run(test.name, func(t *testing.T) {
			var edges []string
			if len(test.tasks) > 1 {
				edges = []string{"source->sink"}
			}
			fs := doctor.Diagnose(steady(test.tasks, edges...))
			require.Equal(t, []doctor.Kind{doctor.Healthy}, kinds(fs))
			assert.Equal(t, test.title, fs[0].Title)
			assert.Contains(t, fs[0].Advice, test.advice)
			assert.Equal(t, []string{test.task}, fs[0].Tasks)
		})
	}
}

func TestDiagnose_NoVerdict(t *testing.T) {
	slow := []tk{task("source", st(0, 950)), task("sink", st(1000, 0))}
	running := func(at int64) *metrics.Job { return job(at, slow, "source->sink") }
	with := func(s *metrics.Job, change func(*metrics.Job)) *metrics.Job { change(s); return s }
	for _, test := range []struct {
		name    string
		history []*metrics.Job
		want    []doctor.Kind
	}{
		{"no history", nil, []doctor.Kind{}},
		{"nil snapshots", []*metrics.Job{nil, nil}, []doctor.Kind{}},
		{"less than a second of data", []*metrics.Job{running(500), running(900)}, []doctor.Kind{}},
		{"a second", []*metrics.Job{running(1000)}, []doctor.Kind{doctor.Bottleneck}},
		{"created", []*metrics.Job{with(running(5000), func(s *metrics.Job) { s.State = metrics.StateCreated })}, []doctor.Kind{}},
		{"restarting", []*metrics.Job{running(5000), with(running(6000), func(s *metrics.Job) { s.State = metrics.StateRestarting })}, []doctor.Kind{}},
		{"paused", []*metrics.Job{running(5000), with(running(6000), func(s *metrics.Job) { s.Paused = true })}, []doctor.Kind{}},
		{"ended: the last running snapshot", []*metrics.Job{running(5000), running(6000),
			with(job(6100, []tk{task("source", st(0, 0)), task("sink", st(0, 0))}, "source->sink"), func(s *metrics.Job) { s.State = metrics.StateCanceled })},
			[]doctor.Kind{doctor.Bottleneck}},
		{"ended without data", []*metrics.Job{with(running(100), func(s *metrics.Job) { s.State = metrics.StateFinished })}, []doctor.Kind{}},
		{"no vertices", []*metrics.Job{job(5000, nil)}, []doctor.Kind{}},
		{"a task's busy time unknown (Flink before its metric fetcher ran)", []*metrics.Job{
			job(5000, []tk{task("source", st(math.NaN(), 0)), task("sink", st(math.NaN(), 0))}, "source->sink")}, []doctor.Kind{}},
		{"an edge to nowhere", []*metrics.Job{job(5000, slow, "source->sink", "sink->nowhere", "nowhere->source")}, []doctor.Kind{doctor.Bottleneck}},
	} {
		t.Run(test.name, func(t *testing.T) {
			fs := doctor.Diagnose(test.history)
			require.NotNil(t, fs)
			assert.Equal(t, test.want, kinds(fs))
		})
	}
}

// wave is a history of tasks source -> sink every tick over d: the sink's
// busy time at each instant is busyAt(ms since start); its accumulated busy
// time follows it exactly, its windowed busy time is that of a 60 s window
// (the average so far) unless windowed says otherwise.
func wave(tick, d int64, busyAt func(int64) float64, windowed func(int64) float64) []*metrics.Job {
	var h []*metrics.Job
	acc := 0.0
	sum := 0.0
	for at := tick; at <= d; at += tick {
		b := busyAt(at - tick)
		acc += b * float64(tick) / 1000
		sum += b
		w := sum / float64(at/tick)
		if windowed != nil {
			w = windowed(at)
		}
		s := job(at, []tk{task("source", st(0, 1000-w)), task("sink", st(w, 0))}, "source->sink")
		s.WindowMs = 60_000
		sink := &s.Vertices[1].Subtasks[0]
		sink.AccumulatedBusyTime = metrics.Float(acc)
		if windowed != nil {
			sink.AccumulatedBusyTime, sink.AccumulatedIdleTime, sink.AccumulatedBackPressuredTime = 0, 0, 0
			s.Vertices[0].Subtasks[0].AccumulatedBusyTime = 0
			s.Vertices[0].Subtasks[0].AccumulatedIdleTime, s.Vertices[0].Subtasks[0].AccumulatedBackPressuredTime = 0, 0
		}
		h = append(h, s)
	}
	return h
}

// stale gives every third snapshot of h the accumulated times of the one
// before, as Flink answers when its metric fetcher has not refreshed them
// since the poll before (it fetches on demand, at most every
// metrics.fetcher.update-interval, and answers from what it had).
func stale(h []*metrics.Job) []*metrics.Job {
	for i := 2; i < len(h); i += 3 {
		for v := range h[i].Vertices {
			for k := range h[i].Vertices[v].Subtasks {
				s, p := &h[i].Vertices[v].Subtasks[k], &h[i-1].Vertices[v].Subtasks[k]
				s.AccumulatedBusyTime, s.AccumulatedIdleTime, s.AccumulatedBackPressuredTime =
					p.AccumulatedBusyTime, p.AccumulatedIdleTime, p.AccumulatedBackPressuredTime
			}
		}
	}
	return h
}

// square is busy for half of every period, idle the other half.
func square(period int64) func(int64) float64 {
	return func(at int64) float64 {
		if at%period < period/2 {
			return 1000
		}
		return 0
	}
}

func TestDiagnose_VaryingLoad(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	noise := make([]float64, 1000)
	for i := range noise {
		noise[i] = rng.Float64() * 1000
	}
	for _, test := range []struct {
		name    string
		history []*metrics.Job
		period  int64 // 0: no varying-load finding
	}{
		{"accumulated times, 60 s window", wave(100, 40_000, square(8000), nil), 8000},
		{"a Flink poll every second", wave(1000, 60_000, square(10_000), nil), 10_000},
		{"a Flink poll every second, every third from the fetch before", stale(wave(1000, 60_000, square(10_000), nil)), 10_000},
		{"steady, every third poll from the fetch before", stale(wave(1000, 60_000, func(int64) float64 { return 620 }, nil)), 0},
		{"windowed only (Flink 1.13), a short window", wave(100, 40_000, square(8000), func(at int64) float64 { return square(8000)(at - 100) }), 8000},
		{"too few periods", wave(100, 15_000, square(8000), nil), 0},
		{"too short a period", wave(100, 40_000, square(1000), nil), 0},
		{"steady", wave(100, 40_000, func(int64) float64 { return 1000 }, nil), 0},
		{"a step (a rate changed once)", wave(100, 40_000, func(at int64) float64 { return float64(at/20_000) * 1000 }, nil), 0},
		{"noise", wave(100, 40_000, func(at int64) float64 { return noise[at/100%1000] }, nil), 0},
		{"a small swing", wave(100, 40_000, func(at int64) float64 { return 400 + square(8000)(at)/5 }, nil), 0},
	} {
		t.Run(test.name, func(t *testing.T) {
			fs := doctor.Diagnose(test.history)
			f := find(fs, doctor.VaryingLoad)
			if test.period == 0 {
				assert.Empty(t, f.Kind, "%+v", f)
				return
			}
			require.Equal(t, doctor.VaryingLoad, f.Kind, "%+v", fs)
			assert.InDelta(t, test.period, f.PeriodMs, 250)
			assert.Equal(t, []string{"sink"}, f.Tasks)
			assert.Contains(t, f.Title, "the load of sink varies every")
			assert.Contains(t, f.Advice, "60s metrics window")
			assert.Equal(t, 1000.0, f.Evidence[0].Value, "the peak")
		})
	}
}

// A restart starts the series over: the counters of the new attempt start
// from zero, and the intervals across it are not counted.
func TestDiagnose_VaryingLoad_Restart(t *testing.T) {
	h := wave(100, 40_000, square(8000), nil)
	require.Equal(t, doctor.VaryingLoad, find(doctor.Diagnose(h), doctor.VaryingLoad).Kind)

	// The last 10 s are a new attempt: too few periods after it.
	restarted := wave(100, 10_000, square(8000), nil)
	for _, s := range restarted {
		s.Since, s.Timestamp, s.Restarts = t0+30_000, s.Timestamp+30_000, 1
		for i := range s.Vertices {
			for k := range s.Vertices[i].Subtasks {
				s.Vertices[i].Subtasks[k].Attempt = 1
			}
		}
	}
	fs := doctor.Diagnose(append(h[:300:300], restarted...))
	assert.Empty(t, find(fs, doctor.VaryingLoad).Kind, "%+v", fs)

	// Counters that go back without a new attempt give no interval.
	h = wave(100, 40_000, square(8000), nil)
	for _, s := range h[200:] {
		sink := &s.Vertices[1].Subtasks[0]
		sink.AccumulatedBusyTime -= 15_000
	}
	fs = doctor.Diagnose(h)
	f := find(fs, doctor.VaryingLoad)
	require.Equal(t, doctor.VaryingLoad, f.Kind)
	assert.InDelta(t, 8000, f.PeriodMs, 250)
}

func TestEvidence_JSON(t *testing.T) {
	one := 1
	for _, e := range []doctor.Evidence{
		{Task: "source", Metric: "busyTimeMsPerSecond", Value: math.NaN(), Text: "source busy N/A"},
		{Task: "count", Subtask: &one, Metric: "buffers.inPoolUsage", Value: 0.5, Text: "half"},
	} {
		b, err := json.Marshal(e)
		require.NoError(t, err)
		var back doctor.Evidence
		require.NoError(t, json.Unmarshal(b, &back))
		if math.IsNaN(e.Value) {
			assert.Contains(t, string(b), `"value":null`)
			assert.True(t, math.IsNaN(back.Value))
			continue
		}
		assert.Equal(t, e, back)
	}
}

// slowSink is a snapshot at ms of a job whose sink is the bottleneck, or
// of a healthy one.
func slowSink(at int64, bottleneck bool) *metrics.Job {
	if bottleneck {
		return job(at, []tk{task("source", st(0, 950)), task("sink", st(1000, 0))}, "source->sink")
	}
	return job(at, []tk{task("source", st(0, 0)), task("sink", st(600, 0))}, "source->sink")
}

func TestDoctor_Findings(t *testing.T) {
	d := doctor.New()
	require.NotNil(t, d.Findings())
	assert.Empty(t, d.Findings())
	var at int64
	feed := func(until int64, bottleneck bool) {
		for ; at <= until; at += 100 {
			d.Observe(slowSink(at, bottleneck))
		}
	}
	feed(3900, true) // the first verdict at 1 s, held from there
	assert.Empty(t, d.Findings(), "not held for 3 s yet")
	feed(4000, true)
	fs := d.Findings()
	require.Equal(t, []doctor.Kind{doctor.Bottleneck}, kinds(fs))
	assert.Equal(t, t0+1000, fs[0].Since, "held since the first verdict")

	// Gone for less than the hold: kept, and the healthy verdict not shown yet.
	feed(6000, false)
	assert.Equal(t, []doctor.Kind{doctor.Bottleneck}, kinds(d.Findings()))
	feed(7000, false)
	assert.Equal(t, []doctor.Kind{doctor.Bottleneck}, kinds(d.Findings()))
	feed(7100, false)
	fs = d.Findings()
	assert.Equal(t, []doctor.Kind{doctor.Healthy}, kinds(fs))
	assert.Equal(t, t0+4100, fs[0].Since)

	// A single tick of another verdict changes nothing.
	feed(7200, true)
	feed(9000, false)
	assert.Equal(t, []doctor.Kind{doctor.Healthy}, kinds(d.Findings()))
}

func TestDoctor_Findings_Ended(t *testing.T) {
	end := func(s *metrics.Job, state string) *metrics.Job { s.State = state; return s }
	for _, test := range []struct {
		name  string
		until int64 // the job runs until, then is canceled
		want  []doctor.Kind
	}{
		{"what it reported stays", 6000, []doctor.Kind{doctor.Bottleneck}},
		{"nothing held yet: the last verdict", 2000, []doctor.Kind{doctor.Bottleneck}},
		{"no verdict at all", 500, []doctor.Kind{}},
	} {
		t.Run(test.name, func(t *testing.T) {
			d := doctor.New()
			var at int64
			for ; at <= test.until; at += 100 {
				d.Observe(slowSink(at, true))
			}
			d.Observe(end(slowSink(at, false), metrics.StateCanceled))
			require.NotNil(t, d.Findings())
			assert.Equal(t, test.want, kinds(d.Findings()))
			for range 100 {
				at += 100
				d.Observe(end(slowSink(at, false), metrics.StateCanceled))
			}
			assert.Equal(t, test.want, kinds(d.Findings()), "ended: frozen")
		})
	}
}

func TestDoctor_Findings_Restart(t *testing.T) {
	d := doctor.NewWithConfig(doctor.NewConfig().WithHold(time.Second))
	var at int64
	for ; at <= 5000; at += 100 {
		d.Observe(slowSink(at, true))
	}
	require.Equal(t, []doctor.Kind{doctor.Bottleneck}, kinds(d.Findings()))
	// A restart: 5 s RESTARTING, then a new attempt, healthy from its
	// first second on. The bottleneck stays until the healthy verdict has
	// held for the hold time, and goes then.
	for ; at <= 10_000; at += 100 {
		s := slowSink(at, true)
		s.State = metrics.StateRestarting
		d.Observe(s)
		assert.Equal(t, []doctor.Kind{doctor.Bottleneck}, kinds(d.Findings()), "at %d", at)
	}
	started := at
	for ; at <= 15_000; at += 100 {
		s := slowSink(at-started, false)
		s.Since, s.Timestamp, s.Restarts = t0+started, t0+at, 1
		d.Observe(s)
		want := []doctor.Kind{doctor.Bottleneck}
		if at >= started+2000 {
			want = []doctor.Kind{doctor.Healthy}
		}
		require.Equal(t, want, kinds(d.Findings()), "at %d", at)
	}
}

func TestDoctor_WithHold(t *testing.T) {
	d := doctor.NewWithConfig(doctor.NewConfig().WithHold(0))
	d.Observe(slowSink(1000, true))
	assert.Equal(t, []doctor.Kind{doctor.Bottleneck}, kinds(d.Findings()))
	d.Observe(slowSink(1100, false))
	assert.Equal(t, []doctor.Kind{doctor.Healthy}, kinds(d.Findings()))

	d = doctor.NewWithConfig(doctor.NewConfig().WithHold(-time.Second))
	d.Observe(slowSink(1000, true))
	assert.Equal(t, []doctor.Kind{doctor.Bottleneck}, kinds(d.Findings()), "negative is 0")
}

// Many readers while one goroutine observes, released together.
func TestDoctor_Hammer(t *testing.T) {
	d := doctor.NewWithConfig(doctor.NewConfig().WithHold(500 * time.Millisecond))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			<-start
			for range 200 {
				for _, f := range d.Findings() {
					_, _ = json.Marshal(f)
				}
			}
		})
	}
	wg.Go(func() {
		<-start
		for i := range 400 {
			d.Observe(slowSink(int64(i)*100, i/50%2 == 0))
		}
	})
	close(start)
	wg.Wait()
	assert.NotEmpty(t, d.Findings())
}
