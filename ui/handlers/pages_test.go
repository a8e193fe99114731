package handlers

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/examples"
	"flowlab/lessons"
	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
	"flowlab/ui/components"
	"flowlab/ui/hub"
	"flowlab/ui/layout"
)

// specSnapshot is a snapshot of a spec's job before it runs.
func specSnapshot(sp *spec.Job) *metrics.Job {
	snap := &metrics.Job{Name: sp.Name}
	for _, t := range sp.Tasks {
		snap.Vertices = append(snap.Vertices, metrics.Vertex{ID: t.Name, Name: t.Name, Operator: t.Operator, Parallelism: t.Parallelism})
	}
	for _, e := range sp.Edges {
		snap.Edges = append(snap.Edges, metrics.Edge{Source: e.From, Target: e.To, Partitioning: e.Partitioning, Bandwidth: e.Bandwidth})
	}
	return snap
}

type rect struct{ l, t, r, b float64 }

func (a rect) overlaps(b rect) bool { return a.l < b.r && b.l < a.r && a.t < b.b && b.t < a.b }

// checkGraph checks that no edge label, as drawn now or after a rescale
// turns a forward edge into a rebalance one, and no goal label overlaps a
// node, and that goal labels stay inside the drawing.
func checkGraph(t *testing.T, name string, snap *metrics.Job, sp *spec.Job, o layout.Options, feet map[string]layout.Size) {
	g := graphView(snap, sp, o, feet)
	var nodes, goals []rect
	for _, n := range g.Nodes {
		nodes = append(nodes, rect{n.X, n.Y, n.X + n.W, n.Y + n.H})
		if f, ok := feet[n.Name]; ok {
			cx := n.X + n.W/2
			goal := rect{cx - f.W/2, n.Y + n.H, cx + f.W/2, n.Y + n.H + f.H}
			assert.True(t, goal.l >= 0 && goal.r <= g.Width && goal.b <= g.Height, "%s: the goal of %s is cut: %+v in %vx%v", name, n.Name, goal, g.Width, g.Height)
			goals = append(goals, goal)
		}
	}
	for i, e := range g.Edges {
		texts := []string{e.Partitioning}
		if se := snap.Edges[i]; se.Partitioning == spec.Forward {
			se.Partitioning = spec.Rebalance
			texts = append(texts, hub.EdgeLabel(se))
		}
		for _, text := range texts {
			w := components.EdgeLabelWidth(text)
			label := rect{e.LabelX - w/2, e.LabelY - components.EdgeLabelH/2, e.LabelX + w/2, e.LabelY + components.EdgeLabelH/2}
			for k, n := range append(nodes, goals...) {
				assert.False(t, label.overlaps(n), "%s: label %q of %s->%s overlaps box %d %+v", name, text, e.From, e.To, k, n)
			}
		}
	}
	for i, a := range goals {
		for _, n := range nodes {
			assert.False(t, a.overlaps(n), "%s: a goal overlaps a node", name)
		}
		for _, b := range goals[i+1:] {
			assert.False(t, a.overlaps(b), "%s: goals overlap", name)
		}
	}
}

func TestGraphView_LabelsClearNodes(t *testing.T) {
	all, err := lessons.All()
	require.NoError(t, err)
	for _, l := range all {
		checkGraph(t, l.ID, specSnapshot(l.Spec()), l.Spec(), lessonGraphOptions, goalFeet(l))
		// Every task rescaled to 3: forward edges turn rebalance.
		sp := *l.Spec()
		sp.Tasks = append([]spec.Task(nil), sp.Tasks...)
		for i := range sp.Tasks {
			sp.Tasks[i].Parallelism = 3
		}
		checkGraph(t, l.ID+" rescaled", specSnapshot(&sp), &sp, lessonGraphOptions, goalFeet(l))
	}
	for _, ex := range examples.All() {
		sp, err := spec.Parse([]byte(ex.YAML))
		require.NoError(t, err)
		checkGraph(t, ex.Name, specSnapshot(sp), sp, graphOptions, nil)
	}
}

func TestGraphView_Lesson7(t *testing.T) {
	// The slow link's label, the point of the lesson, fits between parse and sink.
	all, err := lessons.All()
	require.NoError(t, err)
	for _, l := range all {
		if l.ID != "7-network" {
			continue
		}
		g := graphView(specSnapshot(l.Spec()), l.Spec(), lessonGraphOptions, goalFeet(l))
		e := g.Edges[1]
		assert.Equal(t, "REBALANCE · 8 KiB/s", e.Partitioning)
		parse, sink := g.Nodes[1], g.Nodes[2]
		w := components.EdgeLabelWidth(e.Partitioning)
		assert.LessOrEqual(t, parse.X+parse.W, e.LabelX-w/2)
		assert.LessOrEqual(t, e.LabelX+w/2, sink.X)
		return
	}
	t.Fatal("no lesson 7-network")
}
