;; upper in hand-written WAT: a Flowlab operator (ABI v1.1, docs/ABI.md) that
;; upper-cases each record's ASCII value and keeps its key and timestamp. It
;; changes the input batch in place and hands it back to the host whole with
;; one emit_batch: one host call per batch, no copy. Build with
;;
;;   wat2wasm upper.wat -o wat-upper.wasm
;;
;; Memory: page 0 holds the error message; the input buffer starts at 64 KiB
;; and memory grows to hold it.
(module
  (import "flowlab" "emit_batch" (func $emit_batch (param i32 i32) (result i32)))
  (import "flowlab" "fail" (func $fail (param i32 i32)))

  (memory (export "memory") 2)
  (data (i32.const 0) "wat-upper: malformed batch: a record runs past the end")

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
  ;; key, value. Upper-case every value in place, then emit the whole batch.
  (func (export "flowlab_process") (param $len i32) (result i32)
    (local $p i32) (local $end i32) (local $klen i32) (local $vlen i32)
    (local $key i32) (local $val i32) (local $vend i32) (local $c i32)
    (local $w i64) (local $x i64)
    (local.set $p (global.get $input))
    (local.set $end (i32.add (global.get $input) (local.get $len)))
    (block $done
      (loop $record
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        ;; the header must fit
        (if (i32.lt_u (i32.sub (local.get $end) (local.get $p)) (i32.const 16))
          (then (call $fail (i32.const 0) (i32.const 54)) (return (i32.const -1))))
        (local.set $klen (i32.load offset=8 align=1 (local.get $p)))
        (local.set $vlen (i32.load offset=12 align=1 (local.get $p)))
        (local.set $key (i32.add (local.get $p) (i32.const 16)))
        ;; key and value must fit: klen <= end-key and vlen <= end-key-klen
        (if (i32.or
              (i32.gt_u (local.get $klen) (i32.sub (local.get $end) (local.get $key)))
              (i32.gt_u (local.get $vlen)
                (i32.sub (i32.sub (local.get $end) (local.get $key)) (local.get $klen))))
          (then (call $fail (i32.const 0) (i32.const 54)) (return (i32.const -1))))
        (local.set $val (i32.add (local.get $key) (local.get $klen)))
        (local.set $vend (i32.add (local.get $val) (local.get $vlen)))
        ;; Eight bytes $w at a time: with the high bits cleared ($x), a byte
        ;; plus 0x80-'a' has its high bit set if it is >= 'a', plus 0x80-'z'-1
        ;; if it is > 'z', and no sum carries into the next byte; a letter a-z
        ;; (high bit clear in $w) loses its 0x20 bit.
        (block $words_done
          (loop $words
            (br_if $words_done (i32.lt_u (i32.sub (local.get $vend) (local.get $val)) (i32.const 8)))
            (local.set $w (i64.load align=1 (local.get $val)))
            (local.set $x (i64.and (local.get $w) (i64.const 0x7f7f7f7f7f7f7f7f)))
            (i64.store align=1 (local.get $val)
              (i64.xor (local.get $w)
                (i64.shr_u
                  (i64.and
                    (i64.and
                      (i64.add (local.get $x) (i64.const 0x1f1f1f1f1f1f1f1f))
                      (i64.xor (i64.add (local.get $x) (i64.const 0x0505050505050505)) (i64.const -1)))
                    (i64.and (i64.xor (local.get $w) (i64.const -1)) (i64.const 0x8080808080808080)))
                  (i64.const 2))))
            (local.set $val (i32.add (local.get $val) (i32.const 8)))
            (br $words)))
        ;; then the rest, byte by byte
        (block $bytes_done
          (loop $bytes
            (br_if $bytes_done (i32.ge_u (local.get $val) (local.get $vend)))
            (local.set $c (i32.load8_u (local.get $val)))
            (if (i32.le_u (i32.sub (local.get $c) (i32.const 97)) (i32.const 25))
              (then (i32.store8 (local.get $val) (i32.sub (local.get $c) (i32.const 32)))))
            (local.set $val (i32.add (local.get $val) (i32.const 1)))
            (br $bytes)))
        (local.set $p (local.get $vend))
        (br $record)))
    ;; < 0: the output quota is exhausted, and there is nothing left to do.
    (drop (call $emit_batch (global.get $input) (local.get $len)))
    (i32.const 0))
)
