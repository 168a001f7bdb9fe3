/*
 * L2 frame tap in one process, no root: the runtime on a null netdev, frames
 * injected with esp_smoltcp_netdev_input_pool()/_input() as a driver would.
 * Checks filtering (several taps, several types, shared types, a mask
 * collision that must still reach the engine), order and contents, software
 * timestamps, bounded queues with drop counters and RX buffers returned at
 * once (a slow reader holds no pool buffer), snaplen, blocking receive woken
 * by a frame and by close, send through the netdev, and the hardware
 * timestamp hooks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "esp_smoltcp.h"
#include "esp_smoltcp_l2tap.h"
#include "test_netdev.h"
#include "unit_test.h"

/* ---- the test netdev (counts frames sent), remembering the last frame ---------- */

static uint8_t last_tx[1600];
static size_t last_tx_len;
static pthread_mutex_t tx_mu = PTHREAD_MUTEX_INITIALIZER;

static void remember_tx(const uint8_t *f, size_t n)
{
    pthread_mutex_lock(&tx_mu);
    memcpy(last_tx, f, n < sizeof(last_tx) ? n : sizeof(last_tx));
    last_tx_len = n;
    pthread_mutex_unlock(&tx_mu);
}
static const uint8_t dev_mac[6] = {0x02, 0, 0, 0x12, 0x34, 0x57};

/* ---- helpers ------------------------------------------------------------------ */

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* the POSIX port's os_now_us clock */
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A frame of `type` and `len` bytes: broadcast, from 02:..:99, payload seq then a pattern. */
static size_t make_frame(uint8_t *f, uint16_t type, size_t len, uint32_t seq)
{
    memset(f, 0xff, 6);
    const uint8_t src[6] = {0x02, 0, 0, 0, 0, 0x99};
    memcpy(f + 6, src, 6);
    f[12] = (uint8_t)(type >> 8);
    f[13] = (uint8_t)type;
    for (size_t i = 14; i < len; i++) {
        f[i] = (uint8_t)(i * 7 + seq);
    }
    if (len >= 18) {
        f[14] = (uint8_t)(seq >> 24);
        f[15] = (uint8_t)(seq >> 16);
        f[16] = (uint8_t)(seq >> 8);
        f[17] = (uint8_t)seq;
    }
    return len;
}

static uint32_t frame_seq(const uint8_t *f)
{
    return (uint32_t)f[14] << 24 | (uint32_t)f[15] << 16 | (uint32_t)f[16] << 8 | f[17];
}

/* Inject like the TAP netdev: into a pool buffer. */
static void inject(uint16_t type, size_t len, uint32_t seq)
{
    size_t size;
    uint8_t *b = esp_smoltcp_rx_buffer_alloc(&size);
    CHECK(b != NULL);
    if (!b) {
        return;
    }
    make_frame(b, type, len, seq);
    esp_smoltcp_netdev_input_pool(b, len);
}

static int open_tap(const uint16_t *types, uint8_t n, uint16_t queue, uint16_t snaplen)
{
    esp_smoltcp_l2tap_config_t c = {.iface = ESP_SMOLTCP_IFACE_ETH, .type_count = n, .queue_frames = queue,
                                    .snaplen = snaplen};
    memcpy(c.ethertypes, types, n * sizeof(uint16_t));
    return esp_smoltcp_l2tap_open(&c);
}

static uint64_t engine_rx_frames(void)
{
    esp_smoltcp_stats_t st;
    esp_smoltcp_get_stats(ESP_SMOLTCP_IFACE_ETH, &st);
    return st.rx_frames;
}

/* ---- cases ----------------------------------------------------------------------- */

