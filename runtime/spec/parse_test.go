package spec

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// designSpec is the example of DESIGN.md section 4.
const designSpec = `name: slow-sink
metrics: {window: 2s, tick: 100ms}
network: {buffer-size: 1kb, buffers-per-channel: 2, floating-buffers-per-gate: 8, buffer-timeout: 100ms}
restart: {strategy: fixed-delay, attempts: 3, delay: 1s}
tasks:
  - {name: source, operator: generator, parallelism: 1, config: {rate: 2000, keys: 100, skew: 0}}
  - {name: parse, operator: wasm:parse, parallelism: 2, cost: 200us}
  - {name: sink, operator: discard, cost: 1ms}
edges:
  - {from: source, to: parse, partitioning: rebalance}
  - {from: parse, to: sink, partitioning: hash}
`

// oneTask completes specs that test something else.
const oneTask = "tasks: [{name: a, operator: generator}]\n"

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		spec string
		get  func(*Job) any // the part of the job to check
		want any
	}{
		{
			name: "design example",
			spec: designSpec,
			get:  func(j *Job) any { return j },
			want: &Job{
				Name:    "slow-sink",
				Metrics: Metrics{Window: 2 * time.Second, Tick: 100 * time.Millisecond},
				Network: Network{BufferSize: 1024, BuffersPerChannel: 2, FloatingBuffersPerGate: 8, BufferTimeout: 100 * time.Millisecond},
				Restart: Restart{Strategy: FixedDelay, Attempts: 3, Delay: time.Second},
				Tasks: []Task{
					{
						Name: "source", Operator: "generator", Parallelism: 1,
						Config: map[string]any{"rate": 2000, "keys": 100, "skew": 0},
						Line:   6,
						Fields: map[string]int{"name": 6, "operator": 6, "parallelism": 6, "config": 6, "config.rate": 6, "config.keys": 6, "config.skew": 6},
					},
					{
						Name: "parse", Operator: "wasm:parse", Parallelism: 2, Cost: 200 * time.Microsecond,
						Line: 7, Fields: map[string]int{"name": 7, "operator": 7, "parallelism": 7, "cost": 7},
					},
					{
						Name: "sink", Operator: "discard", Parallelism: 1, Cost: time.Millisecond,
						Line: 8, Fields: map[string]int{"name": 8, "operator": 8, "cost": 8},
					},
				},
				Edges: []Edge{
					{From: "source", To: "parse", Partitioning: Rebalance, Line: 10},
					{From: "parse", To: "sink", Partitioning: Hash, Line: 11},
				},
			},
		},
		{
			name: "defaults",
			spec: oneTask,
			get:  func(j *Job) any { return j },
			want: &Job{
				Name:    DefaultJobName,
				Metrics: Metrics{Window: DefaultMetricsWindow, Tick: DefaultMetricsTick},
				Network: Network{
					BufferSize:             DefaultBufferSize,
					BuffersPerChannel:      DefaultBuffersPerChannel,
					FloatingBuffersPerGate: DefaultFloatingBuffersPerGate,
					BufferTimeout:          DefaultBufferTimeout,
				},
				Restart: Restart{Strategy: FixedDelay, Attempts: DefaultRestartAttempts, Delay: DefaultRestartDelay},
				Tasks: []Task{{
					Name: "a", Operator: "generator", Parallelism: DefaultParallelism,
					Line: 1, Fields: map[string]int{"name": 1, "operator": 1},
				}},
			},
		},
		{
			name: "block style lines",
			spec: `tasks:
  - name: a
    operator: generator
    config:
      rate: 10
      keys:
        - x
  - name: b
    operator: discard
`,
			get:  func(j *Job) any { return []any{j.Tasks[0].Line, j.Tasks[0].Fields, j.Tasks[1].Line} },
			want: []any{2, map[string]int{"name": 2, "operator": 3, "config": 4, "config.rate": 5, "config.keys": 6}, 8},
		},
		{
			name: "json",
			spec: `{
	"name": "j",
	"network": {"buffer-size": 4096},
	"tasks": [{"name": "a", "operator": "generator", "config": {"rate": 1.5, "on": true}}]
}`,
			get:  func(j *Job) any { return []any{j.Name, j.Network.BufferSize, j.Tasks[0].Config} },
			want: []any{"j", 4096, map[string]any{"rate": 1.5, "on": true}},
		},
		{
			name: "default chain",
			spec: `tasks:
  - {name: a, operator: generator}
  - {name: b, operator: passthrough}
  - {name: c, operator: discard, parallelism: 2}
`,
			get: func(j *Job) any { return j.Edges },
			want: []Edge{
				{From: "a", To: "b", Partitioning: Forward},
				{From: "b", To: "c", Partitioning: Rebalance},
			},
		},
		{
			name: "explicit empty edges",
			spec: "tasks: [{name: a, operator: generator}, {name: b, operator: discard}]\nedges: []\n",
			get:  func(j *Job) any { return j.Edges },
			want: []Edge(nil),
		},
		{
			name: "default partitioning of an edge",
			spec: `tasks:
  - {name: a, operator: generator}
  - {name: b, operator: passthrough, parallelism: 2}
  - {name: c, operator: discard, parallelism: 2}
edges:
  - {from: a, to: b}
  - {from: b, to: c}
  - {from: a, to: c, partitioning: broadcast}
`,
			get: func(j *Job) any { return j.Edges },
			want: []Edge{
				{From: "a", To: "b", Partitioning: Rebalance, Line: 6},
				{From: "b", To: "c", Partitioning: Forward, Line: 7},
				{From: "a", To: "c", Partitioning: Broadcast, Line: 8},
			},
		},
		{
			name: "size in bytes",
			spec: oneTask + `network: {buffer-size: 100}`,
			get:  func(j *Job) any { return j.Network.BufferSize },
			want: 100,
		},
		{
			name: "size with unit b",
			spec: oneTask + `network: {buffer-size: 64b}`,
			get:  func(j *Job) any { return j.Network.BufferSize },
			want: 64,
		},
		{
			name: "size with a space and mixed case",
			spec: oneTask + `network: {buffer-size: 32 KiB}`,
			get:  func(j *Job) any { return j.Network.BufferSize },
			want: 32 << 10,
		},
		{
			name: "size in m",
			spec: oneTask + `network: {buffer-size: 16M}`,
			get:  func(j *Job) any { return j.Network.BufferSize },
			want: 16 << 20,
		},
		{
			name: "durations",
			spec: oneTask + `network: {buffer-timeout: 0}
restart: {delay: 1.5s}
metrics: {window: 2m, tick: 100 ms}`,
			get: func(j *Job) any {
				return []time.Duration{j.Network.BufferTimeout, j.Restart.Delay, j.Metrics.Window, j.Metrics.Tick}
			},
			want: []time.Duration{0, 1500 * time.Millisecond, 2 * time.Minute, 100 * time.Millisecond},
		},
		{
			name: "buffer debloat off by default",
			spec: oneTask,
			get:  func(j *Job) any { return j.Network.BufferDebloat },
			want: (*BufferDebloat)(nil),
		},
		{
			name: "buffer debloat",
			spec: oneTask + `network: {buffer-debloat: {target: 100ms, period: 50 ms}}`,
			get:  func(j *Job) any { return j.Network.BufferDebloat },
			want: &BufferDebloat{Target: 100 * time.Millisecond, Period: 50 * time.Millisecond},
		},
		{
			name: "buffer debloat defaults",
			spec: oneTask + `network: {buffer-debloat: {}}`,
			get:  func(j *Job) any { return j.Network.BufferDebloat },
			want: &BufferDebloat{Target: DefaultDebloatTarget, Period: DefaultDebloatPeriod},
		},
		{
			name: "buffer debloat limits",
			spec: oneTask + `network: {buffer-debloat: {target: 1ms, period: 10ms}}`,
			get:  func(j *Job) any { return j.Network.BufferDebloat },
			want: &BufferDebloat{Target: time.Millisecond, Period: 10 * time.Millisecond},
		},
		{
			name: "checkpoints off by default",
			spec: oneTask,
			get:  func(j *Job) any { return j.Checkpoint },
			want: (*Checkpoint)(nil),
		},
		{
			name: "checkpoint null is off",
			spec: oneTask + "checkpoint: ~\n",
			get:  func(j *Job) any { return j.Checkpoint },
			want: (*Checkpoint)(nil),
		},
		{
			name: "checkpoint defaults",
			spec: oneTask + "checkpoint: {interval: 5s}\n",
			get:  func(j *Job) any { return j.Checkpoint },
			want: &Checkpoint{Interval: 5 * time.Second, Mode: Aligned, Timeout: DefaultCheckpointTimeout, Retained: DefaultCheckpointsRetained},
		},
		{
			name: "checkpoint",
			spec: oneTask + `checkpoint:
  interval: 5s
  mode: unaligned
  timeout: 60 s
  aligned-timeout: 0s
  retained: 3
`,
			get:  func(j *Job) any { return j.Checkpoint },
			want: &Checkpoint{Interval: 5 * time.Second, Mode: Unaligned, Timeout: time.Minute, Retained: 3},
		},
		{
			name: "checkpoint aligned with a timeout to switch",
			spec: oneTask + "checkpoint: {interval: 1s, mode: aligned, aligned-timeout: 200ms, timeout: 10s}\n",
			get:  func(j *Job) any { return j.Checkpoint },
			want: &Checkpoint{Interval: time.Second, Mode: Aligned, Timeout: 10 * time.Second, AlignedTimeout: 200 * time.Millisecond, Retained: 1},
		},
		{
			name: "checkpoint limits",
			spec: oneTask + "checkpoint: {interval: 10ms, timeout: 10ms, retained: 10}\n",
			get:  func(j *Job) any { return j.Checkpoint },
			want: &Checkpoint{Interval: MinCheckpointInterval, Mode: Aligned, Timeout: MinCheckpointTimeout, Retained: MaxCheckpointsRetained},
		},
		{
			name: "checkpoint upper limits",
			spec: oneTask + "checkpoint: {interval: 1h, timeout: 1h, aligned-timeout: 59m59s}\n",
			get:  func(j *Job) any { return j.Checkpoint },
			want: &Checkpoint{Interval: MaxCheckpointInterval, Mode: Aligned, Timeout: MaxCheckpointTimeout, AlignedTimeout: time.Hour - time.Second, Retained: 1},
		},
		{
			name: "checkpoint in json",
			spec: `{"tasks": [{"name": "a", "operator": "generator"}],
 "checkpoint": {"interval": "500ms", "mode": "unaligned", "timeout": "1m", "retained": 2}}`,
			get:  func(j *Job) any { return j.Checkpoint },
			want: &Checkpoint{Interval: 500 * time.Millisecond, Mode: Unaligned, Timeout: time.Minute, Retained: 2},
		},
		{
			name: "microseconds",
			spec: `tasks: [{name: a, operator: generator, cost: 500us}, {name: b, operator: discard, cost: 2µs}]`,
			get:  func(j *Job) any { return []time.Duration{j.Tasks[0].Cost, j.Tasks[1].Cost} },
			want: []time.Duration{500 * time.Microsecond, 2 * time.Microsecond},
		},
		{
			name: "limits",
			spec: `network: {buffer-size: 16mib, buffers-per-channel: 1024, floating-buffers-per-gate: 0, buffer-timeout: 10s}
restart: {strategy: none, attempts: 0, delay: 10m}
metrics: {window: 60s, tick: 10ms}
tasks: [{name: a, operator: generator, parallelism: 128, cost: 10s}]
`,
			get: func(j *Job) any {
				return []any{j.Network, j.Restart, j.Metrics, j.Tasks[0].Parallelism, j.Tasks[0].Cost}
			},
			want: []any{
				Network{BufferSize: MaxBufferSize, BuffersPerChannel: MaxBuffers, BufferTimeout: MaxBufferTimeout},
				Restart{Strategy: NoRestart, Delay: MaxRestartDelay},
				Metrics{Window: 60 * time.Second, Tick: MinMetricsTick},
				MaxParallelism, MaxCost,
			},
		},
		{
			name: "config values",
			spec: `tasks:
  - name: a
    operator: generator
    config:
      int: -3
      hex: 0x10
      float: 2.5
      bool: false
      none: ~
      big: 9223372036854775808
      string: "x"
      date: 2024-01-02
      list: [1, two]
      map: {a: {b: [true]}}
`,
			get: func(j *Job) any { return j.Tasks[0].Config },
			want: map[string]any{
				"int": -3, "hex": 16, "float": 2.5, "bool": false, "none": nil, "big": 9223372036854775808.0, "string": "x", "date": "2024-01-02",
				"list": []any{1, "two"}, "map": map[string]any{"a": map[string]any{"b": []any{true}}},
			},
		},
		{
			name: "null fields count as absent",
			spec: "name:\nmetrics: ~\ntasks: [{name: a, operator: generator, parallelism: null, config: null}]\n",
			get:  func(j *Job) any { return []any{j.Name, j.Metrics, j.Tasks[0].Parallelism, j.Tasks[0].Config} },
			want: []any{DefaultJobName, Metrics{Window: DefaultMetricsWindow, Tick: DefaultMetricsTick}, 1, map[string]any(nil)},
		},
		{
			name: "aliases",
			spec: `tasks:
  - {name: a, operator: generator, config: &cfg {rate: 10}}
  - {name: b, operator: generator, config: *cfg, parallelism: &p 4}
  - {name: c, operator: discard, parallelism: *p}
`,
			get:  func(j *Job) any { return []any{j.Tasks[1].Config, j.Tasks[2].Parallelism, j.Edges[1].Partitioning} },
			want: []any{map[string]any{"rate": 10}, 4, Forward},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j, err := Parse([]byte(tc.spec))
			require.NoError(t, err)
			require.Equal(t, tc.want, tc.get(j))
		})
	}
}

