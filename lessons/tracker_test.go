package lessons

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const twoSteps = `
id: 0-test
title: Test
job: |
  tasks:
    - {name: source, operator: generator}
    - {name: map, operator: passthrough, parallelism: 2}
    - {name: sink, operator: discard, parallelism: 2}
steps:
  - title: Watch
    text: The sink is slow.
    continue: true
    goal: {when: ["sink.busy >= 90", "upstream(sink).backpressured >= 50"]}
    hints: [Wait., "Really, wait."]
    solution: [{continue: true}]
  - title: Point
    text: Which is it?
    pick: true
    goal: {when: ["picked == sink"], for: 0s}
    solution: [{pick: sink}]
`

func TestTracker_Observe(t *testing.T) {
	l, err := Parse([]byte(twoSteps))
	require.NoError(t, err)
	tr := NewTracker(l)
	idle := map[string][][2]float64{"source": {{0, 0}}, "map": {{0, 0}, {0, 0}}, "sink": {{0, 0}, {0, 0}}}

	fresh := snapshot(900, bottleneck)
	fresh.Since = 500 // 400 ms before the snapshot
	assert.False(t, tr.Observe(fresh).Holding, "metrics of subtasks that have not run a window yet do not count")
	p := tr.Observe(snapshot(1000, bottleneck))
	assert.True(t, p.Holding)
	assert.Equal(t, map[string]bool{"sink.busy >= 90": true, "upstream(sink).backpressured >= 50": true}, p.Met)
	p = tr.Observe(snapshot(3000, bottleneck))
	assert.Equal(t, 0, p.Step, "held 2s of 3s")
	p = tr.Observe(snapshot(3500, idle))
	assert.False(t, p.Holding, "a lucky moment does not count: the hold starts over")
	assert.Equal(t, map[string]bool{"sink.busy >= 90": false, "upstream(sink).backpressured >= 50": false}, p.Met)
	tr.Observe(snapshot(4000, bottleneck))
	p = tr.Observe(snapshot(6900, bottleneck))
	assert.Equal(t, 0, p.Step)
	assert.Equal(t, "2.9s", p.Held.String())
	assert.Equal(t, []string{"Wait."}, tr.Hint())
	assert.Equal(t, []string{"Wait.", "Really, wait."}, tr.Hint())
	assert.Equal(t, []string{"Wait.", "Really, wait."}, tr.Hint(), "no more hints than there are")
	p = tr.Observe(snapshot(7000, bottleneck))
	assert.Equal(t, 0, p.Step, "held 3s: reached, but the step asks the learner to look, so it waits for Continue")
	assert.True(t, p.Reached)
	assert.Equal(t, 2, p.Hints)
	p = tr.Observe(snapshot(9000, idle))
	assert.True(t, p.Reached, "reached stays reached while the learner reads, whatever the job does")
	assert.True(t, p.Holding)
	assert.Equal(t, 0, tr.Observe(snapshot(60_000, idle)).Step, "no timer ends a step")
	tr.Learner.Continued = true
	p = tr.Observe(snapshot(60_100, idle))
	assert.Equal(t, 1, p.Step, "Continue")
	assert.Equal(t, 0, p.Hints)
	assert.False(t, p.Reached)
	assert.False(t, tr.Learner.Continued, "Continue is per step")

	tr.Learner.Picked = "map"
	assert.Equal(t, 1, tr.Observe(snapshot(7100, idle)).Step)
	tr.Learner.Picked = "sink"
	p = tr.Observe(snapshot(7200, idle))
	assert.True(t, p.Done, "a goal for 0s is reached at once")
	assert.Empty(t, tr.Learner.Picked, "what the learner chose is per step")
}

func TestParse_Errors(t *testing.T) {
	_, err := Parse([]byte(`
id: 0-bad
title: Bad
job: |
  tasks: [{name: source, operator: generator}, {name: sink, operator: discard}]
steps:
  - title: One
    text: Text.
    goal: {when: ["snik.busy >= 1"]}
    solution: [{task: sink, cost: 1ms, parallelism: 2}, {pick: nobody}]
  - title: Two
    text: Text.
    goal: {when: ["sink.busy >= 90"]}
  - title: Three
    text: Text.
    continue: true
    goal: {when: ["sink.busy >= 90"]}
    solution: [{continue: true}, {task: sink, cost: 1ms}]
  - title: Four
    text: Text.
    goal: {when: ["sink.busy <= 10"]}
    solution: [{task: sink, cost: 1ms}, {continue: true}]
  - title: Five
    text: Text.
    goal: {when: ["sink.busy >= 90"]}
    solution: [{continue: true, answer: b}]
`))
	assert.EqualError(t, err, `steps[0].goal: no task "snik" in the lesson's job (tasks: source, sink)
steps[0].solution[0]: an action does exactly one thing, this one does 2
steps[0].solution[1]: no task "nobody" to pick in the lesson's job
steps[1]: a step needs a solution: what the learner does to end it (continue: true for a step that asks them to look)
steps[2]: a step with continue: true ends its solution with {continue: true}
steps[3]: {continue: true} in the solution of a step without continue: true
steps[4].solution[0]: an action does exactly one thing, this one does 2
steps[4]: {continue: true} in the solution of a step without continue: true`)
}

func TestAll(t *testing.T) {
	all, err := All()
	require.NoError(t, err)
	require.NotEmpty(t, all)
	for i, l := range all {
		assert.Equal(t, i+1, leadingNumber(l.ID), "lessons are numbered from 1 without gaps")
	}
}

// A goal shown to the learner, as a checklist or as targets on the graph,
// must not point at the task a later step (or the same one) asks them to
// pick: no shown metric condition of a step up to a pick step names it.
func TestAll_GoalsDoNotGiveAwayPicks(t *testing.T) {
	all, err := All()
	require.NoError(t, err)
	for _, l := range all {
		for i, st := range l.Steps {
			if !st.Pick {
				continue
			}
			var picked string
			for _, a := range st.Solution {
				if a.Pick != "" {
					picked = a.Pick
				}
			}
			require.NotEmpty(t, picked, "%s step %d: a pick step's solution picks", l.ID, i+1)
			for j, before := range l.Steps[:i+1] {
				if before.Goal.Say != "" {
					assert.Empty(t, before.Goal.Targets(l.Spec()), "a goal that says what it is draws no targets")
					continue
				}
				for _, c := range before.Goal.conds {
					assert.False(t, c.kind == "metric" && c.task == picked,
						"%s: step %d shows %q, which gives away the task to pick in step %d (%s): say the goal in words instead (goal.say)",
						l.ID, j+1, c.describe(), i+1, picked)
				}
			}
		}
	}
}

func TestGoal_Say(t *testing.T) {
	l, err := Parse([]byte(`
id: 0-say
title: Say
job: |
  tasks: [{name: source, operator: generator}, {name: sink, operator: discard}]
steps:
  - title: Watch
    text: Watch.
    continue: true
    goal: {when: ["sink.busy >= 90", "source.backpressured >= 50"], say: the colors have settled}
    solution: [{continue: true}]
`))
	require.NoError(t, err)
	g := &l.Steps[0].Goal
	assert.Equal(t, []Check{{Text: "the colors have settled"}}, g.Checks())
	assert.Empty(t, g.Targets(l.Spec()))
}
