/*
 * udp_stamp (src/core): which frames get stamped (UDP/IPv4 to / from the
 * watched port only: not other ports, not fragments, not other protocols,
 * not short or truncated frames), matching by the payload's first bytes,
 * consumption, the bounded rings, and one watcher at a time.
 */
#include <stdlib.h>

#include "udp_stamp.h"
#include "unit_test.h"

static void noop_release(void *ctx, uint8_t *buf)
{
    (void)ctx;
    (void)buf;
}

/* Ethernet + IPv4 (20 bytes) + UDP, payload = 44 bytes of pattern seed. Returns the frame length. */
static size_t build(uint8_t *f, uint16_t sport, uint16_t dport, uint8_t proto, uint8_t seed)
{
    memset(f, 0, 128);
    f[12] = 0x08;
    f[13] = 0x00;
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    ip[9] = proto;
    uint8_t *udp = ip + 20;
    udp[0] = (uint8_t)(sport >> 8);
    udp[1] = (uint8_t)sport;
    udp[2] = (uint8_t)(dport >> 8);
    udp[3] = (uint8_t)dport;
    for (int i = 0; i < 44; i++) {
        udp[8 + i] = (uint8_t)(seed + i);
    }
    return 14 + 20 + 8 + 44;
}

static bool rx(uint8_t *f, size_t len)
{
    frame_t fr = {.buf = f, .len = (uint16_t)len, .release = noop_release};
    udp_stamp_rx(&fr);
    return true;
}

static void test_udp_stamp(void)
{
    uint8_t f[128], key[44];
    uint64_t ns = 0;
    CHECK_EQ(udp_stamp_watch(319), ESP_OK);
    CHECK_EQ(udp_stamp_watch(320), ESP_ERR_INVALID_STATE);
    CHECK_EQ(udp_stamp_watch(319), ESP_OK);

    size_t n = build(f, 319, 319, 17, 1);
    memcpy(key, f + 42, 44);
    rx(f, n);
    CHECK(udp_stamp_take(false, key, 44, &ns));
    CHECK(ns > 0);
    CHECK(!udp_stamp_take(false, key, 44, &ns)); /* consumed */
    CHECK(!udp_stamp_take(true, key, 44, &ns));  /* an RX stamp is not a TX stamp */

    /* Not stamped: another port, TCP, a fragment, truncated, a short frame, an IPv6 type. */
    n = build(f, 319, 320, 17, 2);
    memcpy(key, f + 42, 44);
    rx(f, n);
    CHECK(!udp_stamp_take(false, key, 44, &ns));
    n = build(f, 319, 319, 6, 3);
    memcpy(key, f + 42, 44);
    rx(f, n);
    CHECK(!udp_stamp_take(false, key, 44, &ns));
    n = build(f, 319, 319, 17, 4);
    memcpy(key, f + 42, 44);
    f[14 + 6] = 0x20; /* more fragments */
    rx(f, n);
    CHECK(!udp_stamp_take(false, key, 44, &ns));
    n = build(f, 319, 319, 17, 5);
    rx(f, 14 + 20 + 7);
    f[14] = 0x4F; /* IHL 60 bytes: beyond this frame's UDP header */
    rx(f, 14 + 60);
    for (size_t len = 0; len < 42; len++) {
        uint8_t *c = malloc(len ? len : 1); /* exact-size copies: ASan sees any overread */
        memcpy(c, f, len);
        rx(c, len);
        free(c);
    }
    f[14] = 0x45;
    f[13] = 0xDD;
    rx(f, n);
    CHECK(!udp_stamp_take(false, f + 42, 44, &ns));

    /* A short datagram matches on what it has; a longer key with the same start does not. */
    n = build(f, 319, 319, 17, 6);
    rx(f, 14 + 20 + 8 + 10);
    memcpy(key, f + 42, 44);
    CHECK(!udp_stamp_take(false, key, 44, &ns));
    CHECK(udp_stamp_take(false, key, 10, &ns));

    /* TX: stamped by source port. */
    n = build(f, 319, 319, 17, 7);
    udp_stamp_tx(f, n);
    CHECK(udp_stamp_take(true, f + 42, 44, &ns));
    n = build(f, 5000, 319, 17, 8);
    udp_stamp_tx(f, n);
    CHECK(!udp_stamp_take(true, f + 42, 44, &ns));

    /* The RX ring holds 16: the 17th overwrites the oldest, the newest are found. */
    for (uint8_t i = 0; i < 17; i++) {
        n = build(f, 319, 319, 17, (uint8_t)(100 + i));
        rx(f, n);
    }
    n = build(f, 319, 319, 17, 100);
    CHECK(!udp_stamp_take(false, f + 42, 44, &ns));
    n = build(f, 319, 319, 17, 116);
    CHECK(udp_stamp_take(false, f + 42, 44, &ns));

    /* Stopped: nothing is stamped. */
    CHECK_EQ(udp_stamp_watch(0), ESP_OK);
    n = build(f, 319, 319, 17, 9);
    rx(f, n);
    CHECK(!udp_stamp_take(false, f + 42, 44, &ns));
    CHECK_EQ(udp_stamp_watch(320), ESP_OK);
    CHECK_EQ(udp_stamp_watch(0), ESP_OK);
}

int main(void)
{
    RUN(test_udp_stamp);
    return UNIT_TEST_END();
}
