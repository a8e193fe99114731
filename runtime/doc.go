// Package runtime is Flowlab's streaming engine: it runs a job graph as one
// goroutine per subtask, moves records through a credit-based network like
// Flink's, accounts every subtask's time as idle, busy or backpressured, and
// publishes Flink-named metric snapshots every tick.
//
// The engine knows nothing of Wasm or HTTP: an operator is a Processor or a
// Source, found by name through a Resolver. Start a job with Start and read it
// with Job.Snapshot.
package runtime
