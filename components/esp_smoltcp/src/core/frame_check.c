/*
 * Software RX validation (see frame_check.h). Every length is checked against
 * the bytes present before it is used, so a truncated or hostile frame can
 * only be rejected, never read past its end.
 */
#include "frame_check.h"

#include <string.h>

#define ETH_HEADER_LEN 14u
#define VLAN_TAG_LEN 4u
#define ETHERTYPE_IPV4 0x0800u
#define ETHERTYPE_IPV6 0x86DDu
#define ETHERTYPE_VLAN 0x8100u

#define IPV4_MIN_HEADER_LEN 20u
#define IPV4_MF 0x2000u
#define IPV4_FRAG_OFFSET 0x1FFFu
#define IPV6_HEADER_LEN 40u

#define IP_PROTO_ICMP 1u
#define IP_PROTO_TCP 6u
#define IP_PROTO_UDP 17u
#define IP_PROTO_ICMPV6 58u

#define TCP_MIN_HEADER_LEN 20u
#define UDP_HEADER_LEN 8u
#define ICMP_MIN_LEN 8u
#define ICMPV6_MIN_LEN 4u /* type, code, checksum (RFC 4443 section 2.1) */

/* A correct one's-complement checksum makes the whole sum all ones (RFC 1071). */
#define SUM_OK 0xFFFFu

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t fold32(uint64_t s)
{
    while (s >> 16) {
        s = (s & 0xFFFF) + (s >> 16);
    }
    return (uint32_t)s;
}

static bool host_is_little_endian(void)
{
    const uint16_t one = 1;
    uint8_t first;
    memcpy(&first, &one, 1);
    return first == 1;
}

/*
 * Native-order words of the machine's width (8 bytes on a 64-bit host, 4 on
 * the rv32 target) summed with their carries counted separately: a carry out
 * of the word is 2^(8*width), which is 1 in one's-complement arithmetic
 * modulo 0xFFFF, so sum + carries is the RFC 1071 sum up to the final fold
 * and byte swap (RFC 1071 section 2(B): byte-order independent). Three
 * instructions per word (load, add, add-carry) instead of a widening add per
 * 32-bit half.
 *
 * Alignment: a target without fast misaligned loads (rv32 GCC assumes none)
 * builds a memcpy load of unknown alignment from four byte loads. Frames put
 * the TCP/UDP header and payload at 2 mod 4, so an even start first takes
 * halfwords up to word alignment (pairing is unchanged: the offset from the
 * start stays even) and the loop then loads aligned words. An odd start keeps
 * the any-alignment loads.
 */
typedef uintptr_t sum_word_t;
#define SUM_BLOCK (4 * sizeof(sum_word_t))

/* Native words of p[0, n) (n a multiple of SUM_BLOCK) with their carries; inlined so
 * that the caller's alignment promise reaches the loads. */
static inline __attribute__((always_inline)) uint64_t sum_blocks(const uint8_t *p, size_t n)
{
    sum_word_t sum = 0, carries = 0;
    for (const uint8_t *end = p + n; p < end; p += SUM_BLOCK) {
        /* separate scalars: an array here makes -Os copy the block to the stack first */
        sum_word_t w0, w1, w2, w3;
        memcpy(&w0, p, sizeof(w0));
        memcpy(&w1, p + sizeof(w0), sizeof(w1));
        memcpy(&w2, p + 2 * sizeof(w0), sizeof(w2));
        memcpy(&w3, p + 3 * sizeof(w0), sizeof(w3));
        sum += w0;
        carries += sum < w0;
        sum += w1;
        carries += sum < w1;
        sum += w2;
        carries += sum < w2;
        sum += w3;
        carries += sum < w3;
    }
    /* Fold the word sum to 32 bits (a 64-bit word's halves), then add the carries. */
    uint64_t acc = (uint64_t)carries;
    for (size_t k = 0; k < sizeof(sum_word_t); k += 4) {
        acc += (uint32_t)((uint64_t)sum >> (8 * k));
    }
    return acc;
}

