;; Nested loops, loops with results and parameters, loops inside if/else and blocks.
(module
  (type $pr (func (param i32) (result i32)))
  (func (export "nested") (param $n i32) (result i32)
    (local $i i32) (local $j i32) (local $acc i32)
    (loop $outer
      (local.set $j (i32.const 0))
      (loop $inner
        (local.set $acc (i32.add (local.get $acc) (i32.const 1)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $inner (i32.lt_u (local.get $j) (local.get $n))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $outer (i32.lt_u (local.get $i) (local.get $n))))
    local.get $acc)
  (func (export "typed") (param i32) (result i32)
    local.get 0
    (loop (type $pr) (param i32) (result i32)
      i32.const 1
      i32.sub
      local.tee 0
      local.get 0
      br_if 0)
    (if (result i32) (local.get 0)
      (then (loop (result i32) (i32.const 1)))
      (else (block (result i32) (loop (result i32) (loop (result i32) (i32.const 2))))))
    i32.add))
