/*
 * Neighbour Discovery messages the runtime acts on itself (RFC 4861): router
 * advertisements (prefixes, router lifetime, M/O flags, RDNSS of RFC 8106),
 * neighbour solicitations from :: (another node's DAD) and neighbour
 * advertisements. A pure parser (and the header builder of what the runtime
 * sends itself): no state, no engine, unit-tested alone.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ND_MAX_PREFIXES 3
#define ND_MAX_RDNSS 3

#define ND_RA_FLAG_MANAGED 0x80 /* M: addresses by DHCPv6 */
#define ND_RA_FLAG_OTHER 0x40   /* O: other configuration (DNS) by DHCPv6 */
#define ND_PREFIX_FLAG_ONLINK 0x80
#define ND_PREFIX_FLAG_AUTO 0x40

typedef enum {
    ND_NONE = 0,
    ND_RA,      /* router advertisement */
    ND_NS_DAD,  /* neighbour solicitation from :: (duplicate address detection) */
    ND_NA,      /* neighbour advertisement */
} nd_kind_t;

typedef struct {
    uint8_t prefix[16];
    uint8_t len;
    uint8_t flags;          /* ND_PREFIX_FLAG_* */
    uint32_t valid_s;       /* 0xffffffff: infinite */
    uint32_t preferred_s;
} nd_prefix_t;

typedef struct {
    nd_kind_t kind;
    uint8_t src[16];        /* IPv6 source */
    uint8_t src_mac[6];     /* Ethernet source */
    uint8_t target[16];     /* NS / NA */
    /* RA */
    uint8_t ra_flags;       /* ND_RA_FLAG_* */
    uint16_t router_lifetime_s;
    uint8_t prefix_count;
    nd_prefix_t prefixes[ND_MAX_PREFIXES];
    uint8_t rdnss_count;
    uint32_t rdnss_lifetime_s;
    uint8_t rdnss[ND_MAX_RDNSS][16];
} nd_msg_t;

/**
 * Parse an Ethernet frame (checksums already verified by frame_check). Returns
 * true and fills *out for a well-formed RA (link-local source, hop limit 255),
 * NS from :: or NA; false for anything else. Options past the arrays' room
 * are skipped.
 */
bool nd_parse(const uint8_t *frame, size_t len, nd_msg_t *out);

/** The solicited-node multicast group of addr (RFC 4291 §2.7.1): ff02::1:ff + its low 24 bits. */
void ip6_solicited_node(const uint8_t addr[16], uint8_t out[16]);

/**
 * Ethernet (from mac to dst's multicast MAC, RFC 2464 §7) and IPv6 headers of a
 * frame to the multicast group dst carrying payload_len bytes after them, next
 * header next, hop limit hops. Returns the payload's offset (54).
 */
size_t ip6_mcast_frame_header(uint8_t *f, const uint8_t mac[6], const uint8_t src[16], const uint8_t dst[16],
                              uint8_t next, uint8_t hops, size_t payload_len);

/** RFC 5952 text of an IPv6 address into buf (>= 40 bytes); returns buf. */
char *ip6_fmt(const uint8_t a[16], char *buf);
