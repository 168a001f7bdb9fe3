/* ND message parser (router advertisements, DAD probes, NAs) and IPv6 text form. */
#include <arpa/inet.h>
#include <stdlib.h>

#include "ip6_nd.h"
#include "unit_test.h"

static const uint8_t ROUTER_LL[16] = {0xfe, 0x80, [15] = 0x01};
static const uint8_t ALL_NODES[16] = {0xff, 0x02, [15] = 0x01};

/* Ethernet + IPv6 (next header ICMPv6) around an ICMPv6 body; returns the frame length. */
static size_t build(uint8_t *f, const uint8_t src[16], const uint8_t dst[16], uint8_t hlim, const uint8_t *icmp,
                    size_t icmp_len)
{
    memset(f, 0, 54);
    memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
    f[12] = 0x86;
    f[13] = 0xdd;
    f[14] = 0x60;
    f[18] = (uint8_t)(icmp_len >> 8);
    f[19] = (uint8_t)icmp_len;
    f[20] = 58;
    f[21] = hlim;
    memcpy(f + 22, src, 16);
    memcpy(f + 38, dst, 16);
    memcpy(f + 54, icmp, icmp_len);
    return 54 + icmp_len;
}

static size_t ra_body(uint8_t *b, uint8_t flags, uint16_t lifetime, bool with_rdnss)
{
    size_t n = 16;
    memset(b, 0, 120);
    b[0] = 134;
    b[5] = flags;
    b[6] = (uint8_t)(lifetime >> 8);
    b[7] = (uint8_t)lifetime;
    /* source link-layer address option: skipped */
    b[n] = 1, b[n + 1] = 1;
    n += 8;
    /* prefix 2001:db8:1::/64, L+A, valid 3600, preferred 1800 */
    uint8_t *p = b + n;
    p[0] = 3, p[1] = 4, p[2] = 64, p[3] = 0xc0;
    p[6] = 0x0e, p[7] = 0x10;
    p[10] = 0x07, p[11] = 0x08;
    p[16] = 0x20, p[17] = 0x01, p[18] = 0x0d, p[19] = 0xb8, p[21] = 0x01;
    n += 32;
    if (with_rdnss) {
        p = b + n; /* two servers, lifetime 600 */
        p[0] = 25, p[1] = 5, p[6] = 0x02, p[7] = 0x58;
        p[8] = 0x20, p[9] = 0x01, p[23] = 0x53;
        p[24] = 0x20, p[25] = 0x01, p[39] = 0x54;
        n += 40;
    }
    return n;
}

