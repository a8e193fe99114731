;; batch-oob: flowlab_process calls emit_batch with a batch of 32 bytes at
;; 65520: it runs 16 bytes past the end of its one page (64 KiB) of memory.
(module
  (import "flowlab" "emit_batch" (func $emit_batch (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "flowlab_input") (param i32) (result i32) (i32.const 1024))
  (func (export "flowlab_process") (param i32) (result i32)
    (drop (call $emit_batch (i32.const 65520) (i32.const 32)))
    (i32.const 0)))
