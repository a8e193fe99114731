;; Imports a function outside ABI v1. Rebuild: wat2wasm forbidden.wat -o forbidden.wasm
(module
  (import "env" "system" (func (param i32) (result i32)))
  (import "flowlab" "emit" (func (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "flowlab_input") (param i32) (result i32) (i32.const 0))
  (func (export "flowlab_process") (param i64) (result i32) (i32.const 0)))
