//go:build !wasip1

package sdk

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestConfig(t *testing.T) {
	h := setup(t, 0)
	cfg := struct {
		Name  string   `json:"name"`
		Every Duration `json:"every"`
		Keep  int      `json:"keep"`
	}{Keep: 3}
	var seen []string
	Config(&cfg)
	OnConfig(func(c []byte) error { seen = append(seen, "1:"+string(c)); return nil })
	OnConfig(func(c []byte) error { seen = append(seen, "2:"+cfg.Name); return nil })
	Map(func(r Record) Record { return r })

	assert.Equal(t, int32(0), configure(`{"name": "x", "every": "1m30s"}`))
	assert.Equal(t, "x", cfg.Name)
	assert.Equal(t, 90*time.Second, cfg.Every.D())
	assert.Equal(t, 3, cfg.Keep, "a field absent from the config keeps its default")
	assert.Equal(t, []string{`1:{"name": "x", "every": "1m30s"}`, "2:x"}, seen)
	assert.Empty(t, h.fails)
}

func TestConfig_Errors(t *testing.T) {
	tests := []struct {
		name, config string
		register     func()
		want         string
	}{
		{"unknown field", `{"nme": 1}`, func() { Config(&struct{ Name string }{}) }, `config {"nme": 1}: json: unknown field "nme"`},
		{"bad duration", `{"d": "soon"}`, func() {
			Config(&struct {
				D Duration `json:"d"`
			}{})
		}, `config {"d": "soon"}: duration "soon": want a string such as "10s" or "250ms"`},
		{"number duration", `{"d": 10}`, func() {
			Config(&struct {
				D Duration `json:"d"`
			}{})
		}, `config {"d": 10}: duration 10: want a string such as "10s" or "250ms"`},
		{"no config taken", `{"a": 1}`, func() {}, `config {"a": 1}: this operator takes no config`},
		{"rejected", `{}`, func() { OnConfig(func([]byte) error { return errors.New("need a name") }) }, `config {}: need a name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := setup(t, 0)
			tt.register()
			Map(func(r Record) Record { return r })
			assert.Equal(t, int32(-1), configure(tt.config))
			assert.Equal(t, []string{tt.want}, h.fails)
		})
	}
}

func TestConfig_Empty(t *testing.T) {
	for _, config := range []string{"", "{}", " null ", "{ }"} {
		h := setup(t, 0)
		Map(func(r Record) Record { return r })
		assert.Equal(t, int32(0), configure(config), "%q: %v", config, h.fails)
	}
	setup(t, 0)
	assert.Panics(t, func() { Config(struct{}{}) })
}

func TestDuration_JSON(t *testing.T) {
	b, err := json.Marshal(Duration(1500 * time.Millisecond))
	assert.NoError(t, err)
	assert.Equal(t, `"1.5s"`, string(b))
	var d Duration
	assert.NoError(t, json.Unmarshal(b, &d))
	assert.Equal(t, 1500*time.Millisecond, d.D())
}