func TestParse_Errors(t *testing.T) {
	// manyTasks is a spec with n tasks.
	manyTasks := func(n int) string {
		var b strings.Builder
		b.WriteString("tasks:\n")
		for i := range n {
			fmt.Fprintf(&b, "  - {name: t%d, operator: passthrough}\n", i)
		}
		return b.String()
	}
	// bomb is a config whose aliases expand to 10^6 values.
	const bomb = `tasks:
  - name: a
    operator: generator
    config:
      a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
      b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
      c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
      d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
      e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
      f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
`
	tests := []struct {
		name string
		spec string
		want string
	}{
		{"too large", oneTask + strings.Repeat("#", MaxSpecSize), "line 1: spec is 1048616 bytes, more than the limit of 1 MiB"},
		{"empty", "", "line 1: spec is empty"},
		{"only comments", "# nothing\n", "line 1: spec is empty"},
		{"null", "~\n", "line 1: spec is empty"},
		{"syntax", "name: x\ntasks:\n  - name: a\n operator: b\n", "line 3: invalid YAML: did not find expected key"},
		{"syntax without a line", "tasks: *x\n", "line 1: invalid YAML: unknown anchor 'x' referenced"},
		{"two documents", oneTask + "---\n" + oneTask, "line 2: spec has more than one document (---)"},
		{"not a mapping", "- a\n- b\n", "line 1: want a mapping with fields name, metrics, network, restart, checkpoint, tasks, edges, got a list"},
		{
			"unknown field",
			"tasks:\n  - name: a\n    operator: b\n    paralelism: 2\n",
			`line 4: tasks[0]: unknown field "paralelism" (did you mean "parallelism"? valid: name, operator, parallelism, cost, config)`,
		},
		{
			"unknown field without a suggestion",
			oneTask + "state: {}\n",
			`line 2: unknown field "state" (valid: name, metrics, network, restart, checkpoint, tasks, edges)`,
		},
		{"unknown field ignoring case", oneTask + "Name: x\n", `line 2: unknown field "Name" (did you mean "name"? valid: name, metrics, network, restart, checkpoint, tasks, edges)`},
		{"duplicate field", oneTask + "name: x\nname: y\n", `line 3: duplicate field "name" (first at line 2)`},
		{"key not a string", oneTask + "1: x\n", "line 2: want a string key, got 1"},
		{"merge key", "base: &base {operator: generator}\n" + "tasks: [{<<: *base, name: a}]\n", `line 1: unknown field "base" (valid: name, metrics, network, restart, checkpoint, tasks, edges)
line 2: tasks[0]: merge keys (<<) are not supported
line 2: tasks[0]: missing required field "operator"`},
		{"section not a mapping", oneTask + "network: 1kb\n", `line 2: network: want a mapping with fields buffer-size, buffers-per-channel, floating-buffers-per-gate, buffer-timeout, buffer-debloat, got "1kb"`},
		{"job name", oneTask + "name: [a]\n", "line 2: name: want a string, got a list"},
		{"job name empty", oneTask + "name: ''\n", "line 2: name: must not be empty"},
		{"missing tasks", "name: x\n", `line 1: missing required field "tasks"`},
		{"tasks not a list", "tasks: {name: a, operator: b}\n", "line 1: tasks: want a list, got a mapping"},
		{"no tasks", "tasks: []\n", "line 1: tasks: a job needs at least one task"},
		{"too many tasks", manyTasks(MaxTasks + 1), "line 2: tasks: must have at most 64 items, got 65"},
		{"task not a mapping", "tasks: [a]\n", `line 1: tasks[0]: want a mapping with fields name, operator, parallelism, cost, config, got "a"`},
		{"missing task fields", "tasks:\n  - {}\n", `line 2: tasks[0]: missing required field "name"
line 2: tasks[0]: missing required field "operator"`},
		{"task name too long", "tasks: [{operator: x, name: " + strings.Repeat("é", 81) + "}]\n", "line 1: tasks[0].name: must be at most 80 characters, got 81"},
		{"task name with control characters", `tasks: [{operator: x, name: "a\tb"}]`, `line 1: tasks[0].name: must not contain control characters, got "a\tb"`},
		{"duplicate task", "tasks:\n  - {name: a, operator: x}\n  - {name: a, operator: y}\n", `line 3: tasks[1].name: duplicate task name "a" (first at line 2)`},
		{"operator empty", `tasks: [{name: a, operator: ""}]`, "line 1: tasks[0].operator: must not be empty"},
		{"operator not a string", `tasks: [{name: a, operator: 1}]`, "line 1: tasks[0].operator: want a string, got 1"},
		{
			"parallelism out of range",
			"name: x\n\n\n\ntasks:\n  - {name: a, operator: generator}\n  - {name: b, operator: discard, parallelism: 0}\n",
			"line 7: tasks[1].parallelism: must be between 1 and 128, got 0",
		},
		{"parallelism not an integer", "tasks: [{name: a, operator: x, parallelism: two}]", `line 1: tasks[0].parallelism: want an integer, got "two"`},
		{"parallelism a float", "tasks: [{name: a, operator: x, parallelism: 2.0}]", `line 1: tasks[0].parallelism: want an integer, got 2.0`},
		{"parallelism overflow", "tasks: [{name: a, operator: x, parallelism: 99999999999999999999}]", `line 1: tasks[0].parallelism: want an integer, got 99999999999999999999`},
		{"duration without unit", "tasks: [{name: a, operator: x, cost: 100}]", `line 1: tasks[0].cost: a duration needs a unit (ns, us, ms, s, m or h) like "100ms", got 100`},
		{"duration negative", "tasks: [{name: a, operator: x, cost: -1ms}]", `line 1: tasks[0].cost: must not be negative, got "-1ms"`},
		{"duration too long", "tasks: [{name: a, operator: x, cost: 11s}]", `line 1: tasks[0].cost: must be at most 10s, got "11s"`},
		{"duration invalid", "tasks: [{name: a, operator: x, cost: fast}]", `line 1: tasks[0].cost: want a duration like "100ms", got "fast"`},
		{"duration not a scalar", "tasks: [{name: a, operator: x, cost: [1s]}]", `line 1: tasks[0].cost: want a duration like "100ms", got a list`},
		{"size invalid", oneTask + "network: {buffer-size: 1gb}\n", `line 2: network.buffer-size: want a size like "32kb" or a number of bytes, got "1gb"`},
		{"size too small", oneTask + "network: {buffer-size: 63}\n", "line 2: network.buffer-size: must be between 64 B and 16 MiB, got 63"},
		{"size too large", oneTask + "network: {buffer-size: 17 mb}\n", `line 2: network.buffer-size: must be between 64 B and 16 MiB, got "17 mb"`},
		{"buffers", oneTask + "network: {buffers-per-channel: 0, floating-buffers-per-gate: 1025}\n", `line 2: network.buffers-per-channel: must be between 1 and 1024, got 0
line 2: network.floating-buffers-per-gate: must be between 0 and 1024, got 1025`},
		{"buffer timeout", oneTask + "network: {buffer-timeout: 1m}\n", `line 2: network.buffer-timeout: must be at most 10s, got "1m"`},
		{"debloat not a mapping", oneTask + "network:\n  buffer-debloat: 1s\n", `line 3: network.buffer-debloat: want a mapping with fields target, period, got "1s"`},
		{"debloat bad duration", oneTask + "network:\n  buffer-debloat:\n    target: soon\n    period: 100\n", `line 4: network.buffer-debloat.target: want a duration like "100ms", got "soon"
line 5: network.buffer-debloat.period: a duration needs a unit (ns, us, ms, s, m or h) like "100ms", got 100`},
		{"debloat zero", oneTask + "network: {buffer-debloat: {target: 0, period: 0}}\n", `line 2: network.buffer-debloat.target: must be at least 1ms, got 0
line 2: network.buffer-debloat.period: must be at least 10ms, got 0`},
		{"debloat too long", oneTask + "network: {buffer-debloat: {target: 2m, period: -1s}}\n", `line 2: network.buffer-debloat.target: must be at most 1m0s, got "2m"
line 2: network.buffer-debloat.period: must not be negative, got "-1s"`},
		{"debloat unknown field", oneTask + "network: {buffer-debloat: {target: 1s, threshold: 25}}\n", `line 2: network.buffer-debloat: unknown field "threshold" (valid: target, period)`},
		{"checkpoints typo", oneTask + "checkpoints: {interval: 1s}\n", `line 2: unknown field "checkpoints" (did you mean "checkpoint"? valid: name, metrics, network, restart, checkpoint, tasks, edges)`},
		{"checkpoint not a mapping", oneTask + "checkpoint: 5s\n", `line 2: checkpoint: want a mapping with fields interval, mode, timeout, aligned-timeout, retained, got "5s"`},
		{"checkpoint without interval", oneTask + "checkpoint:\n  mode: aligned\n", `line 3: checkpoint: missing required field "interval"`},
		{"checkpoint empty", oneTask + "checkpoint: {}\n", `line 2: checkpoint: missing required field "interval"`},
		{
			"checkpoint unknown field",
			oneTask + "checkpoint:\n  interval: 1s\n  intervall: 2s\n  min-pause: 1s\n",
			`line 4: checkpoint: unknown field "intervall" (did you mean "interval"? valid: interval, mode, timeout, aligned-timeout, retained)
line 5: checkpoint: unknown field "min-pause" (valid: interval, mode, timeout, aligned-timeout, retained)`,
		},
		{
			"checkpoint bad durations",
			oneTask + "checkpoint:\n  interval: 5\n  timeout: soon\n  aligned-timeout: -1s\n",
			`line 3: checkpoint.interval: a duration needs a unit (ns, us, ms, s, m or h) like "100ms", got 5
line 4: checkpoint.timeout: want a duration like "100ms", got "soon"
line 5: checkpoint.aligned-timeout: must not be negative, got "-1s"`,
		},
		{
			"checkpoint too short",
			oneTask + "checkpoint:\n  interval: 5ms\n  timeout: 0\n",
			`line 3: checkpoint.interval: must be at least 10ms, got 5ms
line 4: checkpoint.timeout: must be at least 10ms, got 0s`,
		},
		{
			"checkpoint too long",
			oneTask + "checkpoint: {interval: 2h, timeout: 61m}\n",
			`line 2: checkpoint.interval: must be at most 1h0m0s, got 2h0m0s
line 2: checkpoint.timeout: must be at most 1h0m0s, got 1h1m0s`,
		},
		{"checkpoint mode", oneTask + "checkpoint: {interval: 1s, mode: exactly-once}\n", `line 2: checkpoint.mode: want one of aligned, unaligned, got "exactly-once"`},
		{"checkpoint mode typo", oneTask + "checkpoint: {interval: 1s, mode: unalinged}\n", `line 2: checkpoint.mode: want one of aligned, unaligned, got "unalinged" (did you mean "unaligned"?)`},
		{
			"checkpoint aligned-timeout with unaligned",
			oneTask + "checkpoint:\n  interval: 1s\n  mode: unaligned\n  aligned-timeout: 30s\n",
			`line 5: checkpoint.aligned-timeout: only for mode aligned (an unaligned checkpoint has no alignment to time out), got 30s`,
		},
		{
			"checkpoint aligned-timeout not below timeout",
			oneTask + "checkpoint:\n  interval: 1s\n  timeout: 30s\n  aligned-timeout: 30s\n",
			`line 5: checkpoint.aligned-timeout: must be less than checkpoint.timeout (30s), or 0 never to switch to unaligned, got 30s`,
		},
		{
			"checkpoint aligned-timeout not below the default timeout",
			oneTask + "checkpoint: {interval: 1s, aligned-timeout: 15m}\n",
			`line 2: checkpoint.aligned-timeout: must be less than checkpoint.timeout (10m0s), or 0 never to switch to unaligned, got 15m0s`,
		},
		{
			"checkpoint aligned-timeout against a bad timeout",
			oneTask + "checkpoint: {interval: 1s, timeout: 2h, aligned-timeout: 90m}\n",
			`line 2: checkpoint.timeout: must be at most 1h0m0s, got 2h0m0s`,
		},
		{
			"checkpoint aligned-timeout against a bad mode",
			oneTask + "checkpoint: {interval: 1s, mode: none, aligned-timeout: 1s}\n",
			`line 2: checkpoint.mode: want one of aligned, unaligned, got "none"`,
		},
		{"checkpoint retained zero", oneTask + "checkpoint: {interval: 1s, retained: 0}\n", "line 2: checkpoint.retained: must be between 1 and 10, got 0"},
		{"checkpoint retained too many", oneTask + "checkpoint: {interval: 1s, retained: 11}\n", "line 2: checkpoint.retained: must be between 1 and 10, got 11"},
		{"checkpoint retained not an integer", oneTask + "checkpoint: {interval: 1s, retained: all}\n", `line 2: checkpoint.retained: want an integer, got "all"`},
		{"tick too short", oneTask + "metrics: {tick: 1ms}\n", `line 2: metrics.tick: must be at least 10ms, got "1ms"`},
		{"window shorter than tick", oneTask + "metrics:\n  tick: 1s\n  window: 500ms\n", "line 4: metrics.window: must be at least metrics.tick (1s), got 500ms"},
		{"window not a multiple of tick", oneTask + "metrics: {tick: 300ms}\n", "line 2: metrics.window: must be a whole multiple of metrics.tick (300ms), got 2s"},
		{"window too many ticks", oneTask + "metrics: {tick: 10ms, window: 61s}\n", "line 2: metrics.window: must be at most 6000 times metrics.tick (10ms), got 1m1s"},
		{"restart strategy", oneTask + "restart: {strategy: fixed}\n", `line 2: restart.strategy: want one of fixed-delay, none, got "fixed"`},
		{"restart strategy typo", oneTask + "restart: {strategy: fixed-dleay}\n", `line 2: restart.strategy: want one of fixed-delay, none, got "fixed-dleay" (did you mean "fixed-delay"?)`},
		{"restart attempts", oneTask + "restart: {attempts: -1}\n", "line 2: restart.attempts: must be between 0 and 100, got -1"},
		{"restart delay", oneTask + "restart: {delay: 1h}\n", `line 2: restart.delay: must be at most 10m0s, got "1h"`},
		{"config not a mapping", "tasks: [{name: a, operator: x, config: [1]}]", "line 1: tasks[0].config: want a mapping, got a list"},
		{"config not finite", "tasks:\n  - name: a\n    operator: x\n    config: {rate: .inf}\n", "line 4: tasks[0].config.rate: want a finite number, got .inf"},
		{"config nested", "tasks:\n  - name: a\n    operator: x\n    config:\n      a: [{b: .nan}]\n", "line 5: tasks[0].config.a[0].b: want a finite number, got .nan"},
		{"config bad number", "tasks: [{name: a, operator: x, config: {n: !!int ten}}]", "line 1: tasks[0].config.n: want a finite number, got ten"},
		{"config bad tag", "tasks: [{name: a, operator: x, config: {n: !!bool maybe}}]", "line 1: tasks[0].config.n: want true or false, got maybe"},
		{"config key not a string", "tasks: [{name: a, operator: x, config: {1: x}}]", "line 1: tasks[0].config: want a string key, got 1"},
		{"config duplicate key", "tasks: [{name: a, operator: x, config: {n: 1, n: 2}}]", `line 1: tasks[0].config: duplicate field "n" (first at line 1)`},
		{"config too many values", bomb, "line 5: tasks[0].config.d[7][8][9]: too many values: the configs of all tasks may have 10000 together"},
		{"edges not a list", oneTask + "edges: {from: a}\n", "line 2: edges: want a list, got a mapping"},
		{"too many edges", oneTask + "edges: [" + strings.Repeat("{from: a, to: a},", MaxEdges+1) + "]\n", "line 2: edges: must have at most 2016 items, got 2017"},
		{"edge not a mapping", oneTask + "edges: [a -> b]\n", `line 2: edges[0]: want a mapping with fields from, to, partitioning, bandwidth, got "a -> b"`},
		{"edge missing to", oneTask + "edges:\n  - from: a\n", `line 3: edges[0]: missing required field "to"`},
		{
			"bandwidth too low",
			"tasks: [{name: a, operator: x}, {name: b, operator: y}]\nedges:\n  - {from: a, to: b, bandwidth: 10}\n",
			`line 3: edges[0].bandwidth: must be between 1 KiB and 1 GiB, got 10`,
		},
		{
			"edge to unknown task",
			"tasks: [{name: source, operator: x}, {name: sink, operator: y}]\nedges:\n  - {from: source, to: snik}\n",
			`line 3: edges[0].to: no task named "snik" (did you mean "sink"?)`,
		},
		{"edge from unknown task", oneTask + "edges:\n  - {from: x, to: a}\n", `line 3: edges[0].from: no task named "x"`},
		{"edge to itself", oneTask + "edges:\n  - {from: a, to: a}\n", `line 3: edges[0]: task "a" cannot send to itself`},
		{
			"duplicate edge",
			"tasks: [{name: a, operator: x}, {name: b, operator: y}]\nedges:\n  - {from: a, to: b}\n  - {from: a, to: b, partitioning: hash}\n",
			"line 4: edges[1]: duplicate edge a -> b (first at line 3)",
		},
		{
			"cycle",
			`tasks: [{name: a, operator: x}, {name: b, operator: y}, {name: c, operator: z}]
edges:
  - {from: a, to: b}
  - {from: b, to: c}
  - {from: c, to: b}
`,
			"line 5: edges: cycle b -> c -> b",
		},
		{
			"forward between unequal parallelism",
			"tasks: [{name: a, operator: x}, {name: b, operator: y, parallelism: 2}]\nedges:\n  - from: a\n    to: b\n    partitioning: forward\n",
			`line 5: edges[0].partitioning: forward needs equal parallelism, but "a" has 1 and "b" has 2; use rebalance or hash`,
		},
		{
			"partitioning unknown",
			"tasks: [{name: a, operator: x}, {name: b, operator: y}]\nedges:\n  - {from: a, to: b, partitioning: rebalanced}\n",
			`line 3: edges[0].partitioning: want one of forward, rebalance, hash, broadcast, got "rebalanced" (did you mean "rebalance"?)`,
		},
		{
			"every error, sorted by line",
			`tasks:
  - {name: a, operator: x, parallelism: 0}
edges:
  - {from: a, to: b}
name: ""
`,
			`line 2: tasks[0].parallelism: must be between 1 and 128, got 0
line 4: edges[0].to: no task named "b"
line 5: name: must not be empty`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j, err := Parse([]byte(tc.spec))
			require.Nil(t, j)
			require.EqualError(t, err, tc.want)
			var errs Errors
			require.ErrorAs(t, err, &errs)
		})
	}
}

