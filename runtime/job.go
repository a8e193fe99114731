package runtime

import (
	"context"
	"errors"
	"sync"
	"time"

	"flowlab/runtime/internal/network"
	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
)

// Job is a running job: its subtasks, restarts, and metric snapshots.
type Job struct {
	resolve Resolver
	budget  Budget // holds the footprint of graph
	cancel  context.CancelFunc
	done    chan struct{}
	err     error // why the job failed; set before done closes
	pause   pauser
	tick    time.Duration // metrics.tick and restart never change, not even by a rescale
	restart spec.Restart

	mu         sync.Mutex
	graph      *graph // replaced by a rescale
	window     time.Duration
	state      string
	failure    string
	restarts   int // every restart, whatever its cause: the attempt running now is number restarts, from 0
	failed     int // restarts after a failure: the restart strategy limits these; owned by attempts
	failures   []Failure
	logs       map[string][]*Logs      // per task name, per subtask
	subtasks   [][]*subtask            // of the current attempt, per task
	started    time.Time               // when the current attempt's subtasks started
	endAttempt context.CancelCauseFunc // ends the current attempt
	snap       *metrics.Job
	updated    chan struct{}            // closed when the next snapshot is published
	profilers  map[string]*taskProfiler // by task name, while sampled

	checkpoints checkpoints
}

// Start checks a spec against the operators resolve knows and starts the
// job. Errors in the spec name its lines. The job runs until it finishes,
// fails for good, or ctx is done or Cancel is called.
func Start(ctx context.Context, s *spec.Job, resolve Resolver, opts ...Option) (*Job, error) {
	g, err := compile(s, resolve)
	if err != nil {
		return nil, err
	}
	j := &Job{
		resolve: resolve, budget: unlimited{}, done: make(chan struct{}),
		tick: s.Metrics.Tick, restart: s.Restart,
		graph: g, window: s.Metrics.Window, state: metrics.StateCreated,
		logs: map[string][]*Logs{}, updated: make(chan struct{}),
	}
	for _, opt := range opts {
		opt(j)
	}
	f := g.footprint()
	if err := j.reserve(f.Total(), f); err != nil {
		return nil, err
	}
	ctx, j.cancel = context.WithCancel(ctx)
	j.publish(time.Now())
	go j.run(ctx)
	return j, nil
}

// Cancel stops the job; it ends CANCELED unless it already ended.
func (j *Job) Cancel() { j.cancel() }

// Done is closed when the job has ended and its last snapshot is published.
func (j *Job) Done() <-chan struct{} { return j.done }

// Err is why the job FAILED, once Done is closed; nil otherwise.
func (j *Job) Err() error {
	select {
	case <-j.done:
		return j.err
	default:
		return nil
	}
}

// Snapshot is the latest metrics snapshot, published every metrics tick. It
// is shared: do not modify it.
func (j *Job) Snapshot() *metrics.Job {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.snap
}

// Updated is closed when the next snapshot is published.
func (j *Job) Updated() <-chan struct{} {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.updated
}

func (j *Job) run(ctx context.Context) {
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go j.sample(stop, sampled)
	final, err := j.attempts(ctx)
	close(stop)
	<-sampled
	j.mu.Lock()
	j.state, j.err = final, err
	if err != nil {
		j.failure = err.Error()
	}
	j.budget.Release(j.graph.footprint().Total())
	j.mu.Unlock()
	j.publish(time.Now())
	j.cancel()
	close(j.done)
}

// attempts runs the job, restarting it per its strategy, and returns its final state.
func (j *Job) attempts(ctx context.Context) (string, error) {
	r := j.restart
	for {
		j.setState(metrics.StateRunning, "")
		err := j.attempt(ctx)
		switch {
		case ctx.Err() != nil:
			return metrics.StateCanceled, nil
		case errors.Is(err, errRestart):
			j.mu.Lock()
			j.restarts++
			j.mu.Unlock()
			continue
		case err == nil:
			return metrics.StateFinished, nil
		}
		j.addFailure(err)
		var rejected *spec.Error // a config the operator rejected: a restart would too
		if r.Strategy == spec.NoRestart || j.failed >= r.Attempts || errors.As(err, &rejected) {
			return metrics.StateFailed, err
		}
		j.setState(metrics.StateRestarting, err.Error())
		select {
		case <-time.After(r.Delay):
		case <-ctx.Done():
			return metrics.StateCanceled, nil
		}
		j.failed++
		j.mu.Lock()
		j.restarts++
		j.mu.Unlock()
	}
}

func (j *Job) setState(state, failure string) {
	j.mu.Lock()
	j.state = state
	if failure != "" {
		j.failure = failure
	}
	j.mu.Unlock()
}

