#include "ip6_nd.h"

#include <stdio.h>
#include <string.h>

#define ETH_HDR 14
#define IP6_HDR 40
#define PROTO_ICMPV6 58
#define ICMP6_RA 134
#define ICMP6_NS 135
#define ICMP6_NA 136
#define OPT_PREFIX 3
#define OPT_RDNSS 25

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool is_unspecified(const uint8_t a[16])
{
    static const uint8_t zero[16];
    return memcmp(a, zero, 16) == 0;
}

static bool has_option(const uint8_t *o, size_t len, uint8_t type)
{
    while (len >= 8 && o[1] != 0 && (size_t)o[1] * 8 <= len) {
        if (o[0] == type) {
            return true;
        }
        len -= (size_t)o[1] * 8;
        o += (size_t)o[1] * 8;
    }
    return false;
}

static void parse_ra_options(const uint8_t *o, size_t len, nd_msg_t *out)
{
    while (len >= 8) {
        size_t olen = (size_t)o[1] * 8;
        if (olen == 0 || olen > len) {
            return; /* RFC 4861 §4.6: a zero length option invalidates the rest */
        }
        if (o[0] == OPT_PREFIX && olen == 32 && out->prefix_count < ND_MAX_PREFIXES) {
            nd_prefix_t *p = &out->prefixes[out->prefix_count++];
            p->len = o[2];
            p->flags = o[3];
            p->valid_s = rd32(o + 4);
            p->preferred_s = rd32(o + 8);
            memcpy(p->prefix, o + 16, 16);
        } else if (o[0] == OPT_RDNSS && olen >= 24) {
            /* RFC 8106 §5.1: length 3 + 2 per address; one lifetime for all of them. */
            out->rdnss_lifetime_s = rd32(o + 4);
            for (size_t off = 8; off + 16 <= olen && out->rdnss_count < ND_MAX_RDNSS; off += 16) {
                memcpy(out->rdnss[out->rdnss_count++], o + off, 16);
            }
        }
        o += olen;
        len -= olen;
    }
}

bool nd_parse(const uint8_t *f, size_t len, nd_msg_t *out)
{
    if (len < ETH_HDR + IP6_HDR + 8 || rd16(f + 12) != 0x86dd) {
        return false;
    }
    const uint8_t *ip = f + ETH_HDR;
    /* NDP carries no extension headers in practice; hop limit 255 proves it is on-link. */
    if ((ip[0] >> 4) != 6 || ip[6] != PROTO_ICMPV6 || ip[7] != 255) {
        return false;
    }
    size_t plen = rd16(ip + 4);
    if (plen > len - ETH_HDR - IP6_HDR || plen < 8) {
        return false;
    }
    const uint8_t *icmp = ip + IP6_HDR;
    if (icmp[1] != 0) {
        return false; /* code must be 0 */
    }
    memset(out, 0, sizeof(*out));
    memcpy(out->src, ip + 8, 16);
    memcpy(out->src_mac, f + 6, 6);
    switch (icmp[0]) {
    case ICMP6_RA:
        if (plen < 16 || ip[8] != 0xfe || (ip[9] & 0xc0) != 0x80) {
            return false; /* RFC 4861 §6.1.2: the source is link-local */
        }
        out->kind = ND_RA;
        out->ra_flags = icmp[5];
        out->router_lifetime_s = rd16(icmp + 6);
        parse_ra_options(icmp + 16, plen - 16, out);
        return true;
    case ICMP6_NS:
        /* RFC 4861 §7.1.1: from :: only to a solicited-node group and without a source
         * link-layer address option. */
        if (plen < 24 || !is_unspecified(out->src) || ip[24] != 0xff || ip[25] != 0x02 || ip[35] != 0x01 ||
            ip[36] != 0xff || has_option(icmp + 24, plen - 24, 1)) {
            return false;
        }
        out->kind = ND_NS_DAD;
        memcpy(out->target, icmp + 8, 16);
        return true;
    case ICMP6_NA:
        if (plen < 24) {
            return false;
        }
        out->kind = ND_NA;
        memcpy(out->target, icmp + 8, 16);
        return true;
    default:
        return false;
    }
}

char *ip6_fmt(const uint8_t a[16], char *buf)
{
    uint16_t w[8];
    for (int i = 0; i < 8; i++) {
        w[i] = (uint16_t)(a[2 * i] << 8 | a[2 * i + 1]);
    }
    int best = -1, best_len = 1; /* RFC 5952 §4.2.2: a single zero group is not compressed */
    for (int i = 0; i < 8;) {
        int j = i;
        while (j < 8 && w[j] == 0) {
            j++;
        }
        if (j - i > best_len) {
            best = i;
            best_len = j - i;
        }
        i = j == i ? i + 1 : j;
    }
    char *p = buf;
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            p += sprintf(p, "::");
            i += best_len - 1;
            continue;
        }
        if (i > 0 && i != best + best_len) {
            *p++ = ':';
        }
        p += sprintf(p, "%x", w[i]);
    }
    *p = 0;
    return buf;
}

void ip6_solicited_node(const uint8_t addr[16], uint8_t out[16])
{
    static const uint8_t prefix[13] = {0xff, 0x02, [11] = 0x01, [12] = 0xff};
    memcpy(out, prefix, 13);
    memcpy(out + 13, addr + 13, 3);
}

size_t ip6_mcast_frame_header(uint8_t *f, const uint8_t mac[6], const uint8_t src[16], const uint8_t dst[16],
                              uint8_t next, uint8_t hops, size_t payload_len)
{
    f[0] = 0x33;
    f[1] = 0x33;
    memcpy(f + 2, dst + 12, 4);
    memcpy(f + 6, mac, 6);
    f[12] = 0x86;
    f[13] = 0xdd;
    uint8_t *ip = f + ETH_HDR;
    memset(ip, 0, 8);
    ip[0] = 0x60;
    ip[4] = (uint8_t)(payload_len >> 8);
    ip[5] = (uint8_t)payload_len;
    ip[6] = next;
    ip[7] = hops;
    memcpy(ip + 8, src, 16);
    memcpy(ip + 24, dst, 16);
    return ETH_HDR + IP6_HDR;
}
