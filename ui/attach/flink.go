package attach

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"flowlab/runtime/metrics"
)

// Flink's REST answers, as far as attach reads them (the shapes of
// rest_v1_dispatcher.yml; Flowlab answers the same, with a few fields of its
// own).

// dashboardConfig is GET /config, Flink's DashboardConfiguration.
type dashboardConfig struct {
	Version  *string `json:"flink-version"`
	Revision string  `json:"flink-revision"`
}

// configEntry is one entry of GET /jobmanager/config.
type configEntry struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// jobsOverview is GET /jobs/overview, Flink's MultipleJobsDetails.
type jobsOverview struct {
	Jobs []overviewJob `json:"jobs"`
}

type overviewJob struct {
	JID       string `json:"jid"`
	State     string `json:"state"`
	StartTime int64  `json:"start-time"`
}

// jobDetails is GET /jobs/{jid}, Flink's JobDetailsInfo.
type jobDetails struct {
	Name       string           `json:"name"`
	State      string           `json:"state"`
	StartTime  int64            `json:"start-time"`
	Timestamps map[string]int64 `json:"timestamps"`
	Vertices   []struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		Parallelism int    `json:"parallelism"`
	} `json:"vertices"`
	Plan json.RawMessage `json:"plan"`

	// Flowlab's own, absent from Flink's answers.
	WindowMs *int64  `json:"windowMs"`
	Restarts *int    `json:"restarts"`
	Failure  *string `json:"failure"`
	Paused   bool    `json:"paused"`
}

// plan is the plan of a job, as Flink's JsonPlanGenerator writes it.
type plan struct {
	Nodes []struct {
		ID       string `json:"id"`
		Operator string `json:"operator"`
		Inputs   []struct {
			ID           string `json:"id"`
			ShipStrategy string `json:"ship_strategy"`
		} `json:"inputs"`
	} `json:"nodes"`
}

// parsePlan reads the plan of job details. Flink 1.x writes it as raw JSON;
// a plan given as a JSON string holding the JSON is read too.
func parsePlan(raw json.RawMessage) (*plan, error) {
	p := &plan{}
	if len(bytes.TrimSpace(raw)) == 0 || string(raw) == "null" {
		return p, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("plan: %w", err)
		}
		raw = json.RawMessage(s)
	}
	if err := json.Unmarshal(raw, p); err != nil {
		return nil, fmt.Errorf("plan: %s", shortJSONError(err))
	}
	return p, nil
}

// vertexDetails is GET /jobs/{jid}/vertices/{vid}, Flink's
// JobVertexDetailsInfo: each subtask's current attempt.
type vertexDetails struct {
	Subtasks []struct {
		Subtask int `json:"subtask"`
		Attempt int `json:"attempt"`
		Metrics struct {
			// Flink 1.16+; Flowlab writes null and Flink "NaN" where the busy time is unknown.
			AccBusy          *nanFloat `json:"accumulated-busy-time"`
			AccBackPressured int64     `json:"accumulated-backpressured-time"`
			AccIdle          int64     `json:"accumulated-idle-time"`
		} `json:"metrics"`
	} `json:"subtasks"`
}

// nanFloat reads a JSON number, a string Jackson writes for a double that
// is not a number ("NaN", "Infinity"), or null (NaN).
type nanFloat float64

func (f *nanFloat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = nanFloat(math.NaN())
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		*f = nanFloat(x)
		return nil
	}
	var x float64
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	*f = nanFloat(x)
	return nil
}

// metricValue is one entry of Flink's metric endpoints: the value as text.
type metricValue struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// subtaskMetric is a subtask metric attach reads, under each name Flink has
// given it: the first name that answers is taken.
type subtaskMetric struct {
	names []string
	set   func(s *metrics.Subtask, x float64)
}

func count(x float64) int64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return int64(x)
}

