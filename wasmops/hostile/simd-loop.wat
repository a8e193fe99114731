;; simd-loop: flowlab_process never returns: a loop of Wasm SIMD (simd128)
;; that adds to sixteen bytes of the input buffer at a time, around and
;; around its first 64 KiB, forever.
(module
  (memory (export "memory") 2)
  (func (export "flowlab_input") (param i32) (result i32) (i32.const 1024))
  (func (export "flowlab_process") (param i32) (result i32)
    (local $p i32)
    (loop $forever
      (v128.store (local.get $p)
        (i8x16.add (v128.load (local.get $p)) (i8x16.splat (i32.const 1))))
      (local.set $p (i32.and (i32.add (local.get $p) (i32.const 16)) (i32.const 0xfff0)))
      (br $forever))
    (i32.const 0)))
