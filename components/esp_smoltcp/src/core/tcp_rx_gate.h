/*
 * TCP-level looks at received frames before the engine sees them, for what
 * smoltcp does not tell the runtime:
 *
 * - Backlog overflow as Linux does it: a SYN for a listener whose backlog
 *   sockets are all taken (handshaking or waiting for accept) is dropped, so
 *   the client retransmits it and connects once accept() frees a slot.
 *   smoltcp itself would answer it with RST (no socket in LISTEN), which the
 *   client sees as ECONNREFUSED.
 * - A SYN (no ACK) whose 4-tuple is an existing connection's is dropped.
 *   smoltcp gives a segment to the first socket that accepts it, and a spare
 *   listener socket of the backlog accepts any SYN to its port: it would open
 *   a second connection on the same 4-tuple, answer SYN-ACK with a new ISN,
 *   and the exchange that follows resets the real one (a SYN flood sweeping
 *   source ports killed a running download this way). The connection's own
 *   socket would ignore the SYN (smoltcp wants an ACK in synchronized states;
 *   RFC 5961 §4.2's challenge ACK is not sent), so dropping it here is what
 *   smoltcp does with a correct demultiplexer. TIME-WAIT is left alone: a new
 *   SYN may legitimately reuse that 4-tuple.
 * - Why a connection ended: smoltcp closes a socket on a RST and on its
 *   timeout alike; noting RSTs lets the runtime report ECONNRESET for the
 *   one and ETIMEDOUT (keep-alive, user timeout) for the other.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame_l4.h"

/**
 * Should the engine see this frame (validated; where: from frame_check_l4())? False only for a TCP
 * SYN (no ACK) for an existing connection's 4-tuple or to a port whose
 * listener has no free backlog socket. Notes
 * RSTs for the socket they are addressed to. Call under the core lock.
 */
bool tcp_rx_gate_admit(const uint8_t *frame, const frame_l4_t *where);