uint16_t inet_sum16(const void *data, size_t len, uint32_t initial)
{
    const uint8_t *p = data;
    uint64_t acc = 0;

    if (((uintptr_t)p & 1) == 0) {
        while (((uintptr_t)p & (sizeof(sum_word_t) - 1)) != 0 && len >= 2) {
            uint16_t h;
            memcpy(&h, p, sizeof(h));
            acc += h;
            p += 2;
            len -= 2;
        }
    }
    size_t blocks = len & ~(SUM_BLOCK - 1);
    if (((uintptr_t)p & (sizeof(sum_word_t) - 1)) == 0) {
        acc += sum_blocks(__builtin_assume_aligned(p, sizeof(sum_word_t)), blocks);
    } else {
        acc += sum_blocks(p, blocks);
    }
    p += blocks;
    len -= blocks;
    while (len >= 4) {
        uint32_t w;
        memcpy(&w, p, sizeof(w));
        acc += w;
        p += 4;
        len -= 4;
    }
    if (len >= 2) {
        uint16_t h;
        memcpy(&h, p, sizeof(h));
        acc += h;
        p += 2;
        len -= 2;
    }
    if (len) {
        /* The odd last byte is the high half of a zero-padded pair, in native order. */
        uint8_t pad[2] = {p[0], 0};
        uint16_t h;
        memcpy(&h, pad, sizeof(h));
        acc += h;
    }

    uint32_t s = fold32(acc);
    if (host_is_little_endian()) {
        s = ((s & 0xFF) << 8) | (s >> 8);
    }
    return (uint16_t)fold32((uint64_t)s + initial);
}

/* TCP or UDP or ICMPv6 body check: sum of pseudo-header partial and the segment. */
static bool sum_ok(const uint8_t *l4, size_t len, uint32_t pseudo)
{
    return inet_sum16(l4, len, pseudo) == SUM_OK;
}

/*
 * Checks shared by both IP versions. pseudo is the pseudo-header partial sum
 * without the length, which for UDP comes from the UDP header.
 */
static frame_check_result_t check_tcp(const uint8_t *l4, size_t len, bool verify, uint32_t pseudo)
{
    if (len < TCP_MIN_HEADER_LEN) {
        return FRAME_BAD_L4_HEADER;
    }
    size_t data_offset = (size_t)(l4[12] >> 4) * 4;
    if (data_offset < TCP_MIN_HEADER_LEN || data_offset > len) {
        return FRAME_BAD_L4_HEADER;
    }
    if (verify && !sum_ok(l4, len, pseudo + (uint32_t)len)) {
        return FRAME_BAD_L4_CHECKSUM;
    }
    return FRAME_OK;
}

static frame_check_result_t check_udp(const uint8_t *l4, size_t len, bool verify, uint32_t pseudo,
                                      bool zero_sum_allowed)
{
    if (len < UDP_HEADER_LEN) {
        return FRAME_BAD_L4_HEADER;
    }
    /* Tolerant: the UDP length may be shorter than the IP payload (trailing bytes ignored). */
    size_t udp_len = rd16(l4 + 4);
    if (udp_len < UDP_HEADER_LEN || udp_len > len) {
        return FRAME_BAD_L4_HEADER;
    }
    if (rd16(l4 + 6) == 0) {
        /* RFC 768: zero means "no checksum" on IPv4; RFC 8200 section 8.1 forbids it on IPv6. */
        return zero_sum_allowed ? FRAME_OK : FRAME_BAD_L4_CHECKSUM;
    }
    if (verify && !sum_ok(l4, udp_len, pseudo + (uint32_t)udp_len)) {
        return FRAME_BAD_L4_CHECKSUM;
    }
    return FRAME_OK;
}

static frame_check_result_t check_ipv4(const uint8_t *frame, const uint8_t *ip, size_t avail, bool verify_l4,
                                       frame_l4_t *where)
{
    if (avail < IPV4_MIN_HEADER_LEN || (ip[0] >> 4) != 4) {
        return FRAME_BAD_IP_HEADER;
    }
    size_t ihl = (size_t)(ip[0] & 0x0F) * 4;
    size_t total = rd16(ip + 2);
    /* Bytes after total length are Ethernet padding, so only "too short" is an error. */
    if (ihl < IPV4_MIN_HEADER_LEN || ihl > avail || total < ihl || total > avail) {
        return FRAME_BAD_IP_HEADER;
    }
    if (inet_sum16(ip, ihl, 0) != SUM_OK) {
        return FRAME_BAD_IP_CHECKSUM;
    }
    if (rd16(ip + 6) & (IPV4_MF | IPV4_FRAG_OFFSET)) {
        /* A fragment: the L4 header and checksum cover the reassembled datagram. */
        return FRAME_OK;
    }

    const uint8_t *l4 = ip + ihl;
    size_t l4_len = total - ihl;
    uint8_t proto = ip[9];
    /* RFC 793 / RFC 768 pseudo header: addresses, protocol; the length is added per protocol. */
    uint32_t pseudo = inet_sum16(ip + 12, 8, proto);

    frame_check_result_t r;
    switch (proto) {
    case IP_PROTO_TCP:
        r = check_tcp(l4, l4_len, verify_l4, pseudo);
        break;
    case IP_PROTO_UDP:
        r = check_udp(l4, l4_len, verify_l4, pseudo, true);
        break;
    case IP_PROTO_ICMP:
        /* RFC 792: the ICMP checksum has no pseudo header. */
        r = l4_len < ICMP_MIN_LEN           ? FRAME_BAD_L4_HEADER
            : verify_l4 && !sum_ok(l4, l4_len, 0) ? FRAME_BAD_L4_CHECKSUM
                                                : FRAME_OK;
        break;
    default:
        return FRAME_OK;
    }
    if (r == FRAME_OK) {
        *where = frame_l4_at(frame, ip, l4, l4_len, proto);
    }
    return r;
}

