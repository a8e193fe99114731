package sdk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"time"
)

var (
	configTarget any
	configFuncs  []func([]byte) error
)

// Config registers v, a pointer, to receive the task's config: when the host
// calls flowlab_init (once, before any record), the config JSON is decoded
// into v with encoding/json, and unknown fields are an error, so that a
// misspelled field fails the job at start with its name. Fields absent from
// the config keep the values v had: set defaults before. A module that
// registers neither Config nor OnConfig rejects any config but an empty one.
func Config(v any) {
	if rv := reflect.ValueOf(v); rv.Kind() != reflect.Pointer || rv.IsNil() {
		panic(fmt.Sprintf("sdk.Config: need a non-nil pointer to decode the config into, got %T", v))
	}
	configTarget = v
}

// OnConfig registers fn to be called with the task's config JSON when the
// host calls flowlab_init, after the config was decoded into the value given
// to Config, if any: the place to check it and derive settings from it. An
// error fails the job at start with its text. config is valid only during the
// call.
func OnConfig(fn func(config []byte) error) { configFuncs = append(configFuncs, fn) }

func applyConfig(config []byte) error {
	if configTarget != nil {
		dec := json.NewDecoder(bytes.NewReader(config))
		dec.DisallowUnknownFields()
		if err := dec.Decode(configTarget); err != nil && !isEmptyConfig(config) {
			return fmt.Errorf("config %s: %w", config, err)
		}
	} else if len(configFuncs) == 0 && !isEmptyConfig(config) {
		return fmt.Errorf("config %s: this operator takes no config", config)
	}
	for _, fn := range configFuncs {
		if err := fn(config); err != nil {
			return fmt.Errorf("config %s: %w", config, err)
		}
	}
	return nil
}

// isEmptyConfig reports whether config is no config: nothing, null or {}.
func isEmptyConfig(config []byte) bool {
	if len(bytes.TrimSpace(config)) == 0 {
		return true
	}
	var m map[string]json.RawMessage
	return json.Unmarshal(config, &m) == nil && len(m) == 0
}

// Duration is a time.Duration that a config gives as a string such as "10s",
// "1m30s" or "250ms" (time.ParseDuration).
type Duration time.Duration

// D is d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d as time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON encodes d as a string such as "10s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON decodes a string such as "10s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration %s: want a string such as \"10s\" or \"250ms\"", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: want a string such as \"10s\" or \"250ms\"", s)
	}
	*d = Duration(v)
	return nil
}
