package runtime

import (
	"errors"
	"fmt"
	"hash/fnv"
	"sync/atomic"
	"time"

	"flowlab/runtime/internal/network"
	"flowlab/runtime/spec"
)

// graph is a job spec with its operators resolved and configs checked.
type graph struct {
	spec  *spec.Job
	tasks []*task
	edges []*edge
}

type task struct {
	spec     spec.Task
	id       string // Flink-style vertex id: 32 hex digits, stable for a task name
	index    int    // in graph.tasks
	prepared Prepared
	cost     atomic.Int64 // time.Duration per record; changed live
	rate     *float64     // a source's rate as changed live; guarded by Job.mu
	inputs   []*edge
	outputs  []*edge
	network  *spec.Network
}

func (t *task) flushEvery() time.Duration {
	if t.network.BufferTimeout == 0 {
		return time.Hour // every record is sent at once
	}
	return t.network.BufferTimeout
}

type edge struct {
	spec     spec.Edge
	from, to *task
	part     network.Partitioning
}

var partitionings = map[string]network.Partitioning{
	spec.Forward:   network.Forward,
	spec.Rebalance: network.Rebalance,
	spec.Hash:      network.Hash,
	spec.Broadcast: network.Broadcast,
}

// compile resolves every operator and checks every config; errors name the
// spec line.
func compile(s *spec.Job, resolve Resolver) (*graph, error) {
	g := &graph{spec: s}
	byName := map[string]*task{}
	var errs spec.Errors
	for i, ts := range s.Tasks {
		t := &task{spec: ts, id: vertexID(ts.Name), index: i, network: &s.Network}
		t.cost.Store(int64(ts.Cost))
		g.tasks = append(g.tasks, t)
		byName[ts.Name] = t
		typ, err := resolve(ts.Operator)
		if err != nil {
			errs = append(errs, ts.Errorf(i, "operator", "%v", err))
			continue
		}
		if t.prepared, err = typ(TaskConfig{Config: ts.Config, BufferSize: s.Network.BufferSize}); err != nil {
			errs = append(errs, configError(&s.Tasks[i], i, err))
		}
	}
	for _, es := range s.Edges {
		e := &edge{spec: es, from: byName[es.From], to: byName[es.To], part: partitionings[es.Partitioning]}
		e.from.outputs = append(e.from.outputs, e)
		e.to.inputs = append(e.to.inputs, e)
		g.edges = append(g.edges, e)
	}
	for i, t := range g.tasks {
		switch {
		case t.prepared.NewSource != nil && len(t.inputs) > 0:
			e := t.inputs[0].spec
			errs = append(errs, s.Tasks[i].Errorf(i, "operator",
				"%s is a source and takes no input, but an edge from %q feeds it", t.spec.Operator, e.From))
		case t.prepared.NewProcessor != nil && len(t.inputs) == 0:
			errs = append(errs, s.Tasks[i].Errorf(i, "operator",
				"task %q has no input: add an edge into it, or use a source (%s, %s)", t.spec.Name, OpGenerator, OpLegacyGenerator))
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return g, nil
}

// TaskConfig is what an operator type is prepared with.
type TaskConfig struct {
	Config     map[string]any // the task's config from the spec
	BufferSize int            // network buffer size: no record may be larger
}

func configError(t *spec.Task, index int, err error) *spec.Error {
	var ce *ConfigError
	if errors.As(err, &ce) && ce.Field != "" {
		return t.Errorf(index, "config."+ce.Field, "%s", ce.Msg)
	}
	return t.Errorf(index, "config", "%v", err)
}

// vertexID derives a Flink-looking vertex id (32 hex digits) from a task name.
func vertexID(name string) string {
	h := fnv.New128a()
	h.Write([]byte(name))
	return fmt.Sprintf("%x", h.Sum(nil))
}
