package gobuild

import (
	"context"
	"testing"

	"flowlab/wasmops"
)

// BenchmarkBuild measures each template's build, cold (an empty build cache:
// the standard library is compiled for wasip1 too) and warm (the same
// source again), with the go command's peak memory:
//
//	go test -run '^$' -bench Build -benchtime 1x ./host/gobuild/   # cold builds take 10 s and more each
func BenchmarkBuild(b *testing.B) {
	ctx := context.Background()
	for _, name := range wasmops.TemplateNames() {
		src, err := wasmops.Template(name)
		if err != nil {
			b.Fatal(err)
		}
		build := func(b *testing.B, bl *Builder) {
			res, err := bl.Build(ctx, src)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(res.MaxRSS)/(1<<20), "MiB-peak")
			b.ReportMetric(float64(len(res.Wasm)), "module-bytes")
		}
		b.Run("template="+name+"/cache=cold", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				bl, err := New(NewConfig().WithCacheDir(b.TempDir()))
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				build(b, bl)
			}
		})
		b.Run("template="+name+"/cache=warm", func(b *testing.B) {
			bl, err := New(NewConfig().WithCacheDir(b.TempDir()))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := bl.Build(ctx, src); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				build(b, bl)
			}
		})
	}
}
