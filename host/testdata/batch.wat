;; batch: an echo in ABI v1.1: flowlab_process hands its input batch back to
;; the host as it lies, with one emit_batch. A batch whose first record has
;; the key "call" instead makes it call emit_batch(ptr, len) `times` times,
;; ptr, len and times being the three little-endian i32 of the record's
;; value: the tests of bad arguments write what they need into memory (below
;; 1024, say) and point at it. Either way emit_batch's last result is stored
;; at address 0 (an i32) and flowlab_process returns 0. flowlab_timer emits
;; one record ("timer", "") with the timer's time. flowlab_init calls
;; emit_batch, where it may not, unless its config is {}.
;; Rebuild: wat2wasm batch.wat -o batch.wasm
(module
  (import "flowlab" "emit_batch" (func $emit_batch (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; the timer's record at 16: ts_ms (set when it fires), key_len 5, val_len 0, "timer"
  (data (i32.const 24) "\05\00\00\00\00\00\00\00timer")
  ;; input buffers start at 1024; grow memory to fit
  (func (export "flowlab_input") (param $size i32) (result i32)
    (local $need i32)
    (local.set $need
      (i32.sub
        (i32.shr_u (i32.add (i32.add (i32.const 1024) (local.get $size)) (i32.const 65535)) (i32.const 16))
        (memory.size)))
    (if (i32.gt_s (local.get $need) (i32.const 0))
      (then (if (i32.lt_s (memory.grow (local.get $need)) (i32.const 0)) (then unreachable))))
    (i32.const 1024))
  (func (export "flowlab_init") (param $len i32) (result i32)
    (if (i32.ne (local.get $len) (i32.const 2))
      (then (drop (call $emit_batch (i32.const 16) (i32.const 21)))))
    (i32.const 0))
  (func (export "flowlab_process") (param $len i32) (result i32)
    (local $times i32)
    ;; a first record with key_len 4, val_len 12 and key "call"
    (if (i32.and
          (i32.ge_u (local.get $len) (i32.const 32))
          (i32.and
            (i64.eq (i64.load offset=1032 (i32.const 0)) (i64.const 0x0000000c00000004))
            (i32.eq (i32.load offset=1040 (i32.const 0)) (i32.const 0x6c6c6163))))
      (then
        (local.set $times (i32.load offset=1052 (i32.const 0)))
        (block $done
          (loop $again
            (br_if $done (i32.le_s (local.get $times) (i32.const 0)))
            (i32.store (i32.const 0)
              (call $emit_batch (i32.load offset=1044 (i32.const 0)) (i32.load offset=1048 (i32.const 0))))
            (local.set $times (i32.sub (local.get $times) (i32.const 1)))
            (br $again)))
        (return (i32.const 0))))
    (i32.store (i32.const 0) (call $emit_batch (i32.const 1024) (local.get $len)))
    (i32.const 0))
  (func (export "flowlab_timer") (param $ts i64) (result i32)
    (i64.store (i32.const 16) (local.get $ts))
    (i32.store (i32.const 0) (call $emit_batch (i32.const 16) (i32.const 21)))
    (i32.const 0)))
