// Package wasmops bundles Flowlab's example Wasm operators, built from the
// sources beside them (Go with the SDK in wasmops/sdk, C, WAT) by build.sh.
// FS holds NAME/NAME.wasm for each, the layout host.Resolver expects for the
// "wasm:NAME" operators of a job spec. The hostile test modules in
// wasmops/hostile are not bundled.
package wasmops

import "embed"

// FS holds the example operators: NAME/NAME.wasm.
//
//go:embed count/count.wasm
//go:embed filter/filter.wasm
//go:embed poison/poison.wasm
//go:embed hotspot/hotspot.wasm
//go:embed sliding-window/sliding-window.wasm
//go:embed spin/spin.wasm
//go:embed tokenize/tokenize.wasm
//go:embed upper/upper.wasm
//go:embed c-upper/c-upper.wasm
//go:embed wat-upper/wat-upper.wasm
var FS embed.FS
