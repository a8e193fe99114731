package metrics

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// Float is a float64 that encodes NaN (busy time of a legacy source) as JSON null.
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, float64(f), 'f', -1, 64), nil
}

// UnmarshalJSON implements json.Unmarshaler: null reads as NaN.
func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Float(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Float(v)
	return nil
}

// Job states, as Flink names them.
const (
	StateCreated    = "CREATED"
	StateRunning    = "RUNNING"
	StateRestarting = "RESTARTING"
	StateFinished   = "FINISHED"
	StateCanceled   = "CANCELED"
	StateFailed     = "FAILED"
)

// Terminal reports whether a job in state has ended for good (Flink's
// globally terminal states).
func Terminal(state string) bool {
	return state == StateFinished || state == StateCanceled || state == StateFailed
}

// Job is one snapshot of a running job: the document `flowlab run -json`
// prints and the source of every websocket frame.
type Job struct {
	Name      string   `json:"name"`
	State     string   `json:"state"`
	Failure   string   `json:"failure,omitempty"` // the last operator failure, if any
	Restarts  int      `json:"restarts"`          // restarts so far, whatever their cause (Flink's numRestarts); the current attempt's number
	Paused    bool     `json:"paused"`            // sources held back
	Since     int64    `json:"since"`             // when the subtasks of this attempt started (a restart or rescale starts new ones), ms since the epoch
	WindowMs  int64    `json:"windowMs"`          // the window the time metrics average over
	Timestamp int64    `json:"timestamp"`         // when the snapshot was taken, ms since the epoch
	Vertices  []Vertex `json:"vertices"`
	Edges     []Edge   `json:"edges"`
}

// Edge is a job graph edge between vertices, by vertex id.
type Edge struct {
	Source       string `json:"source"`
	Target       string `json:"target"`
	Partitioning string `json:"partitioning"`
	Bandwidth    int    `json:"bandwidth,omitempty"` // bytes per second of a simulated link, per channel
}

// Vertex is one task: what a graph node shows, Flink's backpressure document,
// task-level aggregates, and every subtask.
type Vertex struct {
	ID           string         `json:"id"`
	Name         string         `json:"name"`
	Operator     string         `json:"operator"`
	Parallelism  int            `json:"parallelism"`
	Cost         string         `json:"cost,omitempty"` // simulated cost per record, as "1.5ms"
	Rate         *float64       `json:"rate,omitempty"` // a source's records per second per subtask, 0 for unlimited
	Config       map[string]any `json:"-"`              // the operator's config as the job runs it (shared: do not modify); the playground's frames carry it
	Busy         Float          `json:"busy"`           // percent, max over subtasks; null when unknown
	BackPressure Float          `json:"backPressured"`  // percent, max over subtasks
	DataSkew     float64        `json:"dataSkew"`       // percent
	Colors       Colors         `json:"colors"`
	Backpressure BackPressure   `json:"backpressure"`
	Metrics      VertexMetrics  `json:"metrics"`
	Latency      *Latency       `json:"latency"` // of the records all subtasks took in over the window; null for a source or no records
	Subtasks     []Subtask      `json:"subtasks"`
}

