/*
 * Software RX validation of Ethernet frames before they reach the engine:
 * lengths of every header, the IPv4 header checksum, and the TCP/UDP/ICMP/
 * ICMPv6 checksums (RFC 1071 one's-complement sum, computed word at a time).
 * Frames that pass are handed to smoltcp with its own RX checksum checks
 * switched off, so each byte is summed once and every rejection is counted
 * by reason. A MAC that verifies checksums in hardware skips the L4 sums.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame_l4.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    FRAME_OK = 0,
    FRAME_BAD_RUNT,          /* shorter than an Ethernet header */
    FRAME_BAD_IP_HEADER,     /* truncated IP header, bad version/IHL/total length */
    FRAME_BAD_IP_CHECKSUM,   /* IPv4 header checksum wrong */
    FRAME_BAD_L4_HEADER,     /* TCP/UDP/ICMP header truncated or inconsistent */
    FRAME_BAD_L4_CHECKSUM,   /* TCP/UDP/ICMP/ICMPv6 checksum wrong */
    FRAME_CHECK_REASONS      /* number of values, for counter arrays */
} frame_check_result_t;

/**
 * Validate one frame. Non-IP EtherTypes (ARP and others) and IP protocols
 * other than TCP/UDP/ICMP/ICMPv6 pass with only the checks that apply.
 * IPv4 fragments pass the L4 check (it needs the whole datagram).
 * UDP over IPv4 with checksum 0 passes (RFC 768: no checksum).
 * @param verify_l4 false when the MAC already verified L4 checksums.
 */
frame_check_result_t frame_check(const uint8_t *frame, size_t len, bool verify_l4);

/**
 * frame_check(), and where the transport header of a frame that passed is:
 * where->proto is set for a TCP, UDP, ICMP or ICMPv6 header whose lengths were
 * checked (a TCP header's data offset too), 0 otherwise.
 */
frame_check_result_t frame_check_l4(const uint8_t *frame, size_t len, bool verify_l4, frame_l4_t *where);

/** Name of a result for logs and stats ("ok", "runt", ...). */
const char *frame_check_result_name(frame_check_result_t r);

/**
 * RFC 1071 sum of len bytes, folded to 16 bits, not complemented, added to
 * initial (a partial sum, e.g. the pseudo-header). Any alignment, any length.
 */
uint16_t inet_sum16(const void *data, size_t len, uint32_t initial);

#ifdef __cplusplus
}
#endif
