// Package layout places a job graph left to right in layers, in the manner
// of Sugiyama: longest-path layering, dummy nodes where an edge spans several
// layers, barycenter ordering to reduce crossings, then coordinates. The
// playground draws the result as SVG; nothing here knows about SVG but Path.D.
package layout

import (
	"fmt"
	"slices"
	"strings"
)

// Options are the sizes of the drawing, in pixels.
type Options struct {
	NodeW, NodeH float64 // size of a task node
	GapX, GapY   float64 // between layers, and between nodes of a layer (at least)
	DummyH       float64 // height an edge passing through a layer takes
	Margin       float64 // around the drawing
	LabelPad     float64 // between an edge's label, or a node's foot, and anything else
	// Feet is, per node by index, a box drawn centred below the node (a
	// lesson's goal label, say), its H counted from the node's bottom; nil
	// or a zero Size for none. Every node gets room below it for the
	// tallest foot, so that a chain stays a straight line; a foot wider
	// than NodeW widens the gaps beside its layer.
	Feet []Size
}

// Size is the size of a box, in pixels.
type Size struct{ W, H float64 }

// Edge joins two nodes, by index. LabelW is the width of its label, drawn
// centred on its first segment: the gap after the source's layer is made
// wide enough that the label touches no node (nor foot). 0 for none.
type Edge struct {
	From, To int
	LabelW   float64
}

// Point is a position in the drawing.
type Point struct{ X, Y float64 }

// Node is where a node is drawn: its top left corner, layer and rank in it.
type Node struct {
	X, Y         float64
	Layer, Order int
}

// Path is how an edge is drawn: through Points, from the right side of its
// source node to the left side of its target; Label is where its label goes.
type Path struct {
	Points []Point
	Label  Point
}

// Graph is a laid out graph: Nodes and Edges in the order given to Layout.
type Graph struct {
	Width, Height float64
	Nodes         []Node
	Edges         []Path
}

// sweeps is how many down-and-up barycenter passes ordering tries.
const sweeps = 12

// vertex is a node of the layered graph: a real node or a dummy on a long edge.
type vertex struct {
	layer       int
	dummy       bool
	preds, succ []int
}

// Layout lays out n nodes joined by edges (a DAG; a cycle is laid out
// anyway, its nodes on the first layer) so that no two nodes overlap.
func Layout(n int, edges []Edge, o Options) Graph {
	vs := make([]vertex, n)
	layers := layering(n, edges)
	for i := range vs {
		vs[i].layer = layers[i]
	}
	// Each edge becomes a chain of vertices, with a dummy per layer it crosses.
	chains := make([][]int, len(edges))
	for i, e := range edges {
		chain := []int{e.From}
		for l := vs[e.From].layer + 1; l < vs[e.To].layer; l++ {
			vs = append(vs, vertex{layer: l, dummy: true})
			chain = append(chain, len(vs)-1)
		}
		chain = append(chain, e.To)
		for k := 1; k < len(chain); k++ {
			a, b := chain[k-1], chain[k]
			vs[a].succ = append(vs[a].succ, b)
			vs[b].preds = append(vs[b].preds, a)
		}
		chains[i] = chain
	}
	rows := order(vs)
	xs, width := columns(vs, rows, edges, o)
	pos := place(vs, rows, xs, o)
	g := Graph{Width: width, Nodes: make([]Node, n), Edges: make([]Path, len(edges))}
	for l, row := range rows {
		for k, v := range row {
			if v < n {
				g.Nodes[v] = Node{X: pos[v].X, Y: pos[v].Y, Layer: l, Order: k}
			}
			g.Height = max(g.Height, pos[v].Y+height(vs, v, o)+o.Margin)
		}
	}
	for i, chain := range chains {
		g.Edges[i] = route(vs, pos, chain, o)
	}
	return g
}

