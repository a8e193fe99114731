package handlers

import (
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

// writeWait is how long a frame may take to leave; a client slower than
// that is disconnected.
const writeWait = 10 * time.Second

// A websocket is pinged every pingEvery; one that answers no ping (nor
// sends anything) for pongWait is closed.
const (
	pongWait  = time.Minute
	pingEvery = pongWait / 2
)

// watchJob is GET /ws/jobs/{jid}: the job's history, then a frame per tick
// (docs/API.md). The origin must be this server's.
func (s *Server) watchJob(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		writeErrors(w, http.StatusForbidden, "websocket origin refused")
		return
	}
	j := s.visibleJob(r, r.PathValue("jid"))
	if j == nil {
		writeErrors(w, http.StatusNotFound, "no such job")
		return
	}
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	defer conn.Close()
	watcher, history := j.feed.Watch()
	defer watcher.Close()
	s.watched(j)

	// The http.Server's read and write deadlines (ReadTimeout, WriteTimeout)
	// stay on a hijacked connection: the websocket sets its own. Each write
	// sets a deadline of writeWait; reads must see a pong within pongWait.
	_ = conn.SetWriteDeadline(time.Time{})
	_ = conn.SetReadDeadline(time.Now().Add(pongWait))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(pongWait)) })
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()

	// Read only to notice the client leave and to see pongs; it has nothing
	// else to say.
	conn.SetReadLimit(512)
	left := make(chan struct{})
	go func() {
		defer close(left)
		for {
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
		}
	}()

	_ = conn.SetWriteDeadline(time.Now().Add(writeWait))
	if err := conn.WriteMessage(websocket.TextMessage, history); err != nil {
		return
	}
	var config uint64 // the configs this client has been sent
	for {
		select {
		case fr := <-watcher.Frames():
			msg := fr.Msg
			if fr.Config != config {
				_, msg = fr.WithConfig()
				config = fr.Config
			}
			_ = conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := conn.WritePreparedMessage(msg); err != nil {
				return
			}
			if s.written != nil {
				s.written(fr)
			}
		case <-watcher.Closed():
			_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "job removed"), time.Now().Add(time.Second))
			return
		case <-ping.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				return
			}
		case <-left:
			return
		case <-s.ctx.Done():
			_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server closing"), time.Now().Add(time.Second))
			return
		}
	}
}
