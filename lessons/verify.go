package lessons

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Verify walks a lesson headless as a learner who follows the reference
// solution: for every step it first checks that the step does not end
// without its solution (for the goal's hold time plus settle), then applies
// it and waits up to timeout for the step to end. Every step has a solution
// (Parse checks it), so a learner who does nothing stays at the first step;
// a step that asks them to look ends with {continue: true}, which counts
// only once its goal has been reached.
func Verify(ctx context.Context, l *Lesson, env Env, settle, timeout time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	j, err := env.Start(ctx, l.Spec())
	if err != nil {
		return fmt.Errorf("start the job: %w", err)
	}
	t := NewTracker(l)
	t.Checkpointer = j
	if p, ok := j.(Profiler); ok {
		t.Profiler = p
	} else if l.readsFlameGraphs() {
		return fmt.Errorf("the lesson reads flame graphs, and its job answers none (%T has no FlameGraph method)", j)
	}
	for i, st := range l.Steps {
		name := fmt.Sprintf("step %d %q", i+1, st.Title)
		if p, ended := watch(ctx, j, t, st.Goal.Hold()+settle); ended {
			return fmt.Errorf("%s: the step ended without its solution", name)
		} else if p.Done {
			return fmt.Errorf("%s: the lesson ended early", name)
		}
		for _, a := range st.Solution {
			if err := a.Apply(ctx, env, j, &t.Learner); err != nil {
				return fmt.Errorf("%s: %s: %w", name, a, err)
			}
		}
		p, reached := watch(ctx, j, t, timeout)
		if !reached {
			return fmt.Errorf("%s: the goal was not reached in %v: %s", name, timeout, unmet(p))
		}
	}
	return nil
}

// watch observes snapshots until the tracker moves past the current step
// (reached) or d has passed.
func watch(ctx context.Context, j Job, t *Tracker, d time.Duration) (Progress, bool) {
	step := t.step
	deadline := time.After(d)
	var p Progress
	for {
		select {
		case <-j.Updated():
			p = t.Observe(j.Snapshot())
			if p.Step != step {
				return p, true
			}
		case <-deadline:
			return p, false
		case <-ctx.Done():
			return p, false
		}
	}
}

// unmet lists the conditions that did not hold at the end.
func unmet(p Progress) string {
	var failed []string
	for c, ok := range p.Met {
		if !ok {
			failed = append(failed, c)
		}
	}
	slices.Sort(failed)
	s := strings.Join(failed, ", ")
	if s == "" {
		return fmt.Sprintf("every condition held, but only for %v of %v", p.Held.Duration, p.Need.Duration)
	}
	return "not met: " + s
}

// readsFlameGraphs reports whether a goal of the lesson reads flame graphs.
func (l *Lesson) readsFlameGraphs() bool {
	for _, st := range l.Steps {
		for _, c := range st.Goal.conds {
			if c.kind == "hottest" || c.kind == "flame" {
				return true
			}
		}
	}
	return false
}
