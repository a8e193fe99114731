package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime"
	"flowlab/runtime/spec"
)

// budgetEngine's jobs reserve perSubtask bytes for each subtask, before
// they start and when they rescale, and release them when they end, as the
// runtime does.
type budgetEngine struct {
	testEngine
	perSubtask int64
}

type budgetJob struct {
	Job
	budget     runtime.Budget
	perSubtask int64
}

func (e budgetEngine) Start(ctx context.Context, s *spec.Job, resolve runtime.Resolver, budget runtime.Budget) (Job, error) {
	n := 0
	for _, t := range s.Tasks {
		n += t.Parallelism
	}
	need := int64(n) * e.perSubtask
	if err := budget.Reserve(need); err != nil {
		return nil, err
	}
	rt, err := e.testEngine.Start(ctx, s, resolve, budget)
	if err != nil {
		budget.Release(need)
		return nil, err
	}
	go func() {
		<-rt.Done()
		budget.Release(need) // may be after the server released it: nothing then
	}()
	return &budgetJob{Job: rt, budget: budget, perSubtask: e.perSubtask}, nil
}

func (j *budgetJob) SetParallelism(task string, n int) error {
	i := j.Spec().TaskIndex(task)
	if i < 0 {
		return j.Job.SetParallelism(task, n)
	}
	delta := int64(n-j.Spec().Tasks[i].Parallelism) * j.perSubtask
	if delta > 0 {
		if err := j.budget.Reserve(delta); err != nil {
			return err
		}
	}
	err := j.Job.SetParallelism(task, n)
	if delta < 0 && err == nil {
		j.budget.Release(-delta)
	}
	return err
}

// Memory is reserved against the job's, the session's and the server's
// limit, in that order, and released when a job ends.
func TestServer_MemoryBudget(t *testing.T) {
	const gib = 1 << 30
	cfg := NewConfig().WithDefaultExample("").WithMemoryLimits(2*gib, 2*gib+gib/2, 3*gib)
	s := New(context.Background(), cfg, budgetEngine{perSubtask: gib}, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		srv.Close()
		s.Close()
	})
	memory := func() int64 {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.memory
	}
	a, b := newClient(t, srv), newClient(t, srv)

	// testSpec has 3 subtasks: 3 GiB, more than a job may use.
	res, data := a.do("POST", "/api/jobs", "application/yaml", strings.NewReader(testSpec))
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Equal(t, []string{"the job needs 3 GiB of memory, more than the 2 GiB a job may use"}, errorsOf(t, data))
	assert.Zero(t, memory())

	small := "tasks: [{name: source, operator: generator, config: {rate: 10}}]"
	first := a.start(small)
	a.start(small)
	res, data = a.do("POST", "/api/jobs", "application/yaml", strings.NewReader(small))
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	assert.Equal(t, []string{"this session's running jobs would need 3 GiB of memory (2 GiB in use), more than the 2.5 GiB a session may use: stop a job first"}, errorsOf(t, data))

	b.start(small)
	res, data = b.do("POST", "/api/jobs", "application/yaml", strings.NewReader(small))
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	assert.Equal(t, []string{"the server's running jobs would need 4 GiB of memory (3 GiB in use), more than the 3 GiB the server may use: try again later"}, errorsOf(t, data))
	assert.Equal(t, int64(3*gib), memory())

	// A rescale reserves the difference, within the same limits.
	code, data := a.patch(first, `{"task":"source","parallelism":3}`)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, errorsOf(t, data)[0], "the job needs 3 GiB of memory, more than the 2 GiB a job may use")

	// An ended job's memory is free again, and released once only.
	res, _ = a.do("DELETE", "/api/jobs/"+first, "", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Eventually(t, func() bool { return memory() == 2*gib }, 10*time.Second, 10*time.Millisecond)
	b.start(small)
	assert.Equal(t, int64(3*gib), memory())
}
