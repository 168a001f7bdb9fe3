/*
 * IPv6 autoconfiguration in C (smoltcp 0.13.1's own SLAAC spins, see
 * docs/architecture.md): router solicitation (RFC 4861 §6.3.7: up to 3, 4 s
 * apart, then silence), SLAAC addresses from Prefix Information options
 * (RFC 4862, EUI-64 interface identifier, lifetimes with the §5.5.3 two-hour
 * rule), duplicate address detection (one NS from ::, 1 s), the default route
 * from the router lifetime, and RDNSS servers (RFC 8106).
 *
 * Discipline: ip6_rx_snoop() runs inside esg_poll() (from the netdev RX
 * callback) and only records; everything that touches the engine runs in
 * ip6_after_poll(), in the poll task with the core lock held.
 *
 * This header, ip6_dhcp6.h and ip6_nd.h are the runtime's whole view of the
 * IPv6-only sources src/core/ip6_*.c; an IPv4-only build (Kconfig
 * ESP_SMOLTCP_IPV6=n) links ipv4_only/ip6_off.c in their place, which
 * implements every function here with nothing behind it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_smoltcp.h"

#define IP6_MAX_RDNSS 3

/** false in an IPv4-only build (ip6_off.c): public calls asking for IPv6 return ESP_ERR_NOT_SUPPORTED. */
bool ip6_supported(void);
/** Start router discovery (attach, core lock held or poll task not yet running). */
void ip6_start(uint64_t now_us);
/** Look at a received frame (inside esg_poll); records ND messages for ip6_after_poll. */
void ip6_rx_snoop(const uint8_t *frame, size_t len);
/** Act on recorded messages and timers. Returns µs until the next timer, or UINT64_MAX. */
uint64_t ip6_after_poll(uint64_t now_us);
/** Forget all state (deinit). */
void ip6_stop(void);
/**
 * The link came back up: report the multicast groups (MLDv2), probe the SLAAC addresses again
 * (DAD) and solicit routers (RFC 4861 §6.3.7); addresses keep their lifetimes.
 */
void ip6_link_up(uint64_t now_us);
/** Is a global (non-link-local) address assigned and past DAD? */
bool ip6_has_global(void);
/** Snapshot for esp_smoltcp_get_ip6_info (core lock held). */
void ip6_get_info(uint64_t now_us, esp_smoltcp_ip6_info_t *out);
/** RDNSS servers now valid, in advertised order; returns the count (<= max). */
size_t ip6_rdnss_servers(uint8_t (*out)[16], size_t max);
