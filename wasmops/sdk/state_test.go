//go:build !wasip1

package sdk

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestState_GetPut(t *testing.T) {
	h := setup(t, 0)
	s := NewState("last")
	_, ok := s.Get([]byte("k"))
	assert.False(t, ok)

	long := strings.Repeat("v", 1000) // more than the first buffer
	require.NoError(t, s.Put([]byte("k"), []byte(long)))
	require.NoError(t, s.Put([]byte("j"), []byte{}))
	v, ok := s.Get([]byte("k"))
	assert.True(t, ok)
	assert.Equal(t, long, string(v))
	v, ok = s.Get([]byte("j"))
	assert.True(t, ok)
	assert.Empty(t, v)
	assert.Equal(t, map[string][]byte{"k/last": []byte(long), "j/last": {}}, h.state)
	assert.Equal(t, "k/last", string(StateKey([]byte("k"), "last")))
}

func TestState_Int(t *testing.T) {
	h := setup(t, 0)
	s := NewState("n")
	n, err := s.Add([]byte("a"), 5)
	require.NoError(t, err)
	assert.Equal(t, int64(5), n)
	n, err = s.Add([]byte("a"), -7)
	require.NoError(t, err)
	assert.Equal(t, int64(-2), n)
	assert.Equal(t, "-2", string(h.state["a/n"]))

	require.NoError(t, s.PutInt([]byte("b"), 1<<62))
	n, ok, err := s.Int([]byte("b"))
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, int64(1<<62), n)

	h.state["c/n"] = []byte("12x")
	_, _, err = s.Int([]byte("c"))
	assert.EqualError(t, err, `state "n": the value for key "c" is "12x", not a decimal integer`)
	_, err = s.Add([]byte("c"), 1)
	assert.Error(t, err)
}

func TestNewState_Errors(t *testing.T) {
	assert.Panics(t, func() { NewState("") })
	assert.PanicsWithValue(t, `sdk.NewState("a/b"): a state name must be non-empty and must not contain "/"`, func() { NewState("a/b") })
}

func TestParseInt(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"42", 42, true},
		{"+7", 7, true},
		{"-9223372036854775808", -1 << 63, true},
		{"9223372036854775807", 1<<63 - 1, true},
		{"9223372036854775808", 0, false},
		{"-9223372036854775809", 0, false},
		{"99999999999999999999", 0, false},
		{"", 0, false},
		{"-", 0, false},
		{"1 ", 0, false},
		{"0x10", 0, false},
	}
	for _, tt := range tests {
		n, ok := parseInt([]byte(tt.in))
		assert.Equal(t, tt.ok, ok, tt.in)
		assert.Equal(t, tt.want, n, tt.in)
	}
}