func TestTask_Errorf(t *testing.T) {
	j, err := Parse([]byte(`tasks:
  - name: a
    operator: generator
    config:
      rate: 10
`))
	require.NoError(t, err)
	task := &j.Tasks[0]
	tests := []struct {
		field string
		want  string
	}{
		{"config.rate", "line 5: tasks[0].config.rate: must be at least 100, got 10"},
		{"config.keys", "line 4: tasks[0].config.keys: must be at least 100, got 10"},
		{"cost", "line 2: tasks[0].cost: must be at least 100, got 10"},
		{"", "line 2: tasks[0]: must be at least 100, got 10"},
	}
	for _, tc := range tests {
		require.EqualError(t, task.Errorf(0, tc.field, "must be at least %d, got %d", 100, 10), tc.want)
	}
}

func TestJob_TaskIndex(t *testing.T) {
	j, err := Parse([]byte("tasks: [{name: a, operator: x}, {name: b, operator: y}]"))
	require.NoError(t, err)
	require.Equal(t, 1, j.TaskIndex("b"))
	require.Equal(t, -1, j.TaskIndex("c"))
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		designSpec,
		oneTask,
		"",
		"---\n",
		"tasks: [{name: a, operator: x}, {name: b, operator: y, parallelism: 3}]\nedges: [{from: a, to: b}, {from: b, to: a}]\n",
		"tasks:\n  - {name: a, operator: x, cost: 100}\n  - name: b\n    paralelism: 0\n",
		"network: {buffer-size: 32 KiB, buffer-timeout: 100 ms}\nmetrics: {tick: 300ms}\n" + oneTask,
		"tasks: [{name: a, operator: x, config: &c {a: [*c]}}]",
		`{"tasks": [{"name": "a", "operator": "x", "config": {"n": 1e400}}]}`,
		"tasks: [{name: a, operator: x}]\n---\nb: [",
		"checkpoint: {interval: 1s, mode: aligned, timeout: 1m, aligned-timeout: 10s, retained: 2}\n" + oneTask,
		"checkpoint: {interval: 5ms, mode: unaligned, aligned-timeout: 1s}\n" + oneTask,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := Parse(data)
		if err != nil {
			require.Nil(t, j)
			var errs Errors
			require.ErrorAs(t, err, &errs)
			require.NotEmpty(t, errs)
			for _, e := range errs {
				require.GreaterOrEqual(t, e.Line, 1, e.Error())
				require.NotEmpty(t, e.Msg, e.Error())
			}
			return
		}
		checkJob(t, j)
	})
}

