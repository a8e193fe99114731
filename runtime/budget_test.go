package runtime

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime/spec"
)

// capped is a Budget of limit bytes.
type capped struct {
	mu       sync.Mutex
	limit    int64
	reserved int64
}

func (b *capped) Reserve(n int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.reserved+n > b.limit {
		return fmt.Errorf("needs %d more, %d of %d reserved", n, b.reserved, b.limit)
	}
	b.reserved += n
	return nil
}

func (b *capped) Release(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reserved -= n
}

func (b *capped) held() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reserved
}

// budgeted is source -> work -> sink with 1 MiB buffers (and by default 2
// exclusive per channel and 8 floating per gate or pool).
const budgeted = `
name: budgeted
network: {buffer-size: 1mb}
tasks:
  - {name: source, operator: generator, config: {rate: 100}}
  - {name: work, operator: passthrough}
  - {name: sink, operator: discard}
`

func TestFootprint(t *testing.T) {
	s, err := spec.Parse([]byte(budgeted))
	require.NoError(t, err)
	g, err := compile(s, Builtins)
	require.NoError(t, err)
	f := g.footprint()
	// Two forward edges: each has a pool of 2+8 buffers upstream and a gate
	// of 2+8 downstream, 1 MiB each.
	assert.Equal(t, int64(40<<20), f.Network)
	assert.Equal(t, int64(0), f.Operators)
	assert.Equal(t, 3*subtaskBytes, f.Subtasks)
	assert.Zero(t, f.Checkpoints)

	// Checkpoints, 2 retained and 1 in progress, may each hold the
	// generator's position and the network's buffers of in-flight data.
	s.Checkpoint = &spec.Checkpoint{Interval: time.Second, Mode: spec.Unaligned, Timeout: time.Minute, Retained: 2}
	g, err = compile(s, Builtins)
	require.NoError(t, err)
	f = g.footprint()
	assert.Equal(t, 3*(int64(generatorStateMax)+40<<20), f.Checkpoints)
	assert.Contains(t, f.String(), "checkpoints 120")
}

// A job reserves its footprint before it starts and releases it when it
// ends; one that does not fit does not start, saying what it needs.
func TestJob_Budget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := spec.Parse([]byte(budgeted))
		require.NoError(t, err)
		want := int64(40<<20) + 3*subtaskBytes
		b := &capped{limit: want + 1<<20}
		j, err := Start(context.Background(), s, Builtins, WithBudget(b))
		require.NoError(t, err)
		assert.Equal(t, want, b.held())

		_, err = Start(context.Background(), s, Builtins, WithBudget(b))
		assert.ErrorContains(t, err, "(the job's network buffers 40 MiB, operators 0 B, logs and metrics")

		err = j.SetParallelism("work", 2) // forward edges become rebalance, and more channels
		assert.ErrorContains(t, err, "needs")
		assert.Equal(t, want, b.held(), "a refused rescale reserves nothing")
		assert.Equal(t, 1, j.Spec().Tasks[1].Parallelism)

		j.Cancel()
		<-j.Done()
		assert.Zero(t, b.held())
	})
}

// A rescale reserves what it adds and releases what it frees.
func TestJob_Budget_Rescale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := spec.Parse([]byte(budgeted))
		require.NoError(t, err)
		b := &capped{limit: 1 << 30}
		j, err := Start(context.Background(), s, Builtins, WithBudget(b))
		require.NoError(t, err)
		before := b.held()
		require.NoError(t, j.SetParallelism("work", 2))
		assert.Equal(t, j.graph.footprint().Total(), b.held())
		assert.Greater(t, b.held(), before)
		time.Sleep(time.Second)
		require.NoError(t, j.SetParallelism("work", 1))
		assert.Equal(t, j.graph.footprint().Total(), b.held())
		j.Cancel()
		<-j.Done()
		assert.Zero(t, b.held())
	})
}
