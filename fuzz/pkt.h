/*
 * Building and patching Ethernet frames for the fuzzers and the seed
 * generator: headers with correct lengths and checksums (RFC 791, 793, 768,
 * 792, 8200, 4443), so that mutated fields get past the checks that would
 * otherwise reject almost every input before the interesting code.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKT_MAX 1514u

#define ETH_P_IPV4 0x0800u
#define ETH_P_ARP 0x0806u
#define ETH_P_IPV6 0x86DDu
#define ETH_P_VLAN 0x8100u

#define PROTO_ICMP 1u
#define PROTO_TCP 6u
#define PROTO_UDP 17u
#define PROTO_ICMPV6 58u

typedef struct {
    bool v6;
    uint8_t src[16], dst[16]; /* 4 bytes used for IPv4 */
} pkt_ips_t;

static inline uint16_t pkt_rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t pkt_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void pkt_wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void pkt_wr32(uint8_t *p, uint32_t v)
{
    pkt_wr16(p, (uint16_t)(v >> 16));
    pkt_wr16(p + 2, (uint16_t)v);
}

/** Ethernet header; returns 14. */
size_t pkt_eth(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint16_t type);

/**
 * IP header + L4 payload (already at f + 14 + ip header length, l4_len bytes)
 * with the IPv4 header checksum and the TCP/UDP/ICMP/ICMPv6 checksum filled in.
 * Returns the whole frame length. ttl 0 means 64.
 */
size_t pkt_ip_finish(uint8_t *f, const pkt_ips_t *ips, uint8_t proto, size_t l4_len, uint8_t ttl);

/** Offset of the L4 header for an IP frame built with pkt_ip_finish (no options). */
static inline size_t pkt_l4_off(bool v6)
{
    return 14u + (v6 ? 40u : 20u);
}

/**
 * Recompute what a mutated frame has got wrong: the IPv4 header checksum and
 * the TCP/UDP/ICMP/ICMPv6 checksum over the bytes the IP header claims (never
 * past len). fix_lengths also sets the IPv4 total length / IPv6 payload
 * length and the UDP length to the bytes present. One VLAN tag is followed.
 */
void pkt_fixup(uint8_t *f, size_t len, bool fix_lengths);

/** RFC 1071 checksum of a buffer with an initial partial sum. */
uint16_t pkt_csum(const void *data, size_t len, uint32_t initial);