static frame_check_result_t check_ipv6(const uint8_t *frame, const uint8_t *ip, size_t avail, bool verify_l4,
                                       frame_l4_t *where)
{
    if (avail < IPV6_HEADER_LEN || (ip[0] >> 4) != 6) {
        return FRAME_BAD_IP_HEADER;
    }
    size_t payload = rd16(ip + 4);
    if (payload > avail - IPV6_HEADER_LEN) {
        return FRAME_BAD_IP_HEADER;
    }
    const uint8_t *l4 = ip + IPV6_HEADER_LEN;
    uint8_t next = ip[6];
    /* Walk hop-by-hop, routing and destination options (RFC 8200 §4) to the upper layer, so
     * an ICMPv6 behind them (MLD reports carry a hop-by-hop header) is verified too. */
    while (next == 0 || next == 43 || next == 60) {
        if (payload < 8) {
            return FRAME_BAD_IP_HEADER;
        }
        size_t ext = ((size_t)l4[1] + 1) * 8;
        if (ext > payload) {
            return FRAME_BAD_IP_HEADER;
        }
        next = l4[0];
        l4 += ext;
        payload -= ext;
    }
    /* RFC 8200 section 8.1: addresses, upper-layer length, next header. */
    uint32_t pseudo = inet_sum16(ip + 8, 32, next);

    /* Fragments and other headers pass: smoltcp handles them itself. */
    frame_check_result_t r;
    switch (next) {
    case IP_PROTO_TCP:
        r = check_tcp(l4, payload, verify_l4, pseudo);
        break;
    case IP_PROTO_UDP:
        r = check_udp(l4, payload, verify_l4, pseudo, false);
        break;
    case IP_PROTO_ICMPV6:
        r = payload < ICMPV6_MIN_LEN                                          ? FRAME_BAD_L4_HEADER
            : verify_l4 && !sum_ok(l4, payload, pseudo + (uint32_t)payload) ? FRAME_BAD_L4_CHECKSUM
                                                                            : FRAME_OK;
        break;
    default:
        return FRAME_OK;
    }
    if (r == FRAME_OK) {
        *where = frame_l4_at(frame, ip, l4, payload, next);
    }
    return r;
}

frame_check_result_t frame_check(const uint8_t *frame, size_t len, bool verify_l4)
{
    frame_l4_t where;
    return frame_check_l4(frame, len, verify_l4, &where);
}

frame_check_result_t frame_check_l4(const uint8_t *frame, size_t len, bool verify_l4, frame_l4_t *where)
{
    *where = (frame_l4_t){0};
    if (!frame || len < ETH_HEADER_LEN) {
        return FRAME_BAD_RUNT;
    }
    size_t off = ETH_HEADER_LEN;
    uint16_t type = rd16(frame + 12);
    if (type == ETHERTYPE_VLAN) {
        /* One 802.1Q tag: TCI, then the real EtherType. */
        if (len < ETH_HEADER_LEN + VLAN_TAG_LEN) {
            return FRAME_BAD_RUNT;
        }
        type = rd16(frame + 16);
        off += VLAN_TAG_LEN;
    }
    /* Tagged frames are checked but not located: the engine takes untagged ones only. */
    frame_l4_t unused;
    frame_l4_t *at = off == ETH_HEADER_LEN ? where : &unused;
    switch (type) {
    case ETHERTYPE_IPV4:
        return check_ipv4(frame, frame + off, len - off, verify_l4, at);
    case ETHERTYPE_IPV6:
        return check_ipv6(frame, frame + off, len - off, verify_l4, at);
    default:
        return FRAME_OK;
    }
}

const char *frame_check_result_name(frame_check_result_t r)
{
    static const char *const names[FRAME_CHECK_REASONS] = {
        [FRAME_OK] = "ok",
        [FRAME_BAD_RUNT] = "runt",
        [FRAME_BAD_IP_HEADER] = "bad_ip_header",
        [FRAME_BAD_IP_CHECKSUM] = "bad_ip_checksum",
        [FRAME_BAD_L4_HEADER] = "bad_l4_header",
        [FRAME_BAD_L4_CHECKSUM] = "bad_l4_checksum",
    };
    if ((unsigned)r >= FRAME_CHECK_REASONS) {
        return "unknown";
    }
    return names[r];
}