static void test_ra(void)
{
    uint8_t body[128], f[256];
    nd_msg_t m;
    size_t len = build(f, ROUTER_LL, ALL_NODES, 255, body, ra_body(body, ND_RA_FLAG_OTHER, 1800, true));
    CHECK(nd_parse(f, len, &m));
    CHECK_EQ(m.kind, ND_RA);
    CHECK_EQ(m.ra_flags, ND_RA_FLAG_OTHER);
    CHECK_EQ(m.router_lifetime_s, 1800);
    CHECK_MEM(m.src, ROUTER_LL, 16);
    CHECK_EQ(m.prefix_count, 1);
    CHECK_EQ(m.prefixes[0].len, 64);
    CHECK_EQ(m.prefixes[0].flags, ND_PREFIX_FLAG_ONLINK | ND_PREFIX_FLAG_AUTO);
    CHECK_EQ(m.prefixes[0].valid_s, 3600);
    CHECK_EQ(m.prefixes[0].preferred_s, 1800);
    CHECK_EQ(m.prefixes[0].prefix[5], 0x01);
    CHECK_EQ(m.rdnss_count, 2);
    CHECK_EQ(m.rdnss_lifetime_s, 600);
    CHECK_EQ(m.rdnss[0][15], 0x53);
    CHECK_EQ(m.rdnss[1][15], 0x54);

    /* Not from a router on the link: hop limit below 255, global source. */
    len = build(f, ROUTER_LL, ALL_NODES, 64, body, ra_body(body, 0, 1800, false));
    CHECK(!nd_parse(f, len, &m));
    const uint8_t global[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    len = build(f, global, ALL_NODES, 255, body, ra_body(body, 0, 1800, false));
    CHECK(!nd_parse(f, len, &m));

    /* A zero-length option ends option parsing (RFC 4861 §4.6): the prefix behind it is not seen. */
    size_t n = ra_body(body, 0, 0, false);
    body[17] = 0;
    len = build(f, ROUTER_LL, ALL_NODES, 255, body, n);
    CHECK(nd_parse(f, len, &m));
    CHECK_EQ(m.prefix_count, 0);

    /* Payload length larger than the frame. */
    len = build(f, ROUTER_LL, ALL_NODES, 255, body, ra_body(body, 0, 0, false));
    CHECK(!nd_parse(f, len - 8, &m));
    /* Truncated frames of every length are refused without reading past them. */
    for (size_t cut = 0; cut < 54 + 16; cut++) {
        CHECK(!nd_parse(f, cut, &m));
    }
}

static void test_ns_na(void)
{
    static const uint8_t unspecified[16];
    const uint8_t target[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, [11] = 0xff, [12] = 0xfe, [15] = 0x02};
    uint8_t snm[16] = {0xff, 0x02, [11] = 0x01, [12] = 0xff, [13] = 0, [14] = 0, [15] = 0x02};
    uint8_t body[32] = {135};
    memcpy(body + 8, target, 16);
    uint8_t f[128];
    nd_msg_t m;
    size_t len = build(f, unspecified, snm, 255, body, 24);
    CHECK(nd_parse(f, len, &m));
    CHECK_EQ(m.kind, ND_NS_DAD);
    CHECK_MEM(m.target, target, 16);
    /* From :: with a source link-layer option, or not to a solicited-node group: invalid. */
    body[24] = 1, body[25] = 1;
    CHECK(!nd_parse(f, build(f, unspecified, snm, 255, body, 32), &m));
    CHECK(!nd_parse(f, build(f, unspecified, ALL_NODES, 255, body, 24), &m));
    /* An ordinary NS (unicast source) is smoltcp's business. */
    CHECK(!nd_parse(f, build(f, ROUTER_LL, snm, 255, body, 24), &m));

    body[0] = 136;
    len = build(f, target, ALL_NODES, 255, body, 24);
    CHECK(nd_parse(f, len, &m));
    CHECK_EQ(m.kind, ND_NA);
    CHECK_MEM(m.target, target, 16);
    body[1] = 1; /* code must be 0 */
    CHECK(!nd_parse(f, build(f, target, ALL_NODES, 255, body, 24), &m));
}

static void test_fmt(void)
{
    char b[40];
    const uint8_t a1[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 0x01};
    CHECK(strcmp(ip6_fmt(a1, b), "2001:db8:1::1") == 0);
    const uint8_t a2[16] = {0xfe, 0x80, [8] = 0x02, [11] = 0xff, [12] = 0xfe, [15] = 0x02};
    CHECK(strcmp(ip6_fmt(a2, b), "fe80::200:ff:fe00:2") == 0);
    const uint8_t a3[16] = {0};
    CHECK(strcmp(ip6_fmt(a3, b), "::") == 0);
    const uint8_t a4[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
    CHECK(strcmp(ip6_fmt(a4, b), "2001:db8:0:1::1") == 0); /* longest zero run, single zero kept */
    const uint8_t a5[16] = {0xff, 0x02, [15] = 0x02};
    CHECK(strcmp(ip6_fmt(a5, b), "ff02::2") == 0);
    const uint8_t a6[16] = {[15] = 1};
    CHECK(strcmp(ip6_fmt(a6, b), "::1") == 0);
    const uint8_t a7[16] = {0x20, 0x01, [14] = 0, [15] = 0};
    CHECK(strcmp(ip6_fmt(a7, b), "2001::") == 0);

    /* Same text as glibc's inet_ntop for addresses with random runs of zero groups. */
    srand(7);
    unsigned mismatches = 0;
    for (int i = 0; i < 20000; i++) {
        uint8_t a[16];
        for (int g = 0; g < 8; g++) {
            uint16_t v = rand() % 3 ? 0 : (uint16_t)rand();
            a[2 * g] = (uint8_t)(v >> 8);
            a[2 * g + 1] = (uint8_t)v;
        }
        char ref[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, a, ref, sizeof(ref));
        if (strncmp(ref, "::ffff:", 7) == 0 || (strncmp(ref, "::", 2) == 0 && strchr(ref, '.'))) {
            continue; /* glibc writes IPv4-mapped/compatible forms with dots */
        }
        mismatches += strcmp(ip6_fmt(a, b), ref) != 0;
    }
    CHECK_EQ(mismatches, 0);
}

/* What the runtime sends: the solicited-node group, and headers nd_parse reads back. */
static void test_build(void)
{
    const uint8_t addr[16] = {0x20, 0x01, 0x0d, 0xb8, [13] = 0xab, [14] = 0xcd, [15] = 0xef};
    const uint8_t want[16] = {0xff, 0x02, [11] = 0x01, [12] = 0xff, [13] = 0xab, [14] = 0xcd, [15] = 0xef};
    uint8_t snm[16];
    ip6_solicited_node(addr, snm);
    CHECK_MEM(snm, want, 16);

    const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x09};
    const uint8_t unspecified[16] = {0};
    uint8_t f[54 + 24] = {0};
    CHECK_EQ(ip6_mcast_frame_header(f, mac, unspecified, snm, 58, 255, 24), 54);
    const uint8_t eth[14] = {0x33, 0x33, 0xff, 0xab, 0xcd, 0xef, 0x02, 0, 0, 0, 0, 0x09, 0x86, 0xdd};
    CHECK_MEM(f, eth, 14);
    CHECK(f[14] == 0x60 && f[18] == 0 && f[19] == 24 && f[20] == 58 && f[21] == 255);
    CHECK_MEM(f + 22, unspecified, 16);
    CHECK_MEM(f + 38, snm, 16);
    /* a DAD probe built on it parses as one (checksum is not nd_parse's business) */
    f[54] = 135;
    memcpy(f + 62, addr, 16);
    nd_msg_t m;
    CHECK(nd_parse(f, sizeof(f), &m));
    CHECK_EQ(m.kind, ND_NS_DAD);
    CHECK_MEM(m.target, addr, 16);
}

int main(void)
{
    test_ra();
    test_ns_na();
    test_fmt();
    test_build();
    return UNIT_TEST_END();
}
