#include "pkt.h"

#include <string.h>

/* Plain byte-at-a-time RFC 1071 sum: deliberately not the runtime's
 * inet_sum16, so a bug there cannot hide behind the same bug here. */
static uint32_t sum_bytes(const uint8_t *p, size_t len, uint32_t acc)
{
    for (size_t i = 0; i + 1 < len; i += 2) {
        acc += (uint32_t)(p[i] << 8 | p[i + 1]);
    }
    if (len & 1) {
        acc += (uint32_t)p[len - 1] << 8;
    }
    return acc;
}

static uint16_t fold(uint32_t acc)
{
    while (acc >> 16) {
        acc = (acc & 0xFFFF) + (acc >> 16);
    }
    return (uint16_t)acc;
}

uint16_t pkt_csum(const void *data, size_t len, uint32_t initial)
{
    return (uint16_t)~fold(sum_bytes(data, len, initial));
}

size_t pkt_eth(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    pkt_wr16(f + 12, type);
    return 14;
}

/* Checksum field offset inside the L4 header, or -1. */
static int csum_off(uint8_t proto)
{
    switch (proto) {
    case PROTO_TCP: return 16;
    case PROTO_UDP: return 6;
    case PROTO_ICMP:
    case PROTO_ICMPV6: return 2;
    default: return -1;
    }
}

static uint32_t pseudo_sum(bool v6, const uint8_t *src, const uint8_t *dst, uint8_t proto, size_t l4_len)
{
    size_t alen = v6 ? 16 : 4;
    uint32_t acc = sum_bytes(src, alen, 0);
    acc = sum_bytes(dst, alen, acc);
    return acc + proto + (uint32_t)(l4_len & 0xFFFF) + (uint32_t)(l4_len >> 16);
}

static void l4_checksum(uint8_t *l4, size_t l4_len, bool v6, const uint8_t *src, const uint8_t *dst, uint8_t proto)
{
    int off = csum_off(proto);
    if (off < 0 || l4_len < (size_t)off + 2) {
        return;
    }
    l4[off] = l4[off + 1] = 0;
    uint32_t init = proto == PROTO_ICMP ? 0 : pseudo_sum(v6, src, dst, proto, l4_len);
    uint16_t c = pkt_csum(l4, l4_len, init);
    if (proto == PROTO_UDP && c == 0) {
        c = 0xFFFF; /* RFC 768: a computed zero is sent as all ones */
    }
    pkt_wr16(l4 + off, c);
}

size_t pkt_ip_finish(uint8_t *f, const pkt_ips_t *ips, uint8_t proto, size_t l4_len, uint8_t ttl)
{
    uint8_t *ip = f + 14;
    if (ttl == 0) {
        ttl = 64;
    }
    if (ips->v6) {
        pkt_wr16(f + 12, ETH_P_IPV6);
        ip[0] = 0x60;
        ip[1] = ip[2] = ip[3] = 0;
        pkt_wr16(ip + 4, (uint16_t)l4_len);
        ip[6] = proto;
        ip[7] = ttl;
        memcpy(ip + 8, ips->src, 16);
        memcpy(ip + 24, ips->dst, 16);
        l4_checksum(ip + 40, l4_len, true, ips->src, ips->dst, proto);
        return 14 + 40 + l4_len;
    }
    pkt_wr16(f + 12, ETH_P_IPV4);
    ip[0] = 0x45;
    ip[1] = 0;
    pkt_wr16(ip + 2, (uint16_t)(20 + l4_len));
    pkt_wr16(ip + 4, 0x1234);
    pkt_wr16(ip + 6, 0x4000); /* DF */
    ip[8] = ttl;
    ip[9] = proto;
    ip[10] = ip[11] = 0;
    memcpy(ip + 12, ips->src, 4);
    memcpy(ip + 16, ips->dst, 4);
    pkt_wr16(ip + 10, pkt_csum(ip, 20, 0));
    l4_checksum(ip + 20, l4_len, false, ips->src, ips->dst, proto);
    return 14 + 20 + l4_len;
}

void pkt_fixup(uint8_t *f, size_t len, bool fix_lengths)
{
    if (len < 14) {
        return;
    }
    size_t off = 14;
    uint16_t type = pkt_rd16(f + 12);
    if (type == ETH_P_VLAN && len >= 18) {
        type = pkt_rd16(f + 16);
        off = 18;
    }
    uint8_t *ip = f + off;
    size_t avail = len - off;
    if (type == ETH_P_IPV4 && avail >= 20 && (ip[0] >> 4) == 4) {
        size_t ihl = (size_t)(ip[0] & 0xF) * 4;
        if (ihl < 20 || ihl > avail) {
            return;
        }
        if (fix_lengths) {
            pkt_wr16(ip + 2, (uint16_t)avail);
        }
        size_t total = pkt_rd16(ip + 2);
        ip[10] = ip[11] = 0;
        pkt_wr16(ip + 10, pkt_csum(ip, ihl, 0));
        if (total < ihl || (pkt_rd16(ip + 6) & 0x3FFF)) {
            return; /* bad length or a fragment: no L4 sum to fix */
        }
        size_t l4_len = (total < avail ? total : avail) - ihl;
        uint8_t *l4 = ip + ihl;
        if (ip[9] == PROTO_UDP && l4_len >= 8) {
            if (fix_lengths) {
                pkt_wr16(l4 + 4, (uint16_t)l4_len);
            }
            size_t ulen = pkt_rd16(l4 + 4);
            if (ulen >= 8 && ulen <= l4_len) {
                l4_len = ulen;
            }
        }
        l4_checksum(l4, l4_len, false, ip + 12, ip + 16, ip[9]);
    } else if (type == ETH_P_IPV6 && avail >= 40 && (ip[0] >> 4) == 6) {
        if (fix_lengths) {
            pkt_wr16(ip + 4, (uint16_t)(avail - 40));
        }
        size_t plen = pkt_rd16(ip + 4);
        size_t l4_len = plen < avail - 40 ? plen : avail - 40;
        uint8_t *l4 = ip + 40;
        if (ip[6] == PROTO_UDP && l4_len >= 8) {
            if (fix_lengths) {
                pkt_wr16(l4 + 4, (uint16_t)l4_len);
            }
            size_t ulen = pkt_rd16(l4 + 4);
            if (ulen >= 8 && ulen <= l4_len) {
                l4_len = ulen;
            }
        }
        l4_checksum(l4, l4_len, true, ip + 8, ip + 24, ip[6]);
    }
}