static void test_open_validation(void)
{
    const uint16_t ip[] = {0x0800}, arp[] = {0x0806}, v6[] = {0x86DD}, len802[] = {0x05DC};
    CHECK_EQ(open_tap(ip, 1, 0, 0), -EINVAL);
    CHECK_EQ(open_tap(arp, 1, 0, 0), -EINVAL);
    CHECK_EQ(open_tap(v6, 1, 0, 0), -EINVAL);
    CHECK_EQ(open_tap(len802, 1, 0, 0), -EINVAL);
    const uint16_t ok[] = {0x88CC};
    CHECK_EQ(open_tap(ok, 0, 0, 0), -EINVAL);
    CHECK_EQ(open_tap(ok, 1, 0, 10), -EINVAL); /* snaplen below an Ethernet header */
    CHECK_EQ(esp_smoltcp_l2tap_open(NULL), -EINVAL);
    esp_smoltcp_l2tap_config_t c = ESP_SMOLTCP_L2TAP_DEFAULT_CONFIG(0x88CC);
    c.type_count = ESP_SMOLTCP_L2TAP_MAX_TYPES + 1;
    CHECK_EQ(esp_smoltcp_l2tap_open(&c), -EINVAL);
    c.type_count = 1;
    c.iface = (esp_smoltcp_iface_t)3;
    CHECK_EQ(esp_smoltcp_l2tap_open(&c), -EINVAL);
    /* Table full: ENFILE, and a close frees a slot. */
    int h[ESP_SMOLTCP_L2TAP_MAX_TAPS];
    for (int i = 0; i < ESP_SMOLTCP_L2TAP_MAX_TAPS; i++) {
        h[i] = open_tap(ok, 1, 1, 64);
        CHECK(h[i] >= 0);
    }
    CHECK_EQ(open_tap(ok, 1, 1, 64), -ENFILE);
    CHECK_EQ(esp_smoltcp_l2tap_close(h[3]), 0);
    CHECK_EQ(esp_smoltcp_l2tap_close(h[3]), -EBADF);
    h[3] = open_tap(ok, 1, 1, 64);
    CHECK(h[3] >= 0);
    for (int i = 0; i < ESP_SMOLTCP_L2TAP_MAX_TAPS; i++) {
        CHECK_EQ(esp_smoltcp_l2tap_close(h[i]), 0);
    }
    uint8_t b[64];
    CHECK_EQ(esp_smoltcp_l2tap_recv(99, b, sizeof(b), NULL, 0), -EBADF);
    CHECK_EQ(esp_smoltcp_l2tap_recv(-1, b, sizeof(b), NULL, 0), -EBADF);
}

static void test_filter_order_contents(void)
{
    const uint16_t lldp[] = {0x88CC}, two[] = {0x88B5, 0x88F7}, custom[] = {0x88B5};
    int a = open_tap(lldp, 1, 32, 0);
    int b = open_tap(two, 2, 32, 0);
    int c = open_tap(custom, 1, 32, 0);
    CHECK(a >= 0 && b >= 0 && c >= 0);
    uint64_t engine0 = engine_rx_frames();
    uint64_t t0 = mono_us();
    /* 0x1235 has the low five bits of 0x88B5: a mask hit that must still go to the engine. */
    const uint16_t seq_types[] = {0x88CC, 0x88B5, 0x1234, 0x88F7, 0x88B5, 0x1235, 0x88CC, 0x88F7};
    for (uint32_t i = 0; i < 8; i++) {
        inject(seq_types[i], 60 + i * 100, i);
    }
    uint64_t t1 = mono_us();
    CHECK_EQ(engine_rx_frames() - engine0, 2); /* 0x1234 and 0x1235 only */

    struct { int h; uint32_t seqs[4]; int n; } want[] = {
        {a, {0, 6}, 2}, {b, {1, 3, 4, 7}, 4}, {c, {1, 4}, 2},
    };
    uint8_t buf[1600];
    for (size_t w = 0; w < 3; w++) {
        uint64_t prev_ns = 0;
        for (int k = 0; k < want[w].n; k++) {
            esp_smoltcp_l2tap_rx_info_t info;
            ssize_t n = esp_smoltcp_l2tap_recv(want[w].h, buf, sizeof(buf), &info, 0);
            uint32_t s = want[w].seqs[k];
            CHECK_EQ(n, 60 + s * 100);
            CHECK_EQ(info.frame_len, 60 + s * 100);
            CHECK_EQ(frame_seq(buf), s);
            CHECK_EQ(info.ethertype, seq_types[s]);
            uint8_t ref[1600];
            make_frame(ref, seq_types[s], 60 + s * 100, s);
            CHECK_MEM(buf, ref, (size_t)n);
            CHECK_EQ(info.ts.source, ESP_SMOLTCP_TS_SOFTWARE);
            CHECK(info.ts.ns >= t0 * 1000 && info.ts.ns <= t1 * 1000);
            CHECK(info.ts.ns >= prev_ns);
            prev_ns = info.ts.ns;
        }
        CHECK_EQ(esp_smoltcp_l2tap_recv(want[w].h, buf, sizeof(buf), NULL, 0), -EAGAIN);
    }
    esp_smoltcp_l2tap_stats_t st;
    CHECK_EQ(esp_smoltcp_l2tap_get_stats(b, &st), 0);
    CHECK_EQ(st.rx_frames, 4);
    CHECK_EQ(st.drops_queue_full, 0);
    CHECK_EQ(st.queue_high_water, 4);
    CHECK_EQ(st.queued, 0);
    esp_smoltcp_l2tap_close(a);
    esp_smoltcp_l2tap_close(b);
    esp_smoltcp_l2tap_close(c);
    /* No tap left: the types go to the engine again (which ignores them). */
    engine0 = engine_rx_frames();
    inject(0x88CC, 60, 0);
    CHECK_EQ(engine_rx_frames() - engine0, 1);
}

