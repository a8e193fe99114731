package handlers

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dial opens the websocket of a job as a page of origin would.
func (c *client) dial(jid, origin string) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{Jar: c.c.Jar, HandshakeTimeout: 10 * time.Second}
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	return d.Dial("ws"+strings.TrimPrefix(c.srv.URL, "http")+"/ws/jobs/"+jid, h)
}

type message struct {
	Type      string
	Timestamp int64
	State     string
	Vertices  []struct {
		ID, Name, Fill, Level string
		Busy                  any
		Subtasks              []map[string]any
		Config                map[string]any
	}
	Offsets []int64
}

func read(t *testing.T, conn *websocket.Conn) message {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, data, err := conn.ReadMessage()
	require.NoError(t, err)
	var m message
	require.NoError(t, json.Unmarshal(data, &m))
	return m
}

func TestServer_Websocket(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithDefaultExample(""))
	c := newClient(t, srv)
	jid := c.start(testSpec)

	_, res, err := c.dial(jid, "http://evil.example")
	require.Error(t, err)
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
	_, res, err = newClient(t, srv).dial(jid, srv.URL)
	require.Error(t, err)
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "another session's job")

	conn, _, err := c.dial(jid, srv.URL)
	require.NoError(t, err)
	defer conn.Close()
	h := read(t, conn)
	assert.Equal(t, "history", h.Type)
	last := int64(0)
	for range 10 {
		m := read(t, conn)
		require.Equal(t, "frame", m.Type)
		assert.Greater(t, m.Timestamp, last)
		last = m.Timestamp
		require.Len(t, m.Vertices, 2)
		assert.Equal(t, "sink", m.Vertices[1].Name)
		assert.Regexp(t, "^#[0-9a-f]{6}$", m.Vertices[1].Fill)
		require.Len(t, m.Vertices[0].Subtasks, 2)
		assert.Contains(t, m.Vertices[0].Subtasks[0], "buffers.outPoolUsage")
	}

	// A client that connects later gets the history so far.
	conn2, _, err := c.dial(jid, "")
	require.NoError(t, err)
	defer conn2.Close()
	h = read(t, conn2)
	assert.Equal(t, "history", h.Type)
	assert.Greater(t, len(h.Offsets), 5)
	require.Len(t, h.Vertices, 2)
}

// A client gets each task's config in its first frame and in the first
// after a change, and not in the others.
func TestServer_Websocket_Config(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithDefaultExample(""))
	c := newClient(t, srv)
	jid := c.start(testSpec)
	conn, _, err := c.dial(jid, srv.URL)
	require.NoError(t, err)
	defer conn.Close()
	require.Equal(t, "history", read(t, conn).Type)
	first := read(t, conn)
	assert.Equal(t, map[string]any{"rate": 2000.0}, first.Vertices[0].Config)
	assert.Equal(t, map[string]any{}, first.Vertices[1].Config)
	for range 3 {
		assert.Nil(t, read(t, conn).Vertices[0].Config, "unchanged: no config")
	}
	status, body := c.patch(jid, `{"task": "source", "config": {"keys": 7}}`)
	require.Equal(t, http.StatusOK, status, string(body))
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := read(t, conn)
		if m.Vertices[0].Config != nil {
			assert.Equal(t, map[string]any{"rate": 2000.0, "keys": 7.0}, m.Vertices[0].Config)
			break
		}
		require.True(t, time.Now().Before(deadline), "no frame with the new config")
	}
	assert.Nil(t, read(t, conn).Vertices[0].Config)
}

// Clients that never read neither stop the job nor the clients that do.
func TestServer_Websocket_SlowClients(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithDefaultExample(""))
	c := newClient(t, srv)
	jid := c.start(testSpec)
	var slow []*websocket.Conn
	for range 50 {
		conn, _, err := c.dial(jid, srv.URL)
		require.NoError(t, err)
		slow = append(slow, conn)
	}
	defer func() {
		for _, conn := range slow {
			conn.Close()
		}
	}()
	var wg sync.WaitGroup
	for range 50 {
		conn, _, err := c.dial(jid, srv.URL)
		require.NoError(t, err)
		wg.Go(func() {
			defer conn.Close()
			read(t, conn) // history
			last := int64(0)
			for range 20 {
				m := read(t, conn)
				assert.Greater(t, m.Timestamp, last)
				last = m.Timestamp
			}
		})
	}
	wg.Wait()
	var job struct{ State string }
	c.getJSON("/jobs/"+jid, &job)
	assert.Equal(t, "RUNNING", job.State)
}
