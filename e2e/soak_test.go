package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// soakMemory is the memory budget of TestSoak's server (serve -memory):
// what all its jobs together may reserve, at worst.
const soakMemory = "1536MiB"

// soakRSS is the most resident memory the server may reach under the flood
// of TestSoak: the jobs' budget, and room for the server itself (compiled
// code, sessions, buffers of connections).
const soakRSS = 2 << 30

// TestSoak floods a server of its own with what an attacker sends (hostile
// and malformed uploads, compile bombs, jobs of runaway guests, slow
// clients, cookie-less page views) while a normal session watches its job,
// and checks that the session does not notice: its page answers within a
// second, its frames keep coming at 10 a second, and the server's memory
// stays within soakRSS.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak: not in -short")
	}
	srv := startServer(t, "-memory", soakMemory)

	// The normal session: a page, its job, its frames.
	jar, _ := cookiejar.New(nil)
	normal := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	get(t, normal, srv.url+"/")
	jid := startExampleJob(t, normal, srv.url)
	frames := watchFrames(t, jar, srv.url, jid)

	ctx, stop := context.WithTimeout(context.Background(), 15*time.Second)
	defer stop()
	var wg sync.WaitGroup
	flood(ctx, &wg, srv.url)

	var slowest, slowestUpload time.Duration
	var peakRSS int64
	start, framesAtStart := time.Now(), frames.Load()
	for round := 0; ctx.Err() == nil; round++ {
		t0 := time.Now()
		resp, err := normal.Get(srv.url + "/?job=" + jid)
		if assert.NoError(t, err) {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)
		}
		slowest = max(slowest, time.Since(t0))
		if round%4 == 0 { // the session's own operator compiles beside the bombs
			t0 = time.Now()
			resp, err := upload(normal, srv.url, "mine", readWasm("wat-upper/wat-upper"))
			if assert.NoError(t, err) {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				assert.Equal(t, http.StatusCreated, resp.StatusCode)
			}
			slowestUpload = max(slowestUpload, time.Since(t0))
		}
		peakRSS = max(peakRSS, srv.rss(t))
		time.Sleep(500 * time.Millisecond)
	}
	elapsed, got := time.Since(start), frames.Load()-framesAtStart
	wg.Wait()
	rate := float64(got) / elapsed.Seconds()
	t.Logf("under the flood: slowest page %v, slowest upload %v, %.1f frames/s, peak RSS %d MiB", slowest, slowestUpload, rate, peakRSS>>20)
	assert.Less(t, slowest, time.Second, "the normal session's page")
	assert.GreaterOrEqual(t, rate, 9.0, "the normal session's frames per second")
	assert.Less(t, peakRSS, int64(soakRSS), "the server's resident memory")
}

type server struct {
	url string
	pid int
}

