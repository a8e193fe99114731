// Command flowlab runs Flowlab: streaming jobs whose backpressure you can watch.
//
//	flowlab [serve] [-addr HOST:PORT]             the playground in the browser
//	flowlab run -job FILE [-duration D] [-json]   run a job headless
//	    [-profile TASK [-profile-out FILE]]       and profile a task (pprof)
//	flowlab lesson list|verify [ID...]            the guided lessons
//	flowlab bench [-value-size N] [-rounds N]      native and Wasm operators' throughput
//	flowlab operator init DIR [-template NAME]    a new Wasm operator's module
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"flowlab/host"
	"flowlab/runtime"
	"flowlab/runtime/doctor"
	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
	uiterm "flowlab/ui/term"
	"flowlab/wasmops"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "flowlab:", err)
		os.Exit(1)
	}
}

const usage = `usage: flowlab COMMAND [flags]

commands:
  serve [-addr HOST:PORT] [-go PATH]     the playground (the default command)
  attach [-addr HOST:PORT] [-interval D] [-header 'K: V']... [-ca FILE] URL
                                         the playground, showing a Flink cluster's jobs read-only
  run -job FILE [-duration D] [-json]   run a job headless and show its metrics
      [-profile TASK -profile-out FILE]  and write a pprof profile of a task
  lesson list                            list the guided lessons
  lesson verify [-timeout D] [-parallel N] [ID...]
                                         solve lessons headless with their reference solutions
  bench [-value-size N] [-rounds N] [-duration D] [-buffer-size S] [-json]
                                         records/s into native and Wasm map operators here, and their ratios
  operator init DIR [-template NAME]     a new Go operator in DIR, with the SDK, built offline`

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) < 2 || strings.HasPrefix(args[1], "-") {
		return serve(ctx, args[1:], stdout)
	}
	switch args[1] {
	case "serve":
		return serve(ctx, args[2:], stdout)
	case "attach":
		return attachCluster(ctx, args[2:], stdout)
	case "run":
		return runJob(ctx, args[2:], stdout)
	case "lesson":
		return lesson(ctx, args[2:], stdout)
	case "bench":
		return bench(ctx, args[2:], stdout)
	case "operator":
		return operator(ctx, args[2:], stdout)
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[1], usage)
}

