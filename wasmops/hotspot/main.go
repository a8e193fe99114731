// Command hotspot is a Flowlab operator (a map) that enriches access-log
// events: it parses each record's value, a line such as
//
//	2024-05-01T12:34:56.789Z 203.0.113.7 "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
//
// into the event's time (parseTimestamp), the client's country from its IP
// address (parseGeo) and its browser and OS from its user agent
// (parseUserAgent), and passes the record on with its key and the value
//
//	ts=1714566896789 country=DE browser=Firefox os=Linux
//
// A value that is not such a line (the generator's filler) stands for an
// event made up from the record's key (sampleEvent), so that the operator
// has work to do behind any source.
//
// Each parse function is a frame of its own in a flame graph (they are never
// inlined). Two of them have two implementations, chosen by the config:
//
//	{"geo": "index", "agent": "tokens"}
//
// (the defaults). geo "index" looks the address up in a sorted table of IP
// ranges built once (a binary search); geo "csv" reads the ranges from the
// table's CSV text for every record, row by row, until one holds the address.
// agent "tokens" splits the user agent into its product tokens once and
// looks them up; agent "rules" tries a list of case-insensitive rules (device
// rules first, as in the usual user-agent databases) one after another. "csv"
// and "rules" cost about a millisecond per record, "index" and "tokens" a few
// microseconds.
package main

import (
	"errors"
	"strconv"
	"strings"

	"flowlab/wasmops/sdk"
)

func main() {}

var config = struct {
	Geo   string `json:"geo"`   // "index" or "csv"
	Agent string `json:"agent"` // "tokens" or "rules"
}{Geo: "index", Agent: "tokens"}

func init() {
	sdk.Config(&config)
	sdk.OnConfig(func([]byte) error { return configure() })
	sdk.Map(func(r sdk.Record) sdk.Record {
		r.Value = enrich(r.Key, r.Value)
		return r
	})
}

// configure checks the config and builds the tables the chosen
// implementations use.
func configure() error {
	switch config.Geo {
	case "index", "csv":
	default:
		return errors.New(`geo must be "index" or "csv", got ` + strconv.Quote(config.Geo))
	}
	switch config.Agent {
	case "tokens", "rules":
	default:
		return errors.New(`agent must be "tokens" or "rules", got ` + strconv.Quote(config.Agent))
	}
	buildGeo()
	if config.Agent == "rules" {
		buildRules()
	}
	return nil
}

var (
	out  []byte // the enriched value, reused
	line []byte // a made-up event, reused
	seq  uint64 // records seen, to vary made-up events
)

// event is a parsed access-log line.
type event struct {
	ts      int64
	country string
	browser string
	os      string
}

// enrich parses one line (or makes one up) and formats the enriched value.
//
//go:noinline
func enrich(key, value []byte) []byte {
	seq++
	if !isEventLine(value) {
		line = sampleEvent(line[:0], key, seq)
		value = line
	}
	var ev event
	ts, ip, agent := splitEvent(value)
	ev.ts = parseTimestamp(ts)
	ev.country = parseGeo(ip)
	ev.browser, ev.os = parseUserAgent(agent)
	out = formatEnriched(out[:0], &ev)
	return out
}

// isEventLine reports whether v looks like an access-log line: a digit,
// and a quoted user agent at the end.
func isEventLine(v []byte) bool {
	return len(v) > 30 && v[0] >= '0' && v[0] <= '9' && v[len(v)-1] == '"'
}

// splitEvent cuts a line into its timestamp, IP address and user agent.
func splitEvent(v []byte) (ts, ip, agent []byte) {
	i := indexByte(v, ' ')
	if i < 0 {
		return v, nil, nil
	}
	ts, v = v[:i], v[i+1:]
	if i = indexByte(v, ' '); i < 0 {
		return ts, v, nil
	}
	ip, agent = v[:i], v[i+1:]
	if len(agent) >= 2 && agent[0] == '"' {
		agent = agent[1 : len(agent)-1]
	}
	return ts, ip, agent
}

func indexByte(v []byte, c byte) int {
	for i, b := range v {
		if b == c {
			return i
		}
	}
	return -1
}