var subtaskMetrics = []subtaskMetric{
	{[]string{"busyTimeMsPerSecond"}, func(s *metrics.Subtask, x float64) { s.BusyTimeMsPerSecond = metrics.Float(x) }},
	{[]string{"idleTimeMsPerSecond"}, func(s *metrics.Subtask, x float64) { s.IdleTimeMsPerSecond = x }},
	{[]string{"backPressuredTimeMsPerSecond"}, func(s *metrics.Subtask, x float64) { s.BackPressuredTimeMsPerSecond = x }},
	{[]string{"softBackPressuredTimeMsPerSecond"}, func(s *metrics.Subtask, x float64) { s.SoftBackPressuredTimeMsPerSecond = x }},
	{[]string{"hardBackPressuredTimeMsPerSecond"}, func(s *metrics.Subtask, x float64) { s.HardBackPressuredTimeMsPerSecond = x }},
	{[]string{"numRecordsIn"}, func(s *metrics.Subtask, x float64) { s.NumRecordsIn = count(x) }},
	{[]string{"numRecordsOut"}, func(s *metrics.Subtask, x float64) { s.NumRecordsOut = count(x) }},
	{[]string{"numRecordsInPerSecond"}, func(s *metrics.Subtask, x float64) { s.NumRecordsInPerSecond = x }},
	{[]string{"numRecordsOutPerSecond"}, func(s *metrics.Subtask, x float64) { s.NumRecordsOutPerSecond = x }},
	{[]string{"numBytesIn"}, func(s *metrics.Subtask, x float64) { s.NumBytesIn = count(x) }},
	{[]string{"numBytesOut"}, func(s *metrics.Subtask, x float64) { s.NumBytesOut = count(x) }},
	{[]string{"numBytesInPerSecond"}, func(s *metrics.Subtask, x float64) { s.NumBytesInPerSecond = x }},
	{[]string{"numBytesOutPerSecond"}, func(s *metrics.Subtask, x float64) { s.NumBytesOutPerSecond = x }},
	{[]string{"buffers.inPoolUsage", "Shuffle.Netty.Input.Buffers.inPoolUsage"},
		func(s *metrics.Subtask, x float64) { s.InPoolUsage = x }},
	{[]string{"buffers.outPoolUsage", "Shuffle.Netty.Output.Buffers.outPoolUsage"},
		func(s *metrics.Subtask, x float64) { s.OutPoolUsage = x }},
	{[]string{"buffers.inputExclusiveBuffersUsage", "Shuffle.Netty.Input.Buffers.inputExclusiveBuffersUsage"},
		func(s *metrics.Subtask, x float64) { s.InputExclusiveBuffersUsage = x }},
	{[]string{"buffers.inputFloatingBuffersUsage", "Shuffle.Netty.Input.Buffers.inputFloatingBuffersUsage"},
		func(s *metrics.Subtask, x float64) { s.InputFloatingBuffersUsage = x }},
	{[]string{"isBackPressured"}, func(s *metrics.Subtask, x float64) { s.IsBackPressured = x != 0 }},
	{[]string{"maxSoftBackPressureTimeMs"}, func(s *metrics.Subtask, x float64) { s.MaxSoftBackPressureTimeMs = count(x) }},
	{[]string{"maxHardBackPressureTimeMs"}, func(s *metrics.Subtask, x float64) { s.MaxHardBackPressureTimeMs = count(x) }},
	{[]string{"debloatedBufferSize"}, func(s *metrics.Subtask, x float64) { s.DebloatedBufferSize = count(x) }},
	{[]string{"estimatedTimeToConsumeBuffersMs"}, func(s *metrics.Subtask, x float64) { s.EstimatedTimeToConsumeBuffersMs = count(x) }},
}

// metricByName finds a subtask metric by any of its names.
var metricByName = func() map[string]*subtaskMetric {
	m := map[string]*subtaskMetric{}
	for i := range subtaskMetrics {
		for _, n := range subtaskMetrics[i].names {
			m[n] = &subtaskMetrics[i]
		}
	}
	return m
}()

// metricNames is the names to ask for: of a metric with several names, the
// one that answered last time if one did, else all of them.
func metricNames(answered map[string]bool) []string {
	var names []string
	for _, m := range subtaskMetrics {
		i := 0
		for i < len(m.names) && !answered[m.names[i]] {
			i++
		}
		if i < len(m.names) {
			names = append(names, m.names[i])
		} else {
			names = append(names, m.names...)
		}
	}
	return names
}

// metricText parses a metric's value as Flink writes it (Java's
// String.valueOf): "12", "983.5", "NaN", "1.0E7", "true".
func metricText(s string) (float64, bool) {
	switch s {
	case "true":
		return 1, true
	case "false":
		return 0, true
	}
	x, err := strconv.ParseFloat(s, 64)
	return x, err == nil
}

// vertexAnswers is what the cluster answered about one vertex.
type vertexAnswers struct {
	details *vertexDetails    // nil if it was not asked
	values  map[string]string // metric values by id: "0.busyTimeMsPerSecond" -> "983.0"
	polled  int               // the subtasks whose metrics were asked for: 0 to polled-1
}

// subtasks builds the polled subtasks of a vertex. A busy time that is not
// answered is unknown (NaN); so is an accumulated busy time.
func (a *vertexAnswers) subtasks() []metrics.Subtask {
	subs := make([]metrics.Subtask, a.polled)
	for i := range subs {
		subs[i].Subtask = i
		subs[i].BusyTimeMsPerSecond = metrics.Float(math.NaN())
		subs[i].AccumulatedBusyTime = metrics.Float(math.NaN())
	}
	if a.details != nil {
		for _, d := range a.details.Subtasks {
			if d.Subtask < 0 || d.Subtask >= len(subs) {
				continue
			}
			s := &subs[d.Subtask]
			s.Attempt = d.Attempt
			if d.Metrics.AccBusy != nil {
				s.AccumulatedBusyTime = metrics.Float(*d.Metrics.AccBusy)
			}
			s.AccumulatedBackPressuredTime = d.Metrics.AccBackPressured
			s.AccumulatedIdleTime = d.Metrics.AccIdle
		}
	}
	for id, text := range a.values {
		index, name, ok := strings.Cut(id, ".")
		i, err := strconv.Atoi(index)
		m := metricByName[name]
		x, isNumber := metricText(text)
		if !ok || err != nil || i < 0 || i >= len(subs) || m == nil || !isNumber {
			continue
		}
		if name != m.names[0] && a.values[index+"."+m.names[0]] != "" {
			continue // both names answered: the first wins
		}
		m.set(&subs[i], x)
	}
	return subs
}

