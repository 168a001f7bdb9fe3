/*
 * Transmit checksums computed by the runtime instead of smoltcp: at the
 * size-optimised level the target ships, smoltcp's Internet checksum is a
 * byte-wise loop that costs most of the per-byte CPU; inet_sum16() sums
 * machine words. The engine leaves the fields for us (checksum capability
 * "none" on TX) and the transmit path fills them before the frame reaches
 * the driver or the loopback.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "frame_l4.h"

/**
 * Fill the IPv4 header checksum and the TCP / UDP / ICMP / ICMPv6 checksum of
 * one outgoing Ethernet frame in place (RFC 1071; pseudo headers per RFC 793,
 * RFC 768, RFC 8200 §8.1). Frames of other types, and fragments' L4, are left
 * as they are. Never reads past len. where says which transport header was
 * filled (proto 0: none); its length was checked up to the checksum field.
 */
void tx_checksum_fill(uint8_t *frame, size_t len, frame_l4_t *where);
