package sdk

import (
	"errors"
	"strconv"
	"strings"
)

// State is one named piece of keyed state, held by the host: it outlives the
// instance (a restart after a failure keeps it), is checkpointed, and is shown
// in the UI. The host stores it under the bytes key + "/" + name, so a
// State's values for different keys, and different States, never collide.
// Values are bytes; Int, PutInt and Add store integers as decimal text.
//
// A State is not safe for concurrent use (a module's calls never overlap).
// Make States once, in package variables:
//
//	var counts = sdk.NewState("count")
type State struct {
	name string
	kbuf []byte // key + "/" + name
	vbuf []byte // the value of the last Get
	ibuf []byte // scratch for PutInt
}

// NewState returns the state called name. The name must not be empty or
// contain "/".
func NewState(name string) *State {
	if name == "" || strings.Contains(name, "/") {
		panic("sdk.NewState(" + strconv.Quote(name) + `): a state name must be non-empty and must not contain "/"`)
	}
	return &State{name: name, vbuf: make([]byte, 64)}
}

// Name is the state's name.
func (s *State) Name() string { return s.name }

// StateKey returns the bytes the host stores the state called name for key
// under: key + "/" + name.
func StateKey(key []byte, name string) []byte {
	return appendStateKey(nil, key, name)
}

func appendStateKey(dst, key []byte, name string) []byte {
	dst = append(dst, key...)
	dst = append(dst, '/')
	return append(dst, name...)
}

func (s *State) hostKey(key []byte) []byte {
	s.kbuf = appendStateKey(s.kbuf[:0], key, s.name)
	return s.kbuf
}

// Get returns the value for key and true, or nil and false if there is none.
// The value is valid until the next call of a method of s.
func (s *State) Get(key []byte) ([]byte, bool) {
	k := s.hostKey(key)
	n := hostStateGet(k, s.vbuf[:cap(s.vbuf)])
	if n < 0 {
		return nil, false
	}
	if int(n) > cap(s.vbuf) {
		s.vbuf = make([]byte, n)
		if n = hostStateGet(k, s.vbuf); n < 0 {
			return nil, false
		}
		if int(n) > len(s.vbuf) { // changed in between: cannot happen within one call
			return nil, false
		}
	}
	return s.vbuf[:n], true
}

// ErrStateFull is returned by Put when the host refused to store a value,
// because the subtask's keyed state would exceed its limit.
var ErrStateFull = errors.New("keyed state limit of the subtask reached")

// Put stores value for key.
func (s *State) Put(key, value []byte) error {
	if hostStatePut(s.hostKey(key), value) < 0 {
		return &wrapError{"state " + strconv.Quote(s.name) + ": put " + strconv.Itoa(len(value)) + " bytes for key " +
			strconv.Quote(string(key)) + ": " + ErrStateFull.Error(), ErrStateFull}
	}
	return nil
}

// Int returns the integer stored for key, or 0 and false if there is none. It
// is an error if the value is not a decimal integer.
func (s *State) Int(key []byte) (int64, bool, error) {
	v, ok := s.Get(key)
	if !ok {
		return 0, false, nil
	}
	n, ok := parseInt(v)
	if !ok {
		return 0, true, errorString("state " + strconv.Quote(s.name) + ": the value for key " + strconv.Quote(string(key)) +
			" is " + strconv.Quote(string(v)) + ", not a decimal integer")
	}
	return n, true, nil
}

// PutInt stores n for key as decimal text.
func (s *State) PutInt(key []byte, n int64) error {
	s.ibuf = strconv.AppendInt(s.ibuf[:0], n, 10)
	return s.Put(key, s.ibuf)
}

// Add adds delta to the integer stored for key (0 if none) and returns the sum.
func (s *State) Add(key []byte, delta int64) (int64, error) {
	n, _, err := s.Int(key)
	if err != nil {
		return 0, err
	}
	n += delta
	return n, s.PutInt(key, n)
}

// parseInt parses a decimal integer with an optional sign, without
// allocating.
func parseInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if neg {
		if n > 1<<63 {
			return 0, false
		}
		return -int64(n), true
	}
	if n > 1<<63-1 {
		return 0, false
	}
	return int64(n), true
}
