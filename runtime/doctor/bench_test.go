package doctor_test

import (
	"testing"

	"flowlab/runtime/doctor"
	"flowlab/runtime/metrics"
)

// BenchmarkDoctor_Tick is what the doctor costs a job per metrics tick: it
// observes a snapshot and answers its findings (every frame carries them).
// The job has 4 tasks of 8 subtasks, and 2 minutes of history at a 100 ms
// tick are held, as the playground's jobs have after 2 minutes.
func BenchmarkDoctor_Tick(b *testing.B) {
	subs := func(busy, bp float64) []metrics.Subtask {
		s := make([]metrics.Subtask, 8)
		for i := range s {
			s[i] = st(busy, bp)
		}
		return s
	}
	tasks := []tk{task("source", subs(0, 900)...), task("parse", subs(100, 850)...), task("enrich", subs(950, 0)...), task("sink", subs(200, 0)...)}
	const tick, ticks = 100, 1200
	snaps := make([]*metrics.Job, 2*ticks) // snapshots are never modified: reused in turn
	for i := range snaps {
		snaps[i] = job(int64(i+1)*tick, tasks, "source->parse", "parse->enrich", "enrich->sink")
	}
	d := doctor.New()
	for _, s := range snaps[:ticks] {
		d.Observe(s)
	}
	next := ticks
	b.ReportAllocs()
	for b.Loop() {
		d.Observe(snaps[next])
		_ = d.Findings()
		if next++; next == len(snaps) {
			b.StopTimer()
			d, next = doctor.New(), ticks
			for _, s := range snaps[:ticks] {
				d.Observe(s)
			}
			b.StartTimer()
		}
	}
}
