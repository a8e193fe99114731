package runtime

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// A task's profiler samples every subtask of it every SampleInterval while
// someone looks: it starts with the first request for a flame graph or a
// profile, and stops ProfileIdle after the last one (or when a recording
// ends), like Flink's VertexThreadInfoTracker. Nothing is sampled, and
// nothing costs, while no task of the job is profiled.
type taskProfiler struct {
	j    *Job
	task string

	mu         sync.Mutex
	asked      time.Time     // the last request for a flame graph
	current    *profileRound // being sampled
	latest     *profileRound // the last completed round; nil before the first
	recordings map[*recording]bool
}

// profileRound is the samples of one flame graph.
type profileRound struct {
	start, last time.Time
	trees       stackTrees
	pending     []*stackSample          // waiting for an operator's frames
	graphs      map[graphKey]*FlameNode // of a completed round, as asked for: it changes no more
}

type graphKey struct {
	subtask int
	typ     GraphType
}

func newRound(now time.Time) *profileRound {
	return &profileRound{start: now, trees: stackTrees{roots: map[int]*stackNode{}}}
}

// recording is the samples a profile of a given length collects.
type recording struct {
	subtask int // -1: all
	start   time.Time
	trees   stackTrees
}

// MaxStackNodes is the most frames the trees of a flame graph or a
// recording keep (about 100 bytes each): past it, a new stack is counted
// under a frameTruncated below the deepest frame it shares with one kept.
// A guest that recurses through ever new paths cannot grow the profiler.
const MaxStackNodes = 20_000

const frameTruncated = "(more stacks than the profiler keeps)"

// stackTrees is a tree of sampled stacks per subtask.
type stackTrees struct {
	roots map[int]*stackNode
	nodes int
}

// stackNode is a frame in a tree of sampled stacks, with the samples whose
// innermost frame it is.
type stackNode struct {
	frame    Frame
	children []*stackNode
	self     [2]int // on-CPU, off-CPU
}

func (t *stackTrees) add(s *stackSample) {
	n := t.roots[s.subtask]
	if n == nil {
		n = &stackNode{frame: Frame{"root", FrameRuntime}}
		t.roots[s.subtask] = n
	}
frames:
	for _, part := range [...][]Frame{s.outer, s.guest, s.inner} {
		for _, f := range part {
			c := n.child(f)
			if c == nil && t.nodes >= MaxStackNodes {
				// At most one such frame under each frame kept: the trees
				// stay under twice the limit.
				f = Frame{frameTruncated, FrameRuntime}
				c = n.child(f)
			}
			if c == nil {
				c = &stackNode{frame: f}
				n.children = append(n.children, c)
				t.nodes++
			}
			n = c
			if f.Name == frameTruncated {
				break frames
			}
		}
	}
	if s.offCPU() {
		n.self[1]++
	} else {
		n.self[0]++
	}
}

func (n *stackNode) child(f Frame) *stackNode {
	for _, c := range n.children {
		if c.frame == f {
			return c
		}
	}
	return nil
}

// MaxProfiledTasks is how many tasks of a job may be sampled at once: each
// costs a goroutine, a sample of each subtask every SampleInterval, and up
// to twice MaxStackNodes frames per round and per recording.
const MaxProfiledTasks = 4

// ErrTooManyProfiles is why a task cannot be profiled while
// MaxProfiledTasks others of its job are.
var ErrTooManyProfiles = fmt.Errorf("at most %d tasks of a job are profiled at once: a task's profiling stops %v after its last request", MaxProfiledTasks, ProfileIdle)

// profilerOf returns the task's profiler, starting it if it is not running.
func (j *Job) profilerOf(task string) (*taskProfiler, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if p := j.profilers[task]; p != nil {
		return p, nil
	}
	if len(j.profilers) >= MaxProfiledTasks {
		return nil, ErrTooManyProfiles
	}
	if j.profilers == nil {
		j.profilers = map[string]*taskProfiler{}
	}
	now := time.Now()
	p := &taskProfiler{j: j, task: task, asked: now, current: newRound(now), recordings: map[*recording]bool{}}
	j.profilers[task] = p
	go p.run()
	return p, nil
}

