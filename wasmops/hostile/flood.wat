;; flood: flowlab_process emits the record ("k", "v") forever and ignores
;; what emit returns (the output quota being exhausted).
(module
  (import "flowlab" "emit" (func $emit (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "kv")
  (func (export "flowlab_input") (param i32) (result i32) (i32.const 1024))
  (func (export "flowlab_process") (param i32) (result i32)
    (loop $forever
      (drop (call $emit (i32.const 0) (i32.const 1) (i32.const 1) (i32.const 1)))
      (br $forever))
    (i32.const 0)))
