//go:build !wasip1

package sdk

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The SDK's JSON decoder must decode as encoding/json's Decoder with
// DisallowUnknownFields does: the same values, the same errors.

type jsonInner struct {
	X int    `json:"x"`
	Y string `json:"y,omitempty"`
}

type JSONEmbedded struct {
	E  int
	EX string `json:"ex"`
}

type jsonEmbeddedPtr struct{ P int }

type jsonText struct{ s string }

func (t *jsonText) UnmarshalText(b []byte) error {
	if string(b) == "bad" {
		return errorString("bad text")
	}
	t.s = "text:" + string(b)
	return nil
}

type jsonRaw struct{ raw string }

func (r *jsonRaw) UnmarshalJSON(b []byte) error {
	if string(b) == `"fail"` {
		return errorString("raw fails")
	}
	r.raw = string(b)
	return nil
}

type jsonConflictA struct{ Same int }
type jsonConflictB struct{ Same int }

type jsonAll struct {
	S      string            `json:"s"`
	I      int               `json:"i"`
	I8     int8              `json:"i8"`
	U      uint              `json:"u"`
	U8     uint8             `json:"u8"`
	F      float64           `json:"f"`
	F32    float32           `json:"f32"`
	B      bool              `json:"b"`
	P      *string           `json:"p"`
	PP     **int             `json:"pp"`
	Sl     []int             `json:"sl"`
	Arr    [2]string         `json:"arr"`
	M      map[string]int    `json:"m"`
	MI     map[int]string    `json:"mi"`
	MU     map[uint8]bool    `json:"mu"`
	Any    any               `json:"any"`
	In     jsonInner         `json:"in"`
	InP    *jsonInner        `json:"inp"`
	D      Duration          `json:"d"`
	DP     *Duration         `json:"dp"`
	T      jsonText          `json:"t"`
	R      jsonRaw           `json:"r"`
	Q      int               `json:"q,string"`
	QS     string            `json:"qs,string"`
	QB     *bool             `json:"qb,string"`
	Skip   int               `json:"-"`
	Dash   int               `json:"-,"`
	NoTag  int               //
	Name   string            `json:"Name"`
	Bad    int               `json:"bad\\tag"`
	Bytes  []byte            `json:"bytes"`
	Ch     chan int          `json:"ch"`
	Fn     func()            `json:"fn"`
	Iface  error             `json:"iface"`
	Nested map[string][]bool `json:"nested"`
	W      Window            `json:"w"`
	hidden int
	JSONEmbedded
	*jsonEmbeddedPtr
	jsonConflictA
	jsonConflictB
}

// targets returns fresh values to decode into, the same for both decoders.
func jsonTargets() map[string]func() any {
	return map[string]func() any{
		"all": func() any { return &jsonAll{S: "default", I: 7, Sl: []int{9, 9, 9}, M: map[string]int{"keep": 1}} },
		"any": func() any { return new(any) },
		"map": func() any { return &map[string]any{"old": 1.0} },
		"int": func() any { return new(int) },
		"str": func() any { s := "x"; return &s },
		"dur": func() any { return new(Duration) },
		"win": func() any { return &Window{Size: Duration(time.Second)} },
		"ptr": func() any { return new(*jsonInner) },
		"arr": func() any { return new([]jsonInner) },
		"fil": func() any { return new(struct{ Contains string }) },
		"tim": func() any { return new(time.Time) },
		"flt": func() any { return new(float32) },
		"sli": func() any { return &[]string{"a", "b"} },
	}
}

