;; emit-oob: flowlab_process calls emit with a key pointer far beyond its
;; one page (64 KiB) of memory: key at 256 MiB, 4 bytes.
(module
  (import "flowlab" "emit" (func $emit (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "flowlab_input") (param i32) (result i32) (i32.const 1024))
  (func (export "flowlab_process") (param i32) (result i32)
    (drop (call $emit (i32.const 0x10000000) (i32.const 4) (i32.const 0) (i32.const 1)))
    (i32.const 0)))