// subtasksOf returns the running subtasks of a task, none between attempts.
func (j *Job) subtasksOf(task string) []*subtask {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i, t := range j.graph.tasks {
		if t.spec.Name == task && j.subtasks != nil && i < len(j.subtasks) {
			return slices.Clone(j.subtasks[i])
		}
	}
	return nil
}

// sleepUntil is how profilers wait between samples: until t, or until done
// is closed if that ends the wait sooner (sleepInSyscall wakes on time only).
// This package's tests sleep on Go's timers, which testing/synctest's fake
// clock drives.
var sleepUntil = func(t time.Time, _ <-chan struct{}) { sleepInSyscall(t) }

func (p *taskProfiler) run() {
	var profiled []*subtask
	defer func() { setProfiled(profiled, false) }()
	next := time.Now()
	for {
		// Not a time.Ticker: see sleepInSyscall. Ticks missed are dropped,
		// as a Ticker drops them.
		if next = next.Add(SampleInterval); next.Before(time.Now()) {
			next = time.Now()
		}
		sleepUntil(next, p.j.done)
		select {
		case <-p.j.done:
			p.stop(true)
			return
		default:
		}
		subs := p.j.subtasksOf(p.task)
		if len(profiled) == 0 || len(subs) == 0 || subs[0] != profiled[0] { // a new attempt
			setProfiled(profiled, false)
			profiled = subs
			setProfiled(profiled, true)
		}
		now := time.Now()
		for _, s := range subs {
			p.sample(s, now)
		}
		if p.stop(false) {
			return
		}
	}
}

// setProfiled marks subtasks as profiled, or not, and tells their operators.
func setProfiled(subs []*subtask, on bool) {
	for _, s := range subs {
		s.profiled.Store(on)
		if ss, ok := s.operator().(StackSampler); ok {
			ss.Sampling(on)
		}
	}
}

// sample takes one sample of a subtask.
func (p *taskProfiler) sample(s *subtask, now time.Time) {
	smp := s.sampleStack()
	if smp == nil {
		return
	}
	ss, ok := s.operator().(StackSampler)
	smp.wantsGuest = smp.wantsGuest && ok
	p.mu.Lock()
	r := p.current
	r.last = now
	if !smp.wantsGuest {
		p.addLocked(r, smp)
		p.mu.Unlock()
		return
	}
	r.pending = append(r.pending, smp)
	p.mu.Unlock()
	ss.SampleStack(func(frames []Frame) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if smp.wantsGuest { // not given up on at the end of its round
			smp.guest = frames
			p.addLocked(r, smp)
		}
	})
}

// addLocked counts a complete sample in its round and in every recording.
func (p *taskProfiler) addLocked(r *profileRound, s *stackSample) {
	s.wantsGuest = false
	r.trees.add(s)
	for rec := range p.recordings {
		if rec.subtask < 0 || rec.subtask == s.subtask {
			rec.trees.add(s)
		}
	}
}

// stop ends the round if it is due and reports whether the profiler stops
// (forced, or no one has asked for ProfileIdle and nothing records).
func (p *taskProfiler) stop(force bool) bool {
	p.j.mu.Lock()
	defer p.j.mu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.current.start) >= ProfileRound {
		for _, s := range p.current.pending {
			if s.wantsGuest { // the operator never answered: its frames are missing
				p.addLocked(p.current, s)
			}
		}
		p.current.pending = nil
		p.latest, p.current = p.current, newRound(now)
	}
	if !force && (now.Sub(p.asked) < ProfileIdle || len(p.recordings) > 0) {
		return false
	}
	delete(p.j.profilers, p.task)
	return true
}

// checkProfile checks a request's task and subtask (-1: all).
func (j *Job) checkProfile(task string, subtask int) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	t, _, err := j.task(task)
	if err != nil {
		return err
	}
	if subtask < -1 || subtask >= t.spec.Parallelism {
		return fmt.Errorf("task %q has no subtask %d: its subtasks are 0 to %d", task, subtask, t.spec.Parallelism-1)
	}
	return nil
}

