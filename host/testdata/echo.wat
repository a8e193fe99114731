;; echo: emits every input record unchanged; logs its config at init; a timer
;; set per batch emits a record with key "timer".
;; Rebuild: wat2wasm echo.wat -o echo.wasm
(module
  (import "flowlab" "emit" (func $emit (param i32 i32 i32 i32) (result i32)))
  (import "flowlab" "log" (func $log (param i32 i32)))
  (import "flowlab" "fail" (func $fail (param i32 i32)))
  (import "flowlab" "now_ms" (func $now (result i64)))
  (import "flowlab" "timer" (func $timer (param i64)))
  (memory (export "memory") 1)
  (data (i32.const 16) "timer")
  (data (i32.const 32) "config is not {}")
  (global $base i32 (i32.const 1024))
  ;; input buffers start at 1024; grow memory to fit
  (func (export "flowlab_input") (param $size i32) (result i32)
    (local $need i32)
    (local.set $need
      (i32.sub
        (i32.shr_u (i32.add (i32.add (global.get $base) (local.get $size)) (i32.const 65535)) (i32.const 16))
        (memory.size)))
    (if (i32.gt_s (local.get $need) (i32.const 0))
      (then (if (i32.lt_s (memory.grow (local.get $need)) (i32.const 0)) (then (return (i32.const -1))))))
    (global.get $base))
  (func (export "flowlab_init") (param $len i32) (result i32)
    (call $log (global.get $base) (local.get $len))
    ;; accept only "{}"
    (if (i32.ne (local.get $len) (i32.const 2))
      (then (call $fail (i32.const 32) (i32.const 16)) (return (i32.const -1))))
    (i32.const 0))
  (func (export "flowlab_process") (param $len i32) (result i32)
    (local $p i32) (local $end i32) (local $kl i32) (local $vl i32)
    (local.set $p (global.get $base))
    (local.set $end (i32.add (global.get $base) (local.get $len)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $kl (i32.load offset=8 (local.get $p)))
        (local.set $vl (i32.load offset=12 (local.get $p)))
        (if (i32.lt_s
              (call $emit
                (i32.add (local.get $p) (i32.const 16)) (local.get $kl)
                (i32.add (i32.add (local.get $p) (i32.const 16)) (local.get $kl)) (local.get $vl))
              (i32.const 0))
          (then (return (i32.const -1))))
        (local.set $p (i32.add (local.get $p) (i32.add (i32.const 16) (i32.add (local.get $kl) (local.get $vl)))))
        (br $next)))
    (call $timer (i64.add (call $now) (i64.const 100)))
    (i32.const 0))
  (func (export "flowlab_timer") (param $ts i64) (result i32)
    (drop (call $emit (i32.const 16) (i32.const 5) (i32.const 16) (i32.const 0)))
    (i32.const 0)))