// rss is the server's resident memory in bytes.
func (s server) rss(t *testing.T) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid))
	if err != nil {
		t.Skip("no /proc: cannot read the server's memory")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// startServer starts a server of the test's own, stopped at its end.
func startServer(t *testing.T, args ...string) server {
	t.Helper()
	if flowlab == "" {
		t.Skip("the flowlab binary was not built")
	}
	cmd := exec.Command(flowlab, append([]string{"serve", "-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+filepath.Join(t.TempDir(), "cache"))
	cmd.Stderr = io.Discard
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	return server{url: strings.TrimSuffix(strings.TrimSpace(line[strings.Index(line, "http://"):]), "/"), pid: cmd.Process.Pid}
}

func get(t *testing.T, c *http.Client, url string) {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
}

func startExampleJob(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	resp, err := c.Get(base + "/api/examples")
	require.NoError(t, err)
	var examples struct{ Examples []struct{ Name, YAML string } }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&examples))
	resp.Body.Close()
	var yaml string
	for _, ex := range examples.Examples {
		if ex.Name == "slow-sink" {
			yaml = ex.YAML
		}
	}
	require.NotEmpty(t, yaml)
	resp, err = c.Post(base+"/api/jobs", "application/yaml", strings.NewReader(yaml))
	require.NoError(t, err)
	defer resp.Body.Close()
	var started struct{ JID string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&started))
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	return started.JID
}

// watchFrames counts the frames of a job's websocket until the test ends.
func watchFrames(t *testing.T, jar http.CookieJar, base, jid string) *atomic.Int64 {
	t.Helper()
	d := websocket.Dialer{Jar: jar}
	conn, _, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+"/ws/jobs/"+jid, http.Header{"Origin": {base}})
	require.NoError(t, err)
	var n atomic.Int64
	go func() {
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
			n.Add(1)
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return &n
}

// flood sends what an attacker would until ctx is done.
func flood(ctx context.Context, wg *sync.WaitGroup, base string) {
	anon := &http.Client{Timeout: 5 * time.Second}
	loop := func(fn func()) {
		wg.Go(func() {
			for ctx.Err() == nil {
				fn()
			}
		})
	}
	discard := func(resp *http.Response, err error) {
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	// Cookie-less page views: each would be a new session.
	for range 2 {
		loop(func() { discard(anon.Get(base + "/")) })
	}
	// Hostile modules and compile bombs, each from a fresh session, and
	// jobs of runaway guests where an upload gets through.
	hostile := [][]byte{nestedBlocks(100_000), nestedBlocks(5_000), readWasm("hostile/loop"), readWasm("hostile/memory-bomb"), readWasm("hostile/random"), readWasm("hostile/fib")}
	loop(func() {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
		for i, wasm := range hostile {
			discard(upload(c, base, fmt.Sprintf("h%d", i), wasm))
		}
		spec := "tasks:\n  - {name: source, operator: generator}\n  - {name: h, operator: \"upload:h2\", parallelism: 4}\n  - {name: m, operator: \"upload:h3\", parallelism: 4}\n"
		discard(c.Post(base+"/api/jobs", "application/yaml", strings.NewReader(spec)))
	})
	// Slow clients: a request body at a byte a second, many at once.
	for range 500 {
		wg.Go(func() {
			conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
			if err != nil {
				return
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST /api/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/yaml\r\nContent-Length: 100000\r\n\r\n")
			for ctx.Err() == nil {
				if _, err := conn.Write([]byte("#")); err != nil {
					return
				}
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		})
	}
}

func upload(c *http.Client, base, name string, wasm []byte) (*http.Response, error) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("name", name)
	f, _ := w.CreateFormFile("wasm", name+".wasm")
	f.Write(wasm)
	w.Close()
	return c.Post(base+"/api/operators", w.FormDataContentType(), &body)
}

// readWasm reads wasmops/NAME.wasm.
func readWasm(name string) []byte {
	b, _ := os.ReadFile(filepath.Join("..", "wasmops", name+".wasm"))
	return b
}

// nestedBlocks is a compile bomb: an operator whose flowlab_process nests n
// blocks.
func nestedBlocks(n int) []byte {
	var body []byte
	body = append(body, 0) // no locals
	for range n {
		body = append(body, 0x02, 0x40) // block
	}
	for range n {
		body = append(body, 0x0b) // end
	}
	body = append(body, 0x41, 0x00, 0x0b) // i32.const 0, end
	section := func(id byte, content []byte) []byte {
		return append(binary.AppendUvarint([]byte{id}, uint64(len(content))), content...)
	}
	code := binary.AppendUvarint([]byte{1}, uint64(len(body)))
	code = append(code, body...)
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, section(1, []byte{1, 0x60, 1, 0x7f, 1, 0x7f})...) // (i32) -> i32
	m = append(m, section(3, []byte{2, 0, 0})...)                   // two functions of it
	m = append(m, section(5, []byte{1, 0, 1})...)                   // memory of 1 page
	m = append(m, section(7, append([]byte{3, 6}, "memory\x02\x00\x0dflowlab_input\x00\x00\x0fflowlab_process\x00\x01"...))...)
	input := []byte{4, 0, 0x41, 0, 0x0b} // i32.const 0
	return append(m, section(10, append(append([]byte{2}, input...), code[1:]...))...)
}
