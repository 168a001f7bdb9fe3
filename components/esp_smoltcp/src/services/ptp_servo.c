/* PTP clock and PI servo (ptp_servo.h). */
#include "ptp_servo.h"

#define NS_PER_S 1000000000LL

/* elapsed * ppb / 1e9 without overflow for elapsed up to ~100 days at 500 ppm */
static int64_t scaled(int64_t elapsed, int32_t ppb)
{
    return elapsed / 1000000 * ppb / 1000 + elapsed % 1000000 * ppb / NS_PER_S;
}

int64_t ptp_clock_read(const ptp_clock_t *c, int64_t local_ns)
{
    int64_t e = local_ns - c->base_local_ns;
    return c->base_utc_ns + e + scaled(e, c->freq_ppb);
}

/* Move the base to local_ns so a new rate applies from there. */
static void rebase(ptp_clock_t *c, int64_t local_ns)
{
    c->base_utc_ns = ptp_clock_read(c, local_ns);
    c->base_local_ns = local_ns;
}

void ptp_clock_step(ptp_clock_t *c, int64_t local_ns, int64_t delta_ns)
{
    rebase(c, local_ns);
    c->base_utc_ns += delta_ns;
}

void ptp_clock_set_freq(ptp_clock_t *c, int64_t local_ns, int32_t ppb)
{
    rebase(c, local_ns);
    c->freq_ppb = ppb;
}

/*
 * ptp4l's defaults for software timestamps (pi.c: kp = 0.7 T^-0.3, ki =
 * 0.3 T^0.4, capped at 0.7/T and 0.3/T) for T = 2^-7 .. 2^4 s, so that no
 * pow() is needed on the target.
 */
/* float, not double: the P4's FPU is single precision (double is ~5 KB of soft-float
 * code and slow); ppb is applied as an integer, and float keeps ~7 digits. */
static const struct {
    float kp, ki;
} gains[] = {
    {3.0010f, 0.0431f}, {2.4375f, 0.0568f}, {1.9799f, 0.0750f}, {1.6082f, 0.0990f}, {1.3062f, 0.1306f}, {1.0610f, 0.1723f},
    {0.8618f, 0.2274f}, {0.7000f, 0.3000f}, {0.3500f, 0.1500f}, {0.1750f, 0.0750f}, {0.0875f, 0.0375f}, {0.0437f, 0.0187f},
};

static void gains_for(const ptp_servo_t *s, int8_t log_interval, float *kp, float *ki)
{
    int i = log_interval < -7 ? 0 : log_interval > 4 ? 11 : log_interval + 7;
    *kp = s->kp > 0 ? s->kp : gains[i].kp;
    *ki = s->ki > 0 ? s->ki : gains[i].ki;
}

void ptp_servo_init(ptp_servo_t *s, float kp, float ki, float max_ppb, int64_t first_step_ns, int64_t step_ns)
{
    *s = (ptp_servo_t){.kp = kp, .ki = ki, .max_ppb = max_ppb, .first_step_threshold_ns = first_step_ns,
                       .step_threshold_ns = step_ns, .first_update = true};
}

void ptp_servo_reset(ptp_servo_t *s)
{
    s->count = 0;
}

static float clamp(float v, float max)
{
    return v > max ? max : v < -max ? -max : v;
}

static int64_t mag(int64_t v)
{
    return v < 0 ? -v : v;
}

ptp_servo_state_t ptp_servo_sample(ptp_servo_t *s, int64_t offset_ns, int64_t local_ns, int8_t log_interval,
                                   float *ppb)
{
    *ppb = s->drift;
    switch (s->count) {
    case 0:
        s->offset0 = offset_ns;
        s->local0 = local_ns;
        s->count = 1;
        return PTP_SERVO_UNLOCKED;
    case 1: {
        if (local_ns <= s->local0) {
            s->count = 0; /* samples out of order: start over */
            return PTP_SERVO_UNLOCKED;
        }
        /* The offset's drift between two samples is the frequency error (the offset itself cancels). */
        s->drift = clamp(s->drift + (float)(offset_ns - s->offset0) * 1e9f / (float)(local_ns - s->local0),
                         s->max_ppb);
        *ppb = s->drift;
        s->count = 2;
        bool step = (s->first_update && s->first_step_threshold_ns > 0 &&
                     mag(offset_ns) > s->first_step_threshold_ns) ||
                    (s->step_threshold_ns > 0 && mag(offset_ns) > s->step_threshold_ns);
        s->first_update = false;
        return step ? PTP_SERVO_JUMP : PTP_SERVO_LOCKED;
    }
    default: {
        if (s->step_threshold_ns > 0 && mag(offset_ns) > s->step_threshold_ns) {
            s->count = 0; /* lost: measure again, then step */
            return PTP_SERVO_UNLOCKED;
        }
        float kp, ki;
        gains_for(s, log_interval, &kp, &ki);
        float ki_term = ki * (float)offset_ns;
        float p = kp * (float)offset_ns + s->drift + ki_term;
        if (p > s->max_ppb || p < -s->max_ppb) {
            p = clamp(p, s->max_ppb); /* saturated: do not wind the integral up */
        } else {
            s->drift += ki_term;
        }
        *ppb = p;
        return PTP_SERVO_LOCKED;
    }
    }
}
