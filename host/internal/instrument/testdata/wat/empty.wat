;; No sections at all: the global and export sections are created.
(module)