// FlameGraph answers as Flink's flame graph endpoint: the first request
// starts sampling the task and answers what there is; later ones answer
// the latest completed round (a new one every ProfileRound) while sampling
// goes on for ProfileIdle after the last request. subtask -1 merges all.
// A graph may be shared with other callers: it must not be modified.
func (j *Job) FlameGraph(task string, subtask int, typ GraphType) (*FlameGraph, error) {
	if typ != GraphFull && typ != GraphOnCPU && typ != GraphOffCPU {
		return nil, fmt.Errorf("flame graph type %q: want %s, %s or %s", typ, GraphFull, GraphOnCPU, GraphOffCPU)
	}
	if err := j.checkProfile(task, subtask); err != nil {
		return nil, err
	}
	select {
	case <-j.done:
		return &FlameGraph{EndTimestamp: GraphTerminated}, nil
	default:
	}
	p, err := j.profilerOf(task)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.asked = time.Now()
	r := p.latest
	if r == nil { // the first round is not complete: what there is
		if root := flame(p.current.trees.roots, subtask, typ); root.Value > 0 {
			return &FlameGraph{EndTimestamp: p.current.last.UnixMilli(), Data: root}, nil
		}
		return &FlameGraph{EndTimestamp: GraphWaiting}, nil
	}
	// A page polls, and a lesson's goals ask at every snapshot: each graph
	// of a completed round is merged once.
	key := graphKey{subtask, typ}
	if r.graphs == nil {
		r.graphs = map[graphKey]*FlameNode{}
	}
	if r.graphs[key] == nil {
		r.graphs[key] = flame(r.trees.roots, subtask, typ)
	}
	return &FlameGraph{EndTimestamp: r.last.UnixMilli(), Data: r.graphs[key]}, nil
}

// Record samples a task for d (or until ctx is done or the job ends) and
// returns the samples, for a pprof profile. subtask -1 records all.
func (j *Job) Record(ctx context.Context, task string, subtask int, d time.Duration) (*Recording, error) {
	if err := j.checkProfile(task, subtask); err != nil {
		return nil, err
	}
	rec := &recording{subtask: subtask, start: time.Now(), trees: stackTrees{roots: map[int]*stackNode{}}}
	p, err := j.profilerOf(task)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.recordings[rec] = true
	p.mu.Unlock()
	t := time.NewTimer(d)
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-j.done:
	}
	t.Stop()
	p.mu.Lock()
	delete(p.recordings, rec)
	p.mu.Unlock()
	return &Recording{Task: task, Start: rec.start, End: time.Now(), trees: rec.trees.roots}, nil
}

// flame merges the trees of the subtasks asked for into a flame graph of
// the samples of one type.
func flame(trees map[int]*stackNode, subtask int, typ GraphType) *FlameNode {
	root := &FlameNode{Name: "root", Kind: FrameRuntime.String(), Children: []*FlameNode{}}
	for i, t := range trees {
		if subtask < 0 || i == subtask {
			merge(root, t, typ)
		}
	}
	sortFlame(root)
	return root
}

// merge adds the samples of n's subtree that typ selects to f, and returns
// how many there were.
func merge(f *FlameNode, n *stackNode, typ GraphType) int {
	v := 0
	if typ != GraphOffCPU {
		v += n.self[0]
	}
	if typ != GraphOnCPU {
		v += n.self[1]
	}
	for _, c := range n.children {
		kind := c.frame.Kind.String()
		i := slices.IndexFunc(f.Children, func(x *FlameNode) bool { return x.Name == c.frame.Name && x.Kind == kind })
		if i >= 0 {
			v += merge(f.Children[i], c, typ)
			continue
		}
		fc := &FlameNode{Name: c.frame.Name, Kind: kind, Children: []*FlameNode{}}
		if cv := merge(fc, c, typ); cv > 0 {
			f.Children = append(f.Children, fc)
			v += cv
		}
	}
	f.Value += v
	return v
}

// sortFlame orders children by name, so frames keep their place from one
// graph to the next.
func sortFlame(f *FlameNode) {
	slices.SortFunc(f.Children, func(a, b *FlameNode) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Kind, b.Kind))
	})
	for _, c := range f.Children {
		sortFlame(c)
	}
}
