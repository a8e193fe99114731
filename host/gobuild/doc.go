// Package gobuild builds Wasm operators from one Go source file, for the
// playground's editor: the source is checked, written as main.go of a fresh
// temporary module beside a copy of the SDK embedded in the binary, and built
// by the go command for wasip1 with a scrubbed environment, a time limit, a
// size limit and a limit on builds at once. Errors come back as Diagnostics
// with the line and column an editor can place, with friendly hints beside
// the compiler's words for common mistakes.
//
// # What is refused, and why
//
// The compiler is not sandboxed: it runs as the server's user. What makes
// that acceptable is that nothing of the source runs, and nothing outside the
// temporary module is read, during a build; the module itself runs only in
// the host's Wasm sandbox (wazero), which validates it like any upload. So
// the checks guard the build, not the guest:
//
//   - import "C" (cgo, which would run a C compiler with flags from the
//     source's #cgo lines) and //go:cgo_ directives are refused; CGO_ENABLED=0
//     besides.
//   - Imports outside the standard library (a dot in the first path element)
//     and of flowlab other than flowlab/wasmops/sdk are refused, each named
//     with its line. GOPROXY=off besides: nothing is ever downloaded.
//   - //go:embed is refused: the module holds main.go and the SDK only, but
//     there is nothing to embed. Build constraints (//go:build) and //line
//     directives are refused: the first could exclude main.go, the second
//     would make the compiler's messages point elsewhere.
//   - Allowed: "unsafe", //go:linkname, //go:wasmimport and //go:wasmexport.
//     They change only the guest, which is Wasm: its memory accesses are
//     bounds-checked by wazero whatever Go's type system says, linkname
//     reaches the guest's own runtime only, and the host refuses a module
//     whose imports are not the ABI's (and one without its exports) when it
//     compiles it. //go:generate is allowed: go build never runs it.
//   - The go command's environment is exactly: GOOS=wasip1 GOARCH=wasm
//     CGO_ENABLED=0 GOTOOLCHAIN=local (no toolchain download) GOPROXY=off
//     GOFLAGS=-mod=mod GOWORK=off GOSUMDB=off GOENV=off GOTELEMETRY=off,
//     GOCACHE and GOMODCACHE in the builder's directory, HOME a fresh
//     directory (with telemetry off in its config) and PATH the go command's
//     directory only. Nothing of the server's environment (proxies, GOFLAGS,
//     credentials) reaches it.
//   - The build is killed, with every process it started (its process group),
//     after the timeout (60 s); a source is at most 256 KiB, a module at most
//     32 MiB, the compiler's output kept to 64 KiB; at most 2 builds run at
//     once, more get ErrBusy.
//   - The Go build cache is shared by all builds: its entries are keyed by
//     the hashes of their inputs, so one source cannot change what another
//     build gets. It is trimmed to 256 MiB, oldest files first (a warm
//     cache of the templates takes 22 MiB).
//
// Not guarded: the compiler's memory (a peak of 53 to 60 MiB for a template
// with a warm cache, 206 to 219 MiB for a cold build, which compiles the
// standard library for wasip1 too) and CPU; a source crafted to make the
// compiler slow or big is stopped by the timeout only. A cold build takes 5
// to 6 s on 2 idle cores (10 to 17 s while other work runs), a warm one 0.13
// to 0.19 s (BenchmarkBuild).
package gobuild
