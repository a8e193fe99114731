package metrics

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestColor(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		busy, bp     float64
		fill, border string
	}{
		// The examples of DESIGN.md section 2.
		{0, 0, "#5db1ff", "#1890ff"},
		{100, 0, "#ee6464", "#ee2222"},
		{0, 100, "#888888", "#000000"},
		{50, 50, "#978a9d", "#422d49"},
		// A legacy source: no red step, backpressure still blends.
		{nan, 0, "#5db1ff", "#1890ff"},
		{nan, 100, "#888888", "#000000"},
		{nan, 50, "#739dc4", "#0c4880"},
	}
	for _, tt := range tests {
		got := Color(tt.busy, tt.bp)
		assert.Equal(t, Colors{tt.fill, tt.border}, got, "busy %v bp %v", tt.busy, tt.bp)
	}
}

func TestPercent(t *testing.T) {
	tests := []struct{ ms, want float64 }{
		{0, 0}, {4.9, 0}, {5, 1}, {604, 60}, {605, 61}, {1000, 100}, {1003, 100},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Percent(tt.ms), "ms %v", tt.ms)
	}
	assert.True(t, math.IsNaN(Percent(math.NaN())))
}

func TestLevel(t *testing.T) {
	tests := []struct {
		ratio float64
		want  string
	}{
		{0, LevelOK}, {0.10, LevelOK}, {0.11, LevelLow}, {0.5, LevelLow}, {0.51, LevelHigh}, {1, LevelHigh},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Level(tt.ratio), "ratio %v", tt.ratio)
	}
}

func TestSkew(t *testing.T) {
	tests := []struct {
		rates []float64
		want  float64
	}{
		{nil, 0},
		{[]float64{0, 0}, 0},
		{[]float64{100, 100, 100}, 0},
		{[]float64{150, 50}, 50},
		{[]float64{400, 0, 0, 0}, 100 * 150.0 / 100}, // capped below
	}
	for _, tt := range tests {
		assert.InDelta(t, min(tt.want, 100), Skew(tt.rates), 1e-9, "rates %v", tt.rates)
	}
}

func TestKind_Text(t *testing.T) {
	for _, tc := range []struct {
		kind Kind
		x    float64
		want string
	}{
		{Count, 123, "123"},
		{Count, 0, "0"},
		{Double, 983, "983.0"},
		{Double, 12.5, "12.5"},
		{Double, 0, "0.0"},
		{Double, math.NaN(), "NaN"},
		{Double, math.Inf(1), "Infinity"},
		{Double, 1e7, "1.0E7"},
		{Double, 12345678.9, "1.23456789E7"},
		{Double, 0.0001, "1.0E-4"},
		{Double, 0.001, "0.001"},
		{Single, 0.5, "0.5"},
		{Single, 1.0 / 3, "0.33333334"},
		{Single, 1, "1.0"},
		{Bool, 1, "true"},
		{Bool, 0, "false"},
	} {
		assert.Equal(t, tc.want, tc.kind.Text(tc.x), "%v %v", tc.kind, tc.x)
	}
}
