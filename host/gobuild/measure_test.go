package gobuild

import (
	"context"
	"os"
	"testing"

	"flowlab/wasmops"
)

// TestMeasure measures each template's build, cold (an empty build cache)
// and warm (the same again), with the go command's peak memory, and the size
// of a cache warm with all templates:
//
//	GOBUILD_MEASURE=1 go test -count=1 -run TestMeasure -v ./host/gobuild/
func TestMeasure(t *testing.T) {
	if os.Getenv("GOBUILD_MEASURE") == "" {
		t.Skip("set GOBUILD_MEASURE=1 to measure build times")
	}
	shared := t.TempDir()
	for _, name := range wasmops.TemplateNames() {
		src, _ := wasmops.Template(name)
		b, err := New(NewConfig().WithCacheDir(t.TempDir()))
		if err != nil {
			t.Fatal(err)
		}
		cold, err := b.Build(context.Background(), src)
		if err != nil {
			t.Fatal(err)
		}
		warm, err := b.Build(context.Background(), src)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%-15s cold %6.2fs maxRSS %4d MiB | warm %5.2fs maxRSS %4d MiB | %d bytes | cache %d MiB", name, cold.Duration.Seconds(), cold.MaxRSS>>20, warm.Duration.Seconds(), warm.MaxRSS>>20, len(cold.Wasm), b.cacheSize()>>20)
		s, _ := New(NewConfig().WithCacheDir(shared))
		s.Build(context.Background(), src)
		if name == "timers" {
			t.Logf("shared cache after all templates: %d MiB", s.cacheSize()>>20)
		}
	}
}
