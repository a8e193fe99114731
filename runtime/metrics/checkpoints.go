package metrics

// Checkpoint statuses, as Flink names them.
const (
	CheckpointInProgress = "IN_PROGRESS"
	CheckpointCompleted  = "COMPLETED"
	CheckpointFailed     = "FAILED"
)

// Checkpoints is a job's checkpoint statistics: what Flink's
// /jobs/{jid}/checkpoints reports, in Go's shapes (the REST handlers write
// Flink's JSON from it). Durations are milliseconds, sizes bytes,
// timestamps ms since the epoch.
type Checkpoints struct {
	Enabled bool
	Config  CheckpointConfig
	// Counts over the job's life (all attempts).
	Restored, Total, InProgress, Completed, Failed int
	// History is the latest checkpoints, newest first (at most
	// CheckpointHistory of them, as Flink's web.checkpoints.history).
	History         []Checkpoint
	LatestCompleted *Checkpoint
	LatestFailed    *Checkpoint
	LatestRestored  *RestoredCheckpoint
}

// CheckpointHistory is how many checkpoints Checkpoints.History keeps.
const CheckpointHistory = 10

// CheckpointConfig is the job's checkpoint settings.
type CheckpointConfig struct {
	IntervalMs       int64
	TimeoutMs        int64
	Unaligned        bool
	AlignedTimeoutMs int64
	Retained         int
}

// RestoredCheckpoint is the checkpoint the job restored last.
type RestoredCheckpoint struct {
	ID               int64
	RestoreTimestamp int64
}

// Checkpoint is one checkpoint: the job-wide numbers Flink shows, and per
// task the subtasks' own.
type Checkpoint struct {
	ID                 int64
	Status             string // CheckpointInProgress, CheckpointCompleted or CheckpointFailed
	Unaligned          bool   // taken unaligned (from the start, or switched after the aligned timeout somewhere)
	TriggerTimestamp   int64
	LatestAckTimestamp int64 // 0 before any acknowledgement
	FailureTimestamp   int64
	FailureMessage     string
	// Sums over acknowledged subtasks.
	StateSize         int64 // keyed and operator state plus persisted data
	CheckpointedSize  int64 // what this checkpoint stored (Flowlab stores full checkpoints: StateSize)
	ProcessedData     int64 // bytes taken in during alignment
	PersistedData     int64 // in-flight bytes persisted (unaligned)
	AlignmentBuffered int64 // Flink 1.9's field, always 0 since credit-based alignment buffers nothing
	EndToEndDuration  int64 // trigger to the latest acknowledgement (to now while in progress)
	NumSubtasks       int
	NumAcknowledged   int
	Tasks             []TaskCheckpoint // in vertex order
}

// MaxAlignment is the longest alignment of a subtask, in ms (Flink shows
// alignments per subtask only); one that has not acknowledged has none yet.
func (c *Checkpoint) MaxAlignment() int64 {
	var m int64
	for _, t := range c.Tasks {
		for _, s := range t.Subtasks {
			m = max(m, s.AlignmentDuration)
		}
	}
	return m
}

// TaskCheckpoint is one task's part of a checkpoint.
type TaskCheckpoint struct {
	VertexID string
	Name     string
	Subtasks []SubtaskCheckpoint // by subtask index
}

// SubtaskCheckpoint is one subtask's part of a checkpoint, with Flink's
// per-subtask numbers.
type SubtaskCheckpoint struct {
	Index            int
	Acknowledged     bool
	AckTimestamp     int64
	EndToEndDuration int64 // trigger to acknowledgement
	SyncDuration     int64 // the operator's snapshot, on the subtask's loop
	AsyncDuration    int64 // sizing the snapshot and, unaligned, persisting in-flight data until the last barrier
	// AlignmentDuration is the time from the first barrier to the last
	// (aligned), or to the snapshot (0 when unaligned from the start).
	AlignmentDuration int64
	StartDelay        int64 // trigger to the first barrier at this subtask (checkpointStartDelayNanos, in ms)
	StateSize         int64
	CheckpointedSize  int64
	ProcessedData     int64
	PersistedData     int64
	Unaligned         bool
}
