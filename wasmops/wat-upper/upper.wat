;; upper in hand-written WAT: a Flowlab operator (ABI v1.1, docs/ABI.md) that
;; upper-cases each record's ASCII value and keeps its key and timestamp,
;; sixteen bytes at a time with Wasm SIMD. It changes the input batch in
;; place and hands it back to the host whole with one emit_batch: one host
;; call per batch, no copy. Build with
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
    (local $key i32) (local $val i32) (local $vend i32) (local $r i32)
    (local $w v128) (local $a v128) (local $n26 v128) (local $bit v128)
    (local.set $a (i8x16.splat (i32.const 97)))
    (local.set $n26 (i8x16.splat (i32.const 26)))
    (local.set $bit (i8x16.splat (i32.const 0x20)))
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
        ;; Sixteen bytes $w at a time (Wasm SIMD): a byte minus 'a' is
        ;; below 26, unsigned, if it is a letter a-z, and then loses its 0x20
        ;; bit. (Written out twice, here and for the last bytes: a function
        ;; would cost a call and a sandbox check per sixteen bytes.) The
        ;; constants are splat once, before the records, and the loop tests
        ;; at its end, one branch a turn: wazero's compiler does neither by
        ;; itself (10% less time at 100-byte values, BenchmarkGuest).
        (if (i32.ge_u (i32.sub (local.get $vend) (local.get $val)) (i32.const 16))
          (then
            (loop $vectors
              (local.set $w (v128.load align=1 (local.get $val)))
              (v128.store align=1 (local.get $val)
                (v128.xor (local.get $w)
                  (v128.and
                    (i8x16.lt_u (i8x16.sub (local.get $w) (local.get $a)) (local.get $n26))
                    (local.get $bit))))
              (local.set $val (i32.add (local.get $val) (i32.const 16)))
              (br_if $vectors (i32.ge_u (i32.sub (local.get $vend) (local.get $val)) (i32.const 16))))))
        ;; then the last $r < 16 bytes: the last lanes of the sixteen bytes
        ;; that end the value, the lanes before them kept as they are (the
        ;; value is preceded by its 16-byte header, so they are in the batch).
        (local.set $r (i32.sub (local.get $vend) (local.get $val)))
        (if (local.get $r)
          (then
            (local.set $val (i32.sub (local.get $vend) (i32.const 16)))
            (local.set $w (v128.load align=1 (local.get $val)))
            (v128.store align=1 (local.get $val)
              (v128.bitselect
                (v128.xor (local.get $w)
                  (v128.and
                    (i8x16.lt_u (i8x16.sub (local.get $w) (local.get $a)) (local.get $n26))
                    (local.get $bit)))
                (local.get $w)
                ;; lane j is one of the last $r bytes if j > 15 - $r
                (i8x16.gt_s
                  (v128.const i8x16 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15)
                  (i8x16.splat (i32.sub (i32.const 15) (local.get $r))))))))
        (local.set $p (local.get $vend))
        (br $record)))
    ;; < 0: the output quota is exhausted, and there is nothing left to do.
    (drop (call $emit_batch (global.get $input) (local.get $len)))
    (i32.const 0))
)
