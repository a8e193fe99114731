package runtime

import (
	"fmt"
	"strings"
	"time"

	"flowlab/runtime/internal/network"
)

// Record is one record of a batch. Key and Value alias the input buffer and
// are valid only during the call that received them.
type Record = network.Record

// Batch is the records of one input buffer, handed to an operator in one call.
type Batch struct {
	data   []byte
	n      int
	latest int64 // kept by the writer that filled the buffer
}

// NewBatch encodes records into a batch, for tests and tools.
func NewBatch(records ...Record) Batch {
	b := Batch{n: len(records)}
	for _, r := range records {
		b.data = network.AppendRecord(b.data, r.TS, r.Key, r.Value)
		b.latest = max(b.latest, r.TS)
	}
	return b
}

// Len is the number of records.
func (b Batch) Len() int { return b.n }

// Bytes is the batch in the encoding of the Wasm ABI: per record ts_ms i64,
// key_len u32, val_len u32, key, value, little-endian. It aliases the buffer.
func (b Batch) Bytes() []byte { return b.data }

// LatestTS is the latest timestamp of the batch's records, 0 for none (and
// never below 0). It decodes nothing: the writer that filled the buffer kept
// it as it wrote the records.
func (b Batch) LatestTS() int64 { return b.latest }

// Each calls fn for every record in order and stops at the first error.
func (b Batch) Each(fn func(Record) error) error {
	r := network.NewReader(b.data)
	for {
		rec, ok := r.Next()
		if !ok {
			return r.Err()
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
}

// ErrCanceled is what Output.Emit returns when the subtask is being canceled.
var ErrCanceled = network.ErrCanceled

// Output receives an operator's records. Emit fails only when the record
// cannot be sent (larger than a network buffer) or the subtask is being
// canceled; the operator should then return the error. Emit may block while
// the output has no buffer: that is backpressure, and the runtime measures it.
//
// Every Output the runtime hands to Processor.Process, TimerHandler.OnTimer
// and Finisher.Finish is a BatchOutput.
type Output interface {
	Emit(ts int64, key, value []byte) error
}

// BatchOutput is an Output that also takes many records at once.
type BatchOutput interface {
	Output
	// EmitBatch emits the records encoded in data (the encoding of Batch.Bytes: per record ts i64, key_len u32,
	// val_len u32, key, value, little-endian), each with its own timestamp, in order, as one Emit each would
	// (partitioning, metrics, backpressure). It checks the whole encoding first: if data is not a whole number of
	// well-formed records, or a record does not fit in a network buffer, it emits nothing and returns an error
	// (wrapping network.ErrCorrupt for a bad encoding) that says what is wrong and at which offset.
	// It returns the number of records emitted.
	EmitBatch(data []byte) (int, error)
}

// ErrCorrupt is what BatchOutput.EmitBatch and Batch.Each wrap for a batch
// whose encoding does not add up.
var ErrCorrupt = network.ErrCorrupt

// Processor is the logic of a task with inputs.
//
// Process is called with every record of one input buffer, in order, from the
// subtask's single goroutine. It emits zero or more records per input record
// through out: zero means the record is consumed (a filter or a sink). A
// non-nil error fails the subtask and the job restarts per its restart
// strategy with fresh operators; the records of the failed batch are not
// retried. The runtime counts records, measures time and spends the task's
// simulated cost around the call, so an operator writes no metrics code.
type Processor interface {
	Process(in Batch, out Output) error
}

// SourceOutput is a source's Output; Available reports whether the output
// has a free buffer, as Flink's RecordWriter.isAvailable.
type SourceOutput interface {
	Output
	Available() bool
}

// Source is the logic of a task without inputs.
//
// Emit is called from the subtask's goroutine when the output has room. It
// emits the records that are due at now, one or more, and returns before
// emitting a record while out is not Available (so that waiting for the
// output is soft backpressure in the subtask's loop, not hard backpressure
// inside Emit), and after at most a few thousand, so that the subtask stays
// responsive. It returns when it wants to be called again: a time after now means the source has nothing to emit until then
// (the subtask is idle meanwhile), now or earlier means at once. A source that
// is also a RateSetter is called at once after SetRate, whatever time it asked
// for, so that it can plan again at its new rate. done reports
// that the source has emitted everything: the job drains and finishes. A
// non-nil error fails the subtask as for Processor.
type Source interface {
	Emit(now time.Time, out SourceOutput) (next time.Time, done bool, err error)
}

// Optional interfaces an operator may implement.
type (
	// TimerHandler receives the processing-time timers set through Context.SetTimer.
	TimerHandler interface {
		OnTimer(at time.Time, out Output) error
	}
	// Finisher is called once when all input has ended, before the subtask
	// finishes, to emit what it still holds (an open window).
	Finisher interface {
		Finish(out Output) error
	}
	// Closer is called once when the subtask ends, however it ends.
	Closer interface {
		Close() error
	}
)

// Context is what an operator may ask of its subtask.
type Context interface {
	Task() string
	Subtask() int
	Parallelism() int
	// SetTimer asks for OnTimer to be called at (or soon after) at. Setting
	// the same time twice fires once. It fails, naming the limit, when
	// MaxTimers timers are pending.
	SetTimer(at time.Time) error
	// OutputWait is the total time the subtask has been blocked so far on
	// output buffers in the middle of an operator call (hard backpressure),
	// including a wait under way. It may be read from any goroutine: a
	// deadline on operator calls subtracts it, since the time is not the
	// operator's.
	OutputWait() time.Duration
	// Logs is where the operator's log lines go; the UI shows them.
	Logs() *Logs
	// Done is closed when the subtask is canceled (the job is canceled or
	// restarts): an operator call still running should stop at once. It
	// may be read from any goroutine.
	Done() <-chan struct{}
}

// MaxTimers is how many timers a subtask may have pending: each costs the
// runtime about 100 bytes, so the cap bounds them at about 1 MiB.
const MaxTimers = 10_000

// Prepared is an operator type bound to one task's config.
type Prepared struct {
	// Exactly one of NewProcessor and NewSource is set.
	NewProcessor func(Context) (Processor, error)
	NewSource    func(Context) (Source, error)
	// Legacy marks a source that emits from a goroutine of its own, like
	// Flink's legacy SourceFunction: its busy time cannot be known and is NaN.
	Legacy bool
	// Memory is the most memory, in bytes, one operator may hold beyond
	// what the runtime counts itself (buffers, logs): a job reserves it
	// per subtask from its Budget. Built-in operators hold next to nothing.
	Memory int64
	// State is the most state, in bytes, one operator may hand a
	// checkpoint (Stateful): part of Memory while it runs, and again in
	// every checkpoint retained.
	State int64
}

// OperatorType checks a task's config and prepares its operators. A config
// error should be a *ConfigError so that it is reported at its spec line;
// NewProcessor and NewSource may return one too (an operator that checks
// its config as it starts): the job then fails at once, not restarting.
type OperatorType func(TaskConfig) (Prepared, error)

// Resolver finds the operator type a spec names; it returns an error saying
// what would be valid when the name is unknown.
type Resolver func(name string) (OperatorType, error)

// ConfigError is an invalid config field.
type ConfigError struct {
	Field string // top-level config key; empty for the config as a whole
	Msg   string
}

func (e *ConfigError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Msg)
}

// OperatorState is what a checkpoint holds of one operator (Flink's keyed
// and operator state).
type OperatorState struct {
	// Keyed is the operator's keyed state, from state key to value. On a
	// rescale each entry goes to the subtask its record key belongs to (see
	// RecordKey), as Flink moves key groups. The maps and values handed over
	// are not modified afterwards by whoever handed them.
	Keyed map[string][]byte
	// Operator is state that is not keyed (a source's position): it is
	// restored to the subtask of the same index, and lost for subtasks a
	// rescale removes.
	Operator []byte
}

// Stateful is an operator whose state checkpoints hold. Without it an
// operator's state is lost on a restart, as that of a Flink operator
// without managed state.
type Stateful interface {
	// SnapshotState returns the operator's state as of now, between two
	// calls of the operator on its subtask's goroutine. What it returns must
	// not change afterwards (a copy, or values never modified in place).
	SnapshotState() (OperatorState, error)
	// RestoreState is called once, before any other call, with the state
	// of the checkpoint the job restores (merged from several subtasks, or
	// a part of one, after a rescale). An error fails the subtask.
	RestoreState(OperatorState) error
}

// StateViewer is an operator whose keyed state can be looked at while it
// runs, from any goroutine (the UI's State tab).
type StateViewer interface {
	// ViewState reports the number of keys, their bytes (keys and values)
	// and up to max entries, the same ones from one call to the next while
	// the state does not change (in key order).
	ViewState(max int) StateView
}

// StateView is a look at one subtask's keyed state.
type StateView struct {
	Keys    int
	Bytes   int64
	Entries []StateEntry // copies
}

// StateEntry is one entry of keyed state.
type StateEntry struct {
	Key, Value []byte
}

// RecordKey is the record key a state key belongs to, which decides its
// subtask on a rescale: by Flowlab's convention for state keys
// (docs/ABI.md), the part before the last "/", or the whole key without
// one. The Go SDK stores state NAME of record key K under "K/NAME".
func RecordKey(stateKey string) string {
	if i := strings.LastIndexByte(stateKey, '/'); i >= 0 {
		return stateKey[:i]
	}
	return stateKey
}