static void test_slow_reader_drops_not_stalls(void)
{
    const uint16_t t[] = {0x88B5};
    int h = open_tap(t, 1, 4, 0);
    CHECK(h >= 0);
    esp_smoltcp_stats_t before, after;
    /* Frames earlier cases sent to the engine are released when the poll task has run. */
    for (int i = 0; i < 100; i++) {
        esp_smoltcp_get_stats(ESP_SMOLTCP_IFACE_ETH, &before);
        if (before.rx_pool_in_use == 0) {
            break;
        }
        usleep(10000);
    }
    CHECK_EQ(before.rx_pool_in_use, 0);
    /* Ten times the pool's 64 buffers: a tap holding pool buffers would exhaust it. */
    for (uint32_t i = 0; i < 640; i++) {
        inject(0x88B5, 100, i);
    }
    esp_smoltcp_get_stats(ESP_SMOLTCP_IFACE_ETH, &after);
    CHECK_EQ(after.rx_drop_pool_empty, before.rx_drop_pool_empty);
    CHECK_EQ(after.rx_pool_in_use, 0);
    esp_smoltcp_l2tap_stats_t st;
    CHECK_EQ(esp_smoltcp_l2tap_get_stats(h, &st), 0);
    CHECK_EQ(st.rx_frames, 4);
    CHECK_EQ(st.drops_queue_full, 636);
    CHECK_EQ(st.queued, 4);
    CHECK_EQ(st.queue_capacity, 4);
    /* The oldest four are kept (tail drop), in order. */
    uint8_t buf[200];
    for (uint32_t i = 0; i < 4; i++) {
        CHECK_EQ(esp_smoltcp_l2tap_recv(h, buf, sizeof(buf), NULL, 0), 100);
        CHECK_EQ(frame_seq(buf), i);
    }
    inject(0x88B5, 100, 1000);
    CHECK_EQ(esp_smoltcp_l2tap_recv(h, buf, sizeof(buf), NULL, 0), 100);
    CHECK_EQ(frame_seq(buf), 1000);
    esp_smoltcp_l2tap_close(h);
}

static void test_snaplen_and_short_buffer(void)
{
    const uint16_t t[] = {0x88B5};
    int h = open_tap(t, 1, 4, 20);
    inject(0x88B5, 1000, 5);
    inject(0x88B5, 1000, 6);
    uint8_t buf[1600];
    esp_smoltcp_l2tap_rx_info_t info;
    CHECK_EQ(esp_smoltcp_l2tap_recv(h, buf, sizeof(buf), &info, 0), 20);
    CHECK_EQ(info.frame_len, 1000);
    CHECK_EQ(frame_seq(buf), 5);
    CHECK_EQ(esp_smoltcp_l2tap_recv(h, buf, 16, &info, 0), 16); /* caller's buffer shorter still */
    CHECK_EQ(info.frame_len, 1000);
    esp_smoltcp_l2tap_stats_t st;
    esp_smoltcp_l2tap_get_stats(h, &st);
    CHECK_EQ(st.truncated, 2);
    esp_smoltcp_l2tap_close(h);
}

/* Driver-owned buffers (esp_eth style): released exactly once, tapped or not. */
static atomic_int released;
static void count_release(void *ctx, uint8_t *buf)
{
    (void)ctx;
    atomic_fetch_add(&released, 1);
    free(buf);
}

static void test_driver_buffers_released_once(void)
{
    const uint16_t t[] = {0x88CC};
    int h = open_tap(t, 1, 2, 0);
    atomic_store(&released, 0);
    for (uint32_t i = 0; i < 5; i++) {
        uint8_t *b = malloc(80);
        make_frame(b, 0x88CC, 80, i);
        esp_smoltcp_netdev_input(b, 80, count_release, NULL); /* 2 queued, 3 dropped: all released now */
    }
    CHECK_EQ(atomic_load(&released), 5);
    esp_smoltcp_l2tap_close(h);
}