// checkJob fails t unless j keeps every rule Parse checks.
func checkJob(t *testing.T, j *Job) {
	validName := func(s string) bool {
		return s != "" && utf8.RuneCountInString(s) <= MaxNameLength && !strings.ContainsFunc(s, unicode.IsControl)
	}
	require.True(t, validName(j.Name), j.Name)
	m, n, r := j.Metrics, j.Network, j.Restart
	require.True(t, m.Tick >= MinMetricsTick && m.Window >= m.Tick && m.Window%m.Tick == 0 && m.Window/m.Tick <= MaxWindowTicks, m)
	require.True(t, n.BufferSize >= MinBufferSize && n.BufferSize <= MaxBufferSize, n)
	require.True(t, n.BuffersPerChannel >= 1 && n.BuffersPerChannel <= MaxBuffers, n)
	require.True(t, n.FloatingBuffersPerGate >= 0 && n.FloatingBuffersPerGate <= MaxBuffers, n)
	require.True(t, n.BufferTimeout >= 0 && n.BufferTimeout <= MaxBufferTimeout, n)
	require.Contains(t, []string{FixedDelay, NoRestart}, r.Strategy)
	require.True(t, r.Attempts >= 0 && r.Attempts <= MaxRestartAttempt && r.Delay >= 0 && r.Delay <= MaxRestartDelay, r)
	if c := j.Checkpoint; c != nil {
		require.NoError(t, c.Check())
		require.Contains(t, []string{Aligned, Unaligned}, c.Mode)
		require.True(t, c.Interval >= MinCheckpointInterval && c.Interval <= MaxCheckpointInterval, c)
		require.True(t, c.Timeout >= MinCheckpointTimeout && c.Timeout <= MaxCheckpointTimeout, c)
		require.True(t, c.AlignedTimeout >= 0 && c.AlignedTimeout < c.Timeout && (c.AlignedTimeout == 0 || c.Mode == Aligned), c)
		require.True(t, c.Retained >= 1 && c.Retained <= MaxCheckpointsRetained, c)
	}

	require.True(t, len(j.Tasks) >= 1 && len(j.Tasks) <= MaxTasks)
	for i, task := range j.Tasks {
		require.True(t, validName(task.Name), task.Name)
		require.Equal(t, i, j.TaskIndex(task.Name), "duplicate task %q", task.Name)
		require.NotEmpty(t, task.Operator)
		require.True(t, task.Parallelism >= 1 && task.Parallelism <= MaxParallelism, task.Parallelism)
		require.True(t, task.Cost >= 0 && task.Cost <= MaxCost, task.Cost)
		require.GreaterOrEqual(t, task.Line, 1)
		_, err := json.Marshal(task.Config)
		require.NoError(t, err)
	}
	var seen [][2]string
	for _, e := range j.Edges {
		from, to := j.TaskIndex(e.From), j.TaskIndex(e.To)
		require.True(t, from >= 0 && to >= 0 && from != to, e)
		require.NotContains(t, seen, [2]string{e.From, e.To})
		seen = append(seen, [2]string{e.From, e.To})
		require.Contains(t, []string{Forward, Rebalance, Hash, Broadcast}, e.Partitioning)
		if e.Partitioning == Forward {
			require.Equal(t, j.Tasks[from].Parallelism, j.Tasks[to].Parallelism, e)
		}
	}
	// Acyclic: Kahn's algorithm sorts every task.
	in := make(map[string]int) // task name -> edges into it from unsorted tasks
	for _, e := range j.Edges {
		in[e.To]++
	}
	var ready []string
	for _, task := range j.Tasks {
		if in[task.Name] == 0 {
			ready = append(ready, task.Name)
		}
	}
	sorted := 0
	for ; len(ready) > 0; sorted++ {
		name := ready[0]
		ready = ready[1:]
		for _, e := range j.Edges {
			if e.From != name {
				continue
			}
			if in[e.To]--; in[e.To] == 0 {
				ready = append(ready, e.To)
			}
		}
	}
	require.Equal(t, len(j.Tasks), sorted, "cycle in %v", j.Edges)
}

