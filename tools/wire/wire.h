/*
 * wire — a seeded userspace Ethernet "wire" for the host test bed.
 *
 * Forwards frames between two endpoints (TAP devices or AF_PACKET on any
 * interface) in both directions and, per direction, delays, jitters, drops,
 * reorders, duplicates and corrupts them from a seeded PRNG, with a bounded
 * queue and a link down/up control. See README.md beside this file.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_DIRS 2 /* 0 = "ab" (endpoint A -> B), 1 = "ba" */

/* Per-direction impairments. Percentages are 0..100 (fractions allowed). */
typedef struct {
    uint32_t delay_us;        /* fixed one-way delay */
    uint32_t jitter_us;       /* + uniform [-jitter, +jitter], clamped at 0; order kept */
    double loss_pct;          /* frame dropped */
    double reorder_pct;       /* frame held back until `reorder_gap` later frames went out */
    uint32_t reorder_gap;     /* frames that overtake a reordered one (default 1) */
    uint32_t reorder_hold_us; /* a held frame goes out after this even if nothing overtakes */
    double dup_pct;           /* frame sent twice */
    double corrupt_pct;       /* one byte of the IP datagram XORed with a non-zero value */
    uint32_t queue_frames;    /* bound of the delay line, frames */
    uint32_t queue_bytes;     /* bound of the delay line, bytes */
    bool down;                /* link down: frames arriving (and queued) are dropped */
} wire_dir_cfg_t;

typedef struct {
    uint64_t rx_frames, rx_bytes;      /* read from the ingress endpoint */
    uint64_t tx_frames, tx_bytes;      /* written to the egress endpoint (duplicates included) */
    uint64_t lost;                     /* dropped by loss_pct */
    uint64_t duplicated;               /* frames picked for a second copy */
    uint64_t corrupted;                /* frames with a byte flipped */
    uint64_t corrupt_skipped;          /* picked for corruption but not IP: left intact */
    uint64_t reordered;                /* frames held back */
    uint64_t down_drops;               /* arrived or were queued while the link was down */
    uint64_t queue_drops;              /* copies dropped: delay line full (frames or bytes) */
    uint64_t tx_errors;                /* egress write failed */
    uint64_t oversize;                 /* ingress frame larger than the frame buffer */
    uint32_t queue_high_water;         /* frames */
    uint32_t queue_bytes_high_water;
} wire_dir_stats_t;