// parseTimestamp reads an RFC 3339 UTC time with milliseconds
// (2024-05-01T12:34:56.789Z) as Unix milliseconds; -1 if it is not one.
//
//go:noinline
func parseTimestamp(s []byte) int64 {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return -1
	}
	num := func(b []byte) int64 {
		var n int64
		for _, c := range b {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int64(c-'0')
		}
		return n
	}
	y, mo, d := num(s[0:4]), num(s[5:7]), num(s[8:10])
	h, mi, sec := num(s[11:13]), num(s[14:16]), num(s[17:19])
	if y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60 {
		return -1
	}
	var ms int64
	if len(s) >= 24 && s[19] == '.' {
		if ms = num(s[20:23]); ms < 0 {
			return -1
		}
	}
	return ((daysFromCivil(y, mo, d)*24+h)*60+mi)*60_000 + sec*1000 + ms
}

// daysFromCivil is the number of days from 1970-01-01 to y-m-d (Howard
// Hinnant's algorithm).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// parseGeo is the ISO country code of an IPv4 address, "--" if unknown.
//
//go:noinline
func parseGeo(ip []byte) string {
	addr, ok := ipToUint32(ip)
	if !ok {
		return "--"
	}
	if config.Geo == "csv" {
		return geoFromCSV(addr)
	}
	return geoFromIndex(addr)
}

// ipToUint32 reads a dotted IPv4 address.
//
//go:noinline
func ipToUint32(s []byte) (uint32, bool) {
	var addr, part uint32
	parts, digits := 0, 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			part = part*10 + uint32(c-'0')
			digits++
			if part > 255 || digits > 3 {
				return 0, false
			}
		case c == '.' && digits > 0 && parts < 3:
			addr, part, digits = addr<<8|part, 0, 0
			parts++
		default:
			return 0, false
		}
	}
	if parts != 3 || digits == 0 {
		return 0, false
	}
	return addr<<8 | part, true
}

// parseUserAgent names the browser and the OS of a user agent.
//
//go:noinline
func parseUserAgent(ua []byte) (browser, os string) {
	if config.Agent == "rules" {
		return agentFromRules(ua)
	}
	return agentFromTokens(ua)
}

// formatEnriched appends the enriched value of ev to b.
//
//go:noinline
func formatEnriched(b []byte, ev *event) []byte {
	b = append(b, "ts="...)
	b = strconv.AppendInt(b, ev.ts, 10)
	b = append(b, " country="...)
	b = append(b, ev.country...)
	b = append(b, " browser="...)
	b = append(b, ev.browser...)
	b = append(b, " os="...)
	b = append(b, ev.os...)
	return b
}

// agents are the user agents of made-up events.
var agents = []string{
	"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
	"curl/8.5.0",
}

// sampleEvent appends to b an event line made up from key and n.
//
//go:noinline
func sampleEvent(b, key []byte, n uint64) []byte {
	h := uint64(14695981039346656037) // FNV-1a of the key, mixed with n
	for _, c := range key {
		h = (h ^ uint64(c)) * 1099511628211
	}
	h ^= n * 0x9e3779b97f4a7c15
	h ^= h >> 31
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 29
	ms := int64(1714521600000) + int64(n)*37 // from 2024-05-01
	b = appendTimestamp(b, ms)
	b = append(b, ' ')
	ip := uint32(h >> 32)
	for i := 3; i >= 0; i-- {
		b = strconv.AppendUint(b, uint64(ip>>(8*i)&0xff), 10)
		if i > 0 {
			b = append(b, '.')
		}
	}
	b = append(b, ` "`...)
	b = append(b, agents[h%uint64(len(agents))]...)
	return append(b, '"')
}

// appendTimestamp appends Unix milliseconds as RFC 3339 UTC.
func appendTimestamp(b []byte, ms int64) []byte {
	days, rest := ms/86_400_000, ms%86_400_000
	// civil from days (Hinnant)
	z := days + 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	two := func(b []byte, v int64) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }
	b = strconv.AppendInt(b, y, 10)
	b = append(b, '-')
	b = two(b, m)
	b = append(b, '-')
	b = two(b, d)
	b = append(b, 'T')
	b = two(b, rest/3_600_000)
	b = append(b, ':')
	b = two(b, rest/60_000%60)
	b = append(b, ':')
	b = two(b, rest/1000%60)
	b = append(b, '.')
	b = append(b, byte('0'+rest%1000/100))
	b = two(b, rest%100)
	return append(b, 'Z')
}

// lower is s in ASCII lower case, in a new string, as strings.ToLower would
// make it.
func lower(s []byte) string { return strings.ToLower(string(s)) }
