// upper in C: a Flowlab operator (ABI v1.1, docs/ABI.md) that upper-cases each
// record's ASCII value and keeps its key and timestamp. It changes the input
// batch in place and hands it back to the host whole with one emit_batch:
// one host call per batch, no copy. No libc: build with
//
//   clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry \
//     -Wl,--export=flowlab_input -Wl,--export=flowlab_process \
//     -o c-upper.wasm upper.c

typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;

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

#define ONES 0x0101010101010101ull

// upper8 upper-cases the ASCII letters among the eight bytes of w at once:
// with the high bits cleared, a byte plus 0x80-'a' has its high bit set if
// it is >= 'a', plus 0x80-'z'-1 if it is > 'z', and no sum carries into the
// next byte; a letter a-z (high bit clear at first) loses its 0x20 bit.
static u64 upper8(u64 w) {
	u64 x = w & 0x7f * ONES;
	u64 lower = (x + (0x80 - 'a') * ONES) & ~(x + (0x80 - 'z' - 1) * ONES) & ~w & 0x80 * ONES;
	return w ^ lower >> 2;
}

static void upper(u8 *v, u32 n) {
	u32 i = 0;
	for (; i + 8 <= n; i += 8) {
		u64 w;
		__builtin_memcpy(&w, v + i, 8); // an unaligned i64.load
		w = upper8(w);
		__builtin_memcpy(v + i, &w, 8);
	}
	for (; i < n; i++)
		if (v[i] >= 'a' && v[i] <= 'z')
			v[i] -= 'a' - 'A';
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
