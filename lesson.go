package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"flowlab/host"
	"flowlab/host/gobuild"
	"flowlab/lessons"
	"flowlab/runtime"
	"flowlab/runtime/spec"
	"flowlab/wasmops"
)

// lesson is `flowlab lesson list` and `flowlab lesson verify [ID...]`.
func lesson(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("lesson", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 60*time.Second, "how long a step's goal may take once its solution is applied")
	parallel := fs.Int("parallel", goruntime.GOMAXPROCS(0), "how many lessons to verify at once")
	goTool := fs.String("go", "", "the Go toolchain (`PATH` of its go command) that builds the operators lessons write in the editor; default: go on PATH")
	if len(args) == 0 {
		return errors.New("lesson: want list or verify [ID...]")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	all, err := lessons.All()
	if err != nil {
		return err
	}
	switch args[0] {
	case "list":
		for _, l := range all {
			fmt.Fprintf(stdout, "%-22s %-13s %s\n", l.ID, l.Level, l.Title)
		}
		return nil
	case "verify":
		if *parallel < 1 {
			return fmt.Errorf("lesson verify: -parallel must be at least 1, got %d", *parallel)
		}
		return verifyLessons(ctx, all, fs.Args(), *timeout, *parallel, gobuild.NewConfig().WithGo(*goTool), stdout)
	}
	return fmt.Errorf("lesson: unknown subcommand %q: want list or verify", args[0])
}

// verifyLessons runs the chosen lessons (all without ids), parallel at a
// time, each with its reference solution, and prints a line per lesson. Not
// all at once: a lesson that keeps the processors busy (a Wasm operator
// spinning at full rate) would starve the subtasks of the others, whose
// goals measure time, and a step could then end without its solution. Operators that
// a solution builds are built with gcfg, by a builder made when the first
// is built: a lesson that builds none needs no Go toolchain.
func verifyLessons(ctx context.Context, all []*lessons.Lesson, ids []string, timeout time.Duration, parallel int, gcfg gobuild.Config, stdout io.Writer) error {
	chosen := all
	if len(ids) > 0 {
		chosen = nil
		for _, id := range ids {
			i := indexLesson(all, id)
			if i < 0 {
				return fmt.Errorf("lesson verify: no lesson %q", id)
			}
			chosen = append(chosen, all[i])
		}
	}
	h, err := host.New(ctx, host.NewConfig())
	if err != nil {
		return err
	}
	defer h.Close(context.WithoutCancel(ctx))
	builder := sync.OnceValues(func() (*gobuild.Builder, error) { return gobuild.New(gcfg) })
	if slices.ContainsFunc(chosen, builds) {
		// A cold Go build cache makes the first build compile the standard
		// library for wasip1 (seconds of both cores): do it before the
		// lessons run, whose goals measure time, rather than among them.
		if b, err := builder(); err == nil {
			template, _ := wasmops.Template("map")
			_, _ = b.Build(ctx, template) // a lesson's own build says what is wrong
		}
	}
	results := make([]error, len(chosen))
	took := make([]time.Duration, len(chosen))
	var wg sync.WaitGroup
	slots := make(chan struct{}, parallel)
	for i, l := range chosen {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			start := time.Now()
			results[i] = lessons.Verify(ctx, l, newLessonEnv(ctx, h, builder), 2*time.Second, timeout)
			took[i] = time.Since(start).Round(100 * time.Millisecond)
		})
	}
	wg.Wait()
	failed := 0
	for i, l := range chosen {
		if results[i] != nil {
			failed++
			fmt.Fprintf(stdout, "FAIL %-22s %6v  %v\n", l.ID, took[i], results[i])
			continue
		}
		fmt.Fprintf(stdout, "ok   %-22s %6v  %d steps\n", l.ID, took[i], len(l.Steps))
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d lessons failed", failed, len(chosen))
	}
	return nil
}

// builds reports whether a lesson's solution builds an operator from source.
func builds(l *lessons.Lesson) bool {
	for _, st := range l.Steps {
		if slices.ContainsFunc(st.Solution, func(a lessons.Action) bool { return a.Build != "" }) {
			return true
		}
	}
	return false
}

func indexLesson(all []*lessons.Lesson, id string) int {
	for i, l := range all {
		if l.ID == id || strings.HasPrefix(l.ID, id+"-") {
			return i
		}
	}
	return -1
}

// lessonEnv runs a lesson's job on the host, with uploads of its own.
type lessonEnv struct {
	h       *host.Host
	resolve runtime.Resolver
	builder func() (*gobuild.Builder, error) // the build service, made on first use
	mu      sync.Mutex
	uploads map[string]*host.Module
}

func newLessonEnv(ctx context.Context, h *host.Host, builder func() (*gobuild.Builder, error)) *lessonEnv {
	return &lessonEnv{h: h, resolve: h.Resolver(ctx, wasmops.FS, ""), builder: builder, uploads: map[string]*host.Module{}}
}

func (e *lessonEnv) Start(ctx context.Context, s *spec.Job) (lessons.Job, error) {
	return runtime.Start(ctx, s, host.UploadResolver(e.resolve, func(name string) (runtime.OperatorType, []string) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if m := e.uploads[name]; m != nil {
			return m.OperatorType(), nil
		}
		return nil, slices.Collect(maps.Keys(e.uploads))
	}))
}

func (e *lessonEnv) Upload(ctx context.Context, name, source string) error {
	wasm, err := host.ReadBundled(wasmops.FS, source)
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	return e.add(ctx, name, wasm)
}

// Build builds source with host/gobuild, as the playground's editor does,
// and adds the module under name like an upload. Without a Go toolchain it
// says so: the lesson cannot be verified then.
func (e *lessonEnv) Build(ctx context.Context, name string, source []byte) error {
	b, err := e.builder()
	if errors.Is(err, gobuild.ErrNoToolchain) {
		return fmt.Errorf("the lesson's solution builds an operator from Go source, which needs a Go toolchain "+
			"(go on PATH, or lesson verify -go PATH): %w", err)
	} else if err != nil {
		return err
	}
	var res *gobuild.Result
	for {
		res, err = b.Build(ctx, source)
		if !errors.Is(err, gobuild.ErrBusy) { // other lessons build too: wait for a turn
			break
		}
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err != nil {
		return err
	}
	return e.add(ctx, name, res.Wasm)
}

// add compiles a module and keeps it as upload:name, replacing one of the
// same name for the jobs that set their operator to it from now on.
func (e *lessonEnv) add(ctx context.Context, name string, wasm []byte) error {
	m, err := e.h.Compile(ctx, name, wasm)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.uploads[name] = m
	return nil
}