func TestParse_Bandwidth(t *testing.T) {
	j, err := Parse([]byte("tasks: [{name: a, operator: x}, {name: b, operator: y}]\nedges:\n  - {from: a, to: b, bandwidth: 64kb}\n"))
	require.NoError(t, err)
	require.Equal(t, 64<<10, j.Edges[0].Bandwidth)
}

func TestCheckpoint_Check(t *testing.T) {
	valid := Checkpoint{Interval: time.Second, Mode: Aligned, Timeout: DefaultCheckpointTimeout, Retained: DefaultCheckpointsRetained}
	require.NoError(t, valid.Check())
	tests := []struct {
		name   string
		change func(c *Checkpoint)
		want   string
	}{
		{"interval zero", func(c *Checkpoint) { c.Interval = 0 }, "checkpoint.interval: must be at least 10ms, got 0s"},
		{"interval negative", func(c *Checkpoint) { c.Interval = -time.Second }, "checkpoint.interval: must be at least 10ms, got -1s"},
		{"interval too long", func(c *Checkpoint) { c.Interval = 2 * time.Hour }, "checkpoint.interval: must be at most 1h0m0s, got 2h0m0s"},
		{"mode empty", func(c *Checkpoint) { c.Mode = "" }, `checkpoint.mode: want one of aligned, unaligned, got ""`},
		{"timeout zero", func(c *Checkpoint) { c.Timeout = 0 }, "checkpoint.timeout: must be at least 10ms, got 0s"},
		{"aligned-timeout negative", func(c *Checkpoint) { c.AlignedTimeout = -1 }, "checkpoint.aligned-timeout: must not be negative, got -1ns"},
		{
			"aligned-timeout with unaligned",
			func(c *Checkpoint) { c.Mode, c.AlignedTimeout = Unaligned, time.Second },
			"checkpoint.aligned-timeout: only for mode aligned (an unaligned checkpoint has no alignment to time out), got 1s",
		},
		{
			"aligned-timeout not below timeout",
			func(c *Checkpoint) { c.Timeout, c.AlignedTimeout = time.Minute, time.Minute },
			"checkpoint.aligned-timeout: must be less than checkpoint.timeout (1m0s), or 0 never to switch to unaligned, got 1m0s",
		},
		{"retained zero", func(c *Checkpoint) { c.Retained = 0 }, "checkpoint.retained: must be between 1 and 10, got 0"},
		{"the first of several", func(c *Checkpoint) { c.Retained, c.Timeout = 0, 0 }, "checkpoint.timeout: must be at least 10ms, got 0s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := valid
			tc.change(&c)
			require.EqualError(t, c.Check(), tc.want)
		})
	}
	for _, c := range []Checkpoint{
		{Interval: MinCheckpointInterval, Mode: Unaligned, Timeout: MinCheckpointTimeout, Retained: MaxCheckpointsRetained},
		{Interval: MaxCheckpointInterval, Mode: Aligned, Timeout: MaxCheckpointTimeout, AlignedTimeout: MaxCheckpointTimeout - 1, Retained: 1},
		{Interval: time.Second, Mode: Unaligned, Timeout: time.Minute, Retained: 1}, // aligned-timeout 0 goes with unaligned
	} {
		require.NoError(t, c.Check(), "%+v", c)
	}
}

