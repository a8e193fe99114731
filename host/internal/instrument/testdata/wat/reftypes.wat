;; Reference types: ref.null, ref.is_null, ref.func, table.get/set/size/grow/fill,
;; typed select, externref locals and parameters, multiple tables.
(module
  (table $t0 4 funcref)
  (table $t1 4 externref)
  (elem declare func $f)
  (func $f (param externref) (result i32) (local funcref)
    (local.set 1 (ref.func $f))
    (table.set $t0 (i32.const 0) (local.get 1))
    (table.set $t1 (i32.const 1) (local.get 0))
    (drop (table.get $t1 (i32.const 1)))
    (drop (table.grow $t0 (ref.null func) (i32.const 1)))
    (table.fill $t1 (i32.const 0) (ref.null extern) (i32.const 2))
    (drop (select (result externref) (local.get 0) (ref.null extern) (i32.const 1)))
    (drop (select (result i32 ) (i32.const 1) (i32.const 2) (i32.const 1)))
    (i32.add (table.size $t1) (ref.is_null (local.get 0)))))
