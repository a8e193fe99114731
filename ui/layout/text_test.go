package layout

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTextWidth(t *testing.T) {
	// Widths Chromium measured (getComputedTextLength) in DejaVu Sans, the
	// widest face the page's font stack falls back to: the estimate covers
	// them, with no more than a fifth to spare.
	for _, c := range []struct {
		text        string
		px, spacing float64
		measured    float64
	}{
		{"REBALANCE · 8 KiB/s", 10.5, 0.525, 131.9},
		{"REBALANCE", 10.5, 0.525, 74.6},
		{"FORWARD", 10.5, 0.525, 63.9},
		{"HASH", 10.5, 0.525, 35.4},
		{"BROADCAST", 10.5, 0.525, 76.9},
		{"goal: every subtask backpressured ≤ 10%", 11, 0, 260.8},
		{"records in per second ≥ 450", 11, 0, 174.3},
		{"costs ≥ 600µs per record", 11, 0, 155.6},
		{"goal: runs an uploaded operator", 11, 0, 200.9},
	} {
		w := TextWidth(c.text, c.px, true, c.spacing)
		assert.GreaterOrEqual(t, w, c.measured, c.text)
		assert.LessOrEqual(t, w, 1.2*c.measured, c.text)
	}
}
