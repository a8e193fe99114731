;; forbidden-import: an otherwise valid operator that imports env.system,
;; which no Flowlab host provides.
(module
  (import "env" "system" (func $system (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "rm -rf /\00")
  (func (export "flowlab_input") (param i32) (result i32) (i32.const 1024))
  (func (export "flowlab_process") (param i32) (result i32)
    (call $system (i32.const 0))))