typedef struct {
    int h;
    uint32_t timeout_ms;
    ssize_t rc;
    uint64_t returned_us;
    esp_smoltcp_l2tap_rx_info_t info;
} reader_t;

static void *reader(void *arg)
{
    reader_t *r = arg;
    uint8_t buf[1600];
    r->rc = esp_smoltcp_l2tap_recv(r->h, buf, sizeof(buf), &r->info, r->timeout_ms);
    r->returned_us = mono_us();
    return NULL;
}

static void test_blocking_recv_wakes_and_times_out(void)
{
    const uint16_t t[] = {0x88B5};
    int h = open_tap(t, 1, 4, 0);
    /* Timeout. */
    uint64_t t0 = mono_us();
    uint8_t buf[64];
    CHECK_EQ(esp_smoltcp_l2tap_recv(h, buf, sizeof(buf), NULL, 120), -EAGAIN);
    uint64_t dt = mono_us() - t0;
    CHECK(dt >= 115000 && dt < 1000000);
    /* Woken by a frame: the latency from input to the reader running again. */
    uint64_t worst = 0, sum = 0;
    const int rounds = 50;
    for (int i = 0; i < rounds; i++) {
        reader_t r = {.h = h, .timeout_ms = 5000};
        pthread_t th;
        pthread_create(&th, NULL, reader, &r);
        usleep(2000);
        inject(0x88B5, 64, (uint32_t)i);
        pthread_join(th, NULL);
        CHECK_EQ(r.rc, 64);
        uint64_t lat = r.returned_us - r.info.ts.ns / 1000;
        sum += lat;
        worst = lat > worst ? lat : worst;
    }
    printf("    tap wake latency (input -> reader returns): mean %" PRIu64 " us, max %" PRIu64 " us over %d\n",
           sum / rounds, worst, rounds);
    CHECK(worst < 200000);
    esp_smoltcp_l2tap_close(h);
}

static void test_close_while_blocked(void)
{
    const uint16_t t[] = {0x88B5};
    int h = open_tap(t, 1, 4, 0);
    reader_t r[2] = {{.h = h, .timeout_ms = 5000}, {.h = h, .timeout_ms = ESP_SMOLTCP_WAIT_FOREVER}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        pthread_create(&th[i], NULL, reader, &r[i]);
    }
    usleep(100000);
    uint64_t t0 = mono_us();
    CHECK_EQ(esp_smoltcp_l2tap_close(h), 0);
    /* The slot is reused at once by another tap: the old readers must still see EBADF. */
    int h2 = open_tap(t, 1, 4, 0);
    CHECK_EQ(h2, h);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ(r[i].rc, -EBADF);
        CHECK(r[i].returned_us - t0 < 500000);
    }
    inject(0x88B5, 64, 9);
    uint8_t buf[64];
    CHECK_EQ(esp_smoltcp_l2tap_recv(h2, buf, sizeof(buf), NULL, 0), 64);
    esp_smoltcp_l2tap_close(h2);
}

static void test_send(void)
{
    const uint16_t t[] = {0x88B5};
    int h = open_tap(t, 1, 4, 0);
    uint8_t mac[6];
    CHECK_EQ(esp_smoltcp_l2tap_get_mac(ESP_SMOLTCP_IFACE_ETH, mac), ESP_OK);
    CHECK_MEM(mac, dev_mac, 6);
    uint8_t f[200];
    make_frame(f, 0x88B5, 200, 77);
    memcpy(f + 6, mac, 6);
    int before = atomic_load(&test_netdev_tx_frames);
    esp_smoltcp_l2tap_ts_t ts = {0};
    uint64_t t0 = mono_us();
    CHECK_EQ(esp_smoltcp_l2tap_send(h, f, 200, &ts), 200);
    CHECK_EQ(atomic_load(&test_netdev_tx_frames) - before, 1);
    CHECK_EQ(last_tx_len, 200);
    CHECK_MEM(last_tx, f, 200);
    CHECK_EQ(ts.source, ESP_SMOLTCP_TS_SOFTWARE);
    CHECK(ts.ns >= t0 * 1000 && ts.ns <= mono_us() * 1000);
    /* A runt is padded to the Ethernet minimum, as a MAC does. */
    CHECK_EQ(esp_smoltcp_l2tap_send(h, f, 20, NULL), 20);
    CHECK_EQ(last_tx_len, 60);
    CHECK_MEM(last_tx, f, 20);
    CHECK(last_tx[20] == 0 && last_tx[59] == 0);
    CHECK_EQ(esp_smoltcp_l2tap_send(h, f, 13, NULL), -EINVAL);
    uint8_t big[1600] = {0};
    CHECK_EQ(esp_smoltcp_l2tap_send(h, big, ESP_SMOLTCP_L2TAP_FRAME_MAX + 1, NULL), -EINVAL);
    CHECK_EQ(esp_smoltcp_l2tap_send(h, big, ESP_SMOLTCP_L2TAP_FRAME_MAX, NULL), ESP_SMOLTCP_L2TAP_FRAME_MAX);
    esp_smoltcp_l2tap_stats_t st;
    esp_smoltcp_l2tap_get_stats(h, &st);
    CHECK_EQ(st.tx_frames, 3);
    CHECK_EQ(st.tx_bytes, 200 + 60 + ESP_SMOLTCP_L2TAP_FRAME_MAX);
    esp_smoltcp_l2tap_close(h);
    CHECK_EQ(esp_smoltcp_l2tap_send(h, f, 200, NULL), -EBADF);
}

