package runtime

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// config reads an operator's config map, collecting the first error.
type config struct {
	m     map[string]any
	valid []string
}

func newConfig(m map[string]any, valid ...string) (*config, error) {
	for k := range m {
		if !slices.Contains(valid, k) {
			return nil, &ConfigError{Field: k, Msg: fmt.Sprintf("unknown field (valid: %s)", strings.Join(valid, ", "))}
		}
	}
	return &config{m: m, valid: valid}, nil
}

// number reads a number within [lo, hi], or def when absent.
func (c *config) number(key string, def, lo, hi float64) (float64, error) {
	v, ok := c.m[key]
	if !ok || v == nil {
		return def, nil
	}
	var f float64
	switch n := v.(type) {
	case int:
		f = float64(n)
	case int64:
		f = float64(n)
	case float64:
		f = n
	default:
		return 0, &ConfigError{Field: key, Msg: fmt.Sprintf("want a number, got %v", v)}
	}
	if math.IsNaN(f) || f < lo || f > hi {
		return 0, &ConfigError{Field: key, Msg: fmt.Sprintf("must be between %v and %v, got %v", lo, hi, v)}
	}
	return f, nil
}

// integer reads a whole number within [lo, hi], or def when absent.
func (c *config) integer(key string, def, lo, hi int64) (int64, error) {
	f, err := c.number(key, float64(def), float64(lo), float64(hi))
	if err != nil {
		return 0, err
	}
	if f != math.Trunc(f) {
		return 0, &ConfigError{Field: key, Msg: fmt.Sprintf("want a whole number, got %v", f)}
	}
	return int64(f), nil
}
