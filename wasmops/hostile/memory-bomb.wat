;; memory-bomb: flowlab_process grows memory a page at a time until
;; memory.grow fails, then writes to every 4 KiB of it, over and over, forever.
(module
  (memory (export "memory") 1)
  (func (export "flowlab_input") (param i32) (result i32) (i32.const 1024))
  (func (export "flowlab_process") (param i32) (result i32)
    (local $addr i32) (local $end i32) (local $round i32)
    (block $full
      (loop $grow
        (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (br $grow)))
    (local.set $end (i32.mul (memory.size) (i32.const 65536)))
    (loop $forever
      (local.set $round (i32.add (local.get $round) (i32.const 1)))
      (local.set $addr (i32.const 0))
      (loop $touch
        (i32.store (local.get $addr) (local.get $round))
        (local.set $addr (i32.add (local.get $addr) (i32.const 4096)))
        (br_if $touch (i32.lt_u (local.get $addr) (local.get $end))))
      (br $forever))
    (i32.const 0)))
