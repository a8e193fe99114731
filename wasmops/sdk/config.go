package sdk

import (
	"reflect"
	"strconv"
	"strings"
	"time"
)

var (
	configTarget any
	configFuncs  []func([]byte) error
	// decodeConfig is decodeJSON once Config is called: only modules that
	// call Config link the decoder and reflect.
	decodeConfig func(data []byte, v any) error
)

// Config registers v, a pointer, to receive the task's config: when the host
// calls flowlab_init (once, before any record), the config JSON is decoded
// into v as encoding/json decodes it (field names, tags, embedded structs,
// ",string", UnmarshalJSON and UnmarshalText methods, error messages), and
// unknown fields are an error, so that a misspelled field fails the job at
// start with its name. Fields absent from the config keep the values v had:
// set defaults before. A module that registers neither Config nor OnConfig
// rejects any config but an empty one.
//
// The SDK decodes without encoding/json, which would make a module half as
// large again. It does not support map keys that are neither strings nor
// integers, nor json.Number.
func Config(v any) {
	if rv := reflect.ValueOf(v); rv.Kind() != reflect.Pointer || rv.IsNil() {
		panic("sdk.Config: need a non-nil pointer to decode the config into, got " + typeName(v))
	}
	configTarget, decodeConfig = v, decodeJSON
}

// typeName is v's type as fmt's %T prints it.
func typeName(v any) string {
	if v == nil {
		return "<nil>"
	}
	return reflect.TypeOf(v).String()
}

// OnConfig registers fn to be called with the task's config JSON when the
// host calls flowlab_init, after the config was decoded into the value given
// to Config, if any: the place to check it and derive settings from it. An
// error fails the job at start with its text. config is valid only during the
// call.
func OnConfig(fn func(config []byte) error) { configFuncs = append(configFuncs, fn) }

func applyConfig(config []byte) error {
	if configTarget != nil {
		if err := decodeConfig(config, configTarget); err != nil && !isEmptyConfig(config) {
			return configError(config, err)
		}
	} else if len(configFuncs) == 0 && !isEmptyConfig(config) {
		return configError(config, errorString("this operator takes no config"))
	}
	for _, fn := range configFuncs {
		if err := fn(config); err != nil {
			return configError(config, err)
		}
	}
	return nil
}

func configError(config []byte, err error) error {
	return &wrapError{"config " + string(config) + ": " + err.Error(), err}
}

// isEmptyConfig reports whether config is no config: nothing, null or {}.
func isEmptyConfig(config []byte) bool {
	if strings.TrimSpace(string(config)) == "" {
		return true
	}
	t := strings.Trim(string(config), " \t\r\n")
	if t == "null" {
		return true
	}
	return len(t) >= 2 && t[0] == '{' && t[len(t)-1] == '}' && strings.Trim(t[1:len(t)-1], " \t\r\n") == ""
}

// Duration is a time.Duration that a config gives as a string such as "10s",
// "1m30s" or "250ms" (time.ParseDuration).
type Duration time.Duration

// D is d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d as time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON encodes d as a string such as "10s".
func (d Duration) MarshalJSON() ([]byte, error) { return strconv.AppendQuote(nil, d.String()), nil }

// UnmarshalJSON decodes a string such as "10s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	s, ok := jsonString(b)
	if !ok {
		return errorString("duration " + string(b) + `: want a string such as "10s" or "250ms"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return errorString("duration " + strconv.Quote(s) + `: want a string such as "10s" or "250ms"`)
	}
	*d = Duration(v)
	return nil
}

// jsonString decodes b, a JSON string or null, as encoding/json.Unmarshal
// decodes it into a string (null: ""), and reports whether it was one.
func jsonString(b []byte) (string, bool) {
	t := []byte(strings.Trim(string(b), " \t\r\n"))
	if string(t) == "null" {
		return "", true
	}
	if end, err := scanJSON(t); err != nil || end != len(t) || t[0] != '"' {
		return "", false
	}
	s, ok := unquoteJSON(t)
	return string(s), ok
}
