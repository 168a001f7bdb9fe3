/* SHA-256 (FIPS 180-4), small and dependency-free, for the upload hash. */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t h[8];
    uint64_t len;
    uint8_t buf[64];
    size_t used;
} sha256_ctx_t;

void sha256_init(sha256_ctx_t *c);
void sha256_update(sha256_ctx_t *c, const void *data, size_t len);
/** Finish and write the digest as 64 lowercase hex characters plus NUL. */
void sha256_final_hex(sha256_ctx_t *c, char hex[65]);
