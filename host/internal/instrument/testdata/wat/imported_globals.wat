;; Imported globals shift the new global's index: 2 imported + 1 defined, so it is global 3.
(module
  (import "env" "f" (func $f (param i32) (result i32)))
  (import "env" "g0" (global $g0 i32))
  (import "env" "mem" (memory 1))
  (import "env" "g1" (global $g1 (mut i64)))
  (import "env" "t" (table 1 funcref))
  (global $d (mut i32) (i32.const 5))
  (func (export "get") (result i32)
    global.get $g0
    global.get $d
    i32.add
    call $f)
  (func (export "bump")
    global.get $g1
    i64.const 1
    i64.add
    global.set $g1))
