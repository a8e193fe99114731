;; Multi-value: functions and blocks with several results, block types given
;; by type index (s33 LEB), including a loop with parameters.
(module
  (type $swap (func (param i32 i32) (result i32 i32)))
  (type $two (func (result i32 i32)))
  (func $swapf (type $swap) (local.get 1) (local.get 0))
  (func (export "mv") (param i32 i32) (result i32 i32)
    (block (type $two) (result i32 i32)
      (local.get 0) (local.get 1))
    (loop (type $swap) (param i32 i32) (result i32 i32)
      call $swapf)
    (if (type $swap) (param i32 i32) (result i32 i32) (local.get 0)
      (then call $swapf)
      (else nop))))
