// Package attach follows the jobs of a running Flink cluster (1.13 or later,
// or another Flowlab) through its REST API and turns what it answers into
// metric snapshots, so that `flowlab attach URL` shows them with the same
// graph, colors, drawer, timeline and doctor as a Flowlab job. It only reads:
// every request it makes is a GET.
//
// Each interval, for each job followed, it asks (V is the job's vertices):
//
//	GET /jobs/{jid}                          names, states, the plan's edges
//	GET /jobs/{jid}/vertices/{vid}           V times: attempts, accumulated times
//	GET /jobs/{jid}/vertices/{vid}/metrics   V times or more: every subtask's gauges,
//	                                         in chunks of get= ids that fit Flink's 4 KiB request line
//	GET /jobs/{jid}/metrics?get=numRestarts  Flink only (Flowlab's job details carry restarts)
//	GET /jobs/{jid}/exceptions               only when the restarts grew or the job failed
//
// and once per interval for the cluster, GET /jobs/overview. Dial asks
// GET /config once, and of Flink, GET /jobmanager/config.
//
// Bounds, so that a huge or hostile cluster costs a bounded amount: every
// answer is read through a limit (8 MiB), every request has a timeout (10 s),
// at most 4 requests are in flight, at most 32 jobs are followed (running ones
// first, then the newest), and of each vertex the metrics of the first 128
// subtasks are polled: a vertex with more shows its full parallelism, but its
// colors, levels and skew are those of these 128.
//
// A snapshot's fields come from: Name, State (Flink's job status, as is),
// vertex names (chained operators as Flink shows them, "Source: X -> Map")
// and parallelism from the job details; Edges from its plan (ship_strategy
// lowercased: HASH is hash); Since from the last switch to RUNNING, the
// start of the current attempt; Restarts from numRestarts and Failure from
// the first line of the last exception; Timestamp from this machine's clock when the
// poll ended; WindowMs, the window of the time metrics, is 5 s for Flink up
// to 1.16 and 60 s since 1.17 (DESIGN.md section 2), a Flowlab's own for a
// Flowlab. Each vertex is built by metrics.NewVertex.
//
// What Flink does not say is left unknown: a busy time Flink does not answer
// (a legacy source's, or any before Flink's metric fetcher first ran) is NaN,
// shown as N/A; Flink 1.13 to 1.15 have no accumulated times in their vertex
// details, so a subtask's accumulated busy time is NaN there and its
// accumulated backpressured and idle times 0. Checkpoint statistics are not
// read: a snapshot has nowhere to show them.
package attach

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Defaults and floors of Config, in one place.
const (
	defaultInterval = time.Second
	minInterval     = 100 * time.Millisecond
	// flinkFetchInterval is Flink's default metrics.fetcher.update-interval:
	// how often its REST API's metric store is refreshed.
	flinkFetchInterval = 10 * time.Second
	maxBackoff         = 5 // times the interval, between polls of a cluster that does not answer

	defaultMaxBody       = 8 << 20
	defaultTimeout       = 10 * time.Second
	defaultMaxJobs       = 32
	defaultMaxConcurrent = 4
	defaultMaxSubtasks   = 128
	// defaultMaxURL keeps a request's path and query within Netty's default
	// 4096-byte limit of an HTTP request line, which Flink's REST server keeps.
	defaultMaxURL = 3800
)

// Config says how to reach a cluster. It is immutable: each WithX method
// returns a changed copy. Errors in it are reported by Dial.
type Config struct {
	url      string
	interval time.Duration
	headers  []header
	caFile   string
	client   *http.Client

	// bounds; tests of this package lower them
	maxBody       int64
	timeout       time.Duration
	maxJobs       int
	maxConcurrent int
	maxSubtasks   int
	maxURL        int
}

type header struct{ name, value string }

// NewConfig is the configuration for the cluster whose REST API (the web
// UI's address, e.g. http://localhost:8081) is at url. The URL may carry
// user:password@ for basic authentication, and a path when the API is served
// under one (behind a proxy).
func NewConfig(url string) Config {
	return Config{
		url:           url,
		interval:      defaultInterval,
		maxBody:       defaultMaxBody,
		timeout:       defaultTimeout,
		maxJobs:       defaultMaxJobs,
		maxConcurrent: defaultMaxConcurrent,
		maxSubtasks:   defaultMaxSubtasks,
		maxURL:        defaultMaxURL,
	}
}

// WithInterval sets how often the cluster is polled: default 1 s, never
// below 100 ms. Of a Flink cluster, the effective interval is at least its
// metrics.fetcher.update-interval (10 s unless its configuration says
// otherwise): Flink's REST API answers the metrics its fetcher last fetched,
// so polling faster would only show the same numbers more often. Another
// Flowlab updates its metrics every tick and is polled at this interval.
func (c Config) WithInterval(d time.Duration) Config {
	c.interval = max(d, minInterval)
	return c
}

// WithHeader adds a header sent with every request (Authorization, Cookie,
// ...). By default none; an Authorization header given here takes the place
// of the URL's user:password.
func (c Config) WithHeader(name, value string) Config {
	c.headers = append(slices.Clip(c.headers), header{name, value})
	return c
}

// WithCAFile trusts the PEM certificates in the file at path (and no others)
// for an https URL. By default the system's roots are trusted.
func (c Config) WithCAFile(path string) Config {
	c.caFile = path
	return c
}

// WithHTTPClient sends requests through client (tests inject transports this
// way). By default a client of its own, with http.DefaultTransport's
// settings. Timeouts are set per request; with WithCAFile, the client's
// transport must be an *http.Transport (or nil), whose copy gets the CA.
func (c Config) WithHTTPClient(client *http.Client) Config {
	c.client = client
	return c
}

// ParseHeader parses a header as given to -header: "Name: value".
func ParseHeader(s string) (name, value string, err error) {
	name, value, ok := strings.Cut(s, ":")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !ok || !validName(name) {
		return "", "", fmt.Errorf("header %q: want \"Name: value\", e.g. \"Authorization: Bearer TOKEN\"", s)
	}
	if strings.ContainsAny(value, "\r\n\x00") {
		return "", "", fmt.Errorf("header %q: the value may not hold line breaks or NUL", name)
	}
	return name, value, nil
}

// validName reports whether s is an HTTP header name (an RFC 9110 token).
func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > '~' || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}
