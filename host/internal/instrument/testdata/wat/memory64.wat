;; memory64: i64 addresses, memarg offsets (u64 LEB), 64-bit
;; limits in the memory section and in memory imports.
(module
  (import "env" "m" (memory $m i64 1 2))
  (func (export "m64") (param i64) (result i64)
    (i64.store offset=0xffffffff (local.get 0) (i64.const 1))
    (loop (br_if 0 (i64.eqz (memory.size))))
    (i64.load offset=0x80000000 (local.get 0))))
