package spec

import (
	"fmt"
	"strings"
)

// Error is one problem in a spec, at a line of it.
type Error struct {
	Line  int    // 1-based line in the spec
	Field string // path to the field, like "tasks[1].parallelism"; "" for the spec as a whole
	Msg   string
}

// Error formats e as "line 7: tasks[1].parallelism: must be between 1 and 128, got 0".
func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Msg)
}

// Errors is every problem Parse found in a spec, sorted by line.
type Errors []*Error

// Error joins the errors with newlines.
func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}
