//go:build unix

package handlers

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"flowlab/runtime"
	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
	"flowlab/ui/hub"
)

// benchJob is a job that does nothing but publish a snapshot shaped like
// examples/slow-sink.yaml's (3 tasks, 5 subtasks) every tick, so that the
// server's CPU is the fan-out's alone. Its timestamps are microseconds, so
// that clients can measure the latency from publish to receipt.
type benchJob struct {
	tick      time.Duration
	published atomic.Int64
	stop      chan struct{}
	done      chan struct{}

	mu      sync.Mutex
	snap    *metrics.Job
	updated chan struct{}
}

func newBenchJob(tick time.Duration) *benchJob {
	j := &benchJob{tick: tick, stop: make(chan struct{}), done: make(chan struct{}), updated: make(chan struct{})}
	j.publish(0)
	go j.run()
	return j
}

func (j *benchJob) run() {
	t := time.NewTicker(j.tick)
	defer t.Stop()
	for i := 1; ; i++ {
		select {
		case <-t.C:
			j.publish(i)
		case <-j.stop:
			close(j.done)
			return
		}
	}
}

func (j *benchJob) publish(i int) {
	now := time.Now()
	vary := float64(i%10) / 10
	sub := func(k int, busy, bp float64) metrics.Subtask {
		return metrics.Subtask{
			Subtask: k, BusyTimeMsPerSecond: metrics.Float(busy + vary), BackPressuredTimeMsPerSecond: bp,
			IdleTimeMsPerSecond: 1000 - busy - bp, NumRecordsInPerSecond: 1000.123 + vary, NumRecordsOutPerSecond: 999.87 + vary,
			InPoolUsage: 0.8 + vary/10, OutPoolUsage: 0.9, InputExclusiveBuffersUsage: 1, InputFloatingBuffersUsage: 0.625,
		}
	}
	rate := 2000.0
	src := metrics.NewVertex("1f0a2b3c4d5e6f708192a3b4c5d6e7f8", "source", "generator", []metrics.Subtask{sub(0, 10, 900), sub(1, 12, 880)}, now.UnixMilli())
	src.Rate = &rate
	parse := metrics.NewVertex("2f0a2b3c4d5e6f708192a3b4c5d6e7f8", "parse", "passthrough", []metrics.Subtask{sub(0, 300, 650), sub(1, 310, 640)}, now.UnixMilli())
	parse.Cost = "200µs"
	sink := metrics.NewVertex("3f0a2b3c4d5e6f708192a3b4c5d6e7f8", "sink", "discard", []metrics.Subtask{sub(0, 990, 0)}, now.UnixMilli())
	sink.Cost = "1ms"
	s := &metrics.Job{
		Name: "slow-sink", State: metrics.StateRunning, Timestamp: now.UnixMicro(), WindowMs: 2000,
		Vertices: []metrics.Vertex{src, parse, sink},
		Edges: []metrics.Edge{
			{Source: src.ID, Target: parse.ID, Partitioning: "forward"},
			{Source: parse.ID, Target: sink.ID, Partitioning: "hash"},
		},
	}
	j.mu.Lock()
	j.snap = s
	close(j.updated)
	j.updated = make(chan struct{})
	j.mu.Unlock()
	j.published.Add(1)
}

func (j *benchJob) Snapshot() *metrics.Job {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.snap
}

func (j *benchJob) Updated() <-chan struct{} {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.updated
}

func (j *benchJob) Done() <-chan struct{}                      { return j.done }
func (j *benchJob) Cancel()                                    { close(j.stop) }
func (j *benchJob) Spec() *spec.Job                            { return &spec.Job{} }
func (j *benchJob) SetRate(string, float64) error              { return nil }
func (j *benchJob) SetCost(string, time.Duration) error        { return nil }
func (j *benchJob) SetParallelism(string, int) error           { return nil }
func (j *benchJob) SetConfig(string, string, any) error        { return nil }
func (j *benchJob) SetOperator(string, string) error           { return nil }
func (j *benchJob) SetPaused(bool)                             {}
func (j *benchJob) Restart()                                   {}
func (j *benchJob) SetWindow(time.Duration) error              { return nil }
func (j *benchJob) SetBufferDebloat(*spec.BufferDebloat) error { return nil }
func (j *benchJob) Logs(string) ([]runtime.LogLine, error)     { return nil, nil }
func (j *benchJob) Failures() []runtime.Failure                { return nil }
func (j *benchJob) FlameGraph(string, int, runtime.GraphType) (*runtime.FlameGraph, error) {
	return &runtime.FlameGraph{EndTimestamp: runtime.GraphWaiting}, nil
}
func (j *benchJob) Record(context.Context, string, int, time.Duration) (*runtime.Recording, error) {
	return &runtime.Recording{}, nil
}
func (j *benchJob) Checkpoints() *metrics.Checkpoints                 { return &metrics.Checkpoints{} }
func (j *benchJob) State(string, int) ([]runtime.SubtaskState, error) { return nil, nil }
func (j *benchJob) SetCheckpointing(*spec.Checkpoint) error           { return nil }

type benchEngine struct {
	testEngine
	job *benchJob
}

func (e benchEngine) Start(context.Context, *spec.Job, runtime.Resolver, runtime.Budget) (Job, error) {
	return e.job, nil
}

