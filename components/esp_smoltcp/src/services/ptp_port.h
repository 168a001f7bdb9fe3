/*
 * The slave port's protocol engine, with no I/O and no clock of its own:
 * messages come in with their receive stamps (local clock ns) and the
 * monotonic time; it answers with Delay_Req messages to send and takes
 * their transmit stamps. The task in ptp.c moves frames; the unit tests
 * play a master against it directly.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_smoltcp_ptp.h"
#include "ptp_bmc.h"
#include "ptp_msg.h"
#include "ptp_servo.h"

#define PTP_DELAY_FILTER 8

typedef struct {
    esp_smoltcp_ptp_config_t cfg;
    ptp_port_id_t self;
    esp_smoltcp_ptp_state_t state;
    ptp_foreign_table_t foreign;
    bool have_parent;
    ptp_msg_t parent; /* the selected master's latest Announce */
    ptp_clock_t clock;
    ptp_servo_t servo;
    bool clock_set;
    int locked_samples;
    /* sync filter: the best (least offset, i.e. least delayed) sample of the group so far */
    uint8_t filt_count;
    int64_t filt_offset, filt_t1, filt_t2_local;
    /* the last Sync of a two-step master waiting for its Follow_Up */
    bool sync_pending;
    uint16_t sync_seq;
    int64_t sync_rx_local;
    int64_t sync_corr_ns;
    /* the last master -> slave pair the filter chose: t1 (master, UTC ns) and t2 (local ns) */
    bool have_t12;
    int64_t t1, t2_local;
    /* Delay_Req in flight */
    uint16_t dreq_seq;
    bool dreq_sent;    /* waiting for the transmit stamp */
    bool dreq_pending; /* waiting for the Delay_Resp */
    int64_t t3_local;
    int64_t t1_at_dreq, t2_local_at_dreq; /* the pair the delay sample uses */
    uint64_t next_dreq_us;
    int64_t delays[PTP_DELAY_FILTER];
    uint8_t delay_count, delay_next;
    bool have_delay;
    uint64_t rng;
    esp_smoltcp_ptp_status_t st;
} ptp_port_t;

void ptp_port_init(ptp_port_t *p, const esp_smoltcp_ptp_config_t *cfg, const uint8_t clock_id[8], uint64_t seed);

/** One received message (the PTP payload), stamped rx_local_ns, arriving at now_us. */
void ptp_port_rx(ptp_port_t *p, const uint8_t *msg, size_t len, int64_t rx_local_ns, uint64_t now_us);

/**
 * Timers: announce receipt timeouts and the Delay_Req schedule. When a
 * Delay_Req is due it is built into out and its length returned (send it,
 * then ptp_port_tx_done). *next_us: when to call again at the latest.
 * now_local_ns: the stamp clock now (a lost master's holdover starts there).
 */
size_t ptp_port_poll(ptp_port_t *p, uint64_t now_us, int64_t now_local_ns, uint8_t *out, size_t cap,
                     uint64_t *next_us);

/** The Delay_Req went out at tx_local_ns (ok), or could not be sent (!ok). */
void ptp_port_tx_done(ptp_port_t *p, bool ok, int64_t tx_local_ns);

/** The clock: UTC ns at local_ns. */
int64_t ptp_port_time(const ptp_port_t *p, int64_t local_ns);
