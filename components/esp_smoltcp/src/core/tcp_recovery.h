/*
 * Loss recovery help for smoltcp's TCP, at the frame level (smoltcp 0.13.1 has
 * no hook for it). Two defects made one lost segment cost a second or a storm:
 *
 * - A duplicate ACK, to smoltcp, must repeat the window too (RFC 5681's strict
 *   definition). Linux grows its window in the duplicate ACKs that follow a
 *   loss, so smoltcp saw none and every loss waited for the 1 s retransmission
 *   timeout. A pure ACK that repeats the last ACK number while data is
 *   outstanding gets the last (non-zero) window back; the next new ACK brings
 *   the grown one.
 * - smoltcp's fast retransmit is go-back-N: it resends the whole flight from
 *   the first unacknowledged byte. The peer holds most of it and answers each
 *   duplicate with another duplicate ACK; after the hole is filled, every third
 *   of those started the next go-back-N. 0.1 % loss on the 100 Mbit/s wire made
 *   a download send 4.4 times its payload at 19 Mbit/s (lwIP: 1.04 times, 94).
 *   The peer says what it holds (SACK, which smoltcp negotiates but does not
 *   use when sending): a retransmitted segment that lies inside a block the
 *   peer's last ACK SACKed is not put on the wire. Go-back-N so becomes
 *   selective repair of the holes. A duplicate ACK whose first SACK block is a
 *   D-SACK (RFC 2883: it reports a segment received twice) is the echo of a
 *   duplicate, not news of a loss; it is not handed to smoltcp, whose count of
 *   three would start the next go-back-N.
 *
 * A third, smaller one: smoltcp's Nagle holds a segment below the segment
 * size while any data is unacknowledged. A reply that ends in a partial
 * segment behind an odd number of full ones then waits for the peer's delayed
 * ACK: 44 ms for every such keep-alive response to a Linux client (esp_http_
 * server keeps Nagle on). Linux runs Minshall's variant: the partial segment
 * may go while no other small segment is unacknowledged. The table knows which
 * segments were small and when they are acknowledged; the runtime lifts
 * smoltcp's Nagle on a socket while none of its flow is in flight.
 *
 * State per connection, learnt from the frames themselves: the end of the
 * highest segment sent, the last ACK and window received, the SACK blocks of
 * the last ACK, the peer's MSS and the small segment in flight. A small direct-mapped table, one slot per configured socket; a
 * collision only loses the memory of the evicted flow (a SYN sent resets it).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "frame_l4.h"

typedef struct {
    uint64_t rexmits_sacked;       /* retransmissions not sent: the peer had SACKed them */
    uint64_t dupack_windows_kept;  /* duplicate ACKs given the last window back */
    uint64_t dsack_acks_held;      /* duplicate ACKs reporting a duplicate (D-SACK), not handed over */
} tcp_recovery_counters_t;

/** Allocates the table (slots: one per socket); the counters start at 0. */
esp_err_t tcp_recovery_init(size_t slots);
/** What it has done since init. Core lock held. */
tcp_recovery_counters_t tcp_recovery_counters(void);
/** Frees the table. */
void tcp_recovery_deinit(void);
/**
 * A frame is about to leave for the wire (where: from tx_checksum_fill()). False for a retransmitted TCP segment the peer has
 * SACKed (not to be sent: the engine takes it as sent). Records the segment. Core lock held.
 */
bool tcp_recovery_tx_needed(const uint8_t *frame, const frame_l4_t *where);
/**
 * A received frame (where: from frame_check_l4()), before the engine sees it: records its ACK, window and SACK blocks, and
 * gives a duplicate ACK whose window grew the last window back. False for a duplicate ACK that
 * reports a duplicate segment (D-SACK): the engine must not count it. Core lock held.
 */
bool tcp_recovery_admit_rx(uint8_t *frame, const frame_l4_t *where);

/** A connection's 4-tuple: addresses (addr_len bytes, network order) and ports (host order). */
typedef struct {
    const uint8_t *local, *remote;
    size_t addr_len;
    uint16_t local_port, remote_port;
} tcp_flow_id_t;

/**
 * Minshall's Nagle: 1 if a segment below the flow's segment size is sent and not yet
 * acknowledged, 0 if not (a partial segment may leave now), -1 if the flow or the peer's MSS is
 * not known here (keep Nagle). owner (the caller's handle) is reported by
 * tcp_recovery_nagle_changed() when the answer changes. Core lock held.
 */
int tcp_recovery_small_in_flight(const tcp_flow_id_t *id, int owner);
/** An owner whose small_in_flight answer changed since it asked, or -1 when none is left. */
int tcp_recovery_nagle_changed(void);
