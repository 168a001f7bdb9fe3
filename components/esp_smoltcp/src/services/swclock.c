/* Software clock (swclock.h). */
#include "swclock.h"

/* Slew applied between slew_from_us and mono_us, signed, never more than slew_left_us. */
static int64_t slew_applied(const swclock_t *c, uint64_t mono_us)
{
    if (c->slew_left_us == 0 || mono_us <= c->slew_from_us) {
        return 0;
    }
    uint64_t can = (mono_us - c->slew_from_us) * c->slew_ppm / 1000000u;
    uint64_t mag = c->slew_left_us < 0 ? (uint64_t)(-c->slew_left_us) : (uint64_t)c->slew_left_us;
    if (can > mag) {
        can = mag;
    }
    return c->slew_left_us < 0 ? -(int64_t)can : (int64_t)can;
}

/* Move the applied part of the slew into the offset, so the slew restarts at mono_us. */
static void fold(swclock_t *c, uint64_t mono_us)
{
    int64_t a = slew_applied(c, mono_us);
    c->offset_us += a;
    c->slew_left_us -= a;
    c->slew_from_us = mono_us;
}

int64_t swclock_read(const swclock_t *c, uint64_t mono_us)
{
    return (int64_t)mono_us + c->offset_us + slew_applied(c, mono_us);
}

void swclock_step(swclock_t *c, uint64_t mono_us, int64_t delta_us)
{
    fold(c, mono_us);
    c->offset_us += delta_us;
    c->slew_left_us = 0;
}

void swclock_slew(swclock_t *c, uint64_t mono_us, int64_t delta_us, uint32_t ppm)
{
    fold(c, mono_us);
    c->slew_left_us = delta_us;
    c->slew_ppm = ppm ? ppm : 1;
}

int64_t swclock_slew_left(const swclock_t *c, uint64_t mono_us)
{
    return c->slew_left_us - slew_applied(c, mono_us);
}
