#!/bin/sh
# Rebuilds the committed .wasm test inputs of package instrument from their
# sources. Needs wabt (wat2wasm), clang with the wasm32 target and wasm-ld, and
# Go. Run from anywhere: go generate ./host/internal/instrument
# Afterwards refresh the golden outputs with
#   go test ./host/internal/instrument -run TestGolden -update
set -eu
cd "$(dirname "$0")"
for src in wat/*.wat; do
	name=$(basename "$src" .wat)
	case $name in
	semantics) flags=--debug-names ;; # keeps a "name" custom section
	tailcall) flags=--enable-tail-call ;;
	threads) flags=--enable-threads ;;
	relaxed_simd) flags=--enable-relaxed-simd ;;
	exceptions_legacy) flags=--enable-exceptions ;;
	multimemory) flags=--enable-multi-memory ;;
	memory64) flags=--enable-memory64 ;;
	*) flags= ;;
	esac
	wat2wasm $flags "$src" -o "wasm/$name.wasm"
done
clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry -Wl,--export-all \
	-o wasm/cguest.wasm cguest/guest.c
(cd goguest && GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o ../wasm/goguest.wasm .)
