;; loop: flowlab_process never returns (an empty infinite loop).
(module
  (memory (export "memory") 1)
  (func (export "flowlab_input") (param i32) (result i32) (i32.const 1024))
  (func (export "flowlab_process") (param i32) (result i32)
    (loop $forever (br $forever))
    (i32.const 0)))