// Latency is the end-to-end latency of the records a subtask (or all the
// subtasks of a task) took in over the metrics window: how long after its
// source stamped it each record arrived, in ms, in the shape of Flink's
// latency histogram. Timestamps are whole ms, so a latency under 1 ms reads
// 0; percentiles come from buckets 1 ms wide below 16 ms and at most 12.5%
// of their value wide above, interpolated within a bucket.
type Latency struct {
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// BackPressure is exactly Flink's /jobs/:jid/vertices/:vid/backpressure response.
type BackPressure struct {
	Status       string                `json:"status"`
	Level        string                `json:"backpressure-level"`
	EndTimestamp int64                 `json:"end-timestamp"`
	Subtasks     []SubtaskBackPressure `json:"subtasks"`
}

// SubtaskBackPressure is one row of Flink's BackPressure tab.
type SubtaskBackPressure struct {
	Subtask   int     `json:"subtask"`
	Level     string  `json:"backpressure-level"`
	Ratio     float64 `json:"ratio"`
	IdleRatio float64 `json:"idleRatio"`
	BusyRatio Float   `json:"busyRatio"`
}

// VertexMetrics aggregates subtasks: the max of the time metrics (as a graph
// node shows them) and the sums of the record counts and rates.
type VertexMetrics struct {
	BusyTimeMsPerSecond          Float   `json:"busyTimeMsPerSecond"`
	BackPressuredTimeMsPerSecond float64 `json:"backPressuredTimeMsPerSecond"`
	IdleTimeMsPerSecond          float64 `json:"idleTimeMsPerSecond"`
	NumRecordsIn                 int64   `json:"numRecordsIn"`
	NumRecordsOut                int64   `json:"numRecordsOut"`
	NumRecordsInPerSecond        float64 `json:"numRecordsInPerSecond"`
	NumRecordsOutPerSecond       float64 `json:"numRecordsOutPerSecond"`
	NumBytesIn                   int64   `json:"numBytesIn"`
	NumBytesOut                  int64   `json:"numBytesOut"`
	// Sums over the subtasks of the ms each spent busy (null if one's is
	// unknown), backpressured and idle since its attempt started, as Flink's
	// accumulated-busy-time and its siblings of a vertex.
	AccumulatedBusyTime          Float `json:"accumulatedBusyTime"`
	AccumulatedBackPressuredTime int64 `json:"accumulatedBackPressuredTime"`
	AccumulatedIdleTime          int64 `json:"accumulatedIdleTime"`
}

// Subtask holds every metric of one subtask under Flink's name. Time metrics
// are averages over the metrics window; usages are fractions in [0, 1].
type Subtask struct {
	Subtask                          int     `json:"subtask"`
	Attempt                          int     `json:"attempt"` // the attempt of the job the subtask runs in, from 0, as Flink's execution attempt; record counts are this attempt's
	IdleTimeMsPerSecond              float64 `json:"idleTimeMsPerSecond"`
	BusyTimeMsPerSecond              Float   `json:"busyTimeMsPerSecond"`
	BackPressuredTimeMsPerSecond     float64 `json:"backPressuredTimeMsPerSecond"`
	SoftBackPressuredTimeMsPerSecond float64 `json:"softBackPressuredTimeMsPerSecond"`
	HardBackPressuredTimeMsPerSecond float64 `json:"hardBackPressuredTimeMsPerSecond"`
	NumRecordsIn                     int64   `json:"numRecordsIn"`
	NumRecordsOut                    int64   `json:"numRecordsOut"`
	NumRecordsInPerSecond            float64 `json:"numRecordsInPerSecond"`
	NumRecordsOutPerSecond           float64 `json:"numRecordsOutPerSecond"`
	InPoolUsage                      float64 `json:"buffers.inPoolUsage"`
	OutPoolUsage                     float64 `json:"buffers.outPoolUsage"`
	InputExclusiveBuffersUsage       float64 `json:"buffers.inputExclusiveBuffersUsage"`
	InputFloatingBuffersUsage        float64 `json:"buffers.inputFloatingBuffersUsage"`
	IsBackPressured                  bool    `json:"isBackPressured"`
	MaxSoftBackPressureTimeMs        int64   `json:"maxSoftBackPressureTimeMs"`
	MaxHardBackPressureTimeMs        int64   `json:"maxHardBackPressureTimeMs"`
	NumBytesIn                       int64   `json:"numBytesIn"`  // encoded bytes of the records taken in
	NumBytesOut                      int64   `json:"numBytesOut"` // encoded bytes written to the outputs (once per output)
	NumBytesInPerSecond              float64 `json:"numBytesInPerSecond"`
	NumBytesOutPerSecond             float64 `json:"numBytesOutPerSecond"`
	// Buffer debloating (network.buffer-debloat), for a subtask with
	// inputs; absent without it: the buffer size the subtask's gate
	// announced to its senders, in bytes, and how long the data queued in
	// the gate takes to consume at the measured throughput, in ms.
	DebloatedBufferSize             int64 `json:"debloatedBufferSize,omitempty"`
	EstimatedTimeToConsumeBuffersMs int64 `json:"estimatedTimeToConsumeBuffersMs,omitempty"`
	// The subtask's part of the latest completed checkpoint (Flink's
	// lastCheckpoint* gauges, per subtask); absent without one.
	LastCheckpointDuration          int64 `json:"lastCheckpointDuration,omitempty"`          // ms, trigger to acknowledgement
	LastCheckpointSize              int64 `json:"lastCheckpointSize,omitempty"`              // bytes
	LastCheckpointAlignmentDuration int64 `json:"lastCheckpointAlignmentDuration,omitempty"` // ms
	CheckpointStartDelayNanos       int64 `json:"checkpointStartDelayNanos,omitempty"`
	// Milliseconds since the subtask's attempt started, spent busy (null
	// when unknown, as for a legacy source), backpressured and idle: Flink's
	// accumulated times of IOMetricsInfo (1.16+), not averages.
	AccumulatedBusyTime          Float `json:"accumulatedBusyTime"`
	AccumulatedBackPressuredTime int64 `json:"accumulatedBackPressuredTime"`
	AccumulatedIdleTime          int64 `json:"accumulatedIdleTime"`
	// The latency of the records taken in over the window; null for a
	// source, or when no records came in.
	Latency *Latency `json:"latency"`
}

// Kind is the type of a Flink metric, which decides how Flink's metric
// endpoints write its value as text.
type Kind uint8

const (
	Count  Kind = iota // a counter or a long gauge: "123"
	Double             // a double gauge or a meter's rate: "983.0", "NaN"
	Single             // a float gauge (buffer usages): "0.5"
	Bool               // a boolean gauge: "true", "false"
)

// SubtaskMetric reads one subtask metric by its Flink name.
type SubtaskMetric struct {
	Name string
	Kind Kind
	Get  func(*Subtask) float64
}

// Text is the metric's value as Flink's metric endpoints answer it: Java's
// String.valueOf of the value of its type.
func (m SubtaskMetric) Text(s *Subtask) string { return m.Kind.Text(m.Get(s)) }

// Text writes x as Java writes a value of kind k.
func (k Kind) Text(x float64) string {
	switch k {
	case Count:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "0"
		}
		return strconv.FormatInt(int64(x), 10)
	case Bool:
		return strconv.FormatBool(x != 0)
	case Single:
		return javaFloat(x, 32)
	}
	return javaFloat(x, 64)
}

