package hub

import (
	"encoding/json"
	"math"

	"flowlab/runtime/metrics"
)

// unknown stands for a NaN percentage in the history.
const unknown = -1

// history is a ring of the last snapshots' task percentages.
type history struct {
	capacity int
	start    int // index of the oldest sample
	n        int
	ts       []int64 // ms since the epoch, per sample
	ids      []string
	busy, bp [][]int8    // per vertex, per sample: percent, or unknown
	p99      [][]float32 // per vertex, per sample: latency p99 in ms, or NaN for none
}

func newHistory(capacity int) *history {
	return &history{capacity: max(capacity, 1), ts: make([]int64, max(capacity, 1))}
}

func percent(f metrics.Float) int8 {
	if math.IsNaN(float64(f)) {
		return unknown
	}
	return int8(max(0, min(100, f)))
}

func (h *history) add(s *metrics.Job) {
	if h.ids == nil || len(h.ids) != len(s.Vertices) {
		h.ids = make([]string, len(s.Vertices))
		h.busy = make([][]int8, len(s.Vertices))
		h.bp = make([][]int8, len(s.Vertices))
		h.p99 = make([][]float32, len(s.Vertices))
		for i, v := range s.Vertices {
			h.ids[i] = v.ID
			h.busy[i] = make([]int8, h.capacity)
			h.bp[i] = make([]int8, h.capacity)
			h.p99[i] = make([]float32, h.capacity)
		}
		h.start, h.n = 0, 0
	}
	i := (h.start + h.n) % h.capacity
	if h.n == h.capacity {
		h.start = (h.start + 1) % h.capacity
	} else {
		h.n++
	}
	h.ts[i] = s.Timestamp
	for k := range s.Vertices {
		h.busy[k][i] = percent(s.Vertices[k].Busy)
		h.bp[k][i] = percent(s.Vertices[k].BackPressure)
		h.p99[k][i] = float32(math.NaN())
		if l := s.Vertices[k].Latency; l != nil {
			h.p99[k][i] = float32(l.P99)
		}
	}
}

// historyMessage is the JSON of a "history" message, documented in docs/API.md.
type historyMessage struct {
	Type     string          `json:"type"`
	Start    int64           `json:"start"`   // ms since the epoch of the oldest sample
	Offsets  []int64         `json:"offsets"` // ms after start, per sample
	Vertices []vertexHistory `json:"vertices"`
}

type vertexHistory struct {
	ID            string `json:"id"`
	Busy          []*int `json:"busy"` // percent per sample; null when unknown
	BackPressured []*int `json:"backPressured"`
	// LatencyP99 is the task's end-to-end latency p99 in ms per sample;
	// null when it has none (a source, or no records came in).
	LatencyP99 []*float64 `json:"latencyP99"`
}

func (h *history) marshal() []byte {
	m := historyMessage{Type: "history", Offsets: make([]int64, h.n), Vertices: make([]vertexHistory, len(h.ids))}
	if h.n > 0 {
		m.Start = h.ts[h.start]
	}
	for k := range h.n {
		m.Offsets[k] = h.ts[(h.start+k)%h.capacity] - m.Start
	}
	values := make([]int, 101) // shared pointees: 0..100
	for p := range values {
		values[p] = p
	}
	series := func(s []int8) []*int {
		out := make([]*int, h.n)
		for k := range h.n {
			if p := s[(h.start+k)%h.capacity]; p != unknown {
				out[k] = &values[p]
			}
		}
		return out
	}
	ms := func(s []float32) []*float64 {
		out := make([]*float64, h.n)
		values := make([]float64, h.n)
		for k := range h.n {
			if v := s[(h.start+k)%h.capacity]; !math.IsNaN(float64(v)) {
				values[k] = math.Round(float64(v)*10) / 10
				out[k] = &values[k]
			}
		}
		return out
	}
	for i, id := range h.ids {
		m.Vertices[i] = vertexHistory{ID: id, Busy: series(h.busy[i]), BackPressured: series(h.bp[i]), LatencyP99: ms(h.p99[i])}
	}
	data, err := json.Marshal(m)
	if err != nil {
		panic("hub: marshal history: " + err.Error())
	}
	return data
}
