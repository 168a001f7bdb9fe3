/*
 * The L2 tap driven from tests/e2e/test_l2tap.py, in the dut namespace:
 *
 *   l2tap_tool --tap tap0 [--static A/LEN] [--types 0x88cc,0x88b5] [--queue N]
 *              [--slow-ms M] [--quiet] [--http-port P]
 *
 * Opens one tap per listed EtherType and prints one JSON line per event:
 *   {"event": "ready", "mac": "...", "taps": [...]}
 *   {"event": "rx", "tap": i, "type": T, "len": L, "caplen": C, "ts_ns": ..., "lat_us": ..., "hex": "..."}
 *     lat_us: from netdev input (the frame's software stamp) to the reader
 *     holding the frame. --quiet: no rx lines (a flood), counts only.
 *     --slow-ms: each reader sleeps after every frame (a slow application).
 *   {"event": "sent", "len": L, "ts_ns": ..., "rc": R}
 *   {"event": "stats", "taps": [...], "engine": {...}, "lat_us": {...}}
 * Commands on stdin, one per line: "send <hex frame>" (through the tap of the
 * frame's type; an all-zero source MAC is replaced by the stack's), "stats",
 * "quit".
 * --http-port P: also serves "GET /dl/N" (N bytes, byte i = i % 251) over the
 * native socket API, so a TCP download can run beside a tapped flood.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "esp_smoltcp.h"
#include "esp_smoltcp_l2tap.h"
#include "esp_smoltcp_sock.h"
#include "esp_smoltcp_tap.h"

#define MAX_TAPS 4

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool quitting;
static int slow_ms;
static bool quiet;

typedef struct {
    int h;
    uint16_t type;
    pthread_t th;
    atomic_uint_fast64_t got;
    atomic_uint_fast64_t lat_sum_us, lat_max_us;
    uint64_t lat_samples[4096];
    atomic_uint lat_n;
} tap_rec_t;

static tap_rec_t taps[MAX_TAPS];
static int ntaps;

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void hex(char *out, const uint8_t *b, size_t n)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static void *tap_reader(void *arg)
{
    tap_rec_t *t = arg;
    uint8_t buf[ESP_SMOLTCP_L2TAP_FRAME_MAX];
    char text[2 * sizeof(buf) + 1];
    while (!atomic_load(&quitting)) {
        esp_smoltcp_l2tap_rx_info_t info;
        ssize_t n = esp_smoltcp_l2tap_recv(t->h, buf, sizeof(buf), &info, 200);
        if (n == -EAGAIN) {
            continue;
        }
        if (n < 0) {
            break;
        }
        uint64_t lat = mono_us() - info.ts.ns / 1000u;
        atomic_fetch_add(&t->got, 1);
        atomic_fetch_add(&t->lat_sum_us, lat);
        if (lat > atomic_load(&t->lat_max_us)) {
            atomic_store(&t->lat_max_us, lat);
        }
        pthread_mutex_lock(&out_mu);
        unsigned k = atomic_load(&t->lat_n);
        if (k < 4096) {
            t->lat_samples[k] = lat;
            atomic_store(&t->lat_n, k + 1);
        }
        if (!quiet) {
            hex(text, buf, (size_t)n);
            printf("{\"event\": \"rx\", \"tap\": %d, \"type\": %u, \"len\": %u, \"caplen\": %zd, \"ts_ns\": %" PRIu64
                   ", \"ts_source\": %u, \"lat_us\": %" PRIu64 ", \"hex\": \"%s\"}\n",
                   (int)(t - taps), info.ethertype, info.frame_len, n, info.ts.ns, info.ts.source, lat, text);
        }
        pthread_mutex_unlock(&out_mu);
        if (slow_ms > 0) {
            usleep((useconds_t)slow_ms * 1000u);
        }
    }
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void print_stats(void)
{
    pthread_mutex_lock(&out_mu);
    printf("{\"event\": \"stats\", \"taps\": [");
    for (int i = 0; i < ntaps; i++) {
        esp_smoltcp_l2tap_stats_t st = {0};
        esp_smoltcp_l2tap_get_stats(taps[i].h, &st);
        unsigned n = atomic_load(&taps[i].lat_n);
        uint64_t sorted[4096];
        memcpy(sorted, taps[i].lat_samples, n * sizeof(uint64_t));
        qsort(sorted, n, sizeof(uint64_t), cmp_u64);
        uint64_t got = atomic_load(&taps[i].got);
        printf("%s{\"type\": %u, \"rx_frames\": %" PRIu64 ", \"read\": %" PRIu64 ", \"drops_queue_full\": %" PRIu64
               ", \"truncated\": %" PRIu64 ", \"tx_frames\": %" PRIu64 ", \"queue_high_water\": %u"
               ", \"queue_capacity\": %u, \"lat_us_mean\": %" PRIu64 ", \"lat_us_p50\": %" PRIu64
               ", \"lat_us_p99\": %" PRIu64 ", \"lat_us_max\": %" PRIu64 "}",
               i ? ", " : "", taps[i].type, st.rx_frames, got, st.drops_queue_full, st.truncated, st.tx_frames,
               st.queue_high_water, st.queue_capacity, got ? atomic_load(&taps[i].lat_sum_us) / got : 0,
               n ? sorted[n / 2] : 0, n ? sorted[(n * 99) / 100] : 0, atomic_load(&taps[i].lat_max_us));
    }
    esp_smoltcp_stats_t es = {0};
    esp_smoltcp_get_stats(ESP_SMOLTCP_IFACE_ETH, &es);
    printf("], \"engine\": {\"rx_frames\": %" PRIu64 ", \"tx_frames\": %" PRIu64 ", \"rx_drop_pool_empty\": %" PRIu64
           ", \"rx_drop_queue_full\": %" PRIu64 ", \"rx_pool_high_water\": %u, \"tx_failures\": %" PRIu64 "}}\n",
           es.rx_frames, es.tx_frames, es.rx_drop_pool_empty, es.rx_drop_queue_full, es.rx_pool_high_water,
           es.tx_failures);
    pthread_mutex_unlock(&out_mu);
}

static int unhex(const char *s, uint8_t *out, size_t max)
{
    size_t n = 0;
    while (s[0] && s[1] && n < max) {
        unsigned v;
        if (sscanf(s, "%2x", &v) != 1) {
            return -1;
        }
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return (int)n;
}

/* ---- a tiny HTTP download server over the native socket API ------------------ */

