package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"

	"flowlab/host"
	"flowlab/host/gobuild"
	"flowlab/runtime"
	"flowlab/runtime/spec"
	"flowlab/wasmops"
)

// BenchmarkBuildToRunning measures what a learner waits for between Build
// in the editor and the task running the new operator: a warm build of the
// map template with an edit (a new module each time), its validation and
// compile, the change of the task's operator (the job restarts) and the
// first records through it. One op is one edit. The Go build cache is the
// server's (the user cache directory): run once to warm it.
//
//	go test -run '^$' -bench BuildToRunning -benchtime 5x .
func BenchmarkBuildToRunning(b *testing.B) {
	ctx := context.Background()
	bl, err := gobuild.New(gobuild.NewConfig())
	if err != nil {
		b.Skip(err)
	}
	h, err := host.New(ctx, host.NewConfig().WithCacheDir(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close(ctx)
	var mu sync.Mutex
	uploads := map[string]*host.Module{}
	resolve := host.UploadResolver(h.Resolver(ctx, wasmops.FS, ""), func(name string) (runtime.OperatorType, []string) {
		mu.Lock()
		defer mu.Unlock()
		if m := uploads[name]; m != nil {
			return m.OperatorType(), nil
		}
		return nil, slices.Collect(maps.Keys(uploads))
	})
	s, err := spec.Parse([]byte(`
name: edits
network: {buffer-size: 1kb, buffer-timeout: 10ms}
tasks:
  - {name: source, operator: generator, config: {rate: 2000}}
  - {name: work, operator: passthrough}
  - {name: sink, operator: discard}
`))
	if err != nil {
		b.Fatal(err)
	}
	j, err := runtime.Start(ctx, s, resolve)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { j.Cancel(); <-j.Done() }()
	template, err := wasmops.Template("map")
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		name := fmt.Sprintf("edit%d", i)
		res, err := bl.Build(ctx, fmt.Appendf(slices.Clip(template), "\nconst edit = %d\n", i))
		if err != nil {
			b.Fatal(err)
		}
		m, err := h.Compile(ctx, name, res.Wasm)
		if err != nil {
			b.Fatal(err)
		}
		mu.Lock()
		uploads[name] = m
		mu.Unlock()
		before := j.Snapshot().Restarts
		if err := j.SetOperator("work", host.UploadPrefix+name); err != nil {
			b.Fatal(err)
		}
		for running := false; !running; { // records in, in the attempt the change started
			<-j.Updated()
			snap := j.Snapshot()
			for _, v := range snap.Vertices {
				running = running || v.Name == "work" && snap.Restarts > before && v.Subtasks[0].Attempt == snap.Restarts && v.Metrics.NumRecordsIn > 0
			}
		}
	}
}
