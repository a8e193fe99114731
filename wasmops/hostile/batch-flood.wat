;; batch-flood: flowlab_process calls emit_batch with a batch of 100 records
;; ("k", "v") forever, ignoring what it returns (the output quota being
;; exhausted).
(module
  (import "flowlab" "emit_batch" (func $emit_batch (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\00\00\00\00\00\00\00\00\01\00\00\00\01\00\00\00kv")
  (func (export "flowlab_input") (param i32) (result i32) (i32.const 4096))
  (func (export "flowlab_process") (param i32) (result i32)
    ;; copy the record of 18 bytes at 0 to make 100 of them
    (memory.copy (i32.const 18) (i32.const 0) (i32.const 18))
    (memory.copy (i32.const 36) (i32.const 0) (i32.const 36))
    (memory.copy (i32.const 72) (i32.const 0) (i32.const 72))
    (memory.copy (i32.const 144) (i32.const 0) (i32.const 144))
    (memory.copy (i32.const 288) (i32.const 0) (i32.const 288))
    (memory.copy (i32.const 576) (i32.const 0) (i32.const 576))
    (memory.copy (i32.const 1152) (i32.const 0) (i32.const 648))
    (loop $forever
      (drop (call $emit_batch (i32.const 0) (i32.const 1800)))
      (br $forever))
    (i32.const 0)))
