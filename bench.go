package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"

	"flowlab/host"
	"flowlab/runtime"
	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
	"flowlab/wasmops"
)

// contender is one map operator `flowlab bench` measures.
type contender struct {
	Name     string  `json:"name"`
	Operator string  `json:"operator"`
	Config   string  `json:"config,omitempty"` // the task's config, YAML flow style
	Target   float64 `json:"target,omitempty"` // percent of the reference the issue asks for; 0 for the reference
}

// contenders are what `flowlab bench` compares: the native passthrough first,
// as the reference, then the upper-casers in Go (SDK), C and WAT, and a filter
// that drops every record (the generator's values are letters, never '#').
// Targets from issue 15.
var contenders = []contender{
	{Name: "passthrough", Operator: runtime.OpPassthrough},
	{Name: "wasm:upper", Operator: "wasm:upper", Target: 60},
	{Name: "wasm:c-upper", Operator: "wasm:c-upper", Target: 90},
	{Name: "wasm:wat-upper", Operator: "wasm:wat-upper", Target: 90},
	{Name: "wasm:filter (drops all)", Operator: "wasm:filter", Config: `{contains: "#"}`, Target: 95},
}

// benchResult is one contender's numbers over every round.
type benchResult struct {
	contender
	Rates       []float64 `json:"rates"`       // records/s into the map task, per round
	Median      float64   `json:"median"`      // of Rates
	Min         float64   `json:"min"`         // of Rates
	Max         float64   `json:"max"`         // of Rates
	Ratios      []float64 `json:"ratios"`      // percent of the reference's rate in the same round
	RatioMedian float64   `json:"ratioMedian"` // of Ratios
	RatioMin    float64   `json:"ratioMin"`
	RatioMax    float64   `json:"ratioMax"`
	// The map task's busy time per record it took in, in ns, per round and
	// their median: what the operator itself costs in the pipeline, without
	// the time it waited for input or output (null if unknown).
	BusyNsPerRecord       []metrics.Float `json:"busyNsPerRecord"`
	BusyNsPerRecordMedian metrics.Float   `json:"busyNsPerRecordMedian"`
}

// benchReport is what `flowlab bench -json` prints.
type benchReport struct {
	ValueSize  int           `json:"valueSize"`
	BufferSize string        `json:"bufferSize"`
	Rounds     int           `json:"rounds"`
	DurationMs int64         `json:"durationMs"`
	WarmupMs   int64         `json:"warmupMs"`
	Contenders []benchResult `json:"contenders"`
}

// bench is `flowlab bench`: records per second into MAP in source -> MAP ->
// discard, with one network exchange in front of MAP, for the native
// passthrough and each Wasm contender. Each round runs every contender once,
// in an order rotated by one each round, so that drift (other load, heat)
// spreads over all of them; the ratios to the native passthrough are taken
// within a round. (The precise numbers, with allocations, are the Go
// benchmarks: make bench.)
func bench(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	valueSize := fs.Int("value-size", 16, "bytes of each record's value")
	rounds := fs.Int("rounds", 5, "rounds: each runs every contender once")
	duration := fs.Duration("duration", 2*time.Second, "how long each run is measured, after its warm-up")
	warmup := fs.Duration("warmup", 500*time.Millisecond, "how long each run goes before it is measured")
	bufferSize := fs.String("buffer-size", "32kb", "network buffer size: records per operator call grow with it")
	asJSON := fs.Bool("json", false, "print one JSON document instead of the table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *rounds < 1:
		return fmt.Errorf("bench: -rounds must be at least 1, got %d", *rounds)
	case *duration <= 0:
		return fmt.Errorf("bench: -duration must be positive, got %v", *duration)
	case *warmup < 0:
		return fmt.Errorf("bench: -warmup must not be negative, got %v", *warmup)
	case *valueSize < 0:
		return fmt.Errorf("bench: -value-size must not be negative, got %d", *valueSize)
	}
	h, err := host.New(ctx, host.NewConfig())
	if err != nil {
		return err
	}
	defer h.Close(context.WithoutCancel(ctx))
	resolve := h.Resolver(ctx, wasmops.FS, "")
	for _, c := range contenders { // compile before anything is timed
		if _, err := resolve(c.Operator); err != nil {
			return fmt.Errorf("bench %s: %w", c.Name, err)
		}
	}
	results := make([]benchResult, len(contenders))
	for i, c := range contenders {
		results[i].contender = c
	}
	for round := range *rounds {
		for k := range contenders {
			i := (round + k) % len(contenders) // rotated: each contender runs in each position in turn
			c := contenders[i]
			rate, busyNs, err := pipelineRate(ctx, c, *valueSize, *bufferSize, *warmup, *duration, resolve)
			if err != nil {
				return fmt.Errorf("bench %s: %w", c.Name, err)
			}
			results[i].Rates = append(results[i].Rates, rate)
			results[i].BusyNsPerRecord = append(results[i].BusyNsPerRecord, metrics.Float(busyNs))
		}
	}
	for i := range results {
		r := &results[i]
		for round, rate := range r.Rates {
			ratio := 0.0
			if ref := results[0].Rates[round]; ref > 0 {
				ratio = 100 * rate / ref
			}
			r.Ratios = append(r.Ratios, ratio)
		}
		r.Median, r.Min, r.Max = medianMinMax(r.Rates)
		r.RatioMedian, r.RatioMin, r.RatioMax = medianMinMax(r.Ratios)
		r.BusyNsPerRecordMedian, _, _ = medianMinMax(r.BusyNsPerRecord)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(benchReport{
			ValueSize: *valueSize, BufferSize: *bufferSize, Rounds: *rounds,
			DurationMs: duration.Milliseconds(), WarmupMs: warmup.Milliseconds(), Contenders: results,
		})
	}
	fmt.Fprintf(stdout, "records/s into MAP in source -> MAP -> discard: %d B values, %s buffers, %d round(s) of %v each after %v of warm-up, order rotated each round\n",
		*valueSize, *bufferSize, *rounds, *duration, *warmup)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	width := 0
	for _, r := range results {
		width = max(width, len(r.Name))
	}
	fmt.Fprintf(tw, "%-*s\tMEDIAN REC/S\tMIN REC/S\tMAX REC/S\tOF NATIVE\tMIN-MAX\tTARGET\tBUSY NS/REC\t\n", width, "MAP")
	for _, r := range results {
		target := "reference"
		if r.Target > 0 {
			verdict := "met"
			if r.RatioMedian < r.Target {
				verdict = "missed"
			}
			target = fmt.Sprintf(">=%.0f%% %s", r.Target, verdict)
		}
		busy := "-"
		if b := float64(r.BusyNsPerRecordMedian); !math.IsNaN(b) && !math.IsInf(b, 0) {
			busy = fmt.Sprintf("%.1f", b)
		}
		fmt.Fprintf(tw, "%-*s\t%.0f\t%.0f\t%.0f\t%.0f%%\t%.0f-%.0f%%\t%s\t%s\t\n",
			width, r.Name, r.Median, r.Min, r.Max, r.RatioMedian, r.RatioMin, r.RatioMax, target, busy)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "OF NATIVE: the median over rounds of the ratio to passthrough in the same round; MIN-MAX: its range over rounds")
	fmt.Fprintln(stdout, "BUSY NS/REC: MAP's busy time (Flink's accumulatedBusyTime) per record it took in, median over rounds: its own cost, without its waits")
	return nil
}

