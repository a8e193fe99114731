package sdk

import (
	"strconv"
	"unsafe"
)

// errorString is an error with a fixed message, built without fmt: the SDK
// does not import fmt, which would add about 0.4 MB to every module (with
// os, which it needs for Printf).
type errorString string

func (e errorString) Error() string { return string(e) }

// wrapError is an error with its own message that wraps another, as
// fmt.Errorf's %w does.
type wrapError struct {
	msg string
	err error
}

func (e *wrapError) Error() string { return e.msg }
func (e *wrapError) Unwrap() error { return e.err }

// appendPanicValue appends p, a recovered panic value, as fmt's %v prints
// the values a program panics with: an error, a Stringer, a string or a
// number. Any other value it shows by its address, as the Go runtime does:
// the printer for structs and the like is linked only into modules that
// call Log or Logf.
func appendPanicValue(dst []byte, p any) (b []byte) {
	defer func() {
		if r := recover(); r != nil { // from a String or Error method
			b = append(dst, "(a value whose String or Error method panics)"...)
		}
	}()
	switch v := p.(type) {
	case error:
		return append(dst, v.Error()...)
	case stringer:
		return append(dst, v.String()...)
	case string:
		return append(dst, v...)
	case bool:
		return strconv.AppendBool(dst, v)
	case int:
		return strconv.AppendInt(dst, int64(v), 10)
	case int8:
		return strconv.AppendInt(dst, int64(v), 10)
	case int16:
		return strconv.AppendInt(dst, int64(v), 10)
	case int32:
		return strconv.AppendInt(dst, int64(v), 10)
	case int64:
		return strconv.AppendInt(dst, v, 10)
	case uint:
		return strconv.AppendUint(dst, uint64(v), 10)
	case uint8:
		return strconv.AppendUint(dst, uint64(v), 10)
	case uint16:
		return strconv.AppendUint(dst, uint64(v), 10)
	case uint32:
		return strconv.AppendUint(dst, uint64(v), 10)
	case uint64:
		return strconv.AppendUint(dst, v, 10)
	case uintptr:
		return strconv.AppendUint(dst, uint64(v), 10)
	case float32:
		return strconv.AppendFloat(dst, float64(v), 'g', -1, 32)
	case float64:
		return strconv.AppendFloat(dst, v, 'g', -1, 64)
	case nil:
		return append(dst, "<nil>"...)
	}
	data := (*[2]unsafe.Pointer)(unsafe.Pointer(&p))[1]
	dst = append(dst, "(a value that is not an error, Stringer, string or number, at 0x"...)
	return append(strconv.AppendUint(dst, uint64(uintptr(data)), 16), ')')
}
