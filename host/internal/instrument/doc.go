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
// library) and returns a new module with three more mutable i32 globals,
// appended after every existing global so that no index changes: $stop,
// initial value 0, exported as [StopExport] ("flowlab_stop"); $tick, a
// countdown starting at 4096, exported as [TickExport] ("flowlab_tick"); and
// $sample, initial value 0, exported as [SampleExport] ("flowlab_sample"),
// for stack samples (see below). At the start of every function body (after
// its locals) and right after the block type of every loop instruction it
// inserts
//
//	global.get $tick  i32.const 1  i32.sub  global.set $tick
//	global.get $tick  i32.eqz
//	if                                  ;; every 4096 checks:
//	  i32.const 4096  global.set $tick
//	  global.get $stop
//	  if  unreachable  end              ;; stop requested: trap
//	  global.get $sample                ;; sample requested:
//	  if  i32.const -1  call $sampled  end
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
// register instead of a global, was tried: 13% faster on the tight loop, no
// difference on the bundled operators (host's BenchmarkGuest, 5 alternated
// rounds), whose loops pay for the check's instructions, not for the
// global's load and store. It would need the type section parsed and every
// function's locals rewritten.) Instrumenting is a single pass plus a copy: about 5 ms and one
// allocation for a 1.9 MB Go-built module (BenchmarkInstrument).
//
// Function indices do not change, so custom sections (including "name") are
// kept as they are. Code that mentions the new globals' indices (invalid in
// the original module but valid after instrumentation, which would let a
// guest clear the flag or the countdown) is rejected, and so is anything
// that mentions the new function's index ($sampled, see below): call,
// return_call and ref.func in code, an export, the start section, an element
// segment (an index or a ref.func), a global's initializer (ref.func, and
// global.get of a new global). Constant expressions in data segments and
// table initializers need no check: wazero allows no ref.func and only
// imported globals in the former, and Instrument rejects the latter. A
// module that already exports one of the names Instrument adds
// ("flowlab_stop", "flowlab_tick", "flowlab_sample", "flowlab_sampled",
// "flowlab_start") is rejected too, and so is a function declaring a type
// that does not exist (the type count is $sampled's type afterwards), or a
// code section whose bodies do not match the functions. So is a function
// declaring more than 50,000 locals (the web engines' limit, [MaxLocals]):
// wazero v1.12 accepts up to 2^32 and allocates from the declared count, so
// a few bytes could make the host allocate gigabytes. Instrument reads every count
// against the bytes that remain, so it is safe to run on hostile input before
// wazero sees it (FuzzInstrument found that wazero's own decoder is not: it
// allocates from declared counts and can panic in validation).
//
// # Stack samples
//
// For a profiler, the host can take the guest's call stack while a call
// runs. Instrument appends a function $sampled of type (param i32), after
// every existing function (its type after every existing type), so that no
// index changes, exported as [SampledExport] ("flowlab_sampled"). Its body
// only clears the request: i32.const 0  global.set $sample; it gets no
// check. The host compiles the module with a wazero function listener
// (experimental.FunctionListenerFactory) that returns a listener for
// $sampled only; the listener's Before gets an experimental.StackIterator
// whose first frame is $sampled and the next one the guest function that
// called it, then that function's callers.
//
// $sampled is called in two places:
//
//   - In the slow block of the check, after the $stop poll and before
//     memory.grow, with -1 (0xFFFFFFFF as an unsigned i32): the caller is
//     at a function entry or a loop header. To ask for one, the host sets
//     $sample ([SampleExport]) to 1 and then $tick ([TickExport]) to 1, from
//     any goroutine, so that the very next check takes the slow block. A
//     write to $tick can race with the guest's own decrement and be lost;
//     the sample then comes at most 4096 checks later. The host must not set
//     $tick to 0 or below (the countdown would wrap: 2^32 checks before the
//     stop flag is polled again).
//   - Right after every call of an imported function X (call X with X below
//     the number of imported functions), with X: global.get $sample  if
//     i32.const X  call $sampled  end. Its stack effect is zero, the call's
//     results stay below it. A host function that sets $sample during its
//     call thus gets the exact stack of the guest frame that called it, as
//     soon as it returns. return_call of an import gets nothing (the
//     caller's frame is gone), nor do call_indirect and call_ref: an import
//     reached through a table or a reference is sampled at the next check
//     instead, which is what a request set at any other time gets.
//
// Cost while no sample is requested: nothing in the fast path of the check
// (the four instructions that count down $tick are unchanged); one
// global.get and a never-taken branch after each call of an import, which
// costs at least a trip through Go (BenchmarkGuestImportCall: no
// measurable difference); and in the slow block, every 4096 checks, one
// global.get and a branch next to the memory.grow that leaves compiled code.
// The call of $sampled, and with it the listener, runs only on request, once
// per request. wazero compiles the listener's hooks only into the listened
// function, so the other functions are compiled as without a listener.
//
// # Start section, tables
//
// wazero runs a module's start function inside Instantiate, before the host
// has the instance's stop global: a start function that loops would hang
// the host. Instrument removes the start section and exports its function
// as [StartExport] ("flowlab_start"); the host calls it right after
// instantiation, under the deadline, before anything else. Function indices
// do not change. A module that already exports "flowlab_start" is rejected.
//
// wazero's memory limit covers linear memory only, and table.grow in a loop
// took one instance to 4 GB. Every table declared in the module gets a
// maximum of at most [MaxTableEntries] (100,000 entries, 8 bytes each in
// wazero), so table.grow past it returns -1 at once, without allocating; a
// larger minimum is rejected, and so are more than [MaxTables] tables.
//
// # Limits
//
// In the same pass, Instrument rejects modules whose shape would make
// wazero's compiler slow or hungry, with an error naming the limit, the
// function (index, and name from the name section) and the amount, as in
// "function 12: blocks nested 10001 deep, more than the limit of 1000".
// Measured with wazero v1.12's compiler on 2 shared amd64 cores, unlimited:
// 3000 nested loops took 3.4 s, 30,000 blocks one after the other 32 s,
// 30,000 br_ifs 5.6 s, one br_table of 100,000 targets 2.8 s, 1000 types of
// 1000 params 1.3 s, 50,000 small functions of 62 br_ifs 9 s. Compile time
// grows with the square of a function's basic blocks, hence MaxBranches per
// function and MaxBranchCost, the sum of its squares, per module. The worst
// module accepted in each dimension, instrumented, compiles in (seconds):
//
//	nested loops (MaxNesting, 1000)                      0.16
//	nested blocks, nested ifs (1000)                     0.005, 0.03
//	blocks, one after the other (MaxBranches)            0.35
//	loops, one after the other (MaxBranches)             0.66
//	br_ifs (MaxBranches, 10,000)                         0.75
//	1000 nested loops around 5,998 br_ifs to the outer   0.80
//	2 functions at MaxBranches (MaxBranchCost)           1.0 to 1.2
//	9,375 functions of 64 branches (MaxBranchesTotal)    1.3
//	one br_table (MaxBrTableTargets, 4000)               0.03
//	br_tables of 100 (MaxBrTableTargetsTotal, 500,000)   0.5 to 0.8
//	straight-line code (MaxBodySize, 512 KiB)            0.13
//	1000 nested loops, then code up to MaxBodySize       0.18
//	50,000 locals used inside 1000 nested loops          0.16
//	empty functions (MaxFunctions, 50,000)               1.0
//	types of 100 params and 100 results (10,000)         0.46
//	data segments (MaxDataSegments, 1,000,000)           0.13
//
// globals, imports, exports, element segments and tables at their limits
// take under 0.05 s. The largest Go-built modules of wasmops (2.8 MB) stay
// well below every limit: nesting 549, 2,185 branches in a function,
// 154,031 in all, 896 targets in a br_table, 1,885 functions, 32,236 data
// segments, a table of 5,963 entries (limits.go has each). To reproduce:
//
//	go test -run '^$' -bench CompileWorstAccepted -benchtime 1x ./host/internal/instrument/
//	FLOWLAB_MEASURE=nested-loops:1000,2000,3000 go test -run TestMeasureShapes -v ./host/internal/instrument/
//
// What is bounded where: the module's size by the host (Config
// WithMaxModuleSize, 32 MiB by default), which also bounds what grows only
// linearly with it, such as straight-line code (about 0.25 s per MB) and the
// number of functions at their size limits; the shape by Instrument, before
// wazero decodes anything; tables by Instrument, at instantiation and at run
// time (the rewritten maximum); linear memory by wazero
// (WithMemoryLimitPages); time at run time, including the start function,
// by the host's deadline and the stop flag. Imported tables count toward
// MaxTables and their minimum toward MaxTableEntries, but Instrument cannot
// bound their maximum: the host provides none (it links only functions).
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
