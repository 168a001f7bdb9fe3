/*
 * Reading a fuzzer input as a stream of small integers and byte strings.
 * Past the end every read yields zeros (and an empty string), so a harness
 * never has to check lengths itself; fuzz_input_done() ends its op loop.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    const uint8_t *data;
    size_t len;
    size_t pos;
} fuzz_input_t;

static inline bool fuzz_input_done(const fuzz_input_t *in)
{
    return in->pos >= in->len;
}

static inline uint8_t fuzz_u8(fuzz_input_t *in)
{
    return in->pos < in->len ? in->data[in->pos++] : 0;
}

static inline uint16_t fuzz_u16(fuzz_input_t *in)
{
    uint16_t hi = fuzz_u8(in);
    return (uint16_t)(hi << 8 | fuzz_u8(in));
}

static inline uint32_t fuzz_u32(fuzz_input_t *in)
{
    uint32_t hi = fuzz_u16(in);
    return hi << 16 | fuzz_u16(in);
}

/** Up to want bytes, pointing into the input; *got says how many there were. */
static inline const uint8_t *fuzz_bytes(fuzz_input_t *in, size_t want, size_t *got)
{
    size_t left = in->len - (in->pos < in->len ? in->pos : in->len);
    size_t n = want < left ? want : left;
    const uint8_t *p = in->data + (in->pos < in->len ? in->pos : in->len);
    in->pos += n;
    *got = n;
    return p;
}

/* ---- writing inputs (seed generators) ----------------------------------------------- */

typedef struct {
    uint8_t *buf;
    size_t len;
    size_t cap;
} fuzz_out_t;

static inline void fuzz_out_bytes(fuzz_out_t *o, const void *p, size_t n)
{
    if (o->len + n <= o->cap) {
        memcpy(o->buf + o->len, p, n);
        o->len += n;
    } else {
        o->len = o->cap + 1; /* overflowed: the generator checks and fails */
    }
}

static inline void fuzz_out_u8(fuzz_out_t *o, uint8_t v)
{
    fuzz_out_bytes(o, &v, 1);
}

static inline void fuzz_out_u16(fuzz_out_t *o, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    fuzz_out_bytes(o, b, 2);
}

static inline void fuzz_out_u32(fuzz_out_t *o, uint32_t v)
{
    fuzz_out_u16(o, (uint16_t)(v >> 16));
    fuzz_out_u16(o, (uint16_t)v);
}
