package handlers

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBucket_Take(t *testing.T) {
	r := rate{burst: 2, every: 6 * time.Second}
	var b bucket
	now := time.Unix(1000, 0)
	for range 2 {
		_, ok := b.take(r, now)
		assert.True(t, ok)
	}
	wait, ok := b.take(r, now)
	assert.False(t, ok)
	assert.Equal(t, 6*time.Second, wait)
	wait, ok = b.take(r, now.Add(4*time.Second))
	assert.False(t, ok, "a refused take takes nothing")
	assert.Equal(t, 2*time.Second, wait)
	_, ok = b.take(r, now.Add(6*time.Second))
	assert.True(t, ok)
	assert.Zero(t, b.usedAt(r, now.Add(time.Minute)), "full again")
}

func TestClientOf(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.1:1234":             "192.0.2.1",
		"[::ffff:192.0.2.1]:80":      "192.0.2.1",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:443": "2001:db8:1:2::/64",
		"pipe":                       "pipe",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = addr
		assert.Equal(t, want, clientOf(r), addr)
	}
}
