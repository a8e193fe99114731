package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"golang.org/x/net/netutil"

	"flowlab/host"
	"flowlab/host/gobuild"
	"flowlab/lessons"
	"flowlab/runtime"
	"flowlab/runtime/spec"
	"flowlab/ui/attach"
	"flowlab/ui/handlers"
	"flowlab/wasmops"
)

// serve is `flowlab serve`: the playground, until ctx is done.
func serve(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	o := playgroundFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	return o.serve(ctx, stdout, nil)
}

// playgroundOptions are the flags of the playground's server.
type playgroundOptions struct {
	addr, example, goTool *string
	memory                *byteSize
}

func playgroundFlags(fs *flag.FlagSet) playgroundOptions {
	memory := byteSize(defaultMemory())
	fs.Var(&memory, "memory", "the memory all running jobs together may reserve (`SIZE`, like 8GiB; default half the machine's)")
	return playgroundOptions{
		addr:    fs.String("addr", "127.0.0.1:8080", "listen on `HOST:PORT`"),
		example: fs.String("example", "slow-sink", "the example job (examples/`NAME`.yaml) the playground starts when a browser session runs none"),
		goTool:  fs.String("go", "", "the Go toolchain (`PATH` of its go command) that builds operators written in the page; default: go on PATH"),
		memory:  &memory,
	}
}

// serve runs the playground until ctx is done; with a cluster, every
// visitor also sees its jobs.
func (o playgroundOptions) serve(ctx context.Context, stdout io.Writer, cluster *attach.Cluster) error {
	addr, example, goTool, memory := o.addr, o.example, o.goTool, *o.memory
	h, err := host.New(ctx, host.NewConfig())
	if err != nil {
		return err
	}
	defer h.Close(context.WithoutCancel(ctx))
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	all, err := lessons.All()
	if err != nil { // a broken lesson is left out; `flowlab lesson verify` says more
		log.Warn("lessons left out", "err", err)
	}
	eng := engine{host: h, resolve: h.Resolver(ctx, wasmops.FS, "")}
	cfg := handlers.NewConfig().WithDefaultExample(*example).WithLessons(all).
		WithMemoryLimits(handlers.DefaultJobMemory, handlers.DefaultSessionMemory, int64(memory))
	gcfg := gobuild.NewConfig()
	if *goTool != "" {
		gcfg = gcfg.WithGo(*goTool)
	}
	if b, err := gobuild.New(gcfg); err != nil { // uploads still work; the editor page says why it cannot build
		log.Warn("operators cannot be built from source", "err", err)
	} else {
		cfg = cfg.WithBuilder(builder{b})
	}
	if cluster != nil {
		cfg = cfg.WithCluster(cluster)
	}
	ui := handlers.New(ctx, cfg, eng, log)
	defer ui.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := defaultLimits.server(ui)
	if cluster != nil {
		st := cluster.Status()
		fmt.Fprintf(stdout, "Flowlab, watching Flink %s at %s every %v: http://%s/\n", st.Version, st.URL, st.Interval, ln.Addr())
	} else {
		fmt.Fprintf(stdout, "Flowlab playground: http://%s/\n", ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(defaultLimits.listener(ln)) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	return nil
}

// serverLimits bound what slow or many clients can hold of the server:
// every connection is a file and a goroutine, and a client that sends its
// request slowly holds them for as long as the server waits for it.
type serverLimits struct {
	// readHeader is how long a client may take to send a request's headers;
	// read, the whole request with its body (an upload of the largest
	// operator, 32 MiB, in a minute needs about 0.6 MB/s); write, from the
	// end of the headers to the end of the response, so longer than read;
	// idle, how long a kept-alive connection may wait for its next request.
	// A websocket replaces read and write with its own deadlines after the
	// upgrade (ui/handlers/ws.go): it lives as long as it answers pings.
	readHeader, read, write, idle time.Duration
	// conns is how many connections are open at once; more wait to be
	// accepted until one closes. It keeps the server well below the file
	// limit (Go raises the soft limit to the hard one; jobs and the Wasm
	// host need files too).
	conns int
	// headerBytes is the most a request's headers may take.
	headerBytes int
}

// defaultLimits are the limits of `flowlab serve`.
var defaultLimits = serverLimits{
	readHeader:  5 * time.Second,
	read:        time.Minute,
	write:       90 * time.Second,
	idle:        time.Minute,
	conns:       1000,
	headerBytes: 64 << 10,
}

// server is an http.Server of h within the limits.
func (l serverLimits) server(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.readHeader,
		ReadTimeout:       l.read,
		WriteTimeout:      l.write,
		IdleTimeout:       l.idle,
		MaxHeaderBytes:    l.headerBytes,
	}
}

// listener accepts at most l.conns connections of ln at once.
func (l serverLimits) listener(ln net.Listener) net.Listener {
	return netutil.LimitListener(ln, l.conns)
}

// builder is host/gobuild as the playground's editor page uses it.
type builder struct{ b *gobuild.Builder }

func (b builder) Available() error { return b.b.Available() }

func (b builder) Build(ctx context.Context, source []byte) (*handlers.Built, error) {
	res, err := b.b.Build(ctx, source)
	var ge *gobuild.Error
	switch {
	case errors.Is(err, gobuild.ErrBusy):
		return nil, handlers.ErrBuilderBusy
	case errors.As(err, &ge):
		return nil, &handlers.BuildError{Diagnostics: diagnostics(ge.Errors)}
	case err != nil:
		return nil, err
	}
	return &handlers.Built{Wasm: res.Wasm, Took: res.Duration, Hints: diagnostics(res.Warnings)}, nil
}

func diagnostics(ds []gobuild.Diagnostic) []handlers.Diagnostic {
	var out []handlers.Diagnostic
	for _, d := range ds {
		out = append(out, handlers.Diagnostic{Line: d.Line, Column: d.Column, Message: d.Message})
	}
	return out
}

func (builder) Templates() []handlers.Template {
	var list []handlers.Template
	for _, name := range wasmops.TemplateNames() {
		if src, err := wasmops.Template(name); err == nil {
			list = append(list, handlers.Template{Name: name, Source: string(src)})
		}
	}
	return list
}

// engine is the runtime and the Wasm host as the playground uses them.
type engine struct {
	host    *host.Host
	resolve runtime.Resolver // built-ins and bundled operators
}

func (e engine) Start(ctx context.Context, s *spec.Job, resolve runtime.Resolver, budget runtime.Budget) (handlers.Job, error) {
	j, err := runtime.Start(ctx, s, resolve, runtime.WithBudget(budget))
	if err != nil {
		return nil, err
	}
	return j, nil
}

func (e engine) Resolve(name string) (runtime.OperatorType, error) { return e.resolve(name) }

func (e engine) Compile(ctx context.Context, name string, wasm []byte) (runtime.OperatorType, error) {
	m, err := e.host.Compile(ctx, name, wasm)
	if err != nil {
		return nil, err
	}
	return m.OperatorType(), nil
}

func (e engine) Operators() []string {
	builtins := []string{runtime.OpGenerator, runtime.OpLegacyGenerator, runtime.OpPassthrough, runtime.OpDiscard}
	return append(builtins, host.Bundled(wasmops.FS)...)
}
