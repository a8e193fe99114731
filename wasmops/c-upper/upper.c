// upper in C: a Flowlab operator (ABI v1, docs/ABI.md) that upper-cases each
// record's ASCII value and keeps its key. No libc: build with
//
//   clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry \
//     -Wl,--export=flowlab_input -Wl,--export=flowlab_process \
//     -o c-upper.wasm upper.c

typedef unsigned char u8;
typedef unsigned int u32;

#define IMPORT(name) __attribute__((import_module("flowlab"), import_name(name)))

IMPORT("emit") int flowlab_emit(const u8 *key, u32 key_len, const u8 *val, u32 val_len);
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
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

static const char malformed[] = "c-upper: malformed batch: a record runs past the end";

// Each record: ts_ms i64, key_len u32, val_len u32, key, value.
int flowlab_process(int len) {
	u8 *p = &__heap_base, *end = p + (u32)len;
	while (p < end) {
		if (end - p < 16)
			goto bad;
		u32 klen = load_u32(p + 8), vlen = load_u32(p + 12);
		u8 *key = p + 16;
		if ((u32)(end - key) < klen || (u32)(end - key) - klen < vlen)
			goto bad;
		u8 *val = key + klen;
		for (u32 i = 0; i < vlen; i++)
			if (val[i] >= 'a' && val[i] <= 'z')
				val[i] -= 'a' - 'A';
		if (flowlab_emit(key, klen, val, vlen) < 0)
			return 0; // output quota exhausted: stop
		p = val + vlen;
	}
	return 0;
bad:
	flowlab_fail((const u8 *)malformed, sizeof malformed - 1);
	return -1;
}
