;; state-flood: flowlab_process puts keys of 4 bytes (0, 1, 2, ...) with
;; empty values into keyed state until state_put refuses one (returns -1),
;; or 10 million are stored.
(module
  (import "flowlab" "state_put" (func $put (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "flowlab_input") (param i32) (result i32) (i32.const 1024))
  (func (export "flowlab_process") (param i32) (result i32)
    (local $i i32)
    (block $full
      (loop $more
        (i32.store (i32.const 0) (local.get $i))
        (br_if $full (i32.lt_s (call $put (i32.const 0) (i32.const 4) (i32.const 4) (i32.const 0)) (i32.const 0)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $more (i32.lt_u (local.get $i) (i32.const 10000000)))))
    (i32.const 0)))
