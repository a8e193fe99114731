;; Legacy exception handling (0x06 try, 0x07 catch, 0x19 catch_all, 0x08 throw,
;; 0x09 rethrow, 0x18 delegate) and the tag section (13), which sits between
;; memory and global. wazero rejects this encoding; the bytes are still
;; instrumented correctly.
(module
  (tag $e (param i32))
  (tag $f)
  (func $thrower (param i32)
    (throw $e (local.get 0)))
  (func (export "catch") (param i32) (result i32)
    (try (result i32)
      (do (call $thrower (local.get 0)) (i32.const 0))
      (catch $e
        (loop (br_if 0 (i32.const 0))))
      (catch_all (i32.const 2))))
  (func (export "rethrow")
    (try
      (do
        (try (do (throw $f)) (delegate 0)))
      (catch $f (rethrow 0)))))
