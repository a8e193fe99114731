;; wrong-signature: an otherwise valid operator that imports flowlab.emit as
;; (i32, i32) -> i32 instead of (i32, i32, i32, i32) -> i32.
(module
  (import "flowlab" "emit" (func $emit (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "flowlab_input") (param i32) (result i32) (i32.const 1024))
  (func (export "flowlab_process") (param i32) (result i32)
    (drop (call $emit (i32.const 0) (i32.const 1)))
    (i32.const 0)))
