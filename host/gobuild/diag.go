package gobuild

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Diagnostic is one message about the source: a compile error, a refusal or
// a hint. Line and Column count from 1; Line is 0 when the message is not
// about a line, Column 0 when not about a column.
type Diagnostic struct {
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

func (d Diagnostic) String() string {
	switch {
	case d.Line == 0:
		return d.Message
	case d.Column == 0:
		return fmt.Sprintf("main.go:%d: %s", d.Line, d.Message)
	}
	return fmt.Sprintf("main.go:%d:%d: %s", d.Line, d.Column, d.Message)
}

// Error is a build that failed because of the source: compile errors, or a
// source or module the builder refused. Hints follow the diagnostics they
// explain, as Diagnostics whose Message starts with "hint: ".
type Error struct {
	Errors []Diagnostic
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Errors))
	for i, d := range e.Errors {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

func refuse(ds ...Diagnostic) *Error { return &Error{Errors: ds} }

// position is the start of a compiler message: FILE.go:LINE:COL: or
// FILE.go:LINE:.
var position = regexp.MustCompile(`^(\S+\.go):(\d+)(?::(\d+))?: ?(.*)$`)

// parseOutput turns the go command's output into Diagnostics: lines about
// main.go (./main.go, or any path ending in it) with their line and column,
// others (other files, the go command's own words) at line 0; the "# pkg"
// headers dropped, indented continuation lines joined to the message before.
// dir, the temporary module's directory, is replaced by "." wherever it
// appears, so that messages do not show the server's paths.
func parseOutput(out, dir string) []Diagnostic {
	var ds []Diagnostic
	for _, line := range strings.Split(out, "\n") {
		if dir != "" {
			line = strings.ReplaceAll(line, dir+"/operator/", "./")
			line = strings.ReplaceAll(line, dir, ".")
		}
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "# ") {
			continue
		}
		if (strings.HasPrefix(line, "\t") || strings.HasPrefix(line, "    ")) && len(ds) > 0 {
			ds[len(ds)-1].Message += "\n" + strings.TrimSpace(line)
			continue
		}
		m := position.FindStringSubmatch(line)
		if m == nil {
			ds = append(ds, Diagnostic{Message: line})
			continue
		}
		file := strings.TrimPrefix(m[1], "./")
		if file != "main.go" && !strings.HasSuffix(file, "/main.go") || strings.Contains(file, "flowlab/") {
			ds = append(ds, Diagnostic{Message: line})
			continue
		}
		d := Diagnostic{Message: m[4]}
		d.Line, _ = strconv.Atoi(m[2])
		d.Column, _ = strconv.Atoi(m[3])
		ds = append(ds, d)
	}
	if len(ds) == 0 {
		ds = append(ds, Diagnostic{Message: "the build failed without a message"})
	}
	return ds
}
