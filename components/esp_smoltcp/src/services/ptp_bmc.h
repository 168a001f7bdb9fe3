/*
 * Best master selection for a slave-only ordinary clock: the foreign master
 * table (clause 9.3.2.4.5: a master is qualified after FOREIGN_MASTER_THRESHOLD
 * Announce messages within FOREIGN_MASTER_TIME_WINDOW announce intervals),
 * announce receipt timeouts, and the dataset comparison of clause 9.3.4
 * (Figures 27/28) reduced to what a one-port slave sees. Pure functions on
 * caller-given monotonic microseconds.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "ptp_msg.h"

#define PTP_FOREIGN_MAX 4
#define PTP_FOREIGN_THRESHOLD 2
#define PTP_FOREIGN_WINDOW 4 /* announce intervals */

typedef struct {
    bool used;
    ptp_port_id_t port;       /* the sender */
    ptp_msg_t announce;       /* its latest Announce */
    uint64_t rx_us[PTP_FOREIGN_THRESHOLD]; /* arrival of its last Announces, newest first */
    uint8_t count;            /* Announces remembered (<= PTP_FOREIGN_THRESHOLD) */
} ptp_foreign_t;

typedef struct {
    ptp_foreign_t fm[PTP_FOREIGN_MAX];
} ptp_foreign_table_t;

/**
 * Dataset comparison of two Announces (clause 9.3.4): < 0 when a is the
 * better master, > 0 when b is, 0 when they are the same path.
 * Different grandmasters: priority1, clockClass, clockAccuracy,
 * offsetScaledLogVariance, priority2, grandmasterIdentity (lower wins).
 * Same grandmaster: fewer stepsRemoved, then the sender's portIdentity.
 */
int ptp_bmc_compare(const ptp_msg_t *a, const ptp_msg_t *b);

/** Record an Announce (stepsRemoved < 255 checked by the caller). Index, or -1 when the table is full. */
int ptp_foreign_update(ptp_foreign_table_t *t, const ptp_msg_t *announce, uint64_t now_us);

/** Drop masters silent for more than timeout announce intervals (each at its own interval). Number dropped. */
int ptp_foreign_expire(ptp_foreign_table_t *t, uint64_t now_us, uint8_t timeout);

/** Qualified: PTP_FOREIGN_THRESHOLD Announces within PTP_FOREIGN_WINDOW intervals of now. */
bool ptp_foreign_qualified(const ptp_foreign_t *f, uint64_t now_us);

/** The best qualified master's index, -1 when none. */
int ptp_foreign_best(const ptp_foreign_table_t *t, uint64_t now_us);

/** An announce interval (2^log s, log clamped to -7..7) in microseconds. */
uint64_t ptp_interval_us(int8_t log_interval);
