/*
 * Loopback without a second engine: the interface also holds 127.0.0.1/8,
 * and every frame the engine addresses to itself — ARP for one of its own
 * addresses, IPv4 to 127/8, anything to its own MAC — is put back into its
 * RX queue instead of onto the wire. smoltcp then talks to itself exactly as
 * over a wire (its own loopback example does the same with one interface).
 * Frames arriving from the wire with 127/8 addresses are martians (RFC 1122
 * §3.2.1.3) and dropped.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame_l4.h"

/** The loopback address the interface holds. */
extern const uint8_t loopback_addr[4];
#define LOOPBACK_PREFIX 8

/** Called from the engine's transmit path (where: from tx_checksum_fill()): true if the frame
 *  was looped back (or dropped, counted). */
bool loopback_divert(const uint8_t *frame, size_t len, const frame_l4_t *where);

/** Put a copy of a frame into the RX queue (multicast loop); counted like looped frames. */
void loopback_copy(const uint8_t *frame, size_t len, const frame_l4_t *where);

/** A frame from the wire that carries a 127/8 source or destination. */
bool loopback_is_martian(const uint8_t *frame, size_t len);
