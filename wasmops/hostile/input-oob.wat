;; input-oob: flowlab_input returns an address 8 bytes before the end of
;; memory, whatever size it is asked for, so a batch written there would run
;; past the end.
(module
  (memory (export "memory") 1)
  (func (export "flowlab_input") (param i32) (result i32)
    (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 8)))
  (func (export "flowlab_process") (param i32) (result i32) (i32.const 0)))
