;; log-huge: flowlab_process calls log at address 0 with a length of
;; 0xffffffff (4 GiB - 1), far more than its one page of memory.
(module
  (import "flowlab" "log" (func $log (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "flowlab_input") (param i32) (result i32) (i32.const 1024))
  (func (export "flowlab_process") (param i32) (result i32)
    (call $log (i32.const 0) (i32.const -1))
    (i32.const 0)))
