//go:build !wasip1

package sdk

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"
)

// Log and Logf format as fmt does.

type fmtPoint struct {
	X, Y int
	name string
}

type fmtStringer int

func (s fmtStringer) String() string { return fmt.Sprintf("S<%d>", int(s)) }

type fmtPanicker struct{}

func (*fmtPanicker) String() string { panic("boom") }

type fmtGo struct{}

func (fmtGo) GoString() string { return "GO!" }

func TestPrintf_AsFmt(t *testing.T) {
	var nilPtr *fmtPoint
	n := 42
	values := []any{
		nil, true, false, 0, -7, 42, int8(-128), int16(300), int32(-5), int64(math.MinInt64), uint(7), uint8(255), uint16(9),
		uint32(1 << 31), uint64(math.MaxUint64), uintptr(0x1234), 3.14159, float32(2.5), 1e21, 1e-7, math.Inf(-1), math.NaN(), -0.0,
		complex(1, -2), complex64(complex(0.5, 3)), "", "héllo\tworld\n", "\x00\xff", []byte("bytes\x01"), []byte(nil),
		'x', 'é', []int{1, 2, 3}, []string{"a", "b"}, [2]bool{true, false}, map[string]int{"b": 2, "a": 1, "c": 3},
		map[int]string{3: "c", -1: "a"}, map[float64]bool{math.NaN(): true, 1: false}, fmtPoint{1, 2, "p"}, &fmtPoint{3, 4, "q"},
		nilPtr, &n, fmtStringer(5), []fmtStringer{1, 2}, errors.New("an error"), time.Duration(1500) * time.Millisecond,
		Duration(90 * time.Second), []any{1, "a", nil, 2.5}, map[string]any{"k": []int{1}}, struct{ A any }{}, &fmtPanicker{},
		(*fmtPanicker)(nil), fmtGo{}, [][]byte{[]byte("x")}, struct{ E error }{errors.New("inner")}, make(chan int), func() {},
		[]*int{nil}, map[fmtPoint]int{{1, 2, "a"}: 1, {0, 5, "b"}: 2}, struct{ B []byte }{[]byte("hi")},
	}
	verbs := []string{
		"%v", "%+v", "%#v", "%T", "%s", "%q", "%d", "%x", "%X", "%o", "%O", "%b", "%c", "%U", "%e", "%E", "%f", "%F", "%g", "%G",
		"%t", "%p", "%w", "%z", "%5v", "%-5v|", "%05d", "%+d", "% d", "%#x", "%# x", "%.2f", "%8.3f", "%-8.3e|", "%.3s", "%10q",
		"%#q", "%+q", "%.0f", "%x %X", "%6.2v", "%*d", "%.*f", "%[1]v %[1]T", "%[2]v", "%[0]v", "%!", "%", "%.", "%-", "%[1",
		"%3c", "%#U", "%#o", "%#b", "%+.3e", "%#g", "%#.0f", "%v %v", "%d%%", "%010.3f", "%-010d|", "%+v and %+v", "%.1000000000d",
	}
	for _, verb := range verbs {
		for _, v := range values {
			want := fmt.Sprintf(verb, v)
			if verb == "%p" || verb == "%v" && isFuncOrChan(v) {
				continue // addresses differ between calls... they do not, but are not worth pinning
			}
			if got := string(appendPrintf(nil, verb, v)); got != want {
				t.Errorf("Sprintf(%q, %#v) = %q, fmt: %q", verb, v, got, want)
			}
		}
	}
	for _, tt := range []struct {
		format string
		args   []any
	}{
		{"no verbs", nil}, {"extra", []any{1, "x"}}, {"%d %s", []any{1}}, {"%*d", []any{"w", 5}}, {"%.*d", []any{-1, 5}},
		{"%*d", []any{-4, 5}}, {"%[3]d %d", []any{1, 2, 3}}, {"%[2]*[1]d", []any{12, 5}}, {"%d %[0]d %d", []any{1, 2}},
		{"key %q reached %d records", []any{[]byte("k1"), int64(1000)}}, {"%v", []any{[]any{nil}}}, {"%s %v", []any{nil, nil}},
		{"%!d(BADPREC)", nil}, {"%.-3d", []any{1}}, {"%-+ #0d", []any{3}}, {"%1000001d", []any{1}}, {"%v", []any{&[]int{1}}},
		{"%v", []any{&map[string]int{"a": 1}}}, {"%v", []any{&[2]int{}}}, {"%s", []any{&fmtPoint{}}}, {"%d", []any{&fmtPoint{}}},
	} {
		want := fmt.Sprintf(tt.format, tt.args...)
		if got := string(appendPrintf(nil, tt.format, tt.args...)); got != want {
			t.Errorf("Sprintf(%q, %#v...) = %q, fmt: %q", tt.format, tt.args, got, want)
		}
	}
	for _, args := range [][]any{nil, {"a", "b"}, {1, 2}, {"a", 1, 2, "b", 3.5, nil, errors.New("e")}, values} {
		want := fmt.Sprint(args...)
		if got := string(appendPrint(nil, args...)); got != want {
			t.Errorf("Sprint(%#v) = %q, fmt: %q", args, got, want)
		}
	}
}

func isFuncOrChan(v any) bool {
	switch v.(type) {
	case func(), chan int:
		return true
	}
	return false
}

func TestLog(t *testing.T) {
	h := setup(t, 0)
	Log("a", 1, 2, "b", []byte("c"))
	Logf("key %q reached %d records", []byte("k"), int64(1000))
	if want := []string{"a1 2b[99]", `key "k" reached 1000 records`}; fmt.Sprint(h.logs) != fmt.Sprint(want) {
		t.Errorf("logs %q, want %q", h.logs, want)
	}
}
