/*
 * tx_checksum_fill(): every kind of frame the engine sends, with random
 * payloads and garbage in the checksum fields, must come out valid — checked
 * by frame_check() and by a plain byte-pair sum written here — and a flipped
 * payload byte must then be caught.
 */
#include <stdlib.h>

#include "frame_check.h"
#include "tx_checksum.h"
#include "unit_test.h"

enum { V4 = 4, V6 = 6 };

/* RFC 1071 the slow way: 16-bit big-endian words, end-around carry. */
static uint32_t naive_sum(const uint8_t *p, size_t n, uint32_t acc)
{
    for (size_t i = 0; i + 1 < n; i += 2) {
        acc += (uint32_t)(p[i] << 8 | p[i + 1]);
    }
    if (n & 1) {
        acc += (uint32_t)(p[n - 1] << 8);
    }
    while (acc >> 16) {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    return acc;
}

static size_t build(uint8_t *f, int ver, uint8_t proto, size_t payload)
{
    memset(f, 0, 14);
    f[0] = 0x02;
    f[6] = 0x02;
    f[12] = ver == V4 ? 0x08 : 0x86;
    f[13] = ver == V4 ? 0x00 : 0xdd;
    uint8_t *ip = f + 14;
    size_t l4_hdr = proto == 6 ? 20 : 8;
    size_t l4_len = l4_hdr + payload;
    size_t ip_hdr = ver == V4 ? 20 : 40;
    memset(ip, 0, ip_hdr);
    uint8_t *l4 = ip + ip_hdr;
    for (size_t i = 0; i < l4_len; i++) {
        l4[i] = (uint8_t)rand();
    }
    if (ver == V4) {
        ip[0] = 0x45;
        ip[2] = (uint8_t)((ip_hdr + l4_len) >> 8);
        ip[3] = (uint8_t)(ip_hdr + l4_len);
        ip[8] = 64;
        ip[9] = proto;
        ip[10] = 0xde; /* garbage the fill must replace */
        ip[11] = 0xad;
        const uint8_t src[4] = {198, 18, 0, 2}, dst[4] = {198, 18, 0, 1};
        memcpy(ip + 12, src, 4);
        memcpy(ip + 16, dst, 4);
    } else {
        ip[0] = 0x60;
        ip[4] = (uint8_t)(l4_len >> 8);
        ip[5] = (uint8_t)l4_len;
        ip[6] = proto;
        ip[7] = 64;
        ip[8] = 0x20;
        ip[9] = 0x01;
        ip[10] = 0x0d;
        ip[11] = 0xb8;
        ip[23] = 2;
        memcpy(ip + 24, ip + 8, 16);
        ip[39] = 1;
    }
    if (proto == 6) {
        l4[12] = 0x50; /* data offset 5 */
    }
    if (proto == 17) {
        l4[4] = (uint8_t)(l4_len >> 8);
        l4[5] = (uint8_t)l4_len;
    }
    return 14 + ip_hdr + l4_len;
}

static bool naive_valid(const uint8_t *f, int ver, uint8_t proto)
{
    const uint8_t *ip = f + 14;
    size_t ip_hdr = ver == V4 ? 20 : 40;
    size_t l4_len = ver == V4 ? (size_t)(ip[2] << 8 | ip[3]) - 20 : (size_t)(ip[4] << 8 | ip[5]);
    if (ver == V4 && naive_sum(ip, 20, 0) != 0xffff) {
        return false;
    }
    uint32_t pseudo = 0;
    if (!(ver == V4 && proto == 1)) {
        pseudo = ver == V4 ? naive_sum(ip + 12, 8, 0) : naive_sum(ip + 8, 32, 0);
        pseudo += proto + (uint32_t)l4_len;
    }
    return naive_sum(ip + ip_hdr, l4_len, pseudo) == 0xffff;
}

static void test_all_kinds(void)
{
    static const struct {
        int ver;
        uint8_t proto;
    } kinds[] = {{V4, 6}, {V4, 17}, {V4, 1}, {V6, 6}, {V6, 17}, {V6, 58}};
    static uint8_t f[1600];
    srand(42);
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        for (size_t payload = 0; payload <= 1452; payload += (payload < 70 ? 1 : 97)) {
            size_t len = build(f, kinds[k].ver, kinds[k].proto, payload);
            frame_l4_t sent, received;
            tx_checksum_fill(f, len, &sent);
            if (frame_check_l4(f, len, true, &received) != FRAME_OK || !naive_valid(f, kinds[k].ver, kinds[k].proto)) {
                FAILF("kind %zu payload %zu: not valid after fill (%s)", k, payload,
                      frame_check_result_name(frame_check(f, len, true)));
                continue;
            }
            unit_passed++;
            /* the transmit side locates the transport header where the receive side does */
            CHECK(sent.proto == kinds[k].proto && sent.proto == received.proto && sent.family == received.family &&
                  sent.ip == received.ip && sent.l4 == received.l4 && sent.l4_len == received.l4_len);
            if (kinds[k].proto == 17 && kinds[k].ver == V4) {
                CHECK(f[14 + 20 + 6] != 0 || f[14 + 20 + 7] != 0); /* a real checksum, not "none" */
            }
            if (payload > 0) {
                f[len - 1] ^= 0x40;
                CHECK(frame_check(f, len, true) == FRAME_BAD_L4_CHECKSUM);
            }
        }
    }
}

static void test_leaves_other_frames_alone(void)
{
    uint8_t arp[42] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06};
    for (size_t i = 14; i < sizeof(arp); i++) {
        arp[i] = (uint8_t)i;
    }
    uint8_t copy[42];
    memcpy(copy, arp, sizeof(arp));
    frame_l4_t where;
    tx_checksum_fill(arp, sizeof(arp), &where);
    CHECK_MEM(arp, copy, sizeof(arp));
    CHECK_EQ(where.proto, 0);
    /* Truncated or inconsistent IP headers are not touched (and not read past). */
    uint8_t f[1600];
    size_t len = build(f, V4, 6, 100);
    memcpy(copy, f, sizeof(copy));
    tx_checksum_fill(f, 30, &where);
    CHECK_MEM(f, copy, sizeof(copy));
    CHECK_EQ(where.proto, 0);
    f[16] = 0xff; /* total length beyond the frame */
    uint8_t before[1600];
    memcpy(before, f, len);
    tx_checksum_fill(f, len, &where);
    CHECK_MEM(f, before, len);
    CHECK_EQ(where.proto, 0);
}

int main(void)
{
    RUN(test_all_kinds);
    RUN(test_leaves_other_frames_alone);
    return UNIT_TEST_END();
}
