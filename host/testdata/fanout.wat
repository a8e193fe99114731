;; fanout: every flowlab_process call emits 200 records of 64 bytes from
;; $fanout, whatever its input; for the profiler's tests of a guest blocked
;; in emit (hard backpressure).
;; Rebuild: wat2wasm --debug-names fanout.wat -o fanout.wasm
(module
  (import "flowlab" "emit" (func $emit (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; input buffers start at 1024; grow memory to fit
  (func (export "flowlab_input") (param $size i32) (result i32)
    (local $need i32)
    (local.set $need
      (i32.sub
        (i32.shr_u (i32.add (i32.add (i32.const 1024) (local.get $size)) (i32.const 65535)) (i32.const 16))
        (memory.size)))
    (if (i32.gt_s (local.get $need) (i32.const 0))
      (then (if (i32.lt_s (memory.grow (local.get $need)) (i32.const 0)) (then (return (i32.const -1))))))
    (i32.const 1024))
  (func $fanout (result i32)
    (local $i i32)
    (loop $next
      (if (i32.lt_s (call $emit (i32.const 0) (i32.const 8) (i32.const 0) (i32.const 64)) (i32.const 0))
        (then (return (i32.const -1))))
      (local.tee $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (i32.const 200))))
    (i32.const 0))
  (func (export "flowlab_process") (param $len i32) (result i32)
    (call $fanout)))
