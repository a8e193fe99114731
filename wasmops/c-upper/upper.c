// upper in C: a Flowlab operator (ABI v1.1, docs/ABI.md) that upper-cases each
// record's ASCII value and keeps its key and timestamp, sixteen bytes at a
// time with Wasm SIMD. It changes the input batch in place and hands it back
// to the host whole with one emit_batch: one host call per batch, no copy.
// No libc: build with
//
//   clang --target=wasm32 -msimd128 -O2 -nostdlib -Wl,--no-entry \
//     -Wl,--export=flowlab_input -Wl,--export=flowlab_process \
//     -o c-upper.wasm upper.c

#include <wasm_simd128.h>

typedef unsigned char u8;
typedef unsigned int u32;

#define IMPORT(name) __attribute__((import_module("flowlab"), import_name(name)))

IMPORT("emit_batch") int flowlab_emit_batch(const u8 *batch, u32 len);
IMPORT("fail") void flowlab_fail(const u8 *msg, u32 len);

// The input buffer starts at the heap base (after the stack and data), and
// memory grows to hold it.
extern u8 __heap_base;
static u32 input_cap;

u8 *flowlab_input(int size) {
	u8 *buf = &__heap_base;
	if ((u32)size > input_cap) {
		u32 need = (u32)buf + (u32)size;
		u32 have = (u32)__builtin_wasm_memory_size(0) * 65536u;
		if (need > have &&
		    __builtin_wasm_memory_grow(0, (need - have + 65535u) / 65536u) == (__SIZE_TYPE__)-1)
			__builtin_trap(); // out of memory: the host reports the trap
		input_cap = (u32)size;
	}
	return buf;
}

static u32 load_u32(const u8 *p) {
	u32 v;
	__builtin_memcpy(&v, p, 4); // an unaligned i32.load: wasm is little-endian
	return v;
}

// upper16 upper-cases the ASCII letters among the sixteen bytes of v at
// once (Wasm SIMD, simd128): a byte minus 'a' is below 26, unsigned, if it
// is a letter a-z, and then loses its 0x20 bit.
static v128_t upper16(v128_t v) {
	v128_t lower = wasm_u8x16_lt(wasm_i8x16_sub(v, wasm_i8x16_splat('a')), wasm_i8x16_splat(26));
	return wasm_v128_xor(v, wasm_v128_and(lower, wasm_i8x16_splat(0x20)));
}

// upper upper-cases the n bytes at v, sixteen at a time. The last r < 16
// bytes are the last lanes of the sixteen bytes that end the value, the
// lanes before them kept as they are: a value is preceded by its record's
// 16-byte header, so those bytes are always in the batch.
static void upper(u8 *v, u32 n) {
	u32 i = 0;
	for (; i + 16 <= n; i += 16)
		wasm_v128_store(v + i, upper16(wasm_v128_load(v + i)));
	u32 r = n - i;
	if (r == 0)
		return;
	u8 *last = v + n - 16;
	v128_t w = wasm_v128_load(last);
	// lane j is one of the last r bytes if j > 15 - r
	v128_t tail = wasm_i8x16_gt(wasm_i8x16_make(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
	                            wasm_i8x16_splat((signed char)(15 - r)));
	wasm_v128_store(last, wasm_v128_bitselect(upper16(w), w, tail));
}

static const char malformed[] = "c-upper: malformed batch: a record runs past the end";

// Each record: ts_ms i64, key_len u32, val_len u32, key, value.
int flowlab_process(int len) {
	u8 *batch = &__heap_base, *end = batch + (u32)len;
	for (u8 *p = batch; p < end;) {
		if (end - p < 16)
			goto bad;
		u32 klen = load_u32(p + 8), vlen = load_u32(p + 12);
		u8 *key = p + 16;
		if ((u32)(end - key) < klen || (u32)(end - key) - klen < vlen)
			goto bad;
		upper(key + klen, vlen);
		p = key + klen + vlen;
	}
	// < 0: the output quota is exhausted, and there is nothing left to do.
	flowlab_emit_batch(batch, (u32)len);
	return 0;
bad:
	flowlab_fail((const u8 *)malformed, sizeof malformed - 1);
	return -1;
}
