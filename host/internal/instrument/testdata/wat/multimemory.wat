;; Multi-memory: memargs with bit 6 of the alignment set carry a memory index;
;; memory.size/grow/copy/fill/init take memory indices. wazero does not
;; support multi-memory; the bytes are still instrumented correctly.
(module
  (memory $m0 1)
  (memory $m1 1)
  (data $d "xyz")
  (func (export "mm") (param i32) (result i32)
    (i32.store $m1 offset=4 (local.get 0) (i32.load $m0 (local.get 0)))
    (v128.store $m1 (local.get 0) (v128.load $m1 (local.get 0)))
    (memory.copy $m1 $m0 (i32.const 0) (i32.const 0) (i32.const 1))
    (memory.fill $m1 (i32.const 0) (i32.const 0) (i32.const 1))
    (memory.init $m1 $d (i32.const 0) (i32.const 0) (i32.const 1))
    (drop (memory.grow $m1 (i32.const 1)))
    (loop (br_if 0 (i32.eqz (memory.size $m1))))
    (i32.load8_u $m1 (local.get 0))))
