// A freestanding C module used as a test input for package instrument.
// Build (see ../generate.sh):
//   clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry -Wl,--export-all -o ../wasm/cguest.wasm guest.c

static unsigned char buf[4096];

int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

// Sum of a pseudo-random byte buffer: a loop over memory.
unsigned checksum(int n) {
  unsigned x = 12345, sum = 0;
  if (n > (int)sizeof buf) n = sizeof buf;
  for (int i = 0; i < n; i++) {
    x = x * 1103515245u + 12345u;
    buf[i] = (unsigned char)(x >> 16);
  }
  for (int i = 0; i < n; i++) sum = sum * 31 + buf[i];
  return sum;
}

// Never returns.
int spin(void) {
  volatile int x = 0;
  for (;;) x++;
  return x;
}
