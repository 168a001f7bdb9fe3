/*
 * Minimal assertion helpers for the host unit tests: each test file is one
 * executable; a failed CHECK prints file:line and counts, the run goes on,
 * and UNIT_TEST_END() prints "N passed, M failed" and yields the exit code.
 */
#pragma once

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static unsigned unit_passed;
static unsigned unit_failed;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (cond) {                                                                  \
            unit_passed++;                                                           \
        } else {                                                                     \
            unit_failed++;                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

/* Integer equality, printing both values on failure. */
#define CHECK_EQ(a, b)                                                                    \
    do {                                                                                  \
        long long va_ = (long long)(a);                                                   \
        long long vb_ = (long long)(b);                                                   \
        if (va_ == vb_) {                                                                 \
            unit_passed++;                                                                \
        } else {                                                                          \
            unit_failed++;                                                                \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld vs %lld)\n", __FILE__, \
                    __LINE__, #a, #b, va_, vb_);                                          \
        }                                                                                 \
    } while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

/* Count a failure with a formatted message (for checks inside loops). */
#define FAILF(...)                                                       \
    do {                                                                 \
        unit_failed++;                                                   \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                  \
        fprintf(stderr, __VA_ARGS__);                                    \
        fputc('\n', stderr);                                             \
    } while (0)

#define RUN(test)                          \
    do {                                   \
        unsigned before_ = unit_failed;    \
        test();                            \
        printf("%s %s\n", unit_failed == before_ ? "ok  " : "FAIL", #test); \
    } while (0)

#define UNIT_TEST_END()                                             \
    (printf("%u passed, %u failed\n", unit_passed, unit_failed),    \
     unit_failed == 0 && unit_passed > 0 ? 0 : 1)
