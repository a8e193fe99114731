package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"flowlab/host"
	"flowlab/lessons"
	"flowlab/runtime"
	"flowlab/runtime/spec"
	"flowlab/wasmops"
)

// lesson is `flowlab lesson list` and `flowlab lesson verify [ID...]`.
func lesson(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("lesson", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 60*time.Second, "how long a step's goal may take once its solution is applied")
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
		return verifyLessons(ctx, all, fs.Args(), *timeout, stdout)
	}
	return fmt.Errorf("lesson: unknown subcommand %q: want list or verify", args[0])
}

// verifyLessons runs the chosen lessons (all without ids) at once, each
// with its reference solution, and prints a line per lesson.
func verifyLessons(ctx context.Context, all []*lessons.Lesson, ids []string, timeout time.Duration, stdout io.Writer) error {
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
	results := make([]error, len(chosen))
	took := make([]time.Duration, len(chosen))
	var wg sync.WaitGroup
	for i, l := range chosen {
		wg.Go(func() {
			start := time.Now()
			results[i] = lessons.Verify(ctx, l, newLessonEnv(ctx, h), 2*time.Second, timeout)
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
	mu      sync.Mutex
	uploads map[string]*host.Module
}

func newLessonEnv(ctx context.Context, h *host.Host) *lessonEnv {
	return &lessonEnv{h: h, resolve: h.Resolver(ctx, wasmops.FS, ""), uploads: map[string]*host.Module{}}
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
	m, err := e.h.Compile(ctx, name, wasm)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.uploads[name] = m
	return nil
}
