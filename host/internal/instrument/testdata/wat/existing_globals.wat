;; An existing global section and export section; the new global is appended.
(module
  (global $a i32 (i32.const 1))
  (global $b (mut f64) (f64.const 2.5))
  (global $c (mut i32) (i32.const 3))
  (func (export "a") (result i32) global.get $a)
  (func (export "c") (param i32) (global.set $c (local.get 0)))
  (export "b" (global $b)))
