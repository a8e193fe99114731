;; upper-v1: wasmops/wat-upper as it was in ABI v1, before emit_batch: it
;; upper-cases each record's ASCII value in place and emits it with one emit
;; per record. Kept to show that a v1 module runs unchanged.
;; Rebuild: wat2wasm upper-v1.wat -o upper-v1.wasm
;;
;; Memory: page 0 holds the error message; the input buffer starts at 64 KiB
;; and memory grows to hold it.
(module
  (import "flowlab" "emit" (func $emit (param i32 i32 i32 i32) (result i32)))
  (import "flowlab" "fail" (func $fail (param i32 i32)))

  (memory (export "memory") 2)
  (data (i32.const 0) "upper-v1: malformed batch: a record runs past the end")

  (global $input i32 (i32.const 65536))

  ;; flowlab_input(size) -> address of a buffer of size bytes.
  (func (export "flowlab_input") (param $size i32) (result i32)
    (local $need i32)
    ;; pages needed for [64 KiB, 64 KiB + size), rounded up
    (local.set $need
      (i32.add (i32.const 1)
        (i32.shr_u (i32.add (local.get $size) (i32.const 65535)) (i32.const 16))))
    (if (i32.gt_u (local.get $need) (memory.size))
      (then
        (if (i32.eq (memory.grow (i32.sub (local.get $need) (memory.size))) (i32.const -1))
          (then unreachable))))
    (global.get $input))

  ;; flowlab_process(len): each record is ts_ms i64, key_len u32, val_len u32,
  ;; key, value. Upper-case the value in place and emit (key, value).
  (func (export "flowlab_process") (param $len i32) (result i32)
    (local $p i32) (local $end i32) (local $klen i32) (local $vlen i32)
    (local $key i32) (local $val i32) (local $i i32) (local $c i32)
    (local.set $p (global.get $input))
    (local.set $end (i32.add (global.get $input) (local.get $len)))
    (block $done
      (loop $record
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        ;; the header must fit
        (if (i32.lt_u (i32.sub (local.get $end) (local.get $p)) (i32.const 16))
          (then (call $fail (i32.const 0) (i32.const 53)) (return (i32.const -1))))
        (local.set $klen (i32.load offset=8 align=1 (local.get $p)))
        (local.set $vlen (i32.load offset=12 align=1 (local.get $p)))
        (local.set $key (i32.add (local.get $p) (i32.const 16)))
        ;; key and value must fit: klen <= end-key and vlen <= end-key-klen
        (if (i32.or
              (i32.gt_u (local.get $klen) (i32.sub (local.get $end) (local.get $key)))
              (i32.gt_u (local.get $vlen)
                (i32.sub (i32.sub (local.get $end) (local.get $key)) (local.get $klen))))
          (then (call $fail (i32.const 0) (i32.const 53)) (return (i32.const -1))))
        (local.set $val (i32.add (local.get $key) (local.get $klen)))
        ;; upper-case ASCII a-z in place
        (local.set $i (i32.const 0))
        (block $upper_done
          (loop $upper
            (br_if $upper_done (i32.ge_u (local.get $i) (local.get $vlen)))
            (local.set $c (i32.load8_u (i32.add (local.get $val) (local.get $i))))
            (if (i32.le_u (i32.sub (local.get $c) (i32.const 97)) (i32.const 25))
              (then
                (i32.store8 (i32.add (local.get $val) (local.get $i))
                  (i32.sub (local.get $c) (i32.const 32)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $upper)))
        ;; emit; stop when the output quota is exhausted
        (if (i32.lt_s (call $emit (local.get $key) (local.get $klen) (local.get $val) (local.get $vlen))
              (i32.const 0))
          (then (return (i32.const 0))))
        (local.set $p (i32.add (local.get $val) (local.get $vlen)))
        (br $record)))
    (i32.const 0))
)
