package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"flowlab/ui/attach"
)

// headerFlags collect the -header flags of flowlab attach.
type headerFlags []string

func (h *headerFlags) String() string     { return strings.Join(*h, ", ") }
func (h *headerFlags) Set(v string) error { *h = append(*h, v); return nil }

// attachCluster is `flowlab attach URL`: the playground, every visitor of
// which also sees the jobs of the Flink cluster at URL, read-only.
func attachCluster(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("attach", flag.ContinueOnError)
	o := playgroundFlags(fs)
	interval := fs.Duration("interval", time.Second, "read the cluster's metrics this often (never more often than its metric fetcher updates them)")
	caFile := fs.String("ca", "", "trust the certificate authorities in `FILE` (PEM) for an https:// cluster")
	var headers headerFlags
	fs.Var(&headers, "header", "an extra request `header` ('Name: value'), e.g. Authorization; repeatable")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("attach: want one URL, the Flink REST API's (its web UI's address), got %d arguments\n%s", fs.NArg(), usage)
	}
	cfg := attach.NewConfig(fs.Arg(0)).WithInterval(*interval)
	for _, h := range headers {
		name, value, err := attach.ParseHeader(h)
		if err != nil {
			return fmt.Errorf("attach: -header: %w", err)
		}
		cfg = cfg.WithHeader(name, value)
	}
	if *caFile != "" {
		cfg = cfg.WithCAFile(*caFile)
	}
	dial, cancel := context.WithTimeout(ctx, 30*time.Second)
	c, err := attach.Dial(dial, cfg)
	cancel()
	if err != nil {
		return fmt.Errorf("attach: %w", err)
	}
	return o.serve(ctx, stdout, c)
}
