/*
 * TCP-level looks at received frames before the engine sees them, for what
 * smoltcp does not tell the runtime:
 *
 * - Backlog overflow as Linux does it: a SYN for a listener whose backlog
 *   sockets are all taken (handshaking or waiting for accept) is dropped, so
 *   the client retransmits it and connects once accept() frees a slot.
 *   smoltcp itself would answer it with RST (no socket in LISTEN), which the
 *   client sees as ECONNREFUSED.
 * - Why a connection ended: smoltcp closes a socket on a RST and on its
 *   timeout alike; noting RSTs lets the runtime report ECONNRESET for the
 *   one and ETIMEDOUT (keep-alive, user timeout) for the other.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * Should the engine see this (already validated) frame? False only for a TCP
 * SYN (no ACK) to a port whose listener has no free backlog socket. Notes
 * RSTs for the socket they are addressed to. Call under the core lock.
 */
bool tcp_rx_gate_admit(const uint8_t *frame, size_t len);