// BenchmarkWebsocketFanOut has 1000 websocket clients, in a child process,
// watch one job publishing 10 frames a second. An op is one frame. It
// reports the server process's CPU as a percentage of one core, the bytes
// of a frame, the latency from the feed seeing a snapshot to each client's
// frame written to its socket, and the clients' latency from publish to
// receipt (which includes the clients' own work on the same two cores).
//
//	go test -run '^$' -bench WebsocketFanOut -benchtime 100x ./ui/handlers/
func BenchmarkWebsocketFanOut(b *testing.B) {
	const clients = 1000
	job := newBenchJob(100 * time.Millisecond)
	s := New(context.Background(), NewConfig().WithDefaultExample(""), benchEngine{job: job}, slog.New(slog.DiscardHandler))
	var mu sync.Mutex
	var sent []time.Duration // from the feed seeing a snapshot to its frame written
	measuring := false
	s.written = func(fr *hub.Frame) {
		d := time.Since(fr.Published)
		mu.Lock()
		if measuring {
			sent = append(sent, d)
		}
		mu.Unlock()
	}
	srv := httptest.NewServer(s)
	defer func() {
		srv.Close()
		s.Close()
	}()
	res, err := http.Post(srv.URL+"/api/jobs", "application/yaml", strings.NewReader(testSpec))
	if err != nil {
		b.Fatal(err)
	}
	var started struct{ JID string }
	_ = json.NewDecoder(res.Body).Decode(&started)
	res.Body.Close()
	cookie := res.Header.Get("Set-Cookie")
	cookie, _, _ = strings.Cut(cookie, ";")

	child := exec.Command(os.Args[0], "-test.run=^TestFanOutClients$")
	child.Env = append(os.Environ(),
		"FLOWLAB_FANOUT_URL=ws"+strings.TrimPrefix(srv.URL, "http")+"/ws/jobs/"+started.JID,
		"FLOWLAB_FANOUT_ORIGIN="+srv.URL, "FLOWLAB_FANOUT_COOKIE="+cookie, "FLOWLAB_FANOUT_CLIENTS="+strconv.Itoa(clients))
	stdin, _ := child.StdinPipe()
	stdout, _ := child.StdoutPipe()
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "ready" {
		b.Fatalf("clients: %q", lines.Text())
	}

	s.mu.Lock()
	feed := s.jobs[started.JID].feed
	s.mu.Unlock()
	w, _ := feed.Watch()
	fr := <-w.Frames()
	w.Close()

	var before, after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	mu.Lock()
	measuring = true
	mu.Unlock()
	start, first := time.Now(), job.published.Load()
	b.ResetTimer()
	for job.published.Load()-first < int64(b.N) {
		time.Sleep(10 * time.Millisecond)
	}
	b.StopTimer()
	mu.Lock()
	measuring = false
	slices.Sort(sent)
	mu.Unlock()
	wall := time.Since(start)
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(syscall.TimevalToNsec(after.Utime) - syscall.TimevalToNsec(before.Utime) +
		syscall.TimevalToNsec(after.Stime) - syscall.TimevalToNsec(before.Stime))
	stdin.Close()
	var stats struct{ Frames, P50, P99 int64 }
	if lines.Scan() {
		_ = json.Unmarshal(lines.Bytes(), &stats)
	}
	_ = child.Wait()
	b.ReportMetric(cpu.Seconds()/wall.Seconds()*100, "%cpu")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/frame")
	b.ReportMetric(float64(len(fr.Data)), "bytes/frame")
	if len(sent) > 0 {
		b.ReportMetric(float64(sent[len(sent)/2].Microseconds()), "µs-written-p50")
		b.ReportMetric(float64(sent[len(sent)*99/100].Microseconds()), "µs-written-p99")
	}
	b.ReportMetric(float64(stats.P50), "µs-received-p50")
	b.ReportMetric(float64(stats.P99), "µs-received-p99")
}

// TestFanOutClients is BenchmarkWebsocketFanOut's child process: it
// connects the clients, says "ready" when each has a frame, reads until its
// stdin closes, then prints the latencies seen, in µs.
func TestFanOutClients(t *testing.T) {
	url := os.Getenv("FLOWLAB_FANOUT_URL")
	if url == "" {
		t.Skip("the child process of BenchmarkWebsocketFanOut")
	}
	n, _ := strconv.Atoi(os.Getenv("FLOWLAB_FANOUT_CLIENTS"))
	h := http.Header{"Origin": {os.Getenv("FLOWLAB_FANOUT_ORIGIN")}, "Cookie": {os.Getenv("FLOWLAB_FANOUT_COOKIE")}}
	var mu sync.Mutex
	var latencies []int64
	var ready sync.WaitGroup
	var conns []*websocket.Conn
	for range n {
		conn, _, err := websocket.DefaultDialer.Dial(url, h)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
		ready.Add(1)
		go func() {
			counted := false
			for i := 0; ; i++ {
				_, data, err := conn.ReadMessage()
				if err != nil {
					return
				}
				if i == 0 {
					continue // the history
				}
				var m struct{ Timestamp int64 }
				_ = json.Unmarshal(data, &m)
				lat := time.Now().UnixMicro() - m.Timestamp
				mu.Lock()
				latencies = append(latencies, lat)
				mu.Unlock()
				if !counted {
					counted = true
					ready.Done()
				}
			}
		}()
	}
	ready.Wait()
	mu.Lock()
	latencies = latencies[:0]
	mu.Unlock()
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(latencies)
	p := func(q float64) int64 {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[int(q*float64(len(latencies)-1))]
	}
	out, _ := json.Marshal(map[string]int64{"frames": int64(len(latencies)), "p50": p(0.5), "p99": p(0.99)})
	fmt.Println(string(out))
}
