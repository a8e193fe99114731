package layout

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var opts = Options{NodeW: 200, NodeH: 100, GapX: 100, GapY: 30, DummyH: 20, Margin: 10}

func TestLayout_Chain(t *testing.T) {
	g := Layout(3, []Edge{{0, 1}, {1, 2}}, opts)
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
	g := Layout(3, []Edge{{0, 1}, {1, 2}, {0, 2}}, opts)
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
	edges := []Edge{{0, 3}, {1, 2}}
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
					edges = append(edges, Edge{from, to})
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
	g := Layout(2, []Edge{{0, 1}, {1, 0}}, opts)
	assert.Len(t, g.Nodes, 2)
}
