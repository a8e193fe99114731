package spec

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Parse reads a job spec in YAML or JSON, checks it and applies the defaults.
// If the spec has problems, the error is an Errors listing every one found.
func Parse(data []byte) (*Job, error) {
	p := &parser{budget: MaxConfigValues}
	j := p.job(data)
	if len(p.errs) > 0 {
		slices.SortStableFunc(p.errs, func(a, b *Error) int { return cmp.Compare(a.Line, b.Line) })
		return nil, p.errs
	}
	return j, nil
}

// parser walks the yaml.Node tree of a spec, collecting errors rather than
// stopping at the first. A field whose value is invalid keeps its default.
type parser struct {
	errs        Errors
	budget      int // config values the job may still have, see MaxConfigValues
	suggestions int // typo suggestions made, see maxSuggestions
}

func (p *parser) errorf(line int, field, format string, args ...any) {
	p.errs = append(p.errs, &Error{Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// job parses a whole spec, checking that it is a single YAML document.
func (p *parser) job(data []byte) *Job {
	if len(data) > MaxSpecSize {
		p.errorf(1, "", "spec is %d bytes, more than the limit of %s", len(data), FormatBytes(MaxSpecSize))
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc, next yaml.Node
	switch err := dec.Decode(&doc); {
	case err == io.EOF:
		p.errorf(1, "", "spec is empty")
		return nil
	case err != nil:
		p.syntax(err)
		return nil
	}
	switch err := dec.Decode(&next); {
	case err == nil:
		p.errorf(next.Line, "", "spec has more than one document (---)")
		return nil
	case err != io.EOF:
		p.syntax(err)
		return nil
	}
	root := deref(doc.Content[0])
	if root.ShortTag() == "!!null" {
		p.errorf(root.Line, "", "spec is empty")
		return nil
	}

	j := &Job{
		Name:    DefaultJobName,
		Metrics: Metrics{Window: DefaultMetricsWindow, Tick: DefaultMetricsTick},
		Network: Network{
			BufferSize:             DefaultBufferSize,
			BuffersPerChannel:      DefaultBuffersPerChannel,
			FloatingBuffersPerGate: DefaultFloatingBuffersPerGate,
			BufferTimeout:          DefaultBufferTimeout,
		},
		Restart: Restart{Strategy: FixedDelay, Attempts: DefaultRestartAttempts, Delay: DefaultRestartDelay},
	}
	var tasks, edges *yaml.Node // walked last: edges need every task
	present := p.fields(root, "", []string{"name", "metrics", "network", "restart", "checkpoint", "tasks", "edges"}, func(key, path string, v *yaml.Node) {
		switch key {
		case "name":
			p.name(v, path, &j.Name)
		case "metrics":
			p.metrics(v, path, &j.Metrics)
		case "network":
			p.network(v, path, &j.Network)
		case "restart":
			p.restart(v, path, &j.Restart)
		case "checkpoint":
			j.Checkpoint = p.checkpoint(v, path)
		case "tasks":
			tasks = v
		case "edges":
			edges = v
		}
	})
	p.require(root, "", present, "tasks")
	if tasks != nil {
		j.Tasks = p.tasks(tasks)
	}
	switch {
	case len(j.Tasks) == 0: // edges cannot be checked without tasks
	case edges != nil:
		j.Edges = p.edges(edges, j)
	default:
		for i := 1; i < len(j.Tasks); i++ {
			from, to := j.Tasks[i-1], j.Tasks[i]
			j.Edges = append(j.Edges, Edge{From: from.Name, To: to.Name, Partitioning: defaultPartitioning(from, to)})
		}
	}
	return j
}

var yamlLine = regexp.MustCompile(`(?s)^yaml: line (\d+): (.*)$`)

// syntax reports an error of the YAML decoder ("yaml: line 3: ...") at its line, or at line 1 if it has none.
func (p *parser) syntax(err error) {
	line, msg := 1, strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		line, msg = max(n, 1), m[2]
	}
	p.errorf(line, "", "invalid YAML: %s", msg)
}

func (p *parser) metrics(n *yaml.Node, path string, m *Metrics) {
	before := len(p.errs)
	lines := p.fields(n, path, []string{"window", "tick"}, func(key, path string, v *yaml.Node) {
		switch key {
		case "window":
			p.duration(v, path, 0, maxDuration, &m.Window)
		case "tick":
			p.duration(v, path, MinMetricsTick, maxDuration, &m.Tick)
		}
	})
	line := cmp.Or(lines["window"], lines["tick"])
	if len(p.errs) > before || line == 0 {
		return // the defaults fit each other
	}
	if err := m.CheckWindow(); err != nil {
		p.errorf(line, "metrics.window", "%v", err)
	}
}

func (p *parser) network(n *yaml.Node, path string, nw *Network) {
	p.fields(n, path, []string{"buffer-size", "buffers-per-channel", "floating-buffers-per-gate", "buffer-timeout", "buffer-debloat"}, func(key, path string, v *yaml.Node) {
		switch key {
		case "buffer-size":
			p.size(v, path, MinBufferSize, MaxBufferSize, &nw.BufferSize)
		case "buffers-per-channel":
			p.integer(v, path, 1, MaxBuffers, &nw.BuffersPerChannel)
		case "floating-buffers-per-gate":
			p.integer(v, path, 0, MaxBuffers, &nw.FloatingBuffersPerGate)
		case "buffer-timeout":
			p.duration(v, path, 0, MaxBufferTimeout, &nw.BufferTimeout)
		case "buffer-debloat":
			nw.BufferDebloat = p.bufferDebloat(v, path)
		}
	})
}

func (p *parser) bufferDebloat(n *yaml.Node, path string) *BufferDebloat {
	d := &BufferDebloat{Target: DefaultDebloatTarget, Period: DefaultDebloatPeriod}
	p.fields(n, path, []string{"target", "period"}, func(key, path string, v *yaml.Node) {
		switch key {
		case "target":
			p.duration(v, path, MinDebloatTarget, MaxDebloatTarget, &d.Target)
		case "period":
			p.duration(v, path, MinDebloatPeriod, MaxDebloatPeriod, &d.Period)
		}
	})
	return d
}

func (p *parser) restart(n *yaml.Node, path string, r *Restart) {
	p.fields(n, path, []string{"strategy", "attempts", "delay"}, func(key, path string, v *yaml.Node) {
		switch key {
		case "strategy":
			p.oneOf(v, path, []string{FixedDelay, NoRestart}, &r.Strategy)
		case "attempts":
			p.integer(v, path, 0, MaxRestartAttempt, &r.Attempts)
		case "delay":
			p.duration(v, path, 0, MaxRestartDelay, &r.Delay)
		}
	})
}

// checkpoint reads the checkpoint block. The fields' types and syntax are
// checked here, their bounds by Checkpoint.Check, as for a live change.
func (p *parser) checkpoint(n *yaml.Node, path string) *Checkpoint {
	c := &Checkpoint{Mode: Aligned, Timeout: DefaultCheckpointTimeout, Retained: DefaultCheckpointsRetained}
	bad := make(map[string]bool) // fields whose value did not parse
	lines := p.fields(n, path, []string{"interval", "mode", "timeout", "aligned-timeout", "retained"}, func(key, path string, v *yaml.Node) {
		before := len(p.errs)
		switch key {
		case "interval":
			p.duration(v, path, 0, maxDuration, &c.Interval)
		case "mode":
			p.oneOf(v, path, []string{Aligned, Unaligned}, &c.Mode)
		case "timeout":
			p.duration(v, path, 0, maxDuration, &c.Timeout)
		case "aligned-timeout":
			p.duration(v, path, 0, maxDuration, &c.AlignedTimeout)
		case "retained":
			p.integer(v, path, math.MinInt, math.MaxInt, &c.Retained)
		}
		bad[key] = len(p.errs) > before
	})
	if n.Kind != yaml.MappingNode {
		return nil // reported by fields
	}
	if _, ok := lines["interval"]; !ok {
		p.require(n, path, lines, "interval")
		bad["interval"] = true
	}
	for _, pr := range c.problems() {
		if bad[pr.field] || bad[pr.after] {
			continue // reported already
		}
		line, ok := lines[pr.field]
		if !ok {
			line = n.Line
		}
		p.errorf(line, path+"."+pr.field, "%s", pr.msg)
	}
	return c
}

func (p *parser) tasks(n *yaml.Node) []Task {
	items, ok := p.list(n, "tasks", MaxTasks)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		p.errorf(n.Line, "tasks", "a job needs at least one task")
	}
	tasks := make([]Task, len(items))
	first := make(map[string]int) // task name -> line of the first task with it
	for i, item := range items {
		t := p.task(i, deref(item))
		if l, dup := first[t.Name]; dup {
			p.errorf(t.Fields["name"], fmt.Sprintf("tasks[%d].name", i), "duplicate task name %q (first at line %d)", t.Name, l)
		} else if t.Name != "" {
			first[t.Name] = t.Fields["name"]
		}
		tasks[i] = t
	}
	return tasks
}

func (p *parser) task(i int, n *yaml.Node) Task {
	path := fmt.Sprintf("tasks[%d]", i)
	t := Task{Parallelism: DefaultParallelism, Line: n.Line}
	var config *yaml.Node
	t.Fields = p.fields(n, path, []string{"name", "operator", "parallelism", "cost", "config"}, func(key, path string, v *yaml.Node) {
		switch key {
		case "name":
			p.name(v, path, &t.Name)
		case "operator":
			if p.str(v, path, &t.Operator) && t.Operator == "" {
				p.errorf(v.Line, path, "must not be empty")
			}
		case "parallelism":
			p.integer(v, path, 1, MaxParallelism, &t.Parallelism)
		case "cost":
			p.duration(v, path, 0, MaxCost, &t.Cost)
		case "config":
			config = v
		}
	})
	p.require(n, path, t.Fields, "name", "operator")
	if config != nil {
		t.Config = p.config(config, path+".config", t.Fields)
	}
	return t
}

// config decodes a task's config, which must be a mapping, and records the line
// of each of its keys in lines as "config.KEY".
func (p *parser) config(n *yaml.Node, path string, lines map[string]int) map[string]any {
	if n.Kind != yaml.MappingNode {
		p.errorf(n.Line, path, "want a mapping, got %s", describe(n))
		return nil
	}
	m := make(map[string]any)
	p.pairs(n, path, func(key string, k, v *yaml.Node) {
		lines["config."+key] = k.Line
		m[key] = p.value(v, path+"."+key)
	})
	return m
}

func (p *parser) edges(n *yaml.Node, j *Job) []Edge {
	items, ok := p.list(n, "edges", MaxEdges)
	if !ok {
		return nil
	}
	var edges []Edge
	first := make(map[[2]string]int) // from, to -> line of the first edge between them
	for i, item := range items {
		e, ok := p.edge(i, deref(item), j)
		if !ok {
			continue
		}
		if l, dup := first[[2]string{e.From, e.To}]; dup {
			p.errorf(e.Line, fmt.Sprintf("edges[%d]", i), "duplicate edge %s -> %s (first at line %d)", e.From, e.To, l)
			continue
		}
		first[[2]string{e.From, e.To}] = e.Line
		edges = append(edges, e)
	}
	p.cycles(edges, j.Tasks)
	return edges
}

// edge parses an edge between tasks of j, reporting whether it is valid.
func (p *parser) edge(i int, n *yaml.Node, j *Job) (Edge, bool) {
	path := fmt.Sprintf("edges[%d]", i)
	before := len(p.errs)
	e := Edge{Line: n.Line}
	lines := p.fields(n, path, []string{"from", "to", "partitioning", "bandwidth"}, func(key, path string, v *yaml.Node) {
		switch key {
		case "from":
			p.taskName(v, path, j, &e.From)
		case "to":
			p.taskName(v, path, j, &e.To)
		case "partitioning":
			p.oneOf(v, path, []string{Forward, Rebalance, Hash, Broadcast}, &e.Partitioning)
		case "bandwidth":
			p.size(v, path, MinBandwidth, MaxBandwidth, &e.Bandwidth)
		}
	})
	p.require(n, path, lines, "from", "to")
	if len(p.errs) > before {
		return e, false
	}
	if e.From == e.To {
		p.errorf(e.Line, path, "task %q cannot send to itself", e.From)
		return e, false
	}
	from, to := j.Tasks[j.TaskIndex(e.From)], j.Tasks[j.TaskIndex(e.To)]
	switch {
	case e.Partitioning == "":
		e.Partitioning = defaultPartitioning(from, to)
	case e.Partitioning == Forward && from.Parallelism != to.Parallelism:
		p.errorf(lines["partitioning"], path+".partitioning", "forward needs equal parallelism, but %q has %d and %q has %d; use rebalance or hash",
			from.Name, from.Parallelism, to.Name, to.Parallelism)
		return e, false
	}
	return e, true
}

// defaultPartitioning is forward between tasks of equal parallelism, else rebalance.
func defaultPartitioning(from, to Task) string {
	if from.Parallelism == to.Parallelism {
		return Forward
	}
	return Rebalance
}

// cycles reports each edge that closes a cycle, found by a depth-first search
// from each task in spec order, as "a -> b -> a" at the line of that edge.
func (p *parser) cycles(edges []Edge, tasks []Task) {
	out := make(map[string][]Edge) // task name -> its outgoing edges
	for _, e := range edges {
		out[e.From] = append(out[e.From], e)
	}
	const (
		unvisited = iota
		onPath
		done
	)
	state := make(map[string]int)
	var stack []string // tasks from the root of the search to the current one
	var visit func(name string)
	visit = func(name string) {
		state[name] = onPath
		stack = append(stack, name)
		for _, e := range out[name] {
			switch state[e.To] {
			case unvisited:
				visit(e.To)
			case onPath:
				cycle := append(slices.Clone(stack[slices.Index(stack, e.To):]), e.To)
				p.errorf(e.Line, "edges", "cycle %s", strings.Join(cycle, " -> "))
			}
		}
		stack = stack[:len(stack)-1]
		state[name] = done
	}
	for _, t := range tasks {
		if state[t.Name] == unvisited {
			visit(t.Name)
		}
	}
}

// fields walks the mapping n, whose valid keys are names, calling set in spec
// order with each key, its path and its value. A key set to null counts as
// absent. fields reports a node that is not a mapping and keys that are
// unknown, repeated or not strings, and returns the line of each key passed to set.
func (p *parser) fields(n *yaml.Node, path string, names []string, set func(key, path string, v *yaml.Node)) map[string]int {
	if n.Kind != yaml.MappingNode {
		p.errorf(n.Line, path, "want a mapping with fields %s, got %s", strings.Join(names, ", "), describe(n))
		return nil
	}
	lines := make(map[string]int)
	p.pairs(n, path, func(key string, k, v *yaml.Node) {
		switch {
		case !slices.Contains(names, key):
			hint := "valid: " + strings.Join(names, ", ")
			if s := p.suggest(key, names); s != "" {
				hint = fmt.Sprintf("did you mean %q? %s", s, hint)
			}
			p.errorf(k.Line, path, "unknown field %q (%s)", key, hint)
		case v.ShortTag() != "!!null":
			lines[key] = k.Line
			sub := key
			if path != "" {
				sub = path + "." + key
			}
			set(key, sub, v)
		}
	})
	return lines
}

// pairs calls f with each key of the mapping n and its value, aliases resolved,
// reporting and skipping keys that are not strings or repeat an earlier key.
func (p *parser) pairs(n *yaml.Node, path string, f func(key string, k, v *yaml.Node)) {
	first := make(map[string]int) // key -> its line
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		switch {
		case k.ShortTag() == "!!merge":
			p.errorf(k.Line, path, "merge keys (<<) are not supported")
		case k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str":
			p.errorf(k.Line, path, "want a string key, got %s", describe(k))
		case first[k.Value] != 0:
			p.errorf(k.Line, path, "duplicate field %q (first at line %d)", k.Value, first[k.Value])
		default:
			first[k.Value] = k.Line
			f(k.Value, k, v)
		}
	}
}

// require reports each of names that the mapping n lacks; present holds the fields it has.
func (p *parser) require(n *yaml.Node, path string, present map[string]int, names ...string) {
	if n.Kind != yaml.MappingNode {
		return // reported by fields
	}
	for _, name := range names {
		if _, ok := present[name]; !ok {
			p.errorf(n.Line, path, "missing required field %q", name)
		}
	}
}

// list returns the items of the list n, reporting an error if n is not a list or has more than max items.
func (p *parser) list(n *yaml.Node, path string, max int) ([]*yaml.Node, bool) {
	switch {
	case n.Kind != yaml.SequenceNode:
		p.errorf(n.Line, path, "want a list, got %s", describe(n))
	case len(n.Content) > max:
		p.errorf(n.Line, path, "must have at most %d items, got %d", max, len(n.Content))
	default:
		return n.Content, true
	}
	return nil, false
}

// deref resolves an alias (*name) to the node it names (&name).
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}