// attempt runs fresh operators on a fresh network until every subtask has
// finished (nil) or one has failed (its error; the others are canceled).
// Nothing of an earlier attempt carries over but the live changes (rates,
// costs, the window, the graph) and the logs: sources start from their
// first record, operators and their state are new, buffers in flight are
// dropped, and record counts start from 0, as with a Flink restart without
// a checkpoint.
func (j *Job) attempt(ctx context.Context) (err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer func() {
		// Ended by a restart asked for, at whatever step: an operator
		// that gave up because of it (canceled while it started) did not fail.
		if errors.Is(context.Cause(ctx), errRestart) {
			err = errRestart
		}
	}()
	j.mu.Lock()
	g, window, number := j.graph, j.window, j.restarts
	j.endAttempt = cancel
	j.mu.Unlock()
	subtasks, err := j.instantiate(g, window, number, ctx.Done())
	if err != nil {
		return err
	}
	now := time.Now()
	j.mu.Lock()
	if j.graph != g { // rescaled meanwhile
		j.mu.Unlock()
		return errRestart
	}
	if cp := j.checkpoints.latestCompleted(); cp != nil {
		if err := restore(cp, g, subtasks); err != nil {
			j.mu.Unlock()
			closeOperators(subtasks)
			return err
		}
		j.checkpoints.restoredFrom(cp, now)
	}
	if g.spec.Checkpoint == nil {
		// Turned off: this attempt restored the last one, and later
		// restarts start from scratch, as in a job without checkpoints.
		j.checkpoints.discard()
	}
	j.subtasks, j.started = subtasks, now
	for i, sts := range subtasks {
		for _, st := range sts {
			st.window.reset(now)
			st.started = now
			if rate := g.tasks[i].rate; rate != nil {
				st.src.(RateSetter).SetRate(*rate)
			}
		}
	}
	j.mu.Unlock()
	if d := g.spec.Network.BufferDebloat; d != nil {
		debloated := make(chan struct{})
		defer func() { <-debloated }()
		go func() {
			defer close(debloated)
			debloat(ctx, subtasks, d.Period, now)
		}()
	}
	defer j.runCoordinator(ctx, g, subtasks)()
	defer cancel(nil) // first: ends the coordinator and debloating
	n := 0
	errc := make(chan error)
	for _, sts := range subtasks {
		for _, st := range sts {
			n++
			go func() { errc <- st.run(ctx) }()
		}
	}
	var first error
	for range n {
		if err := <-errc; err != nil && first == nil {
			first = err // the root cause: the others fail because of it
			cancel(err)
		}
	}
	if errors.Is(first, context.Canceled) {
		return ctx.Err()
	}
	return first
}

// instantiate builds one attempt: the network, then a subtask per parallel
// instance of every task with its operator.
func (j *Job) instantiate(g *graph, window time.Duration, attempt int, done <-chan struct{}) ([][]*subtask, error) {
	net := g.spec.Network
	subtasks := make([][]*subtask, len(g.tasks))
	index := map[*task]int{}
	for i, t := range g.tasks {
		index[t] = i
		subtasks[i] = make([]*subtask, t.spec.Parallelism)
		for k := range subtasks[i] {
			subtasks[i][k] = &subtask{
				task: t, index: k, attempt: attempt, done: done, pause: &j.pause, logs: j.logsOf(t.spec.Name, k),
				window: newWindow(window, g.spec.Metrics.Tick), tick: g.spec.Metrics.Tick, wake: make(chan struct{}, 1),
			}
		}
	}
	// Every subtask of a task with inputs has one gate; its channels are
	// numbered by input edge, then by upstream subtask.
	first := map[*edge]int{} // first channel of an edge in its target's gates
	for i, t := range g.tasks {
		if len(t.inputs) == 0 {
			continue
		}
		channels := 0
		for _, e := range t.inputs {
			first[e] = channels
			channels += upstreamChannels(e)
		}
		for _, st := range subtasks[i] {
			st.gate = network.NewGate(channels, net.BuffersPerChannel, net.FloatingBuffersPerGate)
			if net.BufferDebloat != nil {
				st.debloat = newDebloater(st.gate, net.BufferDebloat, net.BufferSize)
			}
		}
	}
	for _, e := range g.edges {
		from, to := subtasks[index[e.from]], subtasks[index[e.to]]
		for k, st := range from {
			var chans []*network.Channel
			if e.part == network.Forward {
				chans = []*network.Channel{to[k].gate.Channel(first[e])}
			} else {
				for _, target := range to {
					chans = append(chans, target.gate.Channel(first[e]+k))
				}
			}
			for _, c := range chans {
				c.SetBandwidth(e.spec.Bandwidth)
			}
			pool := network.NewPool(network.OutputBuffers(downstreamChannels(e), net.BuffersPerChannel, net.FloatingBuffersPerGate), net.BufferSize)
			st.writers = append(st.writers, network.NewWriter(pool, chans, e.part, k, net.BufferTimeout == 0, st.acquire))
		}
	}
	for i, t := range g.tasks {
		for _, st := range subtasks[i] {
			var err error
			if t.prepared.NewSource != nil {
				st.src, err = t.prepared.NewSource(st)
			} else {
				st.proc, err = t.prepared.NewProcessor(st)
			}
			var ce *ConfigError
			if errors.As(err, &ce) { // reported at its spec line, as if found before the start
				err = configError(&g.spec.Tasks[i], i, err)
			}
			if err != nil {
				closeOperators(subtasks)
				return nil, st.failed(err)
			}
		}
	}
	return subtasks, nil
}

// closeOperators closes the operators made so far of an attempt that could
// not start: a Wasm instance holds its memory until closed.
func closeOperators(subtasks [][]*subtask) {
	for _, sts := range subtasks {
		for _, st := range sts {
			if c, ok := st.operator().(Closer); ok {
				c.Close()
			}
		}
	}
}

// downstreamChannels is how many channels each source subtask of an edge
// writes to.
func downstreamChannels(e *edge) int {
	if e.part == network.Forward {
		return 1
	}
	return e.to.spec.Parallelism
}

// upstreamChannels is how many channels an edge feeds into each target subtask.
func upstreamChannels(e *edge) int {
	if e.part == network.Forward {
		return 1
	}
	return e.from.spec.Parallelism
}
