package handlers

import (
	"bytes"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/pprof/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/runtime"
)

type flameNode struct {
	Name     string
	Value    int
	Kind     string
	Children []*flameNode
}

type flameGraph struct {
	EndTimestamp int64      `json:"endTimestamp"`
	Data         *flameNode `json:"data"`
}

func TestFlameGraph_Endpoint(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithDefaultExample(""))
	c := newClient(t, srv)
	jid := c.start(testSpec)
	path := "/jobs/" + jid + "/vertices/source/flamegraph?type=off_cpu"
	var g flameGraph
	require.Equal(t, http.StatusOK, c.getJSON(path, &g))
	assert.Equal(t, int64(-3), g.EndTimestamp, "the first request starts sampling")
	require.Eventually(t, func() bool {
		c.getJSON(path, &g)
		return g.EndTimestamp > 0 && g.Data != nil && g.Data.Value >= 100
	}, 10*time.Second, 100*time.Millisecond)
	assert.Equal(t, "root", g.Data.Name)
	assert.Equal(t, "mailbox loop", g.Data.Children[0].Name)
	assert.InDelta(t, time.Now().UnixMilli(), g.EndTimestamp, 5000)

	var one flameGraph
	require.Equal(t, http.StatusOK, c.getJSON("/jobs/"+jid+"/vertices/source/flamegraph?subtaskindex=1", &one))
	assert.Less(t, one.Data.Value, g.Data.Value+1)

	for _, bad := range []string{"?type=cpu", "?subtaskindex=2", "?subtaskindex=x"} {
		var e errorsBody
		assert.Equal(t, http.StatusBadRequest, c.getJSON("/jobs/"+jid+"/vertices/source/flamegraph"+bad, &e), bad)
		assert.NotEmpty(t, e.Errors, bad)
	}
	var e errorsBody
	assert.Equal(t, http.StatusNotFound, c.getJSON("/jobs/"+jid+"/vertices/nope/flamegraph", &e))
}

func TestProfile_Pprof(t *testing.T) {
	_, srv := newTestServer(t, NewConfig().WithDefaultExample(""))
	c := newClient(t, srv)
	jid := c.start(testSpec)
	resp, body := c.do("GET", "/jobs/"+jid+"/vertices/sink/profile?seconds=1&subtaskindex=0", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	p, err := profile.Parse(bytes.NewReader(body))
	require.NoError(t, err)
	require.NoError(t, p.CheckValid())
	names := map[string]bool{}
	for _, f := range p.Function {
		names[f.Name] = true
	}
	assert.True(t, names["simulated cost"], "%v", names)
	assert.True(t, names["mailbox loop"], "%v", names)

	for _, bad := range []string{"seconds=0", "seconds=61", "seconds=x", "subtaskindex=1"} {
		resp, body := c.do("GET", "/jobs/"+jid+"/vertices/sink/profile?"+bad, "", nil)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, bad)
		assert.Contains(t, string(body), "=", bad)
	}
}

// At most runtime.MaxProfiledTasks tasks of a job are sampled at once, and
// at most maxProfilesRunning pprof recordings run in the server: beyond,
// 429 with the limit.
func TestProfile_Limits(t *testing.T) {
	s, srv := newTestServer(t, NewConfig().WithDefaultExample(""))
	c := newClient(t, srv)
	yaml := "name: many\ntasks:\n  - {name: t0, operator: generator, config: {rate: 100}}\n"
	for i := 1; i <= runtime.MaxProfiledTasks; i++ {
		yaml += fmt.Sprintf("  - {name: t%d, operator: passthrough}\n", i)
	}
	jid := c.start(yaml)
	for i := range runtime.MaxProfiledTasks {
		var g flameGraph
		require.Equal(t, http.StatusOK, c.getJSON(fmt.Sprintf("/jobs/%s/vertices/t%d/flamegraph", jid, i), &g))
	}
	var e errorsBody
	assert.Equal(t, http.StatusTooManyRequests, c.getJSON(fmt.Sprintf("/jobs/%s/vertices/t%d/flamegraph", jid, runtime.MaxProfiledTasks), &e))
	assert.Contains(t, e.Errors[0], "at most 4 tasks of a job are profiled at once")

	// maxProfilesRunning recordings of the tasks already sampled hold
	// their places; one more is refused at once.
	var wg sync.WaitGroup
	for i := range maxProfilesRunning {
		wg.Go(func() {
			res, body := c.do("GET", fmt.Sprintf("/jobs/%s/vertices/t%d/profile?seconds=3", jid, i%runtime.MaxProfiledTasks), "", nil)
			assert.Equal(t, http.StatusOK, res.StatusCode, string(body))
		})
	}
	require.Eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.profiles == maxProfilesRunning
	}, 2*time.Second, time.Millisecond)
	res, body := c.do("GET", "/jobs/"+jid+"/vertices/t0/profile?seconds=1", "", nil)
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	assert.Contains(t, string(body), "8 profiles are being recorded")
	wg.Wait()
	res, body = c.do("GET", "/jobs/"+jid+"/vertices/t0/profile?seconds=1", "", nil)
	assert.Equal(t, http.StatusOK, res.StatusCode, "places free again: %s", body)
}
