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
    goal: {when: ["sink.busy >= 90", "upstream(sink).backpressured >= 50"]}
    hints: [Wait., "Really, wait."]
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
	assert.Equal(t, 1, p.Step, "held 3s")
	assert.Equal(t, 0, p.Hints)

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
`))
	assert.EqualError(t, err, `steps[0].goal: no task "snik" in the lesson's job (tasks: source, sink)
steps[0].solution[0]: an action does exactly one thing, this one does 2
steps[0].solution[1]: no task "nobody" to pick in the lesson's job
steps[1]: a step needs a goal`)
}

func TestAll(t *testing.T) {
	all, err := All()
	require.NoError(t, err)
	require.NotEmpty(t, all)
	for i, l := range all {
		assert.Equal(t, i+1, leadingNumber(l.ID), "lessons are numbered from 1 without gaps")
	}
}
