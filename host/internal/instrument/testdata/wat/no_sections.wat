;; Code but no global or export section.
(module
  (func (result i32)
    i32.const 7))
