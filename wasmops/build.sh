#!/bin/sh
# build.sh rebuilds every .wasm under wasmops/ from its source, byte for byte
# reproducibly: the Go operators with the Go SDK, the C and WAT examples and
# the hostile test modules. A toolchain that is absent is skipped with a
# message (the committed .wasm stays as it is).
#
# Usage: wasmops/build.sh [OUTDIR]
#
# OUTDIR (default: wasmops itself) receives the same layout: NAME/NAME.wasm
# and hostile/NAME.wasm, and toolchains.txt, the version of each toolchain
# used (the same sources give the same bytes only with the same versions).
# hostile/random.wasm is not built: it is a committed file of random bytes.
# Tools may be overridden with GO, CLANG and WAT2WASM.
set -eu

src=$(cd "$(dirname "$0")" && pwd)
out=${1:-$src}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$src/.."

GO=${GO:-go}
CLANG=${CLANG:-clang}
WAT2WASM=${WAT2WASM:-wat2wasm}

say() { echo "build.sh: $*"; }
: >"$out/toolchains.txt"

# Go: one c-shared (reactor) module per main package.
if command -v "$GO" >/dev/null 2>&1; then
	echo "go $("$GO" env GOVERSION)" >>"$out/toolchains.txt"
	for main in wasmops/*/main.go wasmops/hostile/*/main.go; do
		[ -f "$main" ] || continue
		dir=${main%/main.go}
		name=${dir##*/}
		case $dir in
		wasmops/hostile/*) dst=$out/hostile/$name.wasm ;;
		*) dst=$out/$name/$name.wasm ;;
		esac
		mkdir -p "$(dirname "$dst")"
		say "go   ./$dir -> ${dst#"$out"/}"
		GOOS=wasip1 GOARCH=wasm GOWASM= CGO_ENABLED=0 \
			"$GO" build -buildmode=c-shared -trimpath -ldflags=-buildid= -o "$dst" "./$dir"
	done
else
	say "skipping the Go modules: $GO not found"
fi

# C: no libc, a reactor (no entry point).
if command -v "$CLANG" >/dev/null 2>&1 && command -v wasm-ld >/dev/null 2>&1; then
	echo "clang $("$CLANG" --version | head -n 1)" >>"$out/toolchains.txt"
	for c in wasmops/c-*/*.c; do
		[ -f "$c" ] || continue
		dir=${c%/*}
		name=${dir##*/}
		dst=$out/$name/$name.wasm
		mkdir -p "$(dirname "$dst")"
		say "c    $c -> ${dst#"$out"/}"
		"$CLANG" --target=wasm32 -msimd128 -O2 -nostdlib -Wl,--no-entry \
			-Wl,--export=flowlab_input -Wl,--export=flowlab_process \
			-o "$dst" "$c"
	done
else
	say "skipping the C modules: $CLANG (with wasm32 support) or wasm-ld not found"
fi

# WAT: the examples and the hostile modules.
if command -v "$WAT2WASM" >/dev/null 2>&1; then
	echo "wat2wasm $("$WAT2WASM" --version)" >>"$out/toolchains.txt"
	for wat in wasmops/wat-*/*.wat wasmops/hostile/*.wat; do
		[ -f "$wat" ] || continue
		dir=${wat%/*}
		case $dir in
		wasmops/hostile) dst=$out/hostile/$(basename "$wat" .wat).wasm ;;
		*) dst=$out/${dir##*/}/${dir##*/}.wasm ;;
		esac
		mkdir -p "$(dirname "$dst")"
		say "wat  $wat -> ${dst#"$out"/}"
		"$WAT2WASM" "$wat" -o "$dst"
	done
else
	say "skipping the WAT modules: $WAT2WASM (wabt) not found"
fi
