package host

import (
	"time"

	"flowlab/runtime"
)

// testContext is the subtask context of an operator made outside a job.
type testContext struct {
	logs *runtime.Logs
	done chan struct{}
}

func newTestContext() testContext {
	return testContext{logs: runtime.NewLogs(0), done: make(chan struct{})}
}

func (testContext) Task() string              { return "" }
func (testContext) Subtask() int              { return 0 }
func (testContext) Parallelism() int          { return 1 }
func (testContext) SetTimer(time.Time) error  { return nil }
func (testContext) OutputWait() time.Duration { return 0 }
func (c testContext) Logs() *runtime.Logs     { return c.logs }
func (c testContext) Done() <-chan struct{}   { return c.done }
