package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime"
	"flowlab/runtime/spec"
	"flowlab/ui/handlers"
)

// serveTest serves h within lim on a loopback port until the test ends, and
// returns its address.
func serveTest(t *testing.T, lim serverLimits, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := lim.server(h)
	go func() { _ = srv.Serve(lim.listener(ln)) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// slowPost sends a request whose body never ends, a byte every 50 ms, over
// and over, until ctx is done.
func slowPost(ctx context.Context, addr string) {
	for ctx.Err() == nil {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		_, err = fmt.Fprintf(conn, "POST /upload HTTP/1.1\r\nHost: %s\r\nContent-Length: 1000000\r\n\r\n", addr)
		for err == nil && ctx.Err() == nil {
			time.Sleep(50 * time.Millisecond)
			_, err = conn.Write([]byte{'x'})
		}
		conn.Close()
	}
}

// Many clients that send their bodies slowly do not keep a normal request
// from being answered: they are cut off at the read timeout, and the
// connections they hold are bounded.
func TestServe_SlowBodies(t *testing.T) {
	lim := serverLimits{readHeader: 500 * time.Millisecond, read: 500 * time.Millisecond, write: time.Second,
		idle: 500 * time.Millisecond, conns: 20, headerBytes: 4 << 10}
	addr := serveTest(t, lim, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	}))
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for range 200 {
		wg.Go(func() { slowPost(ctx, addr) })
	}
	time.Sleep(200 * time.Millisecond) // let them take every connection

	// A liveness check, not a timing claim: the timeout is generous.
	client := &http.Client{Timeout: time.Minute}
	res, err := client.Get("http://" + addr + "/")
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	assert.Equal(t, "ok", string(body))
}

// builtinEngine runs jobs of the built-in operators: enough for the
// playground's handler in a test.
type builtinEngine struct{}

func (builtinEngine) Start(ctx context.Context, s *spec.Job, resolve runtime.Resolver, _ runtime.Budget) (handlers.Job, error) {
	j, err := runtime.Start(ctx, s, resolve)
	if err != nil {
		return nil, err
	}
	return j, nil
}

func (builtinEngine) Resolve(name string) (runtime.OperatorType, error) {
	return runtime.Builtins(name)
}

func (builtinEngine) Compile(context.Context, string, []byte) (runtime.OperatorType, error) {
	return nil, fmt.Errorf("no uploads here")
}

func (builtinEngine) Operators() []string { return []string{runtime.OpGenerator, runtime.OpDiscard} }

// A websocket outlives the server's read and write timeouts.
func TestServe_WebsocketOutlivesTimeouts(t *testing.T) {
	const timeout = 300 * time.Millisecond
	lim := serverLimits{readHeader: timeout, read: timeout, write: timeout, idle: timeout, conns: 20, headerBytes: 4 << 10}
	ui := handlers.New(t.Context(), handlers.NewConfig().WithDefaultExample(""), builtinEngine{}, slog.New(slog.DiscardHandler))
	t.Cleanup(ui.Close)
	addr := serveTest(t, lim, ui)

	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	res, err := client.Post("http://"+addr+"/api/jobs", "application/yaml", strings.NewReader(
		"metrics: {tick: 20ms}\ntasks: [{name: source, operator: generator, config: {rate: 100}}, {name: sink, operator: discard}]"))
	require.NoError(t, err)
	data, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusCreated, res.StatusCode, string(data))
	jid := string(bytes.Split(data, []byte(`"`))[3])

	d := websocket.Dialer{Jar: jar, HandshakeTimeout: 10 * time.Second}
	conn, _, err := d.Dial("ws://"+addr+"/ws/jobs/"+jid, nil)
	require.NoError(t, err)
	defer conn.Close()
	end := time.Now().Add(10 * timeout)
	frames := 0
	for time.Now().Before(end) {
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
		_, _, err := conn.ReadMessage()
		require.NoError(t, err, "after %d frames", frames)
		frames++
	}
	assert.Greater(t, frames, 10)
}

// syncWriter is a Writer whose lines a test can wait for.
type syncWriter struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{}
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.b.Write(p)
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return n, err
}

// A job whose guests never return from their start function starts at
// once (before, POST /api/jobs never answered), and stopping the server
// (SIGTERM cancels serve's context) stops it and every guest, although each
// is far inside its 5 s start budget.
func TestServe_ShutdownStopsGuests(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncWriter{wrote: make(chan struct{}, 1)}
	served := make(chan error, 1)
	go func() { served <- serve(ctx, []string{"-addr", "127.0.0.1:0"}, out) }()
	var base string
	for base == "" {
		select {
		case <-out.wrote:
		case err := <-served:
			t.Fatal(err)
		}
		out.mu.Lock()
		if line := out.b.String(); strings.Contains(line, "http://") {
			base = strings.TrimSpace(strings.TrimSuffix(line[strings.Index(line, "http://"):], "/\n"))
		}
		out.mu.Unlock()
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	f, _ := form.CreateFormFile("wasm", "loop.wasm")
	wasm, err := os.ReadFile("wasmops/hostile/start-loop.wasm")
	require.NoError(t, err)
	f.Write(wasm)
	form.Close()
	resp, err := c.Post(base+"/api/operators", form.FormDataContentType(), &body)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	resp, err = c.Post(base+"/api/jobs", "application/yaml", strings.NewReader(`
tasks:
  - {name: source, operator: generator, config: {rate: 10}}
  - {name: loop, operator: "upload:loop", parallelism: 4}
`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	time.Sleep(300 * time.Millisecond) // the guests run
	cancel()
	select {
	case err := <-served:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not return")
	}
}
