package instrument

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"
)

var (
	fuzzRuntimeOnce sync.Once
	fuzzRuntime     wazero.Runtime
)

// compiles reports whether wazero (interpreter, every feature it has)
// compiles wasm. A panic in wazero (its v1.12 validator panics on some
// malformed bodies) counts as a failure to compile.
func compiles(wasm []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("wazero panicked: %v", r)
		}
	}()
	fuzzRuntimeOnce.Do(func() {
		fuzzRuntime = wazero.NewRuntimeWithConfig(context.Background(),
			wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(allFeatures))
	})
	cm, err := fuzzRuntime.CompileModule(context.Background(), wasm)
	if err == nil {
		cm.Close(context.Background())
	}
	return err
}

// plausibleCounts reports whether every vector section's item count is at
// most its size. wazero v1.12 allocates from the declared count before
// reading the items: a 200-byte module declaring 2^31 imports makes
// CompileModule try to allocate hundreds of GB, so the fuzzer only asks wazero
// about inputs that pass this filter.
func plausibleCounts(wasm []byte) bool {
	if len(wasm) < 8 {
		return true
	}
	for p := 8; p < len(wasm); {
		id := wasm[p]
		size, q := readU32(wasm, p+1)
		if q < 0 || uint64(q)+uint64(size) > uint64(len(wasm)) {
			return false // wazero decodes a section even past the end of the input
		}
		end := q + int(size)
		if id == secType && !plausibleTypes(wasm[:end], q) {
			return false
		}
		if id == secCustom && !plausibleNames(wasm[:end], q) {
			return false
		}
		if id != secCustom && id != secStart && id != secDataCount {
			n, r := readU32(wasm[:end], q)
			if r < 0 || uint64(n) > uint64(size) {
				return false // wazero reads the count past the section's end
			}
		}
		p = end
	}
	return true
}

// plausibleTypes checks the parameter and result counts of the function types
// in the type section at b[p:], which wazero also allocates from.
func plausibleTypes(b []byte, p int) bool {
	n, p := readU32(b, p)
	for i := uint32(0); i < n && p >= 0 && p < len(b); i++ {
		if b[p] != 0x60 {
			return true // wazero stops at the form
		}
		p++
		for range 2 { // params, results
			var m uint32
			m, p = readU32(b, p)
			if p < 0 || uint64(m) > uint64(len(b)-p) {
				return false
			}
			for j := uint32(0); j < m && p >= 0; j++ {
				p = skipValType(b, p)
			}
		}
	}
	return true
}

// plausibleNames checks the counts of a "name" custom section at b[p:],
// which wazero decodes (and allocates from) even when it keeps no custom
// sections.
func plausibleNames(b []byte, p int) bool {
	p = skipName(b, p)
	if p < 0 {
		return false
	}
	if string(b[:p][len(b[:p])-min(4, p):]) != "name" {
		return true
	}
	for p < len(b) {
		id := b[p]
		size, q := readU32(b, p+1)
		if q < 0 || uint64(q)+uint64(size) > uint64(len(b)) {
			return false
		}
		end := q + int(size)
		if id != 0 {
			n, r := readU32(b[:end], q)
			if r < 0 || uint64(n) > uint64(size) {
				return false
			}
			if id == 2 { // local names: vec(idx, vec(idx, name))
				for i := uint32(0); i < n && r >= 0; i++ {
					r = skipLEB(b[:end], r, 5)
					var m uint32
					m, r = readU32(b[:end], r)
					if r < 0 || uint64(m) > uint64(end-r) {
						return false
					}
					for j := uint32(0); j < m && r >= 0; j++ {
						r = skipName(b[:end], skipLEB(b[:end], r, 5))
					}
				}
			}
		}
		p = end
	}
	return true
}

// FuzzInstrument: random bytes never make Instrument panic or modify its
// input; a module wazero compiles is instrumented, and the output compiles.
func FuzzInstrument(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "wasm", "*.wasm"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		if strings.Contains(file, "goguest") {
			continue // 2 MB: too slow a seed
		}
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(funcrefsModule())
	f.Add(exnrefModule())
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := bytes.Clone(in)
		out, err := Instrument(in)
		if !bytes.Equal(orig, in) {
			t.Fatal("Instrument modified its input")
		}
		if err != nil {
			if out != nil {
				t.Fatal("output with an error")
			}
			var limit *limitError
			if errors.As(err, &limit) || strings.Contains(err.Error(), "already exports") ||
				strings.Contains(err.Error(), "table with an initializer expression in ") {
				return
			}
			if plausibleCounts(in) && compiles(in) == nil {
				t.Fatalf("wazero compiles the input but Instrument fails: %v", err)
			}
			return
		}
		if len(out) != cap(out) {
			t.Fatalf("output size miscomputed: len %d, cap %d", len(out), cap(out))
		}
		if !plausibleCounts(in) || compiles(in) != nil {
			return
		}
		if err := compiles(out); err != nil {
			t.Fatalf("input compiles, output does not: %v", err)
		}
	})
}
