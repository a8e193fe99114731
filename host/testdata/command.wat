;; A command module: only _start. Rebuild: wat2wasm command.wat -o command.wasm
(module
  (memory (export "memory") 1)
  (func (export "_start")))
