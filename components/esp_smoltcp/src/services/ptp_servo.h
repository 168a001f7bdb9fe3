/*
 * The PTP clock and its PI servo. Pure arithmetic on caller-given times
 * (testable without waiting); the caller serialises access.
 *
 * ptp_clock_t maps a free-running local clock (the tap's stamp clock: the
 * os monotonic clock, or a MAC's PHC) to UTC nanoseconds with an offset and
 * a frequency adjustment: utc = base_utc + elapsed * (1 + freq_ppb * 1e-9).
 *
 * ptp_servo_t is linuxptp's PI servo (pi.c): the first two samples estimate
 * the frequency error, then one step (when the offset exceeds the first
 * step threshold), then proportional + integral frequency control; an
 * offset beyond the step threshold later unlocks it and it starts over.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    int64_t base_utc_ns;   /* UTC at base_local_ns */
    int64_t base_local_ns;
    int32_t freq_ppb;      /* + runs fast */
} ptp_clock_t;

/** UTC ns at local_ns. */
int64_t ptp_clock_read(const ptp_clock_t *c, int64_t local_ns);
/** Add delta_ns to the clock from now on. */
void ptp_clock_step(ptp_clock_t *c, int64_t local_ns, int64_t delta_ns);
/** Change the frequency adjustment at local_ns (continuous: no jump). */
void ptp_clock_set_freq(ptp_clock_t *c, int64_t local_ns, int32_t ppb);

typedef enum {
    PTP_SERVO_UNLOCKED = 0, /* collecting: no correction */
    PTP_SERVO_JUMP,         /* step the clock by -offset and set the frequency */
    PTP_SERVO_LOCKED,       /* set the frequency */
} ptp_servo_state_t;

typedef struct {
    float kp, ki;         /* per-sample gains; 0: from the sync interval (ptp4l's software defaults) */
    float max_ppb;
    int64_t first_step_threshold_ns, step_threshold_ns;
    /* state */
    float drift;          /* integral term, ppb */
    int count;
    bool first_update;     /* no step done since init (the first step threshold applies) */
    int64_t offset0, local0;
} ptp_servo_t;

void ptp_servo_init(ptp_servo_t *s, float kp, float ki, float max_ppb, int64_t first_step_ns, int64_t step_ns);
/** Forget the samples (a new master); the drift estimate is kept. */
void ptp_servo_reset(ptp_servo_t *s);
/**
 * Feed one offset (ours - master, ns) measured at local_ns with the sync
 * interval 2^log_interval s. *ppb is the frequency error to remove (set the
 * clock's frequency to -*ppb); for JUMP also step by -offset.
 */
ptp_servo_state_t ptp_servo_sample(ptp_servo_t *s, int64_t offset_ns, int64_t local_ns, int8_t log_interval,
                                   float *ppb);
