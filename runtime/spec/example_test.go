package spec_test

import (
	"errors"
	"fmt"

	"flowlab/runtime/spec"
)

func ExampleParse() {
	job, err := spec.Parse([]byte(`
name: slow-sink
network: {buffer-size: 1kb}
tasks:
  - {name: source, operator: generator, config: {rate: 2000}}
  - {name: parse, operator: wasm:parse, parallelism: 2, cost: 200us}
  - {name: sink, operator: discard, parallelism: 2, cost: 1ms}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(job.Name, job.Network.BufferSize, job.Network.BufferTimeout)
	for _, t := range job.Tasks {
		fmt.Printf("line %d: %s (%s) x%d, cost %v, config %v\n", t.Line, t.Name, t.Operator, t.Parallelism, t.Cost, t.Config)
	}
	for _, e := range job.Edges {
		fmt.Println(e.From, "->", e.To, e.Partitioning)
	}
	// Output:
	// slow-sink 1024 100ms
	// line 5: source (generator) x1, cost 0s, config map[rate:2000]
	// line 6: parse (wasm:parse) x2, cost 200µs, config map[]
	// line 7: sink (discard) x2, cost 1ms, config map[]
	// source -> parse rebalance
	// parse -> sink forward
}

func ExampleParse_errors() {
	_, err := spec.Parse([]byte(`tasks:
  - {name: source, operator: generator, paralelism: 2}
  - {name: sink, operator: discard, cost: 100}
edges:
  - {from: source, to: snik}
`))
	fmt.Println(err)
	var errs spec.Errors
	if errors.As(err, &errs) {
		fmt.Println(len(errs), "errors, the first at line", errs[0].Line, "in", errs[0].Field)
	}
	// Output:
	// line 2: tasks[0]: unknown field "paralelism" (did you mean "parallelism"? valid: name, operator, parallelism, cost, config)
	// line 3: tasks[1].cost: a duration needs a unit (ns, us, ms, s, m or h) like "100ms", got 100
	// line 5: edges[0].to: no task named "snik" (did you mean "sink"?)
	// 3 errors, the first at line 2 in tasks[0]
}

func ExampleTask_Errorf() {
	job, _ := spec.Parse([]byte(`tasks:
  - name: source
    operator: generator
    config:
      rate: -5
`))
	// The runtime checks operators and their config, and reports at the spec's lines.
	fmt.Println(job.Tasks[0].Errorf(0, "config.rate", "must not be negative, got %v", job.Tasks[0].Config["rate"]))
	// Output:
	// line 5: tasks[0].config.rate: must not be negative, got -5
}

func ExampleFormatBytes() {
	for _, n := range []int64{0, 512, 1536, 32 << 10, 16 << 20, 2<<30 + 300<<20, 4 << 30, 3 << 40} {
		fmt.Println(spec.FormatBytes(n))
	}
	// Output:
	// 0 B
	// 512 B
	// 1.5 KiB
	// 32 KiB
	// 16 MiB
	// 2.3 GiB
	// 4 GiB
	// 3 TiB
}
