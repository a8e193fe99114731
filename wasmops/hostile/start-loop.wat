;; start-loop: the start function never returns (an empty infinite loop).
;; wazero would run it inside instantiation, before the host could stop it;
;; the host's instrumenter turns it into an export the host calls under its
;; deadline.
(module
  (memory (export "memory") 1)
  (func $start (loop $forever (br $forever)))
  (start $start)
  (func (export "flowlab_input") (param i32) (result i32) (i32.const 1024))
  (func (export "flowlab_process") (param i32) (result i32) (i32.const 0)))
