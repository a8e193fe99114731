;; deep: flowlab_process recurses 500 calls deep through $down and spins in
;; a loop at the bottom; for the profiler's cap on stack depth.
;; Rebuild: wat2wasm --debug-names deep.wat -o deep.wasm
(module
  (memory (export "memory") 1)
  (global $sink (mut i32) (i32.const 0))
  (func $down (param $n i32)
    (local $i i32)
    (if (i32.eqz (local.get $n))
      (then
        (local.set $i (i32.const 100000))
        (loop $spin
          (global.set $sink (i32.add (global.get $sink) (local.get $i)))
          (local.tee $i (i32.sub (local.get $i) (i32.const 1)))
          (br_if $spin)))
      (else (call $down (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "flowlab_input") (param i32) (result i32) (i32.const 1024))
  (func (export "flowlab_process") (param i32) (result i32)
    (call $down (i32.const 500))
    (i32.const 0)))
