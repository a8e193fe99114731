;; Tail calls (0x12 return_call, 0x13 return_call_indirect): a loop-free
;; infinite tail recursion must also be stoppable.
(module
  (type $t (func (param i32) (result i32)))
  (table 1 funcref)
  (elem (i32.const 0) $count)
  (func $count (export "count") (type $t)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 42))
      (else (return_call_indirect (type $t) (i32.sub (local.get 0) (i32.const 1)) (i32.const 0)))))
  (func $forever (export "forever") (param i32) (result i32)
    (return_call $forever (i32.add (local.get 0) (i32.const 1)))))
