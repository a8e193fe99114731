package runtime

import (
	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
)

// SubtaskState is one subtask's keyed state, as Job.State reports it.
type SubtaskState struct {
	Subtask int
	StateView
}

// Checkpoints reports the job's checkpoint statistics (a copy).
func (j *Job) Checkpoints() *metrics.Checkpoints {
	panic("TODO")
}

// State looks at the keyed state of every subtask of task as it runs, with
// up to max entries each. A task whose operator keeps no keyed state
// reports subtasks without keys.
func (j *Job) State(task string, max int) ([]SubtaskState, error) {
	panic("TODO")
}

// SetCheckpointing changes the job's checkpoint settings (nil turns
// checkpoints off) and restarts it from its latest completed checkpoint.
func (j *Job) SetCheckpointing(c *spec.Checkpoint) error {
	panic("TODO")
}
