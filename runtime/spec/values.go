package spec

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// The readers of scalar values below take the node, the field's path for
// errors, and where to store the value, which they leave alone when it is invalid.

func (p *parser) str(n *yaml.Node, path string, out *string) bool {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		p.errorf(n.Line, path, "want a string, got %s", describe(n))
		return false
	}
	*out = n.Value
	return true
}

// name reads the name of a job or task: 1 to MaxNameLength characters, no control characters.
func (p *parser) name(n *yaml.Node, path string, out *string) {
	var s string
	if !p.str(n, path, &s) {
		return
	}
	switch {
	case s == "":
		p.errorf(n.Line, path, "must not be empty")
	case utf8.RuneCountInString(s) > MaxNameLength:
		p.errorf(n.Line, path, "must be at most %d characters, got %d", MaxNameLength, utf8.RuneCountInString(s))
	case strings.ContainsFunc(s, unicode.IsControl):
		p.errorf(n.Line, path, "must not contain control characters, got %s", describe(n))
	default:
		*out = s
	}
}

// taskName reads the name of a task of j.
func (p *parser) taskName(n *yaml.Node, path string, j *Job, out *string) {
	var s string
	if !p.str(n, path, &s) {
		return
	}
	if j.TaskIndex(s) < 0 {
		names := make([]string, len(j.Tasks))
		for i, t := range j.Tasks {
			names[i] = t.Name
		}
		p.errorf(n.Line, path, "no task named %q%s", s, p.didYouMean(s, names))
		return
	}
	*out = s
}

func (p *parser) oneOf(n *yaml.Node, path string, valid []string, out *string) {
	var s string
	if !p.str(n, path, &s) {
		return
	}
	if !slices.Contains(valid, s) {
		p.errorf(n.Line, path, "want one of %s, got %q%s", strings.Join(valid, ", "), s, p.didYouMean(s, valid))
		return
	}
	*out = s
}

func (p *parser) integer(n *yaml.Node, path string, min, max int, out *int) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		p.errorf(n.Line, path, "want an integer, got %s", describe(n))
		return
	}
	var i int
	if err := n.Decode(&i); err != nil || i < min || i > max {
		p.errorf(n.Line, path, "must be between %d and %d, got %s", min, max, describe(n))
		return
	}
	*out = i
}

