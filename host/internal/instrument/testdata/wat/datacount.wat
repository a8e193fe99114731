;; memory.init/data.drop make wat2wasm emit the data count section (12),
;; which sits before code: the new global and export sections go before it.
(module
  (memory 1)
  (data $d "hello")
  (func (param i32)
    (memory.init $d (local.get 0) (i32.const 0) (i32.const 5))
    data.drop $d))
