;; batch-lie: flowlab_process calls emit_batch with a batch of 18 bytes whose
;; one record claims a value of 1 GiB: ts 0, key_len 1, val_len 2^30, then
;; "kv", all there is.
(module
  (import "flowlab" "emit_batch" (func $emit_batch (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\00\00\00\00\00\00\00\00\01\00\00\00\00\00\00\40kv")
  (func (export "flowlab_input") (param i32) (result i32) (i32.const 1024))
  (func (export "flowlab_process") (param i32) (result i32)
    (drop (call $emit_batch (i32.const 0) (i32.const 18)))
    (i32.const 0)))
