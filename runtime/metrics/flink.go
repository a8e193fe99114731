// Package metrics holds Flink's metric semantics as Flowlab shows them: the
// task-level percentages, backpressure levels, data skew, the web dashboard's
// color blend, and the JSON shapes of metric snapshots.
//
// Everything here is a pure function of numbers, so the terminal table, the
// REST API and the browser all show the same thing.
package metrics

import (
	"fmt"
	"math"
)

// Backpressure levels, as Flink's BackPressure tab names them.
const (
	LevelOK   = "ok"
	LevelLow  = "low"
	LevelHigh = "high"
)

// Level classifies a backpressure ratio (backPressuredTimeMsPerSecond / 1000)
// as Flink does: ok up to 10%, low up to 50%, high above.
func Level(ratio float64) string {
	switch {
	case ratio <= 0.10:
		return LevelOK
	case ratio <= 0.5:
		return LevelLow
	default:
		return LevelHigh
	}
}

// Percent turns a time-per-second metric into the percentage a graph node
// shows: min(round(ms/10), 100). NaN stays NaN (shown as N/A).
func Percent(msPerSecond float64) float64 {
	if math.IsNaN(msPerSecond) {
		return math.NaN()
	}
	return min(jsRound(msPerSecond/10), 100)
}

// Skew is Flink's data skew of a task in percent: the mean absolute deviation
// of the subtasks' numRecordsInPerSecond relative to their mean, capped at 100;
// 0 when the mean is 0.
func Skew(ratesIn []float64) float64 {
	if len(ratesIn) == 0 {
		return 0
	}
	var sum float64
	for _, r := range ratesIn {
		sum += r
	}
	mean := sum / float64(len(ratesIn))
	if mean == 0 {
		return 0
	}
	var dev float64
	for _, r := range ratesIn {
		dev += math.Abs(r - mean)
	}
	return min(dev/float64(len(ratesIn))/mean*100, 100)
}

// Colors is how the dashboard paints a task node.
type Colors struct {
	Fill   string `json:"fill"`
	Border string `json:"border"`
}

type rgb [3]float64

var (
	fillIdle   = rgb{0x5d, 0xb1, 0xff}
	fillBusy   = rgb{0xee, 0x64, 0x64}
	fillBP     = rgb{0x88, 0x88, 0x88}
	borderIdle = rgb{0x18, 0x90, 0xff}
	borderBusy = rgb{0xee, 0x22, 0x22}
	borderBP   = rgb{0x00, 0x00, 0x00}
)

// Color is Flink's web dashboard blend: start blue, blend toward red by busy
// percent, then toward gray (fill) or black (border) by backpressured percent.
// Each step rounds every channel as JavaScript's Math.round does. A NaN busy
// percent (a legacy source) skips the red step.
func Color(busyPct, backPressuredPct float64) Colors {
	fill, border := fillIdle, borderIdle
	if !math.IsNaN(busyPct) {
		fill = blend(fill, fillBusy, busyPct/100)
		border = blend(border, borderBusy, busyPct/100)
	}
	fill = blend(fill, fillBP, backPressuredPct/100)
	border = blend(border, borderBP, backPressuredPct/100)
	return Colors{Fill: fill.hex(), Border: border.hex()}
}

func blend(from, to rgb, p float64) rgb {
	var c rgb
	for i := range c {
		c[i] = jsRound((to[i]-from[i])*p + from[i])
	}
	return c
}

func (c rgb) hex() string {
	return fmt.Sprintf("#%02x%02x%02x", int(c[0]), int(c[1]), int(c[2]))
}

// jsRound rounds halves up, like JavaScript's Math.round.
func jsRound(x float64) float64 { return math.Floor(x + 0.5) }