var jsonInputs = []string{
	``, ` `, `null`, ` {} `, `{}`, `[]`, `1`, `-0`, `1.5`, `1e3`, `-`, `01`, `1.`, `1e`, `1e+`, `.5`, `+1`,
	`"x"`, `"10s"`, `"1m30s"`, `"soon"`, `true`, `false`, `tru`, `nul`, `fals`, `nulL`, `"\u00e9\ud83d\ude00"`,
	`"\ud800"`, `"bad \x escape"`, `"a\u12"`, "\"ctrl\x01\"", "\"\xff\xfe\"", `"unterminated`, `[1,2`, `{"a"`,
	`{"a":}`, `{"a" 1}`, `{"a":1,}`, `{,}`, `[1,]`, `[,1]`, `{"a":1}{"b":2}`, `{"a":1} trailing`, `123abc`,
	`{"s":"hi","i":3,"i8":-128,"u":4,"u8":255,"f":0.25,"f32":1e38,"b":true}`,
	`{"i8":128}`, `{"u8":-1}`, `{"u":1.5}`, `{"i":"3"}`, `{"f32":1e39}`, `{"i":1e2}`, `{"i":null,"s":null,"p":null,"sl":null,"m":null}`,
	`{"p":"ptr","pp":5}`, `{"pp":null}`, `{"sl":[1,2]}`, `{"sl":[]}`, `{"sl":[1,"x",3]}`, `{"arr":["a","b","c"]}`, `{"arr":["z"]}`,
	`{"m":{"a":1,"b":"x"}}`, `{"mi":{"1":"one","x":"bad"}}`, `{"mi":{"99999999999999999999":"big"}}`, `{"mu":{"255":true,"256":false}}`,
	`{"any":{"a":[1,"x",null,true,{"b":{}}]}}`, `{"any":1e400}`, `{"in":{"x":1,"y":"z"}}`, `{"in":{"x":"bad"}}`, `{"in":{"zz":1}}`,
	`{"inp":{"x":2}}`, `{"inp":null}`, `{"d":"2s"}`, `{"d":"soon"}`, `{"d":5}`, `{"d":null}`, `{"dp":"3ms"}`, `{"dp":null}`,
	`{"t":"hello"}`, `{"t":"bad"}`, `{"t":5}`, `{"t":null}`, `{"t":{}}`, `{"t":[]}`, `{"r":{"any":[1]}}`, `{"r":"fail"}`, `{"r":null}`,
	`{"q":"12"}`, `{"q":12}`, `{"q":"x"}`, `{"q":""}`, `{"q":null}`, `{"q":"null"}`, `{"q":[1]}`, `{"q":"1.5"}`, `{"qs":"\"in\""}`,
	`{"qs":"plain"}`, `{"qb":"true"}`, `{"qb":"maybe"}`, `{"qb":true}`, `{"q":1e999}`,
	`{"Skip":1}`, `{"-":2}`, `{"NoTag":3}`, `{"notag":4}`, `{"NOTAG":5}`, `{"name":"n"}`, `{"bad\\tag":1}`, `{"Bad":1}`,
	`{"bytes":"aGk="}`, `{"bytes":[104,105]}`, `{"ch":1}`, `{"fn":null}`, `{"iface":"x"}`, `{"iface":null}`,
	`{"nested":{"a":[true,false],"b":null}}`, `{"w":{"size":"10s","slide":"1s"}}`, `{"w":{"size":"x"}}`,
	`{"hidden":1}`, `{"E":1,"ex":"e"}`, `{"P":3}`, `{"Same":1}`, `{"JSONEmbedded":{}}`,
	`{"x":1}`, `{"contains":"abc"}`, `{"Contains":"abc","contains":"def"}`, `{"contain":"x"}`, `{"contains":1}`,
	`{"size":"10s","slide":"500ms"}`, `{"size":"10s","slide":"500ms","extra":1}`, `{"size":10}`,
	`[{"x":1},{"x":"2"},{"zz":3}]`, `[{"x":1},null]`, `"2006-01-02T15:04:05Z"`, `"not a time"`,
	`{"a":1,"i":"wrong","b":2}`, `{"i":"wrong","zzz":1}`, `{"zzz":1,"i":"wrong"}`, `{"\u0073":"escaped key"}`,
	`{"S":"upper"}`, `{"ſ":"long s"}`, `{"K":1}`, `{"in":{"x":1},"in":{"y":"2"}}`,
	`[` + strings.Repeat(`[`, 10001) + strings.Repeat(`]`, 10002),
	strings.Repeat(`[`, 9999) + strings.Repeat(`]`, 9999),
}

func decodeStd(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func checkJSON(t *testing.T, target string, mk func() any, input string) {
	t.Helper()
	want, got := mk(), mk()
	wantErr := decodeStd([]byte(input), want)
	gotErr := decodeJSON([]byte(input), got)
	if (wantErr == nil) != (gotErr == nil) || wantErr != nil && wantErr.Error() != gotErr.Error() {
		t.Errorf("%s %q: error %v, encoding/json: %v", target, input, gotErr, wantErr)
	}
	if !reflect.DeepEqual(want, got) && !strings.Contains(strings.ToLower(input), `"fn"`) {
		t.Errorf("%s %q: decoded\n%#v\nencoding/json:\n%#v", target, input, got, want)
	}
}

func TestDecodeJSON_AsEncodingJSON(t *testing.T) {
	for name, mk := range jsonTargets() {
		for _, input := range jsonInputs {
			checkJSON(t, name, mk, input)
		}
	}
}

func TestDecodeJSON_Differences(t *testing.T) {
	var v jsonAll
	assert.EqualError(t, decodeJSON([]byte(`{"mt":{"a":1}}`), &struct{ MT map[jsonText]int }{}), "json: cannot unmarshal object into Go struct field .MT of type map[sdk.jsonText]int")
	assert.EqualError(t, decodeJSON([]byte(`{}`), v), "json: Unmarshal(non-pointer sdk.jsonAll)")
	assert.EqualError(t, decodeJSON([]byte(`{}`), nil), "json: Unmarshal(nil)")
	assert.EqualError(t, decodeJSON([]byte(`{}`), (*jsonAll)(nil)), "json: Unmarshal(nil *sdk.jsonAll)")
}

func FuzzDecodeJSON(f *testing.F) {
	for _, input := range jsonInputs {
		if len(input) < 1000 {
			f.Add(input)
		}
	}
	targets := jsonTargets()
	f.Fuzz(func(t *testing.T, input string) {
		if strings.Contains(strings.ToLower(input), `"fn"`) {
			return // funcs do not compare
		}
		for name, mk := range targets {
			if name == "tim" {
				continue // time.Time's own UnmarshalJSON: not ours to compare
			}
			checkJSON(t, name, mk, input)
		}
	})
}
