;; emit-wrap: flowlab_process calls emit with a value pointer of 0xfffffff8
;; and a length of 16, so that pointer + length wraps around 32 bits to 8, an
;; address inside memory: a host must check bounds without overflow.
(module
  (import "flowlab" "emit" (func $emit (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "flowlab_input") (param i32) (result i32) (i32.const 1024))
  (func (export "flowlab_process") (param i32) (result i32)
    (drop (call $emit (i32.const 0) (i32.const 1) (i32.const 0xfffffff8) (i32.const 16)))
    (i32.const 0)))
