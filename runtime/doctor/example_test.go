package doctor_test

import (
	"fmt"

	"flowlab/runtime/doctor"
	"flowlab/runtime/metrics"
)

// A source and a map wait on a sink that is busy all the time: the sink is
// the bottleneck.
func ExampleDiagnose() {
	subtask := func(busy, backPressured, inPool float64) []metrics.Subtask {
		return []metrics.Subtask{{
			BusyTimeMsPerSecond:          metrics.Float(busy),
			BackPressuredTimeMsPerSecond: backPressured,
			IdleTimeMsPerSecond:          1000 - busy - backPressured,
			InPoolUsage:                  inPool,
		}}
	}
	const start = 1_700_000_000_000
	snapshot := &metrics.Job{
		State: metrics.StateRunning, Since: start, Timestamp: start + 5000, WindowMs: 2000,
		Vertices: []metrics.Vertex{
			metrics.NewVertex("1", "source", "generator", subtask(0, 950, 0), start+5000),
			metrics.NewVertex("2", "map", "passthrough", subtask(100, 900, 1), start+5000),
			metrics.NewVertex("3", "sink", "discard", subtask(985, 0, 1), start+5000),
		},
		Edges: []metrics.Edge{{Source: "1", Target: "2"}, {Source: "2", Target: "3"}},
	}
	for _, f := range doctor.Diagnose([]*metrics.Job{snapshot}) {
		fmt.Printf("%s: %s %v\n", f.Kind, f.Title, f.Tasks)
		for _, e := range f.Evidence {
			fmt.Println("  " + e.Text)
		}
	}
	// Output:
	// bottleneck: sink is the bottleneck [sink map source]
	//   sink busy 985 ms/s
	//   sink input buffers 100% full
	//   map backpressured 900 ms/s
	//   source backpressured 950 ms/s
}
