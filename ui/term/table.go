// Package term renders job snapshots as a table for a terminal: one row per
// task, painted with its Flink fill color where the terminal can, and its
// subtasks beneath.
package term

import (
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"flowlab/runtime/doctor"
	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
)

// ColorMode is how much color a terminal shows.
type ColorMode int

// Color modes.
const (
	NoColor   ColorMode = iota
	Color256            // xterm's 256 colors
	TrueColor           // 24-bit
)

// DetectColor picks the color mode for a terminal from the environment
// (NO_COLOR, COLORTERM, TERM); isTerminal is whether output is a terminal.
func DetectColor(isTerminal bool, getenv func(string) string) ColorMode {
	switch {
	case !isTerminal || getenv("NO_COLOR") != "" || getenv("TERM") == "dumb":
		return NoColor
	case getenv("COLORTERM") == "truecolor" || getenv("COLORTERM") == "24bit":
		return TrueColor
	default:
		return Color256
	}
}

// DetectStdout is DetectColor for os.Stdout.
func DetectStdout(isTerminal bool) ColorMode { return DetectColor(isTerminal, os.Getenv) }

// Table writes a snapshot as a table and returns the number of lines written.
func Table(w io.Writer, snap *metrics.Job, mode ColorMode) int {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %s", snap.Name, snap.State)
	if snap.Restarts > 0 {
		fmt.Fprintf(&b, "  restarts %d", snap.Restarts)
	}
	if snap.Failure != "" {
		fmt.Fprintf(&b, "  last failure: %s", firstLine(snap.Failure))
	}
	b.WriteString("\n")
	const format = "%-20s %6s %6s %6s %5s %11s %11s %6s %7s %7s\n"
	fmt.Fprintf(&b, format, "TASK", "BUSY", "BACKPR", "IDLE", "LEVEL", "IN/S", "OUT/S", "SKEW", "INPOOL", "OUTPOOL")
	for _, v := range snap.Vertices {
		m := v.Metrics
		row := fmt.Sprintf(format, trim(v.Name, 20), percent(float64(v.Busy)), percent(float64(v.BackPressure)),
			percent(metrics.Percent(m.IdleTimeMsPerSecond)), v.Backpressure.Level,
			rate(m.NumRecordsInPerSecond), rate(m.NumRecordsOutPerSecond), percent(math.Round(v.DataSkew)), "", "")
		b.WriteString(paint(strings.TrimSuffix(row, "\n"), v.Colors.Fill, mode))
		b.WriteString("\n")
		for _, s := range v.Subtasks {
			fmt.Fprintf(&b, format, fmt.Sprintf("  #%d", s.Subtask),
				percent(metrics.Percent(float64(s.BusyTimeMsPerSecond))),
				percent(metrics.Percent(s.BackPressuredTimeMsPerSecond)),
				percent(metrics.Percent(s.IdleTimeMsPerSecond)),
				metrics.Level(s.BackPressuredTimeMsPerSecond/1000),
				rate(s.NumRecordsInPerSecond), rate(s.NumRecordsOutPerSecond), "",
				percent(math.Round(s.InPoolUsage*100)), percent(math.Round(s.OutPoolUsage*100)))
		}
	}
	io.WriteString(w, b.String())
	return strings.Count(b.String(), "\n")
}

// Live redraws a table in place on a terminal.
type Live struct {
	w     io.Writer
	mode  ColorMode
	lines int
}

// NewLive returns a Live that draws on w.
func NewLive(w io.Writer, mode ColorMode) *Live { return &Live{w: w, mode: mode} }

// Draw replaces the previous table with snap's.
func (l *Live) Draw(snap *metrics.Job) {
	if l.lines > 0 {
		fmt.Fprintf(l.w, "\x1b[%dA\x1b[J", l.lines) // up to the old table, clear below
	}
	l.lines = Table(l.w, snap, l.mode)
}

func percent(p float64) string {
	if math.IsNaN(p) {
		return "N/A"
	}
	return strconv.Itoa(int(p)) + "%"
}

func rate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2fM", r/1e6)
	case r >= 1e4:
		return fmt.Sprintf("%.1fk", r/1e3)
	default:
		return fmt.Sprintf("%.0f", r)
	}
}

func trim(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// paint sets text on a background of hex color #rrggbb, with black or white
// text, whichever reads better on it.
func paint(text, hex string, mode ColorMode) string {
	if mode == NoColor {
		return text
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(hex, "#"), 16, 32)
	if err != nil {
		return text
	}
	r, g, b := int(n>>16), int(n>>8&0xff), int(n&0xff)
	fg := "30" // black
	if 299*r+587*g+114*b < 128*1000 {
		fg = "97" // bright white
	}
	var bg string
	if mode == TrueColor {
		bg = fmt.Sprintf("48;2;%d;%d;%d", r, g, b)
	} else {
		bg = fmt.Sprintf("48;5;%d", 16+36*cube(r)+6*cube(g)+cube(b))
	}
	return "\x1b[" + fg + ";" + bg + "m" + text + "\x1b[0m"
}

// cube maps a channel to xterm's 6-level color cube.
func cube(c int) int {
	if c < 48 {
		return 0
	}
	return min((c-35)/40, 5)
}

// Diagnosis writes the doctor's findings, a line each: the kind, what it
// found and what to do.
func Diagnosis(w io.Writer, findings []doctor.Finding) {
	if len(findings) == 0 {
		fmt.Fprintln(w, "diagnosis: none yet (a finding must hold for a few seconds: run the job longer)")
		return
	}
	for _, f := range findings {
		fmt.Fprintf(w, "diagnosis: %s: %s. %s\n", f.Kind, strings.TrimSuffix(f.Title, "."), f.Advice)
	}
}

// Checkpoints writes a line of the job's checkpoints, if it takes them.
func Checkpoints(w io.Writer, c *metrics.Checkpoints) {
	if !c.Enabled {
		return
	}
	fmt.Fprintf(w, "checkpoints: %d completed, %d failed, %d restored", c.Completed, c.Failed, c.Restored)
	if l := c.LatestCompleted; l != nil {
		mode := "aligned"
		if l.Unaligned {
			mode = "unaligned"
		}
		fmt.Fprintf(w, "; latest #%d (%s): %d ms end to end, state %s, persisted in-flight data %s",
			l.ID, mode, l.EndToEndDuration, spec.FormatBytes(l.StateSize), spec.FormatBytes(l.PersistedData))
	}
	fmt.Fprintln(w)
}
