/*
 * memcpy / memmove / memset for the rv32 image, a word at a time.
 *
 * Why: a riscv32imafc-unknown-none-elf build with -Zbuild-std=core brings
 * compiler_builtins' memcpy (weak), and the link resolved every memcpy of the
 * image — C and Rust — to it: 4.7 instructions per byte copied, 70 % of all
 * instructions of a download (docs/benchmarks-rv32.md). picolibc's default
 * (-Os) memcpy is a byte loop; an IDF image gets newlib's word-copying one.
 * This is a plain word copy: the destination is aligned first, the source
 * is read with 32-bit loads that may be misaligned (QEMU executes them like
 * aligned ones; on silicon they cost what the core makes them cost, see the
 * report). Linked as an object ahead of the libraries: strong symbols win.
 * Built only when RV32_MEM=word (the default of scripts/rv32.sh).
 */
#include <stddef.h>
#include <stdint.h>

static inline uint32_t ld32(const uint8_t *p)
{
    uint32_t v;
    __asm__("lw %0, 0(%1)" : "=r"(v) : "r"(p) : "memory");
    return v;
}

#if RV32_MEM_STATS
/* Copy volume by call size (RV32_MEM_STATS=1 builds only: ~12 instructions per call). */
uint64_t mem_copy_bytes[5];
uint32_t mem_copy_calls[5];
#endif

static inline void st32(uint8_t *p, uint32_t v)
{
    __asm__("sw %0, 0(%1)" : : "r"(v), "r"(p) : "memory");
}

/*
 * Short copies: the engine makes ~145 memcpy calls of ~13 bytes per segment (struct moves
 * LLVM emits at opt-level "s"), mostly not 4-aligned at both ends (packet fields, byte
 * arrays). Below SHORT_COPY they skip the alignment prologue and the loops: the bits of n
 * (< 32) pick straight-line 16/8/4/2/1-byte moves with word loads and stores that may be
 * misaligned (13 bytes: ~20 instructions instead of ~65). Same caveat as the source loads
 * below: one instruction each on QEMU; on silicon whatever the core makes of misaligned access.
 */
#ifndef SHORT_COPY
#define SHORT_COPY 32 /* -DSHORT_COPY=0: without the fast path (for the comparison in the report) */
#endif

static inline __attribute__((always_inline)) void copy_short(uint8_t *d, const uint8_t *s, size_t n)
{
    if (n & 16) {
        uint32_t a = ld32(s), b = ld32(s + 4), c = ld32(s + 8), e = ld32(s + 12);
        st32(d, a), st32(d + 4, b), st32(d + 8, c), st32(d + 12, e);
        d += 16, s += 16;
    }
    if (n & 8) {
        uint32_t a = ld32(s), b = ld32(s + 4);
        st32(d, a), st32(d + 4, b);
        d += 8, s += 8;
    }
    if (n & 4) {
        st32(d, ld32(s));
        d += 4, s += 4;
    }
    if (n & 2) {
        d[0] = s[0], d[1] = s[1];
        d += 2, s += 2;
    }
    if (n & 1) {
        *d = *s;
    }
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
#if RV32_MEM_STATS
    unsigned b = n <= 64 ? 0 : n <= 256 ? 1 : n <= 1024 ? 2 : n <= 2048 ? 3 : 4;
    mem_copy_bytes[b] += n;
    mem_copy_calls[b]++;
#endif
    uint8_t *d = dst;
    const uint8_t *s = src;
#if SHORT_COPY
    if (n < SHORT_COPY) {
        copy_short(d, s, n);
        return dst;
    }
#endif
    while (n && ((uintptr_t)d & 3)) {
        *d++ = *s++;
        n--;
    }
    uint32_t *dw = (uint32_t *)d;
    while (n >= 32) {
        uint32_t a = ld32(s), b = ld32(s + 4), c = ld32(s + 8), e = ld32(s + 12);
        uint32_t f = ld32(s + 16), g = ld32(s + 20), h = ld32(s + 24), i = ld32(s + 28);
        dw[0] = a, dw[1] = b, dw[2] = c, dw[3] = e, dw[4] = f, dw[5] = g, dw[6] = h, dw[7] = i;
        dw += 8, s += 32, n -= 32;
    }
    while (n >= 4) {
        *dw++ = ld32(s);
        s += 4, n -= 4;
    }
    d = (uint8_t *)dw;
    while (n--) {
        *d++ = *s++;
    }
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (d <= s || d >= s + n) {
        return memcpy(dst, src, n); /* forward copy is safe */
    }
    while (n--) {
        d[n] = s[n];
    }
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    uint8_t *d = dst;
    while (n && ((uintptr_t)d & 3)) {
        *d++ = (uint8_t)c;
        n--;
    }
    uint32_t w = 0x01010101u * (uint8_t)c;
    uint32_t *dw = (uint32_t *)d;
    while (n >= 16) {
        dw[0] = w, dw[1] = w, dw[2] = w, dw[3] = w;
        dw += 4, n -= 16;
    }
    while (n >= 4) {
        *dw++ = w;
        n -= 4;
    }
    d = (uint8_t *)dw;
    while (n--) {
        *d++ = (uint8_t)c;
    }
    return dst;
}
