package layout

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var opts = Options{NodeW: 200, NodeH: 100, GapX: 100, GapY: 30, DummyH: 20, Margin: 10}

func TestLayout_Chain(t *testing.T) {
	g := Layout(3, chain(3), opts)
	for i, n := range g.Nodes {
		assert.Equal(t, i, n.Layer)
		assert.Equal(t, 10.0, n.Y, "a chain is a straight line")
	}
	assert.Equal(t, 10+3*200+2*100+10.0, g.Width)
	assert.Equal(t, 120.0, g.Height)
	assert.Equal(t, "M210.0,60.0 C260.0,60.0 260.0,60.0 310.0,60.0", g.Edges[0].D())
	assert.Equal(t, Point{260, 60}, g.Edges[0].Label)
}

func TestLayout_LongEdge(t *testing.T) {
	// 0 -> 1 -> 2 and 0 -> 2: the long edge passes through layer 1 beside node 1.
	g := Layout(3, []Edge{{From: 0, To: 1}, {From: 1, To: 2}, {From: 0, To: 2}}, opts)
	assert.Equal(t, []int{0, 1, 2}, []int{g.Nodes[0].Layer, g.Nodes[1].Layer, g.Nodes[2].Layer})
	long := g.Edges[2]
	require.Len(t, long.Points, 4)
	assert.Equal(t, long.Points[1].Y, long.Points[2].Y)
	n1 := g.Nodes[1]
	y := long.Points[1].Y
	assert.True(t, y < n1.Y || y > n1.Y+opts.NodeH, "the long edge does not cross node 1")
	assert.Contains(t, long.D(), " L")
}

func TestLayout_ReducesCrossings(t *testing.T) {
	// Two sources each feeding the sink listed in the opposite order.
	edges := []Edge{{From: 0, To: 3}, {From: 1, To: 2}}
	g := Layout(4, edges, opts)
	assert.Equal(t, g.Nodes[0].Order, g.Nodes[3].Order)
	assert.Equal(t, g.Nodes[1].Order, g.Nodes[2].Order)
}

func TestLayout_NoOverlaps(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		n := 1 + rng.IntN(12)
		var edges []Edge
		for from := range n {
			for to := from + 1; to < n; to++ {
				if rng.IntN(4) == 0 {
					edges = append(edges, Edge{From: from, To: to})
				}
			}
		}
		g := Layout(n, edges, opts)
		for i, a := range g.Nodes {
			assert.True(t, a.X+opts.NodeW <= g.Width && a.Y+opts.NodeH <= g.Height)
			for _, b := range g.Nodes[i+1:] {
				overlap := a.X < b.X+opts.NodeW && b.X < a.X+opts.NodeW && a.Y < b.Y+opts.NodeH && b.Y < a.Y+opts.NodeH
				require.False(t, overlap, "nodes %+v and %+v overlap", a, b)
			}
		}
		for i, e := range edges {
			assert.Less(t, g.Nodes[e.From].Layer, g.Nodes[e.To].Layer)
			assert.Len(t, g.Edges[i].Points, 2*(g.Nodes[e.To].Layer-g.Nodes[e.From].Layer))
		}
	}
}

func TestLayout_Cycle(t *testing.T) {
	g := Layout(2, []Edge{{From: 0, To: 1}, {From: 1, To: 0}}, opts)
	assert.Len(t, g.Nodes, 2)
}

// chain is n nodes, each joined to the next.
func chain(n int) []Edge {
	var edges []Edge
	for i := 1; i < n; i++ {
		edges = append(edges, Edge{From: i - 1, To: i})
	}
	return edges
}

// box is a rectangle: left, top, right, bottom.
type box struct{ l, t, r, b float64 }

func (a box) overlaps(b box) bool { return a.l < b.r && b.l < a.r && a.t < b.b && b.t < a.b }

func (a box) inside(g Graph) bool { return a.l >= 0 && a.t >= 0 && a.r <= g.Width && a.b <= g.Height }