static void serve_one(int c)
{
    char req[1024];
    size_t got = 0;
    while (got < sizeof(req) - 1) {
        ssize_t n = esp_smoltcp_sock_recv(c, req + got, sizeof(req) - 1 - got, 0, 10000);
        if (n <= 0) {
            return;
        }
        got += (size_t)n;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n")) {
            break;
        }
    }
    unsigned long long len = 0;
    if (sscanf(req, "GET /dl/%llu", &len) != 1) {
        return;
    }
    char head[128];
    int hl = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %llu\r\nConnection: close\r\n\r\n", len);
    esp_smoltcp_sock_send(c, head, (size_t)hl, 0, 10000);
    uint8_t block[251 * 16];
    for (size_t i = 0; i < sizeof(block); i++) {
        block[i] = (uint8_t)(i % 251);
    }
    unsigned long long off = 0;
    while (off < len) {
        size_t pos = (size_t)(off % 251); /* the block is periodic: start at the right phase */
        size_t n = sizeof(block) - 251;
        if (len - off < n) {
            n = (size_t)(len - off);
        }
        ssize_t k = esp_smoltcp_sock_send(c, block + pos, n, 0, 20000);
        if (k <= 0) {
            return;
        }
        off += (unsigned long long)k;
    }
    pthread_mutex_lock(&out_mu);
    printf("{\"event\": \"http\", \"bytes\": %llu}\n", off);
    pthread_mutex_unlock(&out_mu);
}

