;; table-grow: flowlab_process grows a table by 1000 entries at a time until
;; table.grow fails, then keeps asking for more, forever. The table declares
;; no maximum, so without the host's bound on tables it would grow to 2^32
;; entries (32 GiB in wazero, 8 bytes each).
(module
  (memory (export "memory") 1)
  (table $t 0 funcref)
  (func (export "flowlab_input") (param i32) (result i32) (i32.const 1024))
  (func (export "flowlab_process") (param i32) (result i32)
    (loop $forever
      (drop (table.grow $t (ref.null func) (i32.const 1000)))
      (br $forever))
    (i32.const 0)))