// foot is the foot of vertex v: zero for a dummy or a node without one.
func foot(v int, o Options) Size {
	if v < len(o.Feet) {
		return o.Feet[v]
	}
	return Size{}
}

// columns places each layer's left side, and says how wide the drawing is.
// The gap after a layer is GapX, or more to fit the widest label of the
// edges leaving it between the feet that overhang the layers on either
// side (a foot wider than a node overhangs it by half the difference on
// each side), with LabelPad around the label.
func columns(vs []vertex, rows [][]int, edges []Edge, o Options) ([]float64, float64) {
	overhang := make([]float64, len(rows))
	for l, row := range rows {
		for _, v := range row {
			if f := foot(v, o); f.W > o.NodeW {
				overhang[l] = max(overhang[l], (f.W-o.NodeW)/2+o.LabelPad)
			}
		}
	}
	label := make([]float64, len(rows))
	for _, e := range edges {
		if e.LabelW > 0 {
			l := vs[e.From].layer
			label[l] = max(label[l], e.LabelW+2*o.LabelPad)
		}
	}
	xs := make([]float64, len(rows))
	x := o.Margin
	if len(rows) > 0 {
		x += overhang[0]
	}
	for l := range rows {
		xs[l] = x
		x += o.NodeW
		if l+1 < len(rows) {
			side := max(overhang[l], overhang[l+1])
			x += max(o.GapX, 2*side+label[l])
		} else {
			x += overhang[l]
		}
	}
	return xs, x + o.Margin
}

// layering puts every node one layer right of its furthest predecessor.
func layering(n int, edges []Edge) []int {
	layer := make([]int, n)
	indeg := make([]int, n)
	out := make([][]int, n)
	for _, e := range edges {
		out[e.From] = append(out[e.From], e.To)
		indeg[e.To]++
	}
	var queue []int
	for v := range n {
		if indeg[v] == 0 {
			queue = append(queue, v)
		}
	}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, w := range out[v] {
			layer[w] = max(layer[w], layer[v]+1)
			if indeg[w]--; indeg[w] == 0 {
				queue = append(queue, w)
			}
		}
	}
	return layer
}

// order ranks the vertices of each layer to reduce crossings: barycenter
// sweeps down and up, keeping the best order seen.
func order(vs []vertex) [][]int {
	depth := 0
	for _, v := range vs {
		depth = max(depth, v.layer+1)
	}
	rows := make([][]int, depth)
	for i, v := range vs {
		rows[v.layer] = append(rows[v.layer], i)
	}
	best, bestCross := clone(rows), crossings(vs, rows)
	rank := make([]float64, len(vs))
	for range sweeps {
		for l := 1; l < depth && bestCross > 0; l++ {
			sortByBarycenter(rows, l, rank, func(v int) []int { return vs[v].preds })
		}
		for l := depth - 2; l >= 0 && bestCross > 0; l-- {
			sortByBarycenter(rows, l, rank, func(v int) []int { return vs[v].succ })
		}
		if c := crossings(vs, rows); c < bestCross {
			best, bestCross = clone(rows), c
		}
	}
	return best
}

// sortByBarycenter orders layer l by the mean rank of each vertex's
// neighbours in the adjacent layer; a vertex without any keeps its rank.
func sortByBarycenter(rows [][]int, l int, rank []float64, neighbours func(int) []int) {
	for _, row := range rows {
		for k, v := range row {
			rank[v] = float64(k)
		}
	}
	bary := map[int]float64{}
	for _, v := range rows[l] {
		ns := neighbours(v)
		if len(ns) == 0 {
			bary[v] = rank[v]
			continue
		}
		var sum float64
		for _, w := range ns {
			sum += rank[w]
		}
		bary[v] = sum / float64(len(ns))
	}
	slices.SortStableFunc(rows[l], func(a, b int) int {
		switch {
		case bary[a] < bary[b]:
			return -1
		case bary[a] > bary[b]:
			return 1
		}
		return 0
	})
}