static void *http_server(void *arg)
{
    uint16_t port = (uint16_t)(uintptr_t)arg;
    int l = esp_smoltcp_sock_open(ESP_SMOLTCP_SOCK_TCP, NULL);
    esp_smoltcp_endpoint_t any = {.family = ESP_SMOLTCP_AF_UNSPEC, .port = port};
    if (l < 0 || esp_smoltcp_sock_bind(l, &any, true) != 0 || esp_smoltcp_sock_listen(l, 2) != 0) {
        fprintf(stderr, "l2tap_tool: http listen failed\n");
        return NULL;
    }
    while (!atomic_load(&quitting)) {
        esp_smoltcp_endpoint_t peer;
        int c = esp_smoltcp_sock_accept(l, &peer, 200);
        if (c < 0) {
            continue;
        }
        serve_one(c);
        esp_smoltcp_sock_close(c);
    }
    esp_smoltcp_sock_close(l);
    return NULL;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    esp_smoltcp_config_t cfg = ESP_SMOLTCP_DEFAULT_CONFIG();
    cfg.ipv4_mode = ESP_SMOLTCP_IPV4_STATIC;
    cfg.static_ip = "198.18.0.2/24";
    const char *tap = NULL, *types = "0x88cc,0x88b5";
    int queue = 0, http_port = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quiet") == 0) {
            quiet = true;
        } else if (i + 1 < argc && strcmp(argv[i], "--tap") == 0) {
            tap = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--static") == 0) {
            cfg.static_ip = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--types") == 0) {
            types = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--queue") == 0) {
            queue = atoi(argv[++i]);
        } else if (i + 1 < argc && strcmp(argv[i], "--slow-ms") == 0) {
            slow_ms = atoi(argv[++i]);
        } else if (i + 1 < argc && strcmp(argv[i], "--http-port") == 0) {
            http_port = atoi(argv[++i]);
        } else {
            fprintf(stderr, "l2tap_tool: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    esp_smoltcp_netdev_t *dev;
    if (!tap || esp_smoltcp_init_with_config(&cfg) != ESP_OK || esp_smoltcp_tap_create(tap, NULL, &dev) != ESP_OK ||
        esp_smoltcp_attach_netdev(dev) != ESP_OK || esp_smoltcp_wait_for_ip(ESP_SMOLTCP_IFACE_ETH, 20000) != ESP_OK) {
        fprintf(stderr, "l2tap_tool: stack did not come up\n");
        return 1;
    }
    char list[128];
    snprintf(list, sizeof(list), "%s", types);
    for (char *tok = strtok(list, ","); tok && ntaps < MAX_TAPS; tok = strtok(NULL, ",")) {
        esp_smoltcp_l2tap_config_t c = ESP_SMOLTCP_L2TAP_DEFAULT_CONFIG((uint16_t)strtoul(tok, NULL, 0));
        c.queue_frames = (uint16_t)queue;
        int h = esp_smoltcp_l2tap_open(&c);
        if (h < 0) {
            fprintf(stderr, "l2tap_tool: open %s: %d\n", tok, h);
            return 1;
        }
        taps[ntaps].h = h;
        taps[ntaps].type = c.ethertypes[0];
        pthread_create(&taps[ntaps].th, NULL, tap_reader, &taps[ntaps]);
        ntaps++;
    }
    pthread_t http_th;
    if (http_port > 0) {
        pthread_create(&http_th, NULL, http_server, (void *)(uintptr_t)http_port);
    }
    uint8_t mac[6];
    esp_smoltcp_l2tap_get_mac(ESP_SMOLTCP_IFACE_ETH, mac);
    printf("{\"event\": \"ready\", \"mac\": \"%02x:%02x:%02x:%02x:%02x:%02x\", \"taps\": %d}\n", mac[0], mac[1],
           mac[2], mac[3], mac[4], mac[5], ntaps);

    char line[4096];
    while (fgets(line, sizeof(line), stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, "send ", 5) == 0) {
            uint8_t f[ESP_SMOLTCP_L2TAP_FRAME_MAX];
            int n = unhex(line + 5, f, sizeof(f));
            static const uint8_t zero[6];
            if (n >= 12 && memcmp(f + 6, zero, 6) == 0) {
                memcpy(f + 6, mac, 6);
            }
            int via = 0; /* the tap of the frame's type, else the first */
            for (int k = 0; n >= 14 && k < ntaps; k++) {
                via = taps[k].type == (uint16_t)(f[12] << 8 | f[13]) ? k : via;
            }
            esp_smoltcp_l2tap_ts_t ts = {0};
            ssize_t rc = n < 0 ? -EINVAL : esp_smoltcp_l2tap_send(taps[via].h, f, (size_t)n, &ts);
            pthread_mutex_lock(&out_mu);
            printf("{\"event\": \"sent\", \"len\": %d, \"rc\": %zd, \"ts_ns\": %" PRIu64 "}\n", n, rc, ts.ns);
            pthread_mutex_unlock(&out_mu);
        } else if (strcmp(line, "stats") == 0) {
            print_stats();
        } else if (strcmp(line, "quit") == 0) {
            break;
        }
    }
    atomic_store(&quitting, true);
    for (int i = 0; i < ntaps; i++) {
        pthread_join(taps[i].th, NULL);
    }
    if (http_port > 0) {
        pthread_join(http_th, NULL);
    }
    print_stats();
    fflush(stdout);
    _Exit(0);
}
