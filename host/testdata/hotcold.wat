;; hotcold: per batch, $heavy does 9 times the work of $light; for the
;; profiler's tests. Records are consumed (a sink).
;; Rebuild: wat2wasm --debug-names hotcold.wat -o hotcold.wasm
;;          wat2wasm hotcold.wat -o hotcold-stripped.wasm
(module
  (memory (export "memory") 1)
  (global $sink (mut i32) (i32.const 0))
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
  (func $spin (param $n i32)
    (local $acc i32)
    (loop $again
      (local.set $acc (i32.add (local.get $acc) (i32.mul (local.get $n) (local.get $n))))
      (local.tee $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $again))
    (global.set $sink (local.get $acc)))
  (func $heavy (call $spin (i32.const 900000)))
  (func $light (call $spin (i32.const 100000)))
  (func (export "flowlab_process") (param $len i32) (result i32)
    (call $heavy)
    (call $light)
    (i32.const 0)))
