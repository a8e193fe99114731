package handlers

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// rate is the shape of a token bucket: burst tokens, one more every every.
type rate struct {
	burst int
	every time.Duration
}

func (r rate) String() string { return fmt.Sprintf("%d, then 1 every %v", r.burst, r.every) }

// bucket is a token bucket; its zero value is full.
type bucket struct {
	used float64 // tokens taken and not yet refilled, as of last
	last time.Time
}

// take takes a token at now if there is one, else says how long until
// there is one.
func (b *bucket) take(r rate, now time.Time) (wait time.Duration, ok bool) {
	b.used = b.usedAt(r, now)
	b.last = now
	if need := b.used + 1 - float64(r.burst); need > 0 {
		return time.Duration(need * float64(r.every)).Round(time.Millisecond), false
	}
	b.used++
	return 0, true
}

func (b *bucket) usedAt(r rate, now time.Time) float64 {
	if b.last.IsZero() {
		return b.used
	}
	return max(0, b.used-float64(now.Sub(b.last))/float64(r.every))
}

// perClient is a token bucket per client, guarded by Server.mu.
type perClient struct {
	rate    rate
	buckets map[string]*bucket
}

func newPerClient(r rate) *perClient { return &perClient{rate: r, buckets: map[string]*bucket{}} }

func (p *perClient) takeLocked(client string, now time.Time) (time.Duration, bool) {
	b := p.buckets[client]
	if b == nil {
		b = &bucket{}
		p.buckets[client] = b
	}
	return b.take(p.rate, now)
}

// pruneLocked forgets the clients whose buckets are full again.
func (p *perClient) pruneLocked(now time.Time) {
	for client, b := range p.buckets {
		if b.usedAt(p.rate, now) == 0 {
			delete(p.buckets, client)
		}
	}
}

// clientOf is who a request counts against in the per-client limits: its
// remote IP address, or for IPv6 its /64 network, which one client usually
// has whole.
func clientOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// retryText says when to retry: "in 6 s".
func retryText(d time.Duration) string {
	return fmt.Sprintf("in %d s", int(math.Ceil(d.Seconds())))
}
