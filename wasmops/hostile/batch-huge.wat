;; batch-huge: flowlab_process calls emit_batch with a batch of 1 GiB at
;; address 0, in its one page (64 KiB) of memory.
(module
  (import "flowlab" "emit_batch" (func $emit_batch (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "flowlab_input") (param i32) (result i32) (i32.const 1024))
  (func (export "flowlab_process") (param i32) (result i32)
    (drop (call $emit_batch (i32.const 0) (i32.const 0x40000000)))
    (i32.const 0)))
