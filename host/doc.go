// Package host runs Wasm operators (ABI v1, docs/ABI.md) inside Flowlab's
// runtime, sandboxed on wazero.
//
// A Host validates a module before anything runs (size, imports by name,
// exports and their signatures), instruments it so that a call can be stopped
// at a deadline whatever the shape of the runaway code, and compiles it once,
// with a compilation cache on disk. Each subtask gets its own instance with a
// memory limit, a per-call deadline, an output quota and bounded logs. After a
// trap, a timeout or a failed call the instance is thrown away and the failure,
// naming the operator, the reason and the guest's stack, goes to the runtime's
// restart strategy; nothing else in the process notices.
package host