// javaFloat formats x as Java's Double.toString (bits 64) or
// Float.toString (32): "NaN", "Infinity", "12.0", "0.001", "1.0E7", "1.0E-4".
func javaFloat(x float64, bits int) string {
	switch {
	case math.IsNaN(x):
		return "NaN"
	case math.IsInf(x, 1):
		return "Infinity"
	case math.IsInf(x, -1):
		return "-Infinity"
	}
	if a := math.Abs(x); a == 0 || (a >= 1e-3 && a < 1e7) {
		t := strconv.FormatFloat(x, 'f', -1, bits)
		if !strings.Contains(t, ".") {
			t += ".0"
		}
		return t
	}
	t := strconv.FormatFloat(x, 'E', -1, bits) // 1.5E+07
	mant, exp, _ := strings.Cut(t, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// SubtaskMetrics lists every subtask metric by Flink name and type, in the
// order of DESIGN.md section 2, then the byte counts, then buffer
// debloating's (0 without it); the REST endpoints of
// subtask metrics serve these.
var SubtaskMetrics = []SubtaskMetric{
	{"idleTimeMsPerSecond", Count, func(s *Subtask) float64 { return s.IdleTimeMsPerSecond }},
	{"busyTimeMsPerSecond", Double, func(s *Subtask) float64 { return float64(s.BusyTimeMsPerSecond) }},
	{"backPressuredTimeMsPerSecond", Count, func(s *Subtask) float64 { return s.BackPressuredTimeMsPerSecond }},
	{"softBackPressuredTimeMsPerSecond", Count, func(s *Subtask) float64 { return s.SoftBackPressuredTimeMsPerSecond }},
	{"hardBackPressuredTimeMsPerSecond", Count, func(s *Subtask) float64 { return s.HardBackPressuredTimeMsPerSecond }},
	{"numRecordsIn", Count, func(s *Subtask) float64 { return float64(s.NumRecordsIn) }},
	{"numRecordsOut", Count, func(s *Subtask) float64 { return float64(s.NumRecordsOut) }},
	{"numRecordsInPerSecond", Double, func(s *Subtask) float64 { return s.NumRecordsInPerSecond }},
	{"numRecordsOutPerSecond", Double, func(s *Subtask) float64 { return s.NumRecordsOutPerSecond }},
	{"buffers.inPoolUsage", Single, func(s *Subtask) float64 { return s.InPoolUsage }},
	{"buffers.outPoolUsage", Single, func(s *Subtask) float64 { return s.OutPoolUsage }},
	{"buffers.inputExclusiveBuffersUsage", Single, func(s *Subtask) float64 { return s.InputExclusiveBuffersUsage }},
	{"buffers.inputFloatingBuffersUsage", Single, func(s *Subtask) float64 { return s.InputFloatingBuffersUsage }},
	{"isBackPressured", Bool, func(s *Subtask) float64 { return b2f(s.IsBackPressured) }},
	{"maxSoftBackPressureTimeMs", Count, func(s *Subtask) float64 { return float64(s.MaxSoftBackPressureTimeMs) }},
	{"maxHardBackPressureTimeMs", Count, func(s *Subtask) float64 { return float64(s.MaxHardBackPressureTimeMs) }},
	{"numBytesIn", Count, func(s *Subtask) float64 { return float64(s.NumBytesIn) }},
	{"numBytesOut", Count, func(s *Subtask) float64 { return float64(s.NumBytesOut) }},
	{"numBytesInPerSecond", Double, func(s *Subtask) float64 { return s.NumBytesInPerSecond }},
	{"numBytesOutPerSecond", Double, func(s *Subtask) float64 { return s.NumBytesOutPerSecond }},
	{"debloatedBufferSize", Count, func(s *Subtask) float64 { return float64(s.DebloatedBufferSize) }},
	{"estimatedTimeToConsumeBuffersMs", Count, func(s *Subtask) float64 { return float64(s.EstimatedTimeToConsumeBuffersMs) }},
	{"lastCheckpointDuration", Count, func(s *Subtask) float64 { return float64(s.LastCheckpointDuration) }},
	{"lastCheckpointSize", Count, func(s *Subtask) float64 { return float64(s.LastCheckpointSize) }},
	{"lastCheckpointAlignmentDuration", Count, func(s *Subtask) float64 { return float64(s.LastCheckpointAlignmentDuration) }},
	{"checkpointStartDelayNanos", Count, func(s *Subtask) float64 { return float64(s.CheckpointStartDelayNanos) }},
}

// NewVertex derives everything a task shows from its subtasks' metrics.
func NewVertex(id, name, operator string, subtasks []Subtask, now int64) Vertex {
	v := Vertex{ID: id, Name: name, Operator: operator, Parallelism: len(subtasks), Subtasks: subtasks}
	v.Backpressure = BackPressure{Status: "ok", EndTimestamp: now, Subtasks: make([]SubtaskBackPressure, len(subtasks))}
	m := &v.Metrics
	busy := math.Inf(-1)
	accBusy := 0.0
	rates := make([]float64, len(subtasks))
	maxRatio := 0.0
	for i := range subtasks {
		s := &subtasks[i]
		ratio := s.BackPressuredTimeMsPerSecond / 1000
		maxRatio = max(maxRatio, ratio)
		v.Backpressure.Subtasks[i] = SubtaskBackPressure{
			Subtask:   s.Subtask,
			Level:     Level(ratio),
			Ratio:     ratio,
			IdleRatio: s.IdleTimeMsPerSecond / 1000,
			BusyRatio: s.BusyTimeMsPerSecond / 1000,
		}
		if !math.IsNaN(float64(s.BusyTimeMsPerSecond)) {
			busy = max(busy, float64(s.BusyTimeMsPerSecond))
		}
		m.BackPressuredTimeMsPerSecond = max(m.BackPressuredTimeMsPerSecond, s.BackPressuredTimeMsPerSecond)
		m.IdleTimeMsPerSecond = max(m.IdleTimeMsPerSecond, s.IdleTimeMsPerSecond)
		m.NumRecordsIn += s.NumRecordsIn
		m.NumRecordsOut += s.NumRecordsOut
		m.NumRecordsInPerSecond += s.NumRecordsInPerSecond
		m.NumRecordsOutPerSecond += s.NumRecordsOutPerSecond
		m.NumBytesIn += s.NumBytesIn
		m.NumBytesOut += s.NumBytesOut
		accBusy += float64(s.AccumulatedBusyTime) // NaN if one is unknown, as Flink's sum
		m.AccumulatedBackPressuredTime += s.AccumulatedBackPressuredTime
		m.AccumulatedIdleTime += s.AccumulatedIdleTime
		rates[i] = s.NumRecordsInPerSecond
	}
	if math.IsInf(busy, -1) { // no subtask knows its busy time
		busy = math.NaN()
	}
	m.BusyTimeMsPerSecond = Float(busy)
	m.AccumulatedBusyTime = Float(accBusy)
	v.Backpressure.Level = Level(maxRatio)
	v.Busy = Float(Percent(busy))
	v.BackPressure = Float(Percent(m.BackPressuredTimeMsPerSecond))
	v.DataSkew = Skew(rates)
	v.Colors = Color(float64(v.Busy), float64(v.BackPressure))
	return v
}