func TestCheckpointChange_Apply(t *testing.T) {
	d := func(v time.Duration) *time.Duration { return &v }
	on := &Checkpoint{Interval: 2 * time.Second, Mode: Aligned, Timeout: time.Minute, Retained: 1}
	got, err := CheckpointChange{Mode: Unaligned}.Apply(on)
	require.NoError(t, err)
	assert.Equal(t, &Checkpoint{Interval: 2 * time.Second, Mode: Unaligned, Timeout: time.Minute, Retained: 1}, got, "the rest kept")
	assert.Equal(t, Aligned, on.Mode, "current untouched")
	got, err = CheckpointChange{Interval: d(time.Second)}.Apply(nil)
	require.NoError(t, err)
	assert.Equal(t, &Checkpoint{Interval: time.Second, Mode: Aligned, Timeout: DefaultCheckpointTimeout, Retained: DefaultCheckpointsRetained}, got, "defaults")
	got, err = CheckpointChange{Off: true}.Apply(on)
	assert.NoError(t, err)
	assert.Nil(t, got)
	for change, msg := range map[*CheckpointChange]string{
		{Mode: Unaligned}:                   "turning them on needs an interval",
		{Mode: "sideways"}:                  `checkpoint.mode: want aligned or unaligned, got "sideways"`,
		{Interval: d(time.Millisecond)}:     "checkpoint.interval: must be at least 10ms",
		{Off: true, Interval: d(time.Hour)}: "checkpoint: off takes no",
	} {
		_, err := change.Apply(nil)
		if change.Mode == "sideways" {
			_, err = change.Apply(on)
		}
		require.Error(t, err)
		assert.Contains(t, err.Error(), msg)
	}
}
