;; fib: flowlab_process computes fib(45) by naive recursion, with no loop
;; anywhere: about 3.7e9 calls, many seconds of work that a loop-based
;; interruption never sees.
(module
  (memory (export "memory") 1)
  (func $fib (param $n i32) (result i64)
    (if (result i64) (i32.lt_u (local.get $n) (i32.const 2))
      (then (i64.extend_i32_u (local.get $n)))
      (else
        (i64.add
          (call $fib (i32.sub (local.get $n) (i32.const 1)))
          (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func (export "flowlab_input") (param i32) (result i32) (i32.const 1024))
  (func (export "flowlab_process") (param i32) (result i32)
    ;; store the result so that the calls cannot be dropped
    (i64.store (i32.const 0) (call $fib (i32.const 45)))
    (i32.const 0)))
