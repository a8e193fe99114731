package sdk

import (
	"encoding/base64"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// This file decodes the config, JSON, into the value given to Config, as
// encoding/json's Decoder with DisallowUnknownFields does: the same rules
// (struct fields by json tag or name, exact match first, then case
// insensitive; embedded structs; ",string"; null leaves non-pointers alone;
// numbers must fit the field; the first type error is reported after the
// rest is decoded) and the same error messages. It exists because
// encoding/json, with the fmt and os it brings, is over half of a module's
// own code: about 1 MB of a 3.4 MB module, all of which wazero validates on
// every compilation, even from its cache.
//
// Not supported, unlike encoding/json: map keys other than strings and
// integers (encoding/json also takes TextUnmarshalers), and json.Number.
// Both are reported as type errors.

// jsonUnmarshaler and textUnmarshaler are json.Unmarshaler and
// encoding.TextUnmarshaler, by their methods.
type jsonUnmarshaler interface {
	UnmarshalJSON([]byte) error
}

type textUnmarshaler interface {
	UnmarshalText([]byte) error
}

// decodeJSON decodes the first JSON value of data into the value v points
// to. Bytes after that value are not read.
func decodeJSON(data []byte, v any) error {
	end, err := scanJSON(data)
	if err != nil {
		return err
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errorString("json: Unmarshal(" + typeString(rv) + ")")
	}
	d := jsonDecoder{data: data[:end]}
	d.skipSpace()
	if err := d.value(rv); err != nil {
		return d.addErrorContext(err)
	}
	return d.saved
}

func typeString(v reflect.Value) string {
	if !v.IsValid() {
		return "nil"
	}
	if v.Kind() != reflect.Pointer {
		return "non-pointer " + v.Type().String()
	}
	return "nil " + v.Type().String()
}

// jsonSyntaxError is a syntax error, worded as encoding/json words it.
func jsonSyntaxError(c byte, context string) error {
	return errorString("invalid character " + quoteChar(c) + " " + context)
}

func quoteChar(c byte) string {
	switch c {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}

const jsonMaxDepth = 10000

// scanJSON checks that data starts with a JSON value, after white space,
// and returns where that value ends.
func scanJSON(data []byte) (int, error) {
	s := jsonScanner{data: data}
	s.space()
	if s.off == len(data) {
		return 0, errorString("EOF")
	}
	if err := s.value(0); err != nil {
		return 0, err
	}
	return s.off, nil
}

type jsonScanner struct {
	data []byte
	off  int
}

var errUnexpectedEOF = errorString("unexpected EOF")

func isSpace(c byte) bool { return c <= ' ' && (c == ' ' || c == '\t' || c == '\r' || c == '\n') }

func (s *jsonScanner) space() {
	for s.off < len(s.data) && isSpace(s.data[s.off]) {
		s.off++
	}
}

// peek returns the next byte, or an error at the end of the data.
func (s *jsonScanner) peek() (byte, error) {
	if s.off == len(s.data) {
		return 0, errUnexpectedEOF
	}
	return s.data[s.off], nil
}

func (s *jsonScanner) value(depth int) error {
	c, err := s.peek()
	if err != nil {
		return err
	}
	switch {
	case c == '{':
		if depth >= jsonMaxDepth {
			return jsonSyntaxError(c, "exceeded max depth")
		}
		s.off++
		s.space()
		if c, err = s.peek(); err != nil {
			return err
		}
		if c == '}' {
			s.off++
			return nil
		}
		for {
			if c != '"' {
				return jsonSyntaxError(c, "looking for beginning of object key string")
			}
			if err := s.string(); err != nil {
				return err
			}
			s.space()
			if c, err = s.peek(); err != nil {
				return err
			}
			if c != ':' {
				return jsonSyntaxError(c, "after object key")
			}
			s.off++
			s.space()
			if err := s.value(depth + 1); err != nil {
				return err
			}
			s.space()
			if c, err = s.peek(); err != nil {
				return err
			}
			s.off++
			switch c {
			case '}':
				return nil
			case ',':
			default:
				return jsonSyntaxError(c, "after object key:value pair")
			}
			s.space()
			if c, err = s.peek(); err != nil {
				return err
			}
		}
	case c == '[':
		if depth >= jsonMaxDepth {
			return jsonSyntaxError(c, "exceeded max depth")
		}
		s.off++
		s.space()
		if c, err = s.peek(); err != nil {
			return err
		}
		if c == ']' {
			s.off++
			return nil
		}
		for {
			if err := s.value(depth + 1); err != nil {
				return err
			}
			s.space()
			if c, err = s.peek(); err != nil {
				return err
			}
			s.off++
			switch c {
			case ']':
				return nil
			case ',':
			default:
				return jsonSyntaxError(c, "after array element")
			}
			s.space()
		}
	case c == '"':
		return s.string()
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return jsonSyntaxError(c, "looking for beginning of value")
}

func (s *jsonScanner) literal(lit string) error {
	for i := 1; i < len(lit); i++ {
		s.off++
		c, err := s.peek()
		if err != nil {
			return err
		}
		if c != lit[i] {
			return jsonSyntaxError(c, "in literal "+lit+" (expecting "+quoteChar(lit[i])+")")
		}
	}
	s.off++
	return nil
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func (s *jsonScanner) string() error {
	s.off++ // "
	for {
		c, err := s.peek()
		if err != nil {
			return err
		}
		s.off++
		switch {
		case c == '"':
			return nil
		case c == '\\':
			if c, err = s.peek(); err != nil {
				return err
			}
			s.off++
			switch c {
			case 'b', 'f', 'n', 'r', 't', '\\', '/', '"':
			case 'u':
				for range 4 {
					if c, err = s.peek(); err != nil {
						return err
					}
					if !isHex(c) {
						return jsonSyntaxError(c, "in \\u hexadecimal character escape")
					}
					s.off++
				}
			default:
				return jsonSyntaxError(c, "in string escape code")
			}
		case c < 0x20:
			return jsonSyntaxError(c, "in string literal")
		}
	}
}

func (s *jsonScanner) digits() {
	for s.off < len(s.data) && '0' <= s.data[s.off] && s.data[s.off] <= '9' {
		s.off++
	}
}

func (s *jsonScanner) number() error {
	if s.data[s.off] == '-' {
		s.off++
		c, err := s.peek()
		if err != nil {
			return err
		}
		if c < '0' || c > '9' {
			return jsonSyntaxError(c, "in numeric literal")
		}
	}
	if s.data[s.off] == '0' {
		s.off++
	} else {
		s.digits()
	}
	if s.off < len(s.data) && s.data[s.off] == '.' {
		s.off++
		c, err := s.peek()
		if err != nil {
			return err
		}
		if c < '0' || c > '9' {
			return jsonSyntaxError(c, "after decimal point in numeric literal")
		}
		s.digits()
	}
	if s.off < len(s.data) && (s.data[s.off] == 'e' || s.data[s.off] == 'E') {
		s.off++
		c, err := s.peek()
		if err != nil {
			return err
		}
		if c == '+' || c == '-' {
			s.off++
			if c, err = s.peek(); err != nil {
				return err
			}
		}
		if c < '0' || c > '9' {
			return jsonSyntaxError(c, "in exponent of numeric literal")
		}
		s.digits()
	}
	return nil
}

// jsonTypeError is encoding/json's UnmarshalTypeError.
type jsonTypeError struct {
	value  string // "string", "number 1.5", ...
	typ    reflect.Type
	strukt string
	field  string
}

func (e *jsonTypeError) Error() string {
	if e.strukt != "" || e.field != "" {
		return "json: cannot unmarshal " + e.value + " into Go struct field " + e.strukt + "." + e.field + " of type " + e.typ.String()
	}
	return "json: cannot unmarshal " + e.value + " into Go value of type " + e.typ.String()
}

// jsonDecoder decodes data, which scanJSON has checked.
type jsonDecoder struct {
	data  []byte
	off   int
	saved error // the first error that did not stop decoding

	// Where the decoder is, for type errors: the struct and the path of
	// field names in it.
	ctxStruct reflect.Type
	ctxFields []string
}

func (d *jsonDecoder) skipSpace() {
	for d.off < len(d.data) && isSpace(d.data[d.off]) {
		d.off++
	}
}

func (d *jsonDecoder) saveError(err error) {
	if d.saved == nil {
		d.saved = d.addErrorContext(err)
	}
}

func (d *jsonDecoder) addErrorContext(err error) error {
	if e, ok := err.(*jsonTypeError); ok && (d.ctxStruct != nil || len(d.ctxFields) > 0) {
		if d.ctxStruct != nil {
			e.strukt = d.ctxStruct.Name()
		}
		fields := d.ctxFields
		if e.field != "" {
			fields = append(fields[:len(fields):len(fields)], e.field)
		}
		e.field = strings.Join(fields, ".")
	}
	return err
}

// skip skips the value at d.off, which is valid JSON.
func (d *jsonDecoder) skip() {
	depth := 0
	for {
		switch c := d.data[d.off]; c {
		case '"':
			d.skipString()
			if depth == 0 {
				return
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				d.off++
				return
			}
		default:
			if depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n' {
				d.literal()
				return
			}
		}
		d.off++
	}
}

func (d *jsonDecoder) skipString() {
	d.off++
	for {
		switch d.data[d.off] {
		case '"':
			d.off++
			return
		case '\\':
			d.off++
		}
		d.off++
	}
}

// literal returns the literal (string, number, true, false or null) at
// d.off and skips it.
func (d *jsonDecoder) literal() []byte {
	start := d.off
	if d.data[d.off] == '"' {
		d.skipString()
		return d.data[start:d.off]
	}
	for d.off < len(d.data) {
		switch c := d.data[d.off]; {
		case c == '-' || c == '+' || c == '.' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || c == 'E':
			d.off++
			continue
		}
		break
	}
	return d.data[start:d.off]
}

// value decodes the value at d.off into v, or skips it if v is invalid.
func (d *jsonDecoder) value(v reflect.Value) error {
	if !v.IsValid() {
		d.skip()
		return nil
	}
	switch d.data[d.off] {
	case '[':
		return d.array(v)
	case '{':
		return d.object(v)
	}
	return d.literalStore(d.literal(), v, false)
}

// indirect is encoding/json's: it walks down v, allocating pointers as
// needed, until it gets to a non-pointer, and stops at an Unmarshaler. If
// decodingNull, it stops at the last pointer so that it can be set to nil.
func indirect(v reflect.Value, decodingNull bool) (jsonUnmarshaler, textUnmarshaler, reflect.Value) {
	v0 := v
	haveAddr := false
	if v.Kind() != reflect.Pointer && v.Type().Name() != "" && v.CanAddr() {
		haveAddr = true
		v = v.Addr()
	}
	for {
		if v.Kind() == reflect.Interface && !v.IsNil() {
			e := v.Elem()
			if e.Kind() == reflect.Pointer && !e.IsNil() && (!decodingNull || e.Elem().Kind() == reflect.Pointer) {
				haveAddr = false
				v = e
				continue
			}
		}
		if v.Kind() != reflect.Pointer {
			break
		}
		if decodingNull && v.CanSet() {
			break
		}
		if v.Elem().Kind() == reflect.Interface && v.Elem().Elem().Kind() == reflect.Pointer && v.Elem().Elem().Pointer() == v.Pointer() {
			v = v.Elem()
			break
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		if v.Type().NumMethod() > 0 && v.CanInterface() {
			if u, ok := v.Interface().(jsonUnmarshaler); ok {
				return u, nil, reflect.Value{}
			}
			if !decodingNull {
				if u, ok := v.Interface().(textUnmarshaler); ok {
					return nil, u, reflect.Value{}
				}
			}
		}
		if haveAddr {
			v = v0
			haveAddr = false
		} else {
			v = v.Elem()
		}
	}
	return nil, nil, v
}

func (d *jsonDecoder) array(v reflect.Value) error {
	u, ut, pv := indirect(v, false)
	if u != nil {
		start := d.off
		d.skip()
		return u.UnmarshalJSON(d.data[start:d.off])
	}
	if ut != nil {
		d.saveError(&jsonTypeError{value: "array", typ: v.Type()})
		d.skip()
		return nil
	}
	v = pv
	switch v.Kind() {
	case reflect.Interface:
		if v.NumMethod() == 0 {
			v.Set(reflect.ValueOf(d.valueInterface()))
			return nil
		}
		fallthrough
	default:
		d.saveError(&jsonTypeError{value: "array", typ: v.Type()})
		d.skip()
		return nil
	case reflect.Array, reflect.Slice:
	}
	d.off++ // [
	i := 0
	for {
		d.skipSpace()
		if d.data[d.off] == ']' {
			d.off++
			break
		}
		if v.Kind() == reflect.Slice {
			if i >= v.Cap() {
				v.Grow(1)
			}
			if i >= v.Len() {
				v.SetLen(i + 1)
			}
		}
		var elem reflect.Value
		if i < v.Len() {
			elem = v.Index(i)
		}
		if err := d.value(elem); err != nil {
			return err
		}
		i++
		d.skipSpace()
		if d.data[d.off] == ',' {
			d.off++
		}
	}
	if i < v.Len() {
		if v.Kind() == reflect.Array {
			for ; i < v.Len(); i++ {
				v.Index(i).SetZero()
			}
		} else {
			v.SetLen(i)
		}
	}
	if i == 0 && v.Kind() == reflect.Slice {
		v.Set(reflect.MakeSlice(v.Type(), 0, 0))
	}
	return nil
}

func (d *jsonDecoder) object(v reflect.Value) error {
	u, ut, pv := indirect(v, false)
	if u != nil {
		start := d.off
		d.skip()
		return u.UnmarshalJSON(d.data[start:d.off])
	}
	if ut != nil {
		d.saveError(&jsonTypeError{value: "object", typ: v.Type()})
		d.skip()
		return nil
	}
	v = pv
	t := v.Type()
	if v.Kind() == reflect.Interface && v.NumMethod() == 0 {
		v.Set(reflect.ValueOf(d.valueInterface()))
		return nil
	}
	var fields *structFields
	switch v.Kind() {
	case reflect.Map:
		switch t.Key().Kind() {
		case reflect.String,
			reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		default:
			d.saveError(&jsonTypeError{value: "object", typ: t})
			d.skip()
			return nil
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(t))
		}
	case reflect.Struct:
		fields = cachedFields(t)
	default:
		d.saveError(&jsonTypeError{value: "object", typ: t})
		d.skip()
		return nil
	}

	origStruct, origFields := d.ctxStruct, len(d.ctxFields)
	var mapElem reflect.Value
	d.off++ // {
	for {
		d.skipSpace()
		if d.data[d.off] == '}' {
			d.off++
			return nil
		}
		item := d.literal()
		key, _ := unquoteJSON(item)

		var subv reflect.Value
		quoted := false
		if v.Kind() == reflect.Map {
			if !mapElem.IsValid() {
				mapElem = reflect.New(t.Elem()).Elem()
			} else {
				mapElem.SetZero()
			}
			subv = mapElem
		} else if f := fields.lookup(key); f != nil {
			subv = v
			quoted = f.quoted
			for i, ind := range f.index {
				if subv.Kind() == reflect.Pointer {
					if subv.IsNil() {
						if !subv.CanSet() {
							d.saveError(errorString("json: cannot set embedded pointer to unexported struct: " + subv.Type().Elem().String()))
							subv = reflect.Value{}
							quoted = false
							break
						}
						subv.Set(reflect.New(subv.Type().Elem()))
					}
					subv = subv.Elem()
				}
				if i < len(f.index)-1 {
					d.ctxFields = append(d.ctxFields, subv.Type().Field(ind).Name)
				}
				subv = subv.Field(ind)
			}
			d.ctxStruct = t
			d.ctxFields = append(d.ctxFields, f.name)
		} else {
			d.saveError(errorString("json: unknown field " + strconv.Quote(string(key))))
		}

		d.skipSpace()
		d.off++ // :
		d.skipSpace()
		if quoted {
			if err := d.quotedValue(subv); err != nil {
				return err
			}
		} else if err := d.value(subv); err != nil {
			return err
		}

		if v.Kind() == reflect.Map {
			var kv reflect.Value
			switch kt := t.Key(); kt.Kind() {
			case reflect.String:
				kv = reflect.New(kt).Elem()
				kv.SetString(string(key))
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
				n, err := strconv.ParseInt(string(key), 10, 64)
				if err != nil || kt.OverflowInt(n) {
					d.saveError(&jsonTypeError{value: "number " + string(key), typ: kt})
					break
				}
				kv = reflect.New(kt).Elem()
				kv.SetInt(n)
			default:
				n, err := strconv.ParseUint(string(key), 10, 64)
				if err != nil || kt.OverflowUint(n) {
					d.saveError(&jsonTypeError{value: "number " + string(key), typ: kt})
					break
				}
				kv = reflect.New(kt).Elem()
				kv.SetUint(n)
			}
			if kv.IsValid() {
				v.SetMapIndex(kv, subv)
			}
		}

		d.skipSpace()
		d.ctxStruct, d.ctxFields = origStruct, d.ctxFields[:origFields]
		if d.data[d.off] == ',' {
			d.off++
		}
	}
}

// quotedValue decodes a field with the ",string" option: a JSON string
// holding the literal, or null.
func (d *jsonDecoder) quotedValue(v reflect.Value) error {
	if c := d.data[d.off]; c != '[' && c != '{' {
		switch item := d.literal(); item[0] {
		case 'n':
			return d.literalStore(item, v, false)
		case '"':
			s, _ := unquoteJSON(item)
			return d.literalStore(s, v, true)
		case 't', 'f':
		default: // a number, as encoding/json reads it first
			if _, err := strconv.ParseFloat(string(item), 64); err != nil {
				d.saveError(&jsonTypeError{value: "number " + string(item), typ: reflect.TypeFor[float64]()})
			}
		}
	} else {
		d.skip()
	}
	d.saveError(errorString("json: invalid use of ,string struct tag, trying to unmarshal unquoted value into " + v.Type().String()))
	return nil
}

// literalStore stores the literal item into v. fromQuoted is true for the
// contents of a ",string" field.
func (d *jsonDecoder) literalStore(item []byte, v reflect.Value, fromQuoted bool) error {
	invalid := func() error {
		return errorString("json: invalid use of ,string struct tag, trying to unmarshal " + strconv.Quote(string(item)) + " into " + v.Type().String())
	}
	if len(item) == 0 {
		d.saveError(invalid())
		return nil
	}
	isNull := item[0] == 'n'
	u, ut, pv := indirect(v, isNull)
	if u != nil {
		return u.UnmarshalJSON(item)
	}
	if ut != nil {
		if item[0] != '"' {
			if fromQuoted {
				d.saveError(invalid())
				return nil
			}
			val := "number"
			switch item[0] {
			case 'n':
				val = "null"
			case 't', 'f':
				val = "bool"
			}
			d.saveError(&jsonTypeError{value: val, typ: v.Type()})
			return nil
		}
		s, ok := unquoteJSON(item)
		if !ok {
			return invalid()
		}
		return ut.UnmarshalText(s)
	}
	v = pv

	switch c := item[0]; c {
	case 'n': // null
		if fromQuoted && string(item) != "null" {
			d.saveError(invalid())
			break
		}
		switch v.Kind() {
		case reflect.Interface, reflect.Pointer, reflect.Map, reflect.Slice:
			v.SetZero()
		}
	case 't', 'f':
		value := c == 't'
		if fromQuoted && string(item) != "true" && string(item) != "false" {
			d.saveError(invalid())
			break
		}
		switch v.Kind() {
		default:
			if fromQuoted {
				d.saveError(invalid())
			} else {
				d.saveError(&jsonTypeError{value: "bool", typ: v.Type()})
			}
		case reflect.Bool:
			v.SetBool(value)
		case reflect.Interface:
			if v.NumMethod() == 0 {
				v.Set(reflect.ValueOf(value))
			} else {
				d.saveError(&jsonTypeError{value: "bool", typ: v.Type()})
			}
		}
	case '"':
		s, ok := unquoteJSON(item)
		if !ok {
			return invalid()
		}
		switch v.Kind() {
		default:
			d.saveError(&jsonTypeError{value: "string", typ: v.Type()})
		case reflect.Slice:
			if v.Type().Elem().Kind() != reflect.Uint8 {
				d.saveError(&jsonTypeError{value: "string", typ: v.Type()})
				break
			}
			b := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
			n, err := base64.StdEncoding.Decode(b, s)
			if err != nil {
				d.saveError(err)
				break
			}
			v.SetBytes(b[:n])
		case reflect.String:
			v.SetString(string(s))
		case reflect.Interface:
			if v.NumMethod() == 0 {
				v.Set(reflect.ValueOf(string(s)))
			} else {
				d.saveError(&jsonTypeError{value: "string", typ: v.Type()})
			}
		}
	default: // a number
		if c != '-' && (c < '0' || c > '9') {
			return invalid()
		}
		switch v.Kind() {
		default:
			if fromQuoted {
				return invalid()
			}
			d.saveError(&jsonTypeError{value: "number", typ: v.Type()})
		case reflect.Interface:
			f, err := strconv.ParseFloat(string(item), 64)
			if err != nil {
				d.saveError(&jsonTypeError{value: "number " + string(item), typ: reflect.TypeFor[float64]()})
				break
			}
			if v.NumMethod() != 0 {
				d.saveError(&jsonTypeError{value: "number", typ: v.Type()})
				break
			}
			v.Set(reflect.ValueOf(f))
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			n, err := strconv.ParseInt(string(item), 10, 64)
			if err != nil || v.OverflowInt(n) {
				d.saveError(&jsonTypeError{value: "number " + string(item), typ: v.Type()})
				break
			}
			v.SetInt(n)
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			n, err := strconv.ParseUint(string(item), 10, 64)
			if err != nil || v.OverflowUint(n) {
				d.saveError(&jsonTypeError{value: "number " + string(item), typ: v.Type()})
				break
			}
			v.SetUint(n)
		case reflect.Float32, reflect.Float64:
			n, err := strconv.ParseFloat(string(item), v.Type().Bits())
			if err != nil || v.OverflowFloat(n) {
				d.saveError(&jsonTypeError{value: "number " + string(item), typ: v.Type()})
				break
			}
			v.SetFloat(n)
		}
	}
	return nil
}

// valueInterface decodes the value at d.off as an any: map[string]any,
// []any, float64, string, bool or nil.
func (d *jsonDecoder) valueInterface() any {
	switch d.data[d.off] {
	case '[':
		d.off++
		a := make([]any, 0)
		for {
			d.skipSpace()
			if d.data[d.off] == ']' {
				d.off++
				return a
			}
			a = append(a, d.valueInterface())
			d.skipSpace()
			if d.data[d.off] == ',' {
				d.off++
			}
		}
	case '{':
		d.off++
		m := make(map[string]any)
		for {
			d.skipSpace()
			if d.data[d.off] == '}' {
				d.off++
				return m
			}
			key, _ := unquoteJSON(d.literal())
			d.skipSpace()
			d.off++ // :
			d.skipSpace()
			m[string(key)] = d.valueInterface()
			d.skipSpace()
			if d.data[d.off] == ',' {
				d.off++
			}
		}
	}
	item := d.literal()
	switch c := item[0]; c {
	case 'n':
		return nil
	case 't', 'f':
		return c == 't'
	case '"':
		s, _ := unquoteJSON(item)
		return string(s)
	}
	f, err := strconv.ParseFloat(string(item), 64)
	if err != nil {
		d.saveError(&jsonTypeError{value: "number " + string(item), typ: reflect.TypeFor[float64]()})
		return nil
	}
	return f
}

// unquoteJSON returns the contents of the JSON string s, quotes included:
// escapes resolved, invalid UTF-8 replaced by U+FFFD.
func unquoteJSON(s []byte) ([]byte, bool) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return nil, false
	}
	s = s[1 : len(s)-1]
	r := 0
	for r < len(s) {
		c := s[r]
		if c == '\\' || c == '"' || c < ' ' {
			break
		}
		if c < utf8.RuneSelf {
			r++
			continue
		}
		rr, size := utf8.DecodeRune(s[r:])
		if rr == utf8.RuneError && size == 1 {
			break
		}
		r += size
	}
	if r == len(s) {
		return s, true
	}
	b := make([]byte, 0, len(s)+2*utf8.UTFMax)
	b = append(b, s[:r]...)
	for r < len(s) {
		switch c := s[r]; {
		case c == '\\':
			r++
			if r >= len(s) {
				return nil, false
			}
			switch s[r] {
			default:
				return nil, false
			case '"', '\\', '/', '\'':
				b = append(b, s[r])
				r++
			case 'b':
				b = append(b, '\b')
				r++
			case 'f':
				b = append(b, '\f')
				r++
			case 'n':
				b = append(b, '\n')
				r++
			case 'r':
				b = append(b, '\r')
				r++
			case 't':
				b = append(b, '\t')
				r++
			case 'u':
				r--
				rr := getu4(s[r:])
				if rr < 0 {
					return nil, false
				}
				r += 6
				if utf16.IsSurrogate(rr) {
					rr1 := getu4(s[r:])
					if dec := utf16.DecodeRune(rr, rr1); dec != unicode.ReplacementChar {
						r += 6
						b = utf8.AppendRune(b, dec)
						break
					}
					rr = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, rr)
			}
		case c == '"', c < ' ':
			return nil, false
		case c < utf8.RuneSelf:
			b = append(b, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			r += size
			b = utf8.AppendRune(b, rr)
		}
	}
	return b, true
}

// getu4 decodes \uXXXX from the beginning of s, returning the hex value,
// or it returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c = c - '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// A jsonField is a struct field that JSON names, as encoding/json finds them.
type jsonField struct {
	name   string
	tag    bool  // the name came from the json tag
	index  []int // the path of field indexes, through embedded structs
	quoted bool  // ",string"
}

type structFields struct {
	list   []jsonField
	exact  map[string]*jsonField
	folded map[string]*jsonField
}

// lookup returns the field for a JSON key: the exact name first, then a
// case-insensitive match, or nil.
func (fs *structFields) lookup(key []byte) *jsonField {
	if f := fs.exact[string(key)]; f != nil {
		return f
	}
	return fs.folded[string(foldName(key))]
}

var fieldCache = map[reflect.Type]*structFields{} // a module's calls never overlap

func cachedFields(t reflect.Type) *structFields {
	fs := fieldCache[t]
	if fs == nil {
		fs = typeFields(t)
		fieldCache[t] = fs
	}
	return fs
}

// typeFields returns the fields JSON should recognize for struct type t,
// by encoding/json's rules: breadth first through embedded structs, and of
// several fields with one name the shallowest, or the tagged one of the
// shallowest, or none.
func typeFields(t reflect.Type) *structFields {
	type queued struct {
		typ   reflect.Type
		index []int
	}
	current := []queued{}
	next := []queued{{typ: t}}
	var count, nextCount map[reflect.Type]int
	visited := map[reflect.Type]bool{}
	var fields []jsonField
	for len(next) > 0 {
		current, next = next, current[:0]
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, f := range current {
			if visited[f.typ] {
				continue
			}
			visited[f.typ] = true
			for i := 0; i < f.typ.NumField(); i++ {
				sf := f.typ.Field(i)
				if sf.Anonymous {
					t := sf.Type
					if t.Kind() == reflect.Pointer {
						t = t.Elem()
					}
					if !sf.IsExported() && t.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !isValidTag(name) {
					name = ""
				}
				index := make([]int, len(f.index)+1)
				copy(index, f.index)
				index[len(f.index)] = i

				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				quoted := false
				if hasOption(opts, "string") {
					switch ft.Kind() {
					case reflect.Bool,
						reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
						reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
						reflect.Float32, reflect.Float64,
						reflect.String:
						quoted = true
					}
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					tagged := name != ""
					if name == "" {
						name = sf.Name
					}
					fields = append(fields, jsonField{name: name, tag: tagged, index: index, quoted: quoted})
					if count[f.typ] > 1 {
						// Several instances: a duplicate, so that it is dropped.
						fields = append(fields, fields[len(fields)-1])
					}
					continue
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					next = append(next, queued{typ: ft, index: index})
				}
			}
		}
	}

	sortFields(fields, func(a, b *jsonField) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := len(a.index) - len(b.index); c != 0 {
			return c
		}
		if a.tag != b.tag {
			if a.tag {
				return -1
			}
			return +1
		}
		return compareIndex(a.index, b.index)
	})
	out := fields[:0]
	for advance, i := 0, 0; i < len(fields); i += advance {
		fi := fields[i]
		for advance = 1; i+advance < len(fields) && fields[i+advance].name == fi.name; advance++ {
		}
		if advance == 1 {
			out = append(out, fi)
			continue
		}
		// The first dominates, unless the second is as deep and as tagged.
		if fj := fields[i+1]; len(fi.index) != len(fj.index) || fi.tag != fj.tag {
			out = append(out, fi)
		}
	}
	fields = out
	sortFields(fields, func(a, b *jsonField) int { return compareIndex(a.index, b.index) })

	fs := &structFields{list: fields, exact: map[string]*jsonField{}, folded: map[string]*jsonField{}}
	for i := range fields {
		f := &fields[i]
		fs.exact[f.name] = f
		folded := string(foldName([]byte(f.name)))
		if _, ok := fs.folded[folded]; !ok { // the first folded match wins
			fs.folded[folded] = f
		}
	}
	return fs
}

// sortFields sorts fields by cmp: an insertion sort, as a struct has few
// fields, and smaller than a generic sort in a module's code.
func sortFields(fields []jsonField, cmp func(a, b *jsonField) int) {
	for i := 1; i < len(fields); i++ {
		for j := i; j > 0 && cmp(&fields[j-1], &fields[j]) > 0; j-- {
			fields[j-1], fields[j] = fields[j], fields[j-1]
		}
	}
}

func compareIndex(a, b []int) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] - b[i]
		}
	}
	return len(a) - len(b)
}

func hasOption(opts, name string) bool {
	for opts != "" {
		var opt string
		opt, opts, _ = strings.Cut(opts, ",")
		if opt == name {
			return true
		}
	}
	return false
}

func isValidTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// foldName folds name for case-insensitive matching, as encoding/json does:
// ASCII upper case, and the smallest rune of each Unicode fold set.
func foldName(in []byte) []byte {
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); {
		if c := in[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(in[i:])
		for {
			r2 := unicode.SimpleFold(r)
			if r2 <= r {
				r = r2
				break
			}
			r = r2
		}
		out = utf8.AppendRune(out, r)
		i += n
	}
	return out
}
