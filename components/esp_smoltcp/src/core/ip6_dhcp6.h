/*
 * Stateless DHCPv6 client (RFC 8415 §18.2.6): Information-Request to
 * ff02::1:2 port 547 from port 546 with an Option Request for DNS servers,
 * started when a router advertisement sets the O (or M) flag. Retransmits
 * per RFC 8415 §15 (INF_TIMEOUT 1 s doubling to INF_MAX_RT 3600 s) and asks
 * again after the Information Refresh Time. Runs in the poll task over a
 * glue UDP socket, which takes one of the max_sockets engine sockets from
 * the first request to the Reply. Core lock held for every call.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/** A router asked for DHCPv6 (O/M flag): start if not running. */
void dhcp6_request(uint64_t now_us);
/** Send / receive / retransmit. Returns µs until the next timer, or UINT64_MAX. */
uint64_t dhcp6_after_poll(uint64_t now_us);
/** Close the socket and forget (deinit). */
void dhcp6_stop(void);
/** DNS servers from the last Reply; returns the count (<= max). */
size_t dhcp6_dns_servers(uint8_t (*out)[16], size_t max);