// boxes are where g draws its nodes, the nodes' feet and the edges' labels
// (labelH high).
func boxes(g Graph, edges []Edge, o Options, labelH float64) (nodes, feet, labels []box) {
	for i, n := range g.Nodes {
		nodes = append(nodes, box{n.X, n.Y, n.X + o.NodeW, n.Y + o.NodeH})
		if i < len(o.Feet) && o.Feet[i].H > 0 {
			f := o.Feet[i]
			cx := n.X + o.NodeW/2
			feet = append(feet, box{cx - f.W/2, n.Y + o.NodeH, cx + f.W/2, n.Y + o.NodeH + f.H})
		}
	}
	for i, e := range edges {
		if e.LabelW > 0 {
			p := g.Edges[i].Label
			labels = append(labels, box{p.X - e.LabelW/2, p.Y - labelH/2, p.X + e.LabelW/2, p.Y + labelH/2})
		}
	}
	return nodes, feet, labels
}

func TestLayout_WideLabel(t *testing.T) {
	// A label twice as wide as the gap: the gap grows to fit it.
	edges := chain(3)
	edges[1].LabelW = 200
	o := opts
	o.LabelPad = 8
	g := Layout(3, edges, o)
	assert.Equal(t, opts.GapX, g.Nodes[1].X-g.Nodes[0].X-opts.NodeW, "a gap without a label stays GapX")
	assert.Equal(t, 216.0, g.Nodes[2].X-g.Nodes[1].X-opts.NodeW, "the label and LabelPad on either side")
	nodes, _, labels := boxes(g, edges, o, 20)
	for _, n := range nodes {
		assert.False(t, labels[0].overlaps(n))
	}
}

func TestLayout_Feet(t *testing.T) {
	// A foot wider than its node overhangs it: the gaps beside it and the
	// margin grow, and the nodes below it move down.
	o := opts
	o.LabelPad = 8
	o.Feet = []Size{{W: 300, H: 40}, {}, {W: 100, H: 20}}
	g := Layout(3, []Edge{{From: 0, To: 1, LabelW: 60}, {From: 0, To: 2}}, o)
	nodes, feet, labels := boxes(g, []Edge{{From: 0, To: 1, LabelW: 60}}, o, 20)
	for _, f := range feet {
		assert.True(t, f.inside(g), "foot %+v inside %vx%v", f, g.Width, g.Height)
		for _, n := range nodes {
			assert.False(t, f.overlaps(n), "foot %+v over node %+v", f, n)
		}
		assert.False(t, f.overlaps(labels[0]))
	}
}

func TestLayout_Feet_Chain(t *testing.T) {
	// Feet of different heights keep a chain a straight line.
	o := opts
	o.Feet = []Size{{W: 100, H: 20}, {}, {W: 100, H: 50}}
	g := Layout(3, chain(3), o)
	for _, n := range g.Nodes {
		assert.Equal(t, g.Nodes[0].Y, n.Y)
	}
	assert.Equal(t, 10+100+50+10.0, g.Height, "room for the tallest foot")
}

func TestLayout_LabelsAndFeetClearNodes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	o := opts
	o.LabelPad = 6
	for range 300 {
		n := 1 + rng.IntN(10)
		var edges []Edge
		for from := range n {
			for to := from + 1; to < n; to++ {
				if rng.IntN(3) == 0 {
					edges = append(edges, Edge{From: from, To: to, LabelW: float64(rng.IntN(400))})
				}
			}
		}
		o.Feet = make([]Size, n)
		for i := range o.Feet {
			if rng.IntN(2) == 0 {
				o.Feet[i] = Size{W: float64(rng.IntN(500)), H: float64(10 + rng.IntN(60))}
			}
		}
		g := Layout(n, edges, o)
		nodes, feet, labels := boxes(g, edges, o, 20)
		for _, b := range append(append(slices.Clone(nodes), feet...), labels...) {
			require.True(t, b.inside(g), "%+v inside %vx%v", b, g.Width, g.Height)
		}
		for _, a := range append(slices.Clone(feet), labels...) {
			for _, b := range nodes {
				require.False(t, a.overlaps(b), "%+v over node %+v", a, b)
			}
		}
		for i, a := range feet {
			for _, b := range feet[i+1:] {
				require.False(t, a.overlaps(b), "feet %+v and %+v", a, b)
			}
			for _, b := range labels {
				require.False(t, a.overlaps(b), "foot %+v and label %+v", a, b)
			}
		}
	}
}
