package runtime

// Budget is where a job reserves the memory its spec implies (network buffers,
// Wasm linear memory reservations, tables, state, timers, logs) before it
// starts or rescales, and releases it when it ends.
type Budget interface {
	Reserve(bytes int64) error // an error that names the limit and the amounts, e.g. "the job needs 2.3 GiB, more than the 1 GiB a job may use"
	Release(bytes int64)
}
