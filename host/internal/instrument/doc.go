// Package instrument rewrites a WebAssembly module binary so that the host
// can stop any guest call at a deadline, whatever the shape of the runaway
// code, for a few register operations and one predictable branch per function
// entry and loop iteration.
//
// # Why
//
// Flowlab runs untrusted operators on wazero. A call that does not return by
// its deadline must be stopped, and the instance thrown away, without
// stopping the process. Go cannot kill a goroutine, and it cannot preempt one
// that runs wazero's compiled code (the preemption signal finds no Go code at
// the interrupted PC), so the guest has to cooperate. The alternatives:
//
//   - wazero's RuntimeConfig.WithCloseOnContextDone. The compiler then emits,
//     at every loop header, an indirect call through a trampoline that leaves
//     compiled code to read the module's exit code. That costs 6x to 30x in
//     loop-heavy code (BenchmarkGuestLoop: 33x on a tight summing loop), and it
//     is emitted only at loop headers: a loop-free recursion (fib(60) written
//     recursively, or mutually recursive functions) is never interrupted.
//   - Abandoning the call: return an error to the caller and leave the guest
//     running on its goroutine. It burns a core until the process exits and
//     pins the instance's memory, and worse, see below, it can freeze the
//     whole process at the next garbage collection.
//
// A plain flag check at function entries and loop headers (global.get $stop;
// if unreachable end) is nearly free but not enough on its own: a guest that
// spins in compiled code never reaches a Go safe point, so the garbage
// collector's stop-the-world waits for it forever, and the goroutine that
// would set the flag is itself stopped by that stop-the-world. The process
// hangs (this package's TestRunawayStopped did, before the periodic exit
// below).
// The same guest also holds its P, so with as many runaway calls as
// GOMAXPROCS the timer that sets the flag never runs.
//
// # What Instrument does
//
// Instrument parses the binary itself (no dependency beyond the standard
// library) and returns a new module with two more mutable i32 globals,
// appended after every existing global so that no index changes: $stop,
// initial value 0, exported as [StopExport] ("flowlab_stop"), and $tick, a
// countdown starting at 4096. At the start of every function body (after its
// locals) and right after the block type of every loop instruction it inserts
//
//	global.get $tick  i32.const 1  i32.sub  global.set $tick
//	global.get $tick  i32.eqz
//	if                                  ;; every 4096 checks:
//	  i32.const 4096  global.set $tick
//	  global.get $stop
//	  if  unreachable  end              ;; stop requested: trap
//	  i32.const 0  memory.grow 0  drop  ;; leave compiled code: a safe point
//	end
//
// memory.grow (of 0 pages: no effect) is the one instruction that makes
// wazero's compiled code return to Go without changing the module's imports
// or function indices; there the scheduler can preempt the goroutine and the
// collector can stop it. A module without a memory gets an empty one (0
// pages, maximum 0); with a 64-bit memory 0 the operand is i64.const 0.
//
// The host sets $stop to 1 from another goroutine when the deadline passes
// (api.MutableGlobal.Set on the exported global); the guest traps with
// "unreachable" within 4096 function entries or loop iterations, and the host
// discards the instance. Every infinite execution in WebAssembly either
// iterates a loop or makes unboundedly many calls, so every one is caught.
// (A host function that blocks is the host's business, not the guest's.)
//
// Cost, BenchmarkGuestLoop on amd64 (2 noisy cores): a tight loop summing
// 1..1e6 runs about 2x slower than the original (WithCloseOnContextDone:
// about 30x), call-heavy recursive fib about 1.3x; loops with real bodies pay
// proportionally less. (A per-function local countdown for loops, kept in a
// register instead of a global, measured about 20% faster on the tight loop;
// it needs the type section parsed and the locals rewritten, and is not done
// yet.) Instrumenting is a single pass plus a copy: about 5 ms and one
// allocation for a 1.9 MB Go-built module (BenchmarkInstrument).
//
// Function indices do not change, so custom sections (including "name") are
// kept as they are. Code that mentions the new globals' indices (invalid in
// the original module but valid after instrumentation, which would let a
// guest clear the flag or the countdown) is rejected, as is an export of
// them and a module that already exports "flowlab_stop". So is a function
// declaring more than 50,000 locals (the web engines' limit): wazero v1.12
// accepts up to 2^32 and allocates from the declared count, so a few bytes
// could make the host allocate gigabytes. Instrument reads every count
// against the bytes that remain, so it is safe to run on hostile input before
// wazero sees it (FuzzInstrument found that wazero's own decoder is not: it
// allocates from declared counts and can panic in validation).
//
// The instruction decoder knows the immediates of the MVP, sign-extension,
// multi-value, reference types, typed function references, non-trapping
// float-to-int, bulk memory, SIMD and relaxed SIMD, threads, tail calls,
// exception handling (both try_table/throw_ref and the legacy
// try/catch/delegate encoding), multi-memory and memory64 memargs. Anything
// else (for example the GC proposal's 0xFB prefix, which wazero does not
// support either) is an error naming the opcode and its byte offset, never a
// silent mis-decode: a mis-decoded body could hide a loop from the
// instrumentation.
package instrument

//go:generate sh testdata/generate.sh
