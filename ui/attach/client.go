package attach

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// client sends the GET requests of one cluster, within the bounds of its
// Config. It is safe for concurrent use.
type client struct {
	base    string // scheme, host and path prefix, without a trailing slash or credentials
	shown   string // base as Status shows it: with the user, without the password
	hc      *http.Client
	headers []header
	user    *url.Userinfo // basic auth, unless headers carry an Authorization
	sem     chan struct{} // a slot per request in flight
	maxBody int64
	timeout time.Duration
	maxURL  int
}

func newClient(cfg Config) (*client, error) {
	u, err := url.Parse(strings.TrimSpace(cfg.url))
	if err != nil {
		if strings.Contains(cfg.url, "@") { // the parser's words may quote part of a password
			return nil, errors.New("url: not a valid URL (percent-encode / ? # and @ in a user name or password)")
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("url %q: want http://HOST:PORT or https://HOST:PORT, the address of Flink's web UI", u.Redacted())
	}
	c := &client{
		headers: cfg.headers, sem: make(chan struct{}, cfg.maxConcurrent),
		maxBody: cfg.maxBody, timeout: cfg.timeout, maxURL: cfg.maxURL,
	}
	if u.User != nil && !hasHeader(cfg.headers, "Authorization") {
		c.user = u.User
	}
	u.RawQuery, u.Fragment = "", ""
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	c.shown = strings.TrimSuffix(u.String(), "/")
	u.User = nil
	c.base = strings.TrimSuffix(u.String(), "/")
	c.hc, err = httpClient(cfg)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func hasHeader(hs []header, name string) bool {
	for _, h := range hs {
		if strings.EqualFold(h.name, name) {
			return true
		}
	}
	return false
}

// httpClient is the configured client, or one of our own, trusting the CA
// file if one is given.
func httpClient(cfg Config) (*http.Client, error) {
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	if cfg.client != nil {
		copied := *cfg.client
		hc = &copied
	}
	// Flink's REST API does not redirect: following one would send the
	// headers (a token, say) to wherever it points.
	hc.CheckRedirect = func(r *http.Request, _ []*http.Request) error {
		return fmt.Errorf("the cluster redirected to %s: attach follows no redirects", r.URL.Redacted())
	}
	if cfg.caFile == "" {
		return hc, nil
	}
	pem, err := os.ReadFile(cfg.caFile)
	if err != nil {
		return nil, fmt.Errorf("ca file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca file %s: no PEM certificate in it", cfg.caFile)
	}
	var tr *http.Transport
	switch t := hc.Transport.(type) {
	case nil:
		tr = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		tr = t.Clone()
	default:
		return nil, fmt.Errorf("ca file %s: the HTTP client's transport is a %T, not an *http.Transport", cfg.caFile, t)
	}
	if tr.TLSClientConfig == nil {
		tr.TLSClientConfig = &tls.Config{}
	}
	tr.TLSClientConfig.RootCAs = pool
	copied := *hc
	copied.Transport = tr
	return &copied, nil
}

// answerError is a request that got no answer, or an answer that is not a
// 200 with JSON of the expected shape.
type answerError struct {
	path        string
	status      int    // 0 when there was no answer
	contentType string // of the answer
	body        string // its start, as text
	err         error  // why there was no answer, or why it could not be read
}

func (e *answerError) Error() string {
	switch {
	case e.status == 0:
		return fmt.Sprintf("GET %s: %s", e.path, plain(e.err))
	case e.err != nil:
		return fmt.Sprintf("GET %s: %v", e.path, e.err)
	}
	return fmt.Sprintf("GET %s answered %s", e.path, e.answer())
}

func (e *answerError) Unwrap() error { return e.err }

// answer describes what came back: "404 Not Found (text/html): <html>...".
func (e *answerError) answer() string {
	s := fmt.Sprintf("%d %s", e.status, http.StatusText(e.status))
	if e.contentType != "" {
		s += " (" + e.contentType + ")"
	}
	if e.body != "" {
		s += ": " + e.body
	}
	return s
}

// refused reports whether the server refused our credentials.
func (e *answerError) refused() bool {
	return e.status == http.StatusUnauthorized || e.status == http.StatusForbidden
}

// plain says in plain words why a request got no answer.
func plain(err error) string {
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused (is the cluster running, and is this its REST port?)"
	case errors.As(err, &dns):
		return "no such host: " + dns.Name
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer in time"
	case errors.As(err, &unknownCA):
		return "its certificate is not signed by a trusted CA (give the CA with -ca)"
	case errors.As(err, &badHost):
		return "its certificate is not for this host: " + badHost.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// snippet is the start of a body, as one line of text.
func snippet(b []byte) string {
	const n = 120
	cut := len(b) > n
	if cut {
		b = b[:n]
	}
	for len(b) > 0 && !utf8.Valid(b) { // do not split a character
		b = b[:len(b)-1]
	}
	s := strings.Join(strings.Fields(string(b)), " ")
	if cut {
		s += "..."
	}
	return s
}

// get sends GET path (already escaped) and decodes the JSON answer into v.
func (c *client) get(ctx context.Context, path string, v any) error {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return &answerError{path: path, err: ctx.Err()}
	}
	defer func() { <-c.sem }()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return &answerError{path: path, err: err}
	}
	req.Header.Set("Accept", "application/json")
	for _, h := range c.headers {
		req.Header.Add(h.name, h.value)
	}
	if c.user != nil {
		pw, _ := c.user.Password()
		req.SetBasicAuth(c.user.Username(), pw)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return &answerError{path: path, err: err}
	}
	defer res.Body.Close()
	e := &answerError{path: path, status: res.StatusCode, contentType: res.Header.Get("Content-Type")}
	body, err := io.ReadAll(io.LimitReader(res.Body, c.maxBody+1))
	if err != nil {
		e.err = fmt.Errorf("reading the answer: %s", plain(err))
		return e
	}
	if int64(len(body)) > c.maxBody {
		e.err = fmt.Errorf("the answer is over the limit of %d MiB", c.maxBody>>20)
		if c.maxBody < 1<<20 {
			e.err = fmt.Errorf("the answer is over the limit of %d bytes", c.maxBody)
		}
		return e
	}
	e.body = snippet(body)
	if res.StatusCode != http.StatusOK {
		return e
	}
	if err := json.Unmarshal(body, v); err != nil {
		e.err = fmt.Errorf("not the JSON expected (%s): %s", e.answer(), shortJSONError(err))
		return e
	}
	return nil
}

// shortJSONError drops the Go type names from a decoding error.
func shortJSONError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s is a JSON %s", orTop(te.Field), te.Value)
	}
	return err.Error()
}

func orTop(field string) string {
	if field == "" {
		return "the document"
	}
	return field
}