// answered is the names of the metrics that have a value.
func (a *vertexAnswers) answered() map[string]bool {
	names := map[string]bool{}
	for id := range a.values {
		if _, name, ok := strings.Cut(id, "."); ok {
			names[name] = true
		}
	}
	return names
}

// jobExtras is what a snapshot takes from beyond the job details.
type jobExtras struct {
	restarts int
	failure  string
	windowMs int64 // the window of the time metrics when the details do not say
}

// snapshot builds a job's snapshot from the cluster's answers, taken at now
// (ms since the epoch). Each vertex is built by metrics.NewVertex, so that
// colors, levels, skew and the backpressure document are Flowlab's own.
func snapshot(d *jobDetails, p *plan, answers []vertexAnswers, x jobExtras, now int64) *metrics.Job {
	snap := &metrics.Job{
		Name: d.Name, State: d.State, Restarts: x.restarts, Failure: x.failure, Paused: d.Paused,
		Since: d.StartTime, WindowMs: x.windowMs, Timestamp: now,
		Vertices: make([]metrics.Vertex, len(d.Vertices)), Edges: []metrics.Edge{},
	}
	if t := d.Timestamps[metrics.StateRunning]; t > 0 { // the last switch to RUNNING: the current attempt's start
		snap.Since = t
	}
	if d.WindowMs != nil {
		snap.WindowMs = *d.WindowMs
	}
	known := map[string]bool{}
	for _, v := range d.Vertices {
		known[v.ID] = true
	}
	operators := map[string]string{}
	for _, n := range p.Nodes {
		operators[n.ID] = n.Operator
		for _, in := range n.Inputs {
			if !known[in.ID] || !known[n.ID] { // a graph of the vertices there are
				continue
			}
			snap.Edges = append(snap.Edges, metrics.Edge{Source: in.ID, Target: n.ID, Partitioning: strings.ToLower(in.ShipStrategy)})
		}
	}
	for i, v := range d.Vertices {
		subs := answers[i].subtasks()
		snap.Vertices[i] = metrics.NewVertex(v.ID, v.Name, operators[v.ID], subs, now)
		snap.Vertices[i].Parallelism = v.Parallelism // also when only some subtasks were polled
	}
	return snap
}

// version is a Flink version, major.minor.
type version struct{ major, minor int }

// parseVersion reads "1.19.0", "1.20-SNAPSHOT", "2.0-preview1".
func parseVersion(s string) (version, bool) {
	end := strings.IndexFunc(s, func(r rune) bool { return r != '.' && !unicode.IsDigit(r) })
	if end < 0 {
		end = len(s)
	}
	parts := strings.Split(s[:end], ".")
	if len(parts) < 2 {
		return version{}, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	return version{major, minor}, err1 == nil && err2 == nil
}

func (v version) atLeast(major, minor int) bool {
	return v.major > major || v.major == major && v.minor >= minor
}

// windowMs is the window Flink's busy, idle and backpressured times average
// over (DESIGN.md section 2): 5 s up to 1.16, 60 s since 1.17.
func (v version) windowMs() int64 {
	if v.atLeast(1, 17) {
		return 60_000
	}
	return 5_000
}

// durationUnits are the units of Flink's durations (TimeUtils.parseDuration).
var durationUnits = map[string]time.Duration{
	"ns": time.Nanosecond, "nano": time.Nanosecond, "nanos": time.Nanosecond, "nanosecond": time.Nanosecond, "nanoseconds": time.Nanosecond,
	"µs": time.Microsecond, "us": time.Microsecond, "micro": time.Microsecond, "micros": time.Microsecond,
	"microsecond": time.Microsecond, "microseconds": time.Microsecond,
	"": time.Millisecond, "ms": time.Millisecond, "milli": time.Millisecond, "millis": time.Millisecond,
	"millisecond": time.Millisecond, "milliseconds": time.Millisecond,
	"s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
}

// parseFlinkDuration reads a duration as Flink's configuration writes it:
// "10000" (ms), "10 s", "1min".
func parseFlinkDuration(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	end := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsDigit(r) })
	if end < 0 {
		end = len(s)
	}
	n, err := strconv.ParseInt(s[:end], 10, 64)
	unit, ok := durationUnits[strings.ToLower(strings.TrimSpace(s[end:]))]
	if err != nil || !ok || n > int64(24*time.Hour/unit) {
		return 0, false
	}
	return time.Duration(n) * unit, true
}
