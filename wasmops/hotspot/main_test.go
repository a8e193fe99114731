package main

import (
	"strings"
	"testing"
	"time"
)

// use sets the config and builds its tables, as flowlab_init would.
func use(t testing.TB, geo, agent string) {
	t.Helper()
	config.Geo, config.Agent = geo, agent
	if err := configure(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		config.Geo, config.Agent = "index", "tokens"
		rules = nil
	})
}

func TestParseTimestamp(t *testing.T) {
	for _, s := range []string{"2024-05-01T12:34:56.789Z", "1970-01-01T00:00:00.000Z", "2000-02-29T23:59:59.999Z"} {
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		if got := parseTimestamp([]byte(s)); got != want.UnixMilli() {
			t.Errorf("parseTimestamp(%q) = %d, want %d", s, got, want.UnixMilli())
		}
		if got := string(appendTimestamp(nil, want.UnixMilli())); got != s {
			t.Errorf("appendTimestamp(%d) = %q, want %q", want.UnixMilli(), got, s)
		}
	}
	for _, s := range []string{"", "2024-05-01", "2024-13-01T00:00:00.000Z", "2024-05-01T12:3x:56.789Z"} {
		if got := parseTimestamp([]byte(s)); got != -1 {
			t.Errorf("parseTimestamp(%q) = %d, want -1", s, got)
		}
	}
}

func TestIPToUint32(t *testing.T) {
	for s, want := range map[string]uint32{"0.0.0.0": 0, "203.0.113.7": 203<<24 | 113<<8 | 7, "255.255.255.255": 1<<32 - 1} {
		if got, ok := ipToUint32([]byte(s)); !ok || got != want {
			t.Errorf("ipToUint32(%q) = %d, %v; want %d", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1..2.3", "1.2.3.", "a.b.c.d", "1.2.3.0001"} {
		if _, ok := ipToUint32([]byte(s)); ok {
			t.Errorf("ipToUint32(%q) ok, want not", s)
		}
	}
}

// The slow and the fast implementations give the same answers.
func TestImplementations_Agree(t *testing.T) {
	var addrs []uint32
	for i := range 200 {
		addrs = append(addrs, uint32(uint64(i)*0x9e3779b97f4a7c15>>32))
	}
	first, _ := rangeOf(geoRanges - 1)
	addrs = append(addrs, 0, 1<<32-1, first, first-1)
	var fast, slow []string
	use(t, "index", "tokens")
	for _, a := range addrs {
		fast = append(fast, geoFromIndex(a))
	}
	for _, ua := range agents {
		b, o := parseUserAgent([]byte(ua))
		fast = append(fast, b+"/"+o)
	}
	use(t, "csv", "rules")
	for _, a := range addrs {
		slow = append(slow, geoFromCSV(a))
	}
	for _, ua := range agents {
		b, o := parseUserAgent([]byte(ua))
		slow = append(slow, b+"/"+o)
	}
	if strings.Join(fast, " ") != strings.Join(slow, " ") {
		t.Errorf("index/tokens and csv/rules disagree:\n%v\n%v", fast, slow)
	}
	want := "Firefox/Linux Chrome/Windows Edge/Windows Safari/macOS Safari/iOS Chrome/Android Firefox/Windows curl/other"
	if got := strings.Join(fast[len(addrs):], " "); got != want {
		t.Errorf("agents: got %s, want %s", got, want)
	}
}

func TestEnrich(t *testing.T) {
	use(t, "index", "tokens")
	line := `2024-05-01T12:34:56.789Z 203.0.113.7 "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"`
	got := string(enrich([]byte("k"), []byte(line)))
	addr, _ := ipToUint32([]byte("203.0.113.7"))
	want := "ts=1714566896789 country=" + geoFromIndex(addr) + " browser=Firefox os=Linux"
	if got != want {
		t.Errorf("enrich = %q, want %q", got, want)
	}
	// Filler makes up an event: every field known.
	got = string(enrich([]byte("key-7"), []byte("abcdefghijklmnop")))
	if strings.Contains(got, "--") || strings.Contains(got, "ts=-1") || !strings.HasPrefix(got, "ts=17145") {
		t.Errorf("enrich(filler) = %q", got)
	}
}

func TestConfigure_Errors(t *testing.T) {
	for _, c := range [][2]string{{"fast", "tokens"}, {"index", "regex"}} {
		config.Geo, config.Agent = c[0], c[1]
		if err := configure(); err == nil {
			t.Errorf("configure %v: no error", c)
		}
	}
	config.Geo, config.Agent = "index", "tokens"
}

// go test -bench . ./wasmops/hotspot: the cost of a record natively (in the
// guest it is several times more).
func BenchmarkEnrich(b *testing.B) {
	for _, c := range [][2]string{{"index", "tokens"}, {"csv", "tokens"}, {"index", "rules"}} {
		b.Run(c[0]+"-"+c[1], func(b *testing.B) {
			use(b, c[0], c[1])
			key, value := []byte("key-1"), []byte("abcdefghijklmnop")
			for b.Loop() {
				enrich(key, value)
			}
		})
	}
}
