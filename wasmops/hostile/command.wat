;; command: a WASI command module: it exports only _start (and memory), no
;; flowlab_input or flowlab_process.
(module
  (memory (export "memory") 1)
  (func (export "_start")))
