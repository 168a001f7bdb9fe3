/*
 * Where an Ethernet frame's transport header is, found once: by frame_check_l4()
 * on receive and by tx_checksum_fill() on transmit, the two places that already
 * walk every header. The TCP looks that follow (SYN gate, loss recovery, the
 * reader's classification) read it instead of parsing the frame again.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define FRAME_L4_ICMP 1u
#define FRAME_L4_TCP 6u
#define FRAME_L4_UDP 17u
#define FRAME_L4_ICMPV6 58u

typedef struct {
    uint8_t proto;   /* FRAME_L4_*; 0: nothing to look at (not IP, an IPv4 fragment, another protocol) */
    uint8_t family;  /* 4 or 6 (with proto != 0) */
    uint8_t ip;      /* offset of the IP header: 14, or 18 behind one VLAN tag */
    uint16_t l4;     /* offset of the transport header (IPv6: behind any extension headers) */
    uint16_t l4_len; /* transport header and payload: the IP payload without Ethernet padding */
} frame_l4_t;

/* The answer for a transport header at l4 (len bytes with its payload) behind the IP header at ip. */
static inline frame_l4_t frame_l4_at(const uint8_t *frame, const uint8_t *ip, const uint8_t *l4, size_t len,
                                     uint8_t proto)
{
    return (frame_l4_t){.proto = proto, .family = (uint8_t)(ip[0] >> 4), .ip = (uint8_t)(ip - frame),
                        .l4 = (uint16_t)(l4 - frame), .l4_len = (uint16_t)len};
}