// crossings counts pairs of edge segments that cross between adjacent layers.
func crossings(vs []vertex, rows [][]int) int {
	rank := make([]int, len(vs))
	for _, row := range rows {
		for k, v := range row {
			rank[v] = k
		}
	}
	n := 0
	for _, row := range rows {
		var segs [][2]int
		for _, v := range row {
			for _, w := range vs[v].succ {
				segs = append(segs, [2]int{rank[v], rank[w]})
			}
		}
		for i := range segs {
			for j := i + 1; j < len(segs); j++ {
				a, b := segs[i], segs[j]
				if (a[0] < b[0] && a[1] > b[1]) || (a[0] > b[0] && a[1] < b[1]) {
					n++
				}
			}
		}
	}
	return n
}

func clone(rows [][]int) [][]int {
	c := make([][]int, len(rows))
	for i, r := range rows {
		c[i] = slices.Clone(r)
	}
	return c
}

// height is the room vertex v takes in its layer: a node's with the
// tallest foot (and LabelPad below it).
func height(vs []vertex, v int, o Options) float64 {
	if vs[v].dummy {
		return o.DummyH
	}
	tallest := 0.0
	for _, f := range o.Feet {
		tallest = max(tallest, f.H)
	}
	if tallest > 0 {
		return o.NodeH + tallest + o.LabelPad
	}
	return o.NodeH
}

// mid is how far below a vertex's top its edges leave and enter.
func mid(vs []vertex, v int, o Options) float64 {
	if vs[v].dummy {
		return o.DummyH / 2
	}
	return o.NodeH / 2
}

// place stacks each layer's vertices top to bottom at its column xs[l],
// centred on the tallest layer.
func place(vs []vertex, rows [][]int, xs []float64, o Options) []Point {
	heights := make([]float64, len(rows))
	tallest := 0.0
	for l, row := range rows {
		for k, v := range row {
			if k > 0 {
				heights[l] += o.GapY
			}
			heights[l] += height(vs, v, o)
		}
		tallest = max(tallest, heights[l])
	}
	pos := make([]Point, len(vs))
	for l, row := range rows {
		y := o.Margin + (tallest-heights[l])/2
		for _, v := range row {
			pos[v] = Point{X: xs[l], Y: y}
			y += height(vs, v, o) + o.GapY
		}
	}
	return pos
}

// route draws an edge's chain: out of the right side of its source, straight
// across the layer of each dummy, into the left side of its target.
func route(vs []vertex, pos []Point, chain []int, o Options) Path {
	var pts []Point
	for k, v := range chain {
		y := pos[v].Y + mid(vs, v, o)
		switch {
		case k == 0:
			pts = append(pts, Point{pos[v].X + o.NodeW, y})
		case k == len(chain)-1:
			pts = append(pts, Point{pos[v].X, y})
		default:
			pts = append(pts, Point{pos[v].X, y}, Point{pos[v].X + o.NodeW, y})
		}
	}
	return Path{Points: pts, Label: Point{(pts[0].X + pts[1].X) / 2, (pts[0].Y + pts[1].Y) / 2}}
}

// D is the path as SVG path data: a curve leaving and entering each layer
// horizontally, a straight line through each dummy.
func (p Path) D() string {
	var b strings.Builder
	fmt.Fprintf(&b, "M%.1f,%.1f", p.Points[0].X, p.Points[0].Y)
	for k := 1; k < len(p.Points); k++ {
		a, c := p.Points[k-1], p.Points[k]
		if k%2 == 0 { // through a dummy's layer
			fmt.Fprintf(&b, " L%.1f,%.1f", c.X, c.Y)
			continue
		}
		mx := (a.X + c.X) / 2
		fmt.Fprintf(&b, " C%.1f,%.1f %.1f,%.1f %.1f,%.1f", mx, a.Y, mx, c.Y, c.X, c.Y)
	}
	return b.String()
}