/* ---- hardware timestamp hooks ----------------------------------------------- */

static atomic_int hw_tx_calls;
static bool fake_rx_ts(void *ctx, const uint8_t *frame, size_t len, esp_smoltcp_l2tap_ts_t *ts)
{
    (void)ctx;
    (void)len;
    /* A driver would return the descriptor's stamp; derive one from the frame to prove the pairing. */
    *ts = (esp_smoltcp_l2tap_ts_t){.ns = 1000000000ull * 1700000000ull + frame_seq(frame),
                                   .source = ESP_SMOLTCP_TS_HARDWARE};
    return frame_seq(frame) != 13; /* frame 13: "no stamp in the descriptor" */
}
static esp_err_t fake_tx_ts(void *ctx, const uint8_t *frame, size_t len, esp_smoltcp_l2tap_ts_t *ts)
{
    (void)ctx;
    (void)frame;
    (void)len;
    atomic_fetch_add(&hw_tx_calls, 1);
    *ts = (esp_smoltcp_l2tap_ts_t){.ns = 4242, .source = ESP_SMOLTCP_TS_HARDWARE};
    return ESP_OK;
}
static bool fake_now(void *ctx, esp_smoltcp_l2tap_ts_t *now)
{
    (void)ctx;
    *now = (esp_smoltcp_l2tap_ts_t){.ns = 5555, .source = ESP_SMOLTCP_TS_HARDWARE};
    return true;
}

static void test_hw_timestamp_hooks(void)
{
    esp_smoltcp_l2tap_ts_hooks_t hooks = {.rx_timestamp = fake_rx_ts, .transmit_ts = fake_tx_ts,
                                          .clock_now = fake_now};
    CHECK_EQ(esp_smoltcp_l2tap_set_ts_hooks(ESP_SMOLTCP_IFACE_ETH, &hooks), ESP_OK);
    const uint16_t t[] = {ESP_SMOLTCP_ETHERTYPE_PTP};
    int h = open_tap(t, 1, 4, 128);
    inject(ESP_SMOLTCP_ETHERTYPE_PTP, 90, 12);
    inject(ESP_SMOLTCP_ETHERTYPE_PTP, 90, 13);
    uint8_t buf[128];
    esp_smoltcp_l2tap_rx_info_t info;
    CHECK_EQ(esp_smoltcp_l2tap_recv(h, buf, sizeof(buf), &info, 0), 90);
    CHECK_EQ(info.ts.source, ESP_SMOLTCP_TS_HARDWARE);
    CHECK(info.ts.ns == 1000000000ull * 1700000000ull + 12);
    CHECK_EQ(esp_smoltcp_l2tap_recv(h, buf, sizeof(buf), &info, 0), 90);
    CHECK_EQ(info.ts.source, ESP_SMOLTCP_TS_SOFTWARE); /* no hardware stamp: software fallback */
    esp_smoltcp_l2tap_ts_t ts, now;
    int wire0 = atomic_load(&test_netdev_tx_frames);
    CHECK_EQ(esp_smoltcp_l2tap_send(h, buf, 90, &ts), 90); /* stamp wanted: the hook transmits */
    CHECK_EQ(atomic_load(&hw_tx_calls), 1);
    CHECK_EQ(atomic_load(&test_netdev_tx_frames), wire0);
    CHECK(ts.ns == 4242 && ts.source == ESP_SMOLTCP_TS_HARDWARE);
    CHECK_EQ(esp_smoltcp_l2tap_send(h, buf, 90, NULL), 90); /* no stamp wanted: plain transmit */
    CHECK_EQ(atomic_load(&hw_tx_calls), 1);
    CHECK_EQ(atomic_load(&test_netdev_tx_frames), wire0 + 1);
    CHECK_EQ(esp_smoltcp_l2tap_clock_now(ESP_SMOLTCP_IFACE_ETH, &now), ESP_OK);
    CHECK(now.ns == 5555 && now.source == ESP_SMOLTCP_TS_HARDWARE);
    CHECK_EQ(esp_smoltcp_l2tap_set_ts_hooks(ESP_SMOLTCP_IFACE_ETH, NULL), ESP_OK);
    CHECK_EQ(esp_smoltcp_l2tap_clock_now(ESP_SMOLTCP_IFACE_ETH, &now), ESP_OK);
    CHECK_EQ(now.source, ESP_SMOLTCP_TS_SOFTWARE);
    esp_smoltcp_l2tap_close(h);
}

