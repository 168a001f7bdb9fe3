/*
 * A software clock on top of the monotonic os clock: UTC microseconds =
 * monotonic microseconds + an offset that is stepped, or slewed at a bounded
 * rate (so the clock never runs backwards while slewing). Pure arithmetic on
 * a caller-provided monotonic time, so it is testable without waiting; the
 * caller serialises access. SNTP uses it now; the PTP servo will add a
 * frequency term.
 */
#pragma once

#include <stdint.h>

typedef struct {
    int64_t offset_us;     /* applied: UTC = mono + offset_us + (slew applied so far) */
    int64_t slew_left_us;  /* correction being slewed in, signed, as of slew_from_us */
    uint64_t slew_from_us; /* monotonic time the slew (re)started */
    uint32_t slew_ppm;     /* rate of the slew: microseconds per second of monotonic time */
} swclock_t;

/** UTC microseconds at monotonic time mono_us. */
int64_t swclock_read(const swclock_t *c, uint64_t mono_us);

/** Jump by delta_us now; a slew in progress is dropped (the new offset supersedes it). */
void swclock_step(swclock_t *c, uint64_t mono_us, int64_t delta_us);

/** Slew by delta_us starting now at ppm (> 0); replaces a slew in progress. */
void swclock_slew(swclock_t *c, uint64_t mono_us, int64_t delta_us, uint32_t ppm);

/** The part of the slew not applied yet at mono_us (0 when none). */
int64_t swclock_slew_left(const swclock_t *c, uint64_t mono_us);
