;; timer-flood: flowlab_process sets a timer for every millisecond from now
;; on, a million of them, more than any subtask may have pending.
(module
  (import "flowlab" "timer" (func $timer (param i64)))
  (import "flowlab" "now_ms" (func $now (result i64)))
  (memory (export "memory") 1)
  (func (export "flowlab_input") (param i32) (result i32) (i32.const 1024))
  (func (export "flowlab_process") (param i32) (result i32)
    (local $i i64) (local $t i64)
    (local.set $t (i64.add (call $now) (i64.const 3600000)))
    (loop $more
      (call $timer (i64.add (local.get $t) (local.get $i)))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br_if $more (i64.lt_u (local.get $i) (i64.const 1000000))))
    (i32.const 0))
  (func (export "flowlab_timer") (param i64) (result i32) (i32.const 0)))