// runJob is `flowlab run`: a live table on a terminal, the final snapshot as
// JSON with -json, and an error (exit status 1) when the job fails.
func runJob(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	file := fs.String("job", "", "job spec `file` (YAML)")
	duration := fs.Duration("duration", 0, "cancel the job after this long; 0 runs it until it ends")
	asJSON := fs.Bool("json", false, "print the final metrics snapshot as JSON instead of a table")
	profTask := fs.String("profile", "", "sample `task` for as long as the job runs and write a pprof profile")
	profOut := fs.String("profile-out", "", "where -profile writes (default TASK.pb.gz)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" {
		return errors.New("run: -job FILE is required")
	}
	data, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	s, err := spec.Parse(data)
	if err != nil {
		return specError(*file, err)
	}
	h, err := host.New(ctx, host.NewConfig())
	if err != nil {
		return err
	}
	defer h.Close(context.WithoutCancel(ctx))
	if *profTask != "" && !slices.ContainsFunc(s.Tasks, func(t spec.Task) bool { return t.Name == *profTask }) {
		return fmt.Errorf("run: -profile %q: the job has no such task", *profTask)
	}
	job, err := runtime.Start(ctx, s, h.Resolver(ctx, wasmops.FS, filepath.Dir(*file)))
	if err != nil {
		return specError(*file, err)
	}
	recorded := make(chan *runtime.Recording, 1)
	stopRecording := func() {}
	if *profTask != "" {
		var rctx context.Context
		rctx, stopRecording = context.WithCancel(ctx)
		go func() {
			rec, _ := job.Record(rctx, *profTask, -1, time.Duration(math.MaxInt64)) // the task is there
			recorded <- rec
		}()
	}
	var stop <-chan time.Time
	if *duration > 0 {
		stop = time.After(*duration)
	}
	doc := doctor.New()
	f, isFile := stdout.(*os.File)
	var live *uiterm.Live
	if isFile && term.IsTerminal(int(f.Fd())) && !*asJSON {
		live = uiterm.NewLive(stdout, uiterm.DetectStdout(true))
	}
wait:
	for {
		select {
		case <-job.Updated():
			doc.Observe(job.Snapshot())
			if live != nil {
				live.Draw(job.Snapshot())
			}
		case <-stop:
			break wait
		case <-job.Done():
			break wait
		}
	}
	stopRecording()
	job.Cancel()
	<-job.Done()
	snap := job.Snapshot()
	diagnosis := doc.Findings()
	cps := job.Checkpoints()
	if *profTask != "" {
		if err := writeProfile(<-recorded, cmp.Or(*profOut, *profTask+".pb.gz")); err != nil {
			return err
		}
	}
	switch {
	case *asJSON:
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		res := runResult{Job: snap, Diagnosis: diagnosis}
		if cps.Enabled {
			res.Checkpoints = &runCheckpoints{Completed: cps.Completed, Failed: cps.Failed, Restored: cps.Restored}
			if c := cps.LatestCompleted; c != nil {
				res.Checkpoints.Latest = &runCheckpoint{ID: c.ID, EndToEndDuration: c.EndToEndDuration, StateSize: c.StateSize,
					PersistedData: c.PersistedData, Unaligned: c.Unaligned}
			}
		}
		if err := enc.Encode(res); err != nil {
			return err
		}
	case live != nil:
		live.Draw(snap)
		uiterm.Checkpoints(stdout, cps)
		uiterm.Diagnosis(stdout, diagnosis)
	default:
		uiterm.Table(stdout, snap, uiterm.NoColor)
		uiterm.Checkpoints(stdout, cps)
		uiterm.Diagnosis(stdout, diagnosis)
	}
	if err := job.Err(); err != nil {
		return fmt.Errorf("job %q failed: %w", snap.Name, err)
	}
	return nil
}

// runResult is what `flowlab run -json` prints: the last snapshot, the
// doctor's findings and, with checkpoints on, their counts and latest.
type runResult struct {
	*metrics.Job
	Diagnosis   []doctor.Finding `json:"diagnosis"`
	Checkpoints *runCheckpoints  `json:"checkpoints,omitempty"`
}

// runCheckpoints are the job's checkpoint counts and its latest completed
// checkpoint, with the names of Flink's /jobs/{jid}/checkpoints.
type runCheckpoints struct {
	Completed int            `json:"completed"`
	Failed    int            `json:"failed"`
	Restored  int            `json:"restored"`
	Latest    *runCheckpoint `json:"latest,omitempty"`
}

type runCheckpoint struct {
	ID               int64 `json:"id"`
	EndToEndDuration int64 `json:"end_to_end_duration"` // ms
	StateSize        int64 `json:"state_size"`
	PersistedData    int64 `json:"persisted_data"`
	Unaligned        bool  `json:"is_unaligned"`
}

// writeProfile writes a recording as a gzipped pprof profile.
func writeProfile(rec *runtime.Recording, file string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := rec.Profile().Write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", file, err)
	}
	return f.Close()
}

// specError prefixes each spec error with the file, as compilers do: FILE:LINE: ...
func specError(file string, err error) error {
	var errs spec.Errors
	if !errors.As(err, &errs) {
		return fmt.Errorf("%s: %w", file, err)
	}
	var b strings.Builder
	for i, e := range errs {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s:%d: ", file, e.Line)
		if e.Field != "" {
			fmt.Fprintf(&b, "%s: ", e.Field)
		}
		b.WriteString(e.Msg)
	}
	return errors.New(b.String())
}