/* Frames arriving from one thread while readers on several taps drain them: no loss below capacity. */
typedef struct {
    int h;
    int want;
    int got;
    bool in_order;
} drain_t;

static void *drainer(void *arg)
{
    drain_t *d = arg;
    uint8_t buf[256];
    uint32_t expect = 0;
    d->in_order = true;
    while (d->got < d->want) {
        ssize_t n = esp_smoltcp_l2tap_recv(d->h, buf, sizeof(buf), NULL, 2000);
        if (n < 0) {
            break;
        }
        d->in_order = d->in_order && frame_seq(buf) == expect;
        expect++;
        d->got++;
    }
    return NULL;
}

static void test_concurrent_readers(void)
{
    const uint16_t t[] = {0x88B5};
    drain_t d[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        d[i] = (drain_t){.h = open_tap(t, 1, 256, 0), .want = 2000};
        pthread_create(&th[i], NULL, drainer, &d[i]);
    }
    for (uint32_t i = 0; i < 2000; i++) {
        inject(0x88B5, 100, i);
        if (i % 200 == 199) {
            usleep(1000); /* let the readers keep up: a 256-frame queue never fills */
        }
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        esp_smoltcp_l2tap_stats_t st;
        esp_smoltcp_l2tap_get_stats(d[i].h, &st);
        CHECK_EQ(d[i].got + (int)st.drops_queue_full, 2000);
        CHECK(d[i].in_order || st.drops_queue_full > 0);
        esp_smoltcp_l2tap_close(d[i].h);
    }
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* Before init: nothing works, nothing crashes. */
    const uint16_t t[] = {0x88B5};
    CHECK_EQ(open_tap(t, 1, 0, 0), -ENETDOWN);
    esp_smoltcp_config_t cfg = ESP_SMOLTCP_DEFAULT_CONFIG();
    cfg.ipv4_mode = ESP_SMOLTCP_IPV4_STATIC;
    cfg.static_ip = "198.18.6.2/24";
    CHECK_EQ(esp_smoltcp_init_with_config(&cfg), ESP_OK);
    CHECK_EQ(esp_smoltcp_attach_netdev(test_netdev(dev_mac, remember_tx)), ESP_OK);

    RUN(test_open_validation);
    RUN(test_filter_order_contents);
    RUN(test_slow_reader_drops_not_stalls);
    RUN(test_snaplen_and_short_buffer);
    RUN(test_driver_buffers_released_once);
    RUN(test_blocking_recv_wakes_and_times_out);
    RUN(test_close_while_blocked);
    RUN(test_send);
    RUN(test_hw_timestamp_hooks);
    RUN(test_concurrent_readers);

    /* A tap outlives the engine: after deinit it still closes, sends say ENETDOWN. */
    int h = open_tap(t, 1, 2, 0);
    CHECK_EQ(esp_smoltcp_deinit(), ESP_OK);
    uint8_t f[60] = {0};
    CHECK_EQ(esp_smoltcp_l2tap_send(h, f, sizeof(f), NULL), -ENETDOWN);
    CHECK_EQ(esp_smoltcp_l2tap_close(h), 0);
    return UNIT_TEST_END();
}
