package term

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"flowlab/runtime/metrics"
)

func snapshot() *metrics.Job {
	legacy := []metrics.Subtask{{Subtask: 0, BusyTimeMsPerSecond: metrics.Float(math.NaN()), BackPressuredTimeMsPerSecond: 1000}}
	sink := []metrics.Subtask{{Subtask: 0, BusyTimeMsPerSecond: 1000, NumRecordsInPerSecond: 12345, InPoolUsage: 1}}
	return &metrics.Job{
		Name:  "slow-sink",
		State: metrics.StateRunning,
		Vertices: []metrics.Vertex{
			metrics.NewVertex("a", "source", "legacy-generator", legacy, 0),
			metrics.NewVertex("b", "sink", "discard", sink, 0),
		},
	}
}

func TestTable(t *testing.T) {
	var b bytes.Buffer
	n := Table(&b, snapshot(), NoColor)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	assert.Len(t, lines, n)
	assert.Equal(t, "slow-sink  RUNNING", lines[0])
	assert.Regexp(t, `^source\s+N/A\s+100%\s+0%\s+high`, lines[2])
	assert.Regexp(t, `^sink\s+100%\s+0%\s+0%\s+ok\s+12\.3k`, lines[4])
	assert.Regexp(t, `^  #0 .*100%\s+0%$`, lines[5], "subtask rows show buffer usage")
	assert.NotContains(t, b.String(), "\x1b[")
}

func TestTable_colors(t *testing.T) {
	var b bytes.Buffer
	Table(&b, snapshot(), TrueColor)
	assert.Contains(t, b.String(), "\x1b[30;48;2;136;136;136msource", "backpressured: black on Flink's gray")
	assert.Contains(t, b.String(), "\x1b[30;48;2;238;100;100msink", "busy: black on Flink's red")
	b.Reset()
	Table(&b, snapshot(), Color256)
	assert.Contains(t, b.String(), "\x1b[30;48;5;102msource", "the nearest of xterm's 256 colors")
}

func TestDetectColor(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	assert.Equal(t, NoColor, DetectColor(false, env("COLORTERM", "truecolor")))
	assert.Equal(t, NoColor, DetectColor(true, env("NO_COLOR", "1", "COLORTERM", "truecolor")))
	assert.Equal(t, NoColor, DetectColor(true, env("TERM", "dumb")))
	assert.Equal(t, TrueColor, DetectColor(true, env("COLORTERM", "24bit")))
	assert.Equal(t, Color256, DetectColor(true, env("TERM", "xterm-256color")))
}

func TestLive_Draw(t *testing.T) {
	var b bytes.Buffer
	l := NewLive(&b, NoColor)
	l.Draw(snapshot())
	first := b.Len()
	l.Draw(snapshot())
	assert.Equal(t, "\x1b[6A\x1b[J", b.String()[first:first+7], "moves up over the old table and clears it")
}