// medianMinMax returns the median, the least and the greatest of xs (not
// empty).
func medianMinMax[F ~float64](xs []F) (median, lo, hi F) {
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	median = s[n/2]
	if n%2 == 0 {
		median = (s[n/2-1] + s[n/2]) / 2
	}
	return median, s[0], s[n-1]
}

// pipelineRate runs generator -> c -> discard and returns the records per
// second into c (its numRecordsIn, so that a filter is measured on what it
// consumes) over d, after warmup, and c's busy time per record over d, in
// ns (NaN if the task's busy time is unknown).
func pipelineRate(ctx context.Context, c contender, valueSize int, bufferSize string, warmup, d time.Duration, resolve runtime.Resolver) (rate, busyNs float64, err error) {
	config := ""
	if c.Config != "" {
		config = ", config: " + c.Config
	}
	s, err := spec.Parse(fmt.Appendf(nil, `
name: bench
network: {buffer-size: %s}
tasks:
  - {name: source, operator: generator, config: {value-size: %d}}
  - {name: map, operator: %q%s}
  - {name: sink, operator: discard}
edges:
  - {from: source, to: map, partitioning: rebalance}
  - {from: map, to: sink, partitioning: forward}
`, bufferSize, valueSize, c.Operator, config))
	if err != nil {
		return 0, 0, err
	}
	j, err := runtime.Start(ctx, s, resolve)
	if err != nil {
		return 0, 0, err
	}
	defer func() { j.Cancel(); <-j.Done() }()
	<-j.Updated() // running
	// next waits for d, then for the snapshot after it: one taken at most a
	// metrics tick later.
	next := func(d time.Duration) (*metrics.Job, error) {
		select {
		case <-time.After(d):
		case <-j.Done():
			return nil, fmt.Errorf("the job ended: %v", j.Err())
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		select {
		case <-j.Updated():
			return j.Snapshot(), nil
		case <-j.Done():
			return nil, fmt.Errorf("the job ended: %v", j.Err())
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	first, err := next(warmup)
	if err != nil {
		return 0, 0, err
	}
	last, err := next(d)
	if err != nil {
		return 0, 0, err
	}
	records := float64(last.Vertices[1].Metrics.NumRecordsIn - first.Vertices[1].Metrics.NumRecordsIn)
	busyMs := float64(last.Vertices[1].Metrics.AccumulatedBusyTime - first.Vertices[1].Metrics.AccumulatedBusyTime)
	return records / (float64(last.Timestamp-first.Timestamp) / 1000), busyMs * 1e6 / records, nil
}