var (
	sizePattern = regexp.MustCompile(`(?i)^([0-9]+) ?(b|kb|kib|k|mb|mib|m)?$`)
	sizeUnits   = map[string]int{"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20}
)

// size reads a number of bytes, or a string with a 1024-based unit as in Flink ("32kb", "1 MiB").
func (p *parser) size(n *yaml.Node, path string, min, max int, out *int) {
	m := sizePattern.FindStringSubmatch(n.Value)
	if tag := n.ShortTag(); n.Kind != yaml.ScalarNode || tag != "!!int" && tag != "!!str" || m == nil {
		p.errorf(n.Line, path, `want a size like "32kb" or a number of bytes, got %s`, describe(n))
		return
	}
	num, err := strconv.Atoi(m[1])
	size := num * sizeUnits[strings.ToLower(m[2])] // cannot overflow when num <= max
	if err != nil || num > max || size < min || size > max {
		p.errorf(n.Line, path, "must be between %s and %s, got %s", FormatBytes(int64(min)), FormatBytes(int64(max)), describe(n))
		return
	}
	*out = size
}

// FormatBytes writes a number of bytes in the largest binary unit not
// above it: exactly if the unit divides it ("16 MiB"), else to a tenth
// ("2.3 GiB", "1.5 KiB").
func FormatBytes(bytes int64) string {
	for _, u := range []struct {
		shift uint
		name  string
	}{{40, "TiB"}, {30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		switch {
		case bytes < 1<<u.shift:
			continue
		case bytes%(1<<u.shift) == 0:
			return fmt.Sprintf("%d %s", bytes>>u.shift, u.name)
		}
		return fmt.Sprintf("%.1f %s", float64(bytes)/float64(int64(1)<<u.shift), u.name)
	}
	return fmt.Sprintf("%d B", bytes)
}

const maxDuration = time.Duration(math.MaxInt64)

// spacedUnit matches a duration with a space before its unit ("100 ms").
var spacedUnit = regexp.MustCompile(`^([-+]?[0-9.]+) ([a-zµμ]+)$`)

// duration reads a duration in Go syntax ("100ms", "1.5s"), maybe with a space
// before the unit; 0 is the only number that needs no unit.
func (p *parser) duration(n *yaml.Node, path string, min, max time.Duration, out *time.Duration) {
	if tag := n.ShortTag(); n.Kind != yaml.ScalarNode || tag != "!!str" && tag != "!!int" && tag != "!!float" {
		p.errorf(n.Line, path, `want a duration like "100ms", got %s`, describe(n))
		return
	}
	d, err := time.ParseDuration(spacedUnit.ReplaceAllString(n.Value, "$1$2"))
	switch {
	case err != nil && isNumber(n.Value):
		p.errorf(n.Line, path, `a duration needs a unit (ns, us, ms, s, m or h) like "100ms", got %s`, describe(n))
	case err != nil:
		p.errorf(n.Line, path, `want a duration like "100ms", got %s`, describe(n))
	case d < 0:
		p.errorf(n.Line, path, "must not be negative, got %s", describe(n))
	case d < min:
		p.errorf(n.Line, path, "must be at least %v, got %s", min, describe(n))
	case d > max:
		p.errorf(n.Line, path, "must be at most %v, got %s", max, describe(n))
	default:
		*out = d
	}
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// value decodes a config value to map[string]any, []any, string, int, float64,
// bool or nil, values that encoding/json can write. It stops decoding once the
// job's configs have MaxConfigValues values, which bounds what aliases can expand to.
func (p *parser) value(n *yaml.Node, path string) any {
	n = deref(n)
	if p.budget < 0 {
		return nil
	}
	if p.budget--; p.budget < 0 {
		p.errorf(n.Line, path, "too many values: the configs of all tasks may have %d together", MaxConfigValues)
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		p.pairs(n, path, func(key string, _, v *yaml.Node) { m[key] = p.value(v, path+"."+key) })
		return m
	case yaml.SequenceNode:
		l := make([]any, len(n.Content))
		for i, item := range n.Content {
			l[i] = p.value(item, fmt.Sprintf("%s[%d]", path, i))
		}
		return l
	}
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
		p.errorf(n.Line, path, "want true or false, got %s", describe(n))
	case "!!int", "!!float": // an integer that does not fit an int becomes a float64, as in JSON
		var i int
		if n.ShortTag() == "!!int" && n.Decode(&i) == nil {
			return i
		}
		var f float64
		if n.Decode(&f) == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f
		}
		p.errorf(n.Line, path, "want a finite number, got %s", describe(n))
	default: // strings, and timestamps, binary and custom tags as written
		return n.Value
	}
	return nil
}

// describe shows a value in an error: a string quoted, another scalar as written, else its kind.
func describe(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.ShortTag() == "!!null":
		return "null"
	case n.ShortTag() == "!!str":
		return strconv.Quote(clip(n.Value))
	}
	return clip(n.Value)
}

// clip shortens long values in errors.
func clip(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max]) + "..."
}

// didYouMean is ` (did you mean "x"?)` if got is a likely typo of x in valid, else "".
func (p *parser) didYouMean(got string, valid []string) string {
	if s := p.suggest(got, valid); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

// maxSuggestions bounds the time spent finding typos in a spec full of them.
const maxSuggestions = 20

// suggest returns the string in valid closest to got if it is close enough to
// be a likely typo (at most one edit per three characters of it, ignoring
// case), else "". It gives up after maxSuggestions calls.
func (p *parser) suggest(got string, valid []string) string {
	if p.suggestions++; p.suggestions > maxSuggestions {
		return ""
	}
	best, bestDist := "", 0
	got = strings.ToLower(got)
	for _, v := range valid {
		limit := utf8.RuneCountInString(v) / 3
		if abs(utf8.RuneCountInString(got)-utf8.RuneCountInString(v)) > limit {
			continue // too far apart, and slow to measure when long
		}
		if d := distance(got, strings.ToLower(v)); d <= limit && (best == "" || d < bestDist) {
			best, bestDist = v, d
		}
	}
	return best
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// distance is the optimal string alignment distance between a and b: the number
// of insertions, deletions, substitutions and swaps of adjacent characters that
// turn a into b, each character edited at most once.
func distance(a, b string) int {
	s, t := []rune(a), []rune(b)
	// Rows i-2, i-1 and i of the table whose cell [i][j] is the distance between s[:i] and t[:j].
	prev2, prev, row := make([]int, len(t)+1), make([]int, len(t)+1), make([]int, len(t)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(s); i++ {
		row[0] = i
		for j := 1; j <= len(t); j++ {
			cost := 1
			if s[i-1] == t[j-1] {
				cost = 0
			}
			row[j] = min(prev[j]+1, row[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && s[i-1] == t[j-2] && s[i-2] == t[j-1] {
				row[j] = min(row[j], prev2[j-2]+1)
			}
		}
		prev2, prev, row = prev, row, prev2
	}
	return prev[len(t)]
}
