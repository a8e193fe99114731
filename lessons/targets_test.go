package lessons

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime/metrics"
)

const goals = `
id: 0-goals
title: Goals
job: |
  tasks:
    - {name: source, operator: generator}
    - {name: map, operator: passthrough, parallelism: 2}
    - {name: sink, operator: discard}
    - {name: legacy, operator: legacy-generator}
  edges:
    - {from: source, to: map}
    - {from: map, to: sink}
steps:
  - title: Bottleneck
    text: x
    continue: true
    goal: {when: ["sink.busy >= 90", "upstream(sink).backpressured >= 50", "legacy.busy == N/A", "sink.in-rate >= 450"]}
    solution: [{continue: true}]
  - title: Clear
    text: x
    goal: {when: ["*.backpressured <= 10", "map[all].idle >= 20", "map.operator == upload:*", "total-parallelism <= 8"]}
    solution: [{task: map, operator: "upload:x"}]
  - title: Ask
    text: x
    goal: {when: ["answer == b", "picked == sink", "uploaded", "window <= 200ms", "paused"], for: 0s}
    solution: [{answer: b}]
`

func TestGoal_Targets(t *testing.T) {
	l, err := Parse([]byte(goals))
	require.NoError(t, err)

	targets := l.Steps[0].Goal.Targets(l.Spec())
	require.Len(t, targets, 4)
	source, mapT, sink, legacy := targets[0], targets[1], targets[2], targets[3]
	assert.Equal(t, "source", source.Task, "in the job's order")
	assert.Equal(t, Target{Task: "source", BackPressured: 50, Colors: metrics.Color(0, 50), Text: "backpressured ≥ 50%"}, source)
	assert.Equal(t, "map", mapT.Task)
	assert.Equal(t, 50.0, mapT.BackPressured)
	assert.Equal(t, Target{Task: "sink", Busy: 90, Colors: metrics.Color(90, 0), Text: "busy ≥ 90% · records in per second ≥ 450"}, sink)
	assert.Equal(t, "legacy", legacy.Task)
	assert.True(t, math.IsNaN(legacy.Busy))
	assert.Equal(t, metrics.Color(math.NaN(), 0), legacy.Colors)
	assert.Equal(t, "busy is N/A", legacy.Text)

	targets = l.Steps[1].Goal.Targets(l.Spec())
	require.Len(t, targets, 4, "every task")
	for _, tg := range targets {
		assert.Zero(t, tg.Busy, "an upper bound leaves 0")
		assert.Zero(t, tg.BackPressured)
		assert.Equal(t, metrics.Color(0, 0), tg.Colors)
	}
	assert.Equal(t, "backpressured ≤ 10% · every subtask idle ≥ 20% · runs an uploaded operator", targets[1].Text)

	assert.Empty(t, l.Steps[2].Goal.Targets(l.Spec()), "nothing to draw for answers and picks")
}

func TestGoal_Checks(t *testing.T) {
	l, err := Parse([]byte(goals))
	require.NoError(t, err)
	var texts []string
	for _, st := range l.Steps {
		for _, c := range st.Goal.Checks() {
			texts = append(texts, c.Text)
		}
	}
	assert.Equal(t, []string{
		"sink: busy ≥ 90%",
		"every task before sink: backpressured ≥ 50%",
		"legacy: busy is N/A",
		"sink: records in per second ≥ 450",
		"every task: backpressured ≤ 10%",
		"map: every subtask idle ≥ 20%",
		"map runs an uploaded operator",
		"total parallelism ≤ 8",
		"you choose the right answer",
		"you point at the right task",
		"you have uploaded an operator",
		"metrics window ≤ 200ms",
		"the sources are paused",
	}, texts, "answers and picks are not given away")
	assert.Equal(t, "sink.busy >= 90", l.Steps[0].Goal.Checks()[0].When, "the key of Progress.Met")
}
