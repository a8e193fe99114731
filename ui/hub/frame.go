package hub

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"flowlab/runtime/doctor"
	"flowlab/runtime/metrics"
)

// num is a number in a frame: rounded to three decimals, NaN as null.
type num float64

func (n num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, math.Round(f*1000)/1000, 'f', -1, 64), nil
}

// frame is the JSON of a "frame" message, documented in docs/API.md.
type frame struct {
	Type      string           `json:"type"`
	Seq       uint64           `json:"seq"`
	Timestamp int64            `json:"timestamp"`
	State     string           `json:"state"`
	Failure   string           `json:"failure,omitempty"`
	Restarts  int              `json:"restarts"`
	Paused    bool             `json:"paused"`
	WindowMs  int64            `json:"windowMs"`
	Vertices  []vertex         `json:"vertices"`
	Edges     []edge           `json:"edges"`
	Diagnosis []doctor.Finding `json:"diagnosis"`
}

// edge is a graph edge by task names, with its label: a rescale can turn a
// forward edge into a rebalance one.
type edge struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Label string `json:"label"`
}

// EdgeLabel is an edge's label on the graph: its partitioning as Flink's
// graph shows it, and the bandwidth of a simulated link.
func EdgeLabel(e metrics.Edge) string {
	label := strings.ToUpper(e.Partitioning)
	switch bw := e.Bandwidth; {
	case bw == 0:
	case bw%(1<<20) == 0:
		label += fmt.Sprintf(" · %d MiB/s", bw>>20)
	case bw%(1<<10) == 0:
		label += fmt.Sprintf(" · %d KiB/s", bw>>10)
	default:
		label += fmt.Sprintf(" · %d B/s", bw)
	}
	return label
}

type vertex struct {
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	Operator      string          `json:"operator"`
	Parallelism   int             `json:"parallelism"`
	Busy          num             `json:"busy"`
	BackPressured num             `json:"backPressured"`
	DataSkew      num             `json:"dataSkew"`
	Fill          string          `json:"fill"`
	Border        string          `json:"border"`
	Level         string          `json:"level"`
	Cost          string          `json:"cost"`
	Rate          *num            `json:"rate,omitempty"`
	Config        json.RawMessage `json:"config,omitempty"` // only in a frame marshaled withConfig
	In            num             `json:"numRecordsInPerSecond"`
	Out           num             `json:"numRecordsOutPerSecond"`
	InTotal       int64           `json:"numRecordsIn"`
	OutTotal      int64           `json:"numRecordsOut"`
	Latency       *latency        `json:"latency"` // null for a source or when no records came in
	Subtasks      []subtask       `json:"subtasks"`
}

// latency is a task's or subtask's end-to-end latency in a frame, in ms
// (metrics.Latency with frame numbers).
type latency struct {
	P50  num `json:"p50"`
	P95  num `json:"p95"`
	P99  num `json:"p99"`
	Max  num `json:"max"`
	Mean num `json:"mean"`
}

func frameLatency(l *metrics.Latency) *latency {
	if l == nil {
		return nil
	}
	return &latency{P50: num(l.P50), P95: num(l.P95), P99: num(l.P99), Max: num(l.Max), Mean: num(l.Mean)}
}

type subtask struct {
	Subtask   int      `json:"subtask"`
	Level     string   `json:"backpressure-level"`
	Ratio     num      `json:"ratio"`
	BusyRatio num      `json:"busyRatio"`
	IdleRatio num      `json:"idleRatio"`
	In        num      `json:"numRecordsInPerSecond"`
	Out       num      `json:"numRecordsOutPerSecond"`
	InPool    num      `json:"buffers.inPoolUsage"`
	OutPool   num      `json:"buffers.outPoolUsage"`
	Exclusive num      `json:"buffers.inputExclusiveBuffersUsage"`
	Floating  num      `json:"buffers.inputFloatingBuffersUsage"`
	Latency   *latency `json:"latency"`
}

// configJSON is a task's config as a frame carries it: {} for none, and
// {} too for one JSON cannot hold (a spec's config is parsed from YAML or
// JSON, so it always can).
func configJSON(config map[string]any) json.RawMessage {
	if len(config) == 0 {
		return json.RawMessage("{}")
	}
	data, err := json.Marshal(config)
	if err != nil {
		return json.RawMessage("{}")
	}
	return data
}

// configKey identifies the configs of a snapshot's tasks: it changes when
// any of them does.
func configKey(s *metrics.Job) string {
	var b strings.Builder
	for i := range s.Vertices {
		b.Write(configJSON(s.Vertices[i].Config))
		b.WriteByte(0)
	}
	return b.String()
}

// marshalFrame is a snapshot and the doctor's findings as a frame message;
// withConfig adds each task's config.
func marshalFrame(s *metrics.Job, findings []doctor.Finding, seq uint64, withConfig bool) []byte {
	fr := frame{
		Type: "frame", Seq: seq, Timestamp: s.Timestamp, State: s.State, Failure: s.Failure,
		Restarts: s.Restarts, Paused: s.Paused, WindowMs: s.WindowMs,
		Vertices: make([]vertex, len(s.Vertices)), Diagnosis: findings,
	}
	names := make(map[string]string, len(s.Vertices))
	for _, v := range s.Vertices {
		names[v.ID] = v.Name
	}
	for _, e := range s.Edges {
		fr.Edges = append(fr.Edges, edge{From: names[e.Source], To: names[e.Target], Label: EdgeLabel(e)})
	}
	for i := range s.Vertices {
		v := &s.Vertices[i]
		fv := vertex{
			ID: v.ID, Name: v.Name, Operator: v.Operator, Parallelism: v.Parallelism,
			Busy: num(v.Busy), BackPressured: num(v.BackPressure), DataSkew: num(v.DataSkew),
			Fill: v.Colors.Fill, Border: v.Colors.Border, Level: v.Backpressure.Level, Cost: v.Cost,
			In: num(v.Metrics.NumRecordsInPerSecond), Out: num(v.Metrics.NumRecordsOutPerSecond),
			InTotal: v.Metrics.NumRecordsIn, OutTotal: v.Metrics.NumRecordsOut, Latency: frameLatency(v.Latency),
			Subtasks: make([]subtask, len(v.Subtasks)),
		}
		if v.Rate != nil {
			r := num(*v.Rate)
			fv.Rate = &r
		}
		if withConfig {
			fv.Config = configJSON(v.Config)
		}
		for k := range v.Subtasks {
			st, bp := &v.Subtasks[k], &v.Backpressure.Subtasks[k]
			fv.Subtasks[k] = subtask{
				Subtask: st.Subtask, Level: bp.Level, Ratio: num(bp.Ratio),
				BusyRatio: num(bp.BusyRatio), IdleRatio: num(bp.IdleRatio),
				In: num(st.NumRecordsInPerSecond), Out: num(st.NumRecordsOutPerSecond),
				InPool: num(st.InPoolUsage), OutPool: num(st.OutPoolUsage),
				Exclusive: num(st.InputExclusiveBuffersUsage), Floating: num(st.InputFloatingBuffersUsage),
				Latency: frameLatency(st.Latency),
			}
		}
		fr.Vertices[i] = fv
	}
	data, err := json.Marshal(fr)
	if err != nil {
		panic("hub: marshal frame: " + err.Error()) // only strings and finite numbers: cannot fail
	}
	return data
}
