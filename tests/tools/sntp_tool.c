/*
 * The SNTP client driven from tests/e2e/test_sntp.py, in the dut namespace:
 *
 *   sntp_tool --tap tap0 [--static A/LEN --gw G --dns D] [--timeout-ms T]
 *             [--burst N] [--burst-interval-ms M] [--mode step|smooth]
 *             [--wait-ms W] [--samples K] [--resync] [--warmup IP] [--dhcp-ntp] [SERVER...]
 *
 * --warmup IP: ping IP (ICMP echo over the native API) until it answers
 * before starting the client, so that the first request does not meet a link
 * that is still coming up (the bridge port behind a just-opened TAP) or an
 * ARP cache still empty: the test's first server then sees the first request.
 * Without --static the stack takes a DHCP lease. --dhcp-ntp: server_from_dhcp
 * (the lease's option 42 servers first; SERVERs may then be none); while it
 * waits for the first sync the tool prints the list each time it or the
 * round status changes:
 *   {"event": "list", "round_status": ..., "servers": [...]}
 * Starts the stack and the client with the servers in order, waits for the
 * first sync and prints JSON lines:
 *   {"event": "sync", "ok": ..., "ms": ..., "servers": [{"name", "status", "kiss", ...}], ...}
 *   {"event": "clock", "err_us": [...]}  the software clock minus this host's
 *     CLOCK_REALTIME, read back to back, K times 50 ms apart. The peer's chrony
 *     serves the same host clock, so this is the client's error.
 *   {"event": "resync", ...}  with --resync: esp_smoltcp_sntp_restart() and the
 *     second sync's outcome (servers that sent DENY/RSTR/RATE are skipped now)
 *   {"event": "done", "deinit_ms": ...}
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "esp_smoltcp.h"
#include "esp_smoltcp_sntp.h"
#include "esp_smoltcp_sock.h"
#include "esp_smoltcp_tap.h"

static atomic_int cb_calls;
static atomic_llong cb_tv_us;

static void on_sync(const struct timeval *tv, void *arg)
{
    (void)arg;
    atomic_fetch_add(&cb_calls, 1);
    atomic_store(&cb_tv_us, (long long)tv->tv_sec * 1000000 + tv->tv_usec);
}

static int64_t realtime_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void addr_text(const esp_smoltcp_endpoint_t *e, char *out, size_t n)
{
    if (e->family == ESP_SMOLTCP_AF_INET) {
        snprintf(out, n, "%u.%u.%u.%u:%u", e->addr[0], e->addr[1], e->addr[2], e->addr[3], e->port);
    } else if (e->family == ESP_SMOLTCP_AF_INET6) {
        snprintf(out, n, "[v6]:%u", e->port);
    } else {
        snprintf(out, n, "%s", "");
    }
}

/* The rest of a JSON object: counters and per-server outcomes, then "}". */
static void print_info(void)
{
    esp_smoltcp_sntp_info_t info;
    esp_smoltcp_sntp_get_info(&info);
    esp_smoltcp_ip4_info_t ip4 = {0};
    esp_smoltcp_get_ip4_info(ESP_SMOLTCP_IFACE_ETH, &ip4);
    printf("\"server_from_dhcp\": %s, \"round_status\": \"%s\", \"lease_ntp\": [",
           info.server_from_dhcp ? "true" : "false", esp_smoltcp_sntp_status_name(info.round_status));
    for (unsigned k = 0; k < ip4.ntp_count && k < 3; k++) {
        printf("%s\"%u.%u.%u.%u\"", k ? ", " : "", ip4.ntp[k][0], ip4.ntp[k][1], ip4.ntp[k][2], ip4.ntp[k][3]);
    }
    printf("], ");
    printf("\"sync_count\": %" PRIu32 ", \"last_server\": %d, \"last_offset_us\": %" PRId64
           ", \"last_delay_us\": %" PRId64 ", \"cb_calls\": %d, \"servers\": [",
           info.sync_count, info.last_server, info.last_offset_us, info.last_delay_us, atomic_load(&cb_calls));
    for (size_t k = 0; k < info.server_count; k++) {
        const esp_smoltcp_sntp_server_info_t *s = &info.servers[k];
        char a[64];
        addr_text(&s->addr, a, sizeof(a));
        printf("%s{\"name\": \"%s\", \"addr\": \"%s\", \"status\": \"%s\", \"kiss\": \"%s\", \"stratum\": %u, \"from_dhcp\": %s"
               ", \"offset_us\": %" PRId64 ", \"delay_us\": %" PRId64 ", \"attempts\": %" PRIu32
               ", \"successes\": %" PRIu32 "}",
               k ? ", " : "", s->name, a, esp_smoltcp_sntp_status_name(s->status), s->kiss, s->stratum, s->from_dhcp ? "true" : "false", s->offset_us,
               s->delay_us, s->attempts, s->successes);
    }
    printf("]}\n");
}

static bool warmup(const char *ip)
{
    unsigned a, b, c, d;
    if (sscanf(ip, "%u.%u.%u.%u", &a, &b, &c, &d) != 4) {
        return false;
    }
    esp_smoltcp_endpoint_t to = {.family = ESP_SMOLTCP_AF_INET, .addr = {(uint8_t)a, (uint8_t)b, (uint8_t)c, (uint8_t)d}};
    int h = esp_smoltcp_sock_open(ESP_SMOLTCP_SOCK_ICMP, NULL);
    bool ok = false;
    for (int seq = 0; h >= 0 && seq < 25 && !ok; seq++) {
        uint8_t m[16] = {8, 0, 0, 0, 0x51, 0x7e, 0, (uint8_t)seq, 'w', 'a', 'r', 'm', 'u', 'p', '!', '!'};
        uint32_t sum = 0;
        for (size_t i = 0; i < sizeof(m); i += 2) {
            sum += (uint32_t)(m[i] << 8 | m[i + 1]);
        }
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        m[2] = (uint8_t)(~sum >> 8);
        m[3] = (uint8_t)~sum;
        esp_smoltcp_sock_sendto(h, m, sizeof(m), 0, &to, 1000);
        uint8_t r[64];
        size_t full;
        esp_smoltcp_endpoint_t from;
        ok = esp_smoltcp_sock_recvfrom(h, r, sizeof(r), 0, &full, &from, 200) > 0;
    }
    esp_smoltcp_sock_close(h);
    return ok;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    esp_smoltcp_config_t cfg = ESP_SMOLTCP_DEFAULT_CONFIG();
    esp_smoltcp_sntp_config_t sc = ESP_SMOLTCP_SNTP_DEFAULT_CONFIG(NULL);
    sc.server_count = 0;
    sc.sync_cb = on_sync;
    const char *tap = NULL;
    int wait_ms = 20000, samples = 10;
    const char *warm = NULL;
    bool resync = false;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--resync") == 0) {
            resync = true;
            i--;
            continue;
        }
        if (strcmp(argv[i], "--dhcp-ntp") == 0) {
            sc.server_from_dhcp = true;
            i--;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "sntp_tool: %s needs a value\n", argv[i]);
            return 2;
        }
        const char *v = argv[i + 1];
        if (strcmp(argv[i], "--tap") == 0) {
            tap = v;
        } else if (strcmp(argv[i], "--static") == 0) {
            cfg.ipv4_mode = ESP_SMOLTCP_IPV4_STATIC;
            cfg.static_ip = v;
        } else if (strcmp(argv[i], "--gw") == 0) {
            cfg.static_gateway = v;
        } else if (strcmp(argv[i], "--dns") == 0) {
            cfg.static_dns = v;
        } else if (strcmp(argv[i], "--timeout-ms") == 0) {
            sc.timeout_ms = (uint32_t)atoi(v);
        } else if (strcmp(argv[i], "--burst") == 0) {
            sc.burst = (uint8_t)atoi(v);
        } else if (strcmp(argv[i], "--burst-interval-ms") == 0) {
            sc.burst_interval_ms = (uint32_t)atoi(v);
        } else if (strcmp(argv[i], "--mode") == 0) {
            sc.sync_mode = strcmp(v, "smooth") == 0 ? ESP_SMOLTCP_SNTP_SYNC_MODE_SMOOTH : ESP_SMOLTCP_SNTP_SYNC_MODE_IMMED;
        } else if (strcmp(argv[i], "--wait-ms") == 0) {
            wait_ms = atoi(v);
        } else if (strcmp(argv[i], "--warmup") == 0) {
            warm = v;
        } else if (strcmp(argv[i], "--samples") == 0) {
            samples = atoi(v);
        } else {
            fprintf(stderr, "sntp_tool: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    for (; i < argc && sc.server_count < ESP_SMOLTCP_SNTP_MAX_SERVERS; i++) {
        sc.servers[sc.server_count++] = argv[i];
    }
    esp_smoltcp_netdev_t *dev;
    if (!tap || esp_smoltcp_init_with_config(&cfg) != ESP_OK || esp_smoltcp_tap_create(tap, NULL, &dev) != ESP_OK ||
        esp_smoltcp_attach_netdev(dev) != ESP_OK || esp_smoltcp_wait_for_ip(ESP_SMOLTCP_IFACE_ETH, 20000) != ESP_OK) {
        fprintf(stderr, "sntp_tool: stack did not come up\n");
        return 1;
    }
    if (warm && !warmup(warm)) {
        fprintf(stderr, "sntp_tool: %s did not answer a ping\n", warm);
        return 1;
    }
    struct timeval tv;
    esp_err_t before_rc = esp_smoltcp_sntp_get_time(&tv);
    double t0 = mono_ms();
    esp_err_t err = esp_smoltcp_sntp_init(&sc);
    if (err != ESP_OK) {
        printf("{\"event\": \"error\", \"init\": %d}\n", err);
        return 1;
    }
    if (sc.server_from_dhcp) {
        /* Watch the list follow the lease until the first sync (or wait_ms). */
        char last[512] = "";
        esp_smoltcp_sntp_info_t info;
        while (mono_ms() - t0 < wait_ms && esp_smoltcp_sntp_get_info(&info) == ESP_OK && info.sync_count == 0) {
            char now[512];
            int n = snprintf(now, sizeof(now), "%s", esp_smoltcp_sntp_status_name(info.round_status));
            for (size_t k = 0; k < info.server_count && n > 0 && (size_t)n < sizeof(now); k++) {
                n += snprintf(now + n, sizeof(now) - (size_t)n, " %s", info.servers[k].name);
            }
            if (strcmp(now, last) != 0) {
                memcpy(last, now, sizeof(last));
                printf("{\"event\": \"list\", \"ms\": %.0f, ", mono_ms() - t0);
                print_info();
            }
            usleep(50000);
        }
    }
    double left = wait_ms - (mono_ms() - t0);
    esp_err_t wait_rc = esp_smoltcp_sntp_wait_sync(left > 0 ? (uint32_t)left : 0);
    double ms = mono_ms() - t0;
    esp_smoltcp_sntp_sync_status_t st1 = esp_smoltcp_sntp_get_sync_status();
    esp_smoltcp_sntp_sync_status_t st2 = esp_smoltcp_sntp_get_sync_status();
    printf("{\"event\": \"sync\", \"ok\": %s, \"ms\": %.0f, \"before_sync_rc\": %d, \"status_first\": %d"
           ", \"status_then\": %d, ",
           wait_rc == ESP_OK ? "true" : "false", ms, before_rc, st1, st2);
    print_info();
    if (wait_rc == ESP_OK) {
        printf("{\"event\": \"clock\", \"cb_vs_realtime_us\": %lld, ",
               (long long)(atomic_load(&cb_tv_us) - realtime_us()));
        esp_smoltcp_sntp_get_time(&tv);
        printf("\"sntp_unix_us\": %lld, \"err_us\": [", (long long)tv.tv_sec * 1000000 + tv.tv_usec);
        for (int k = 0; k < samples; k++) {
            int64_t a = realtime_us();
            esp_err_t rc = esp_smoltcp_sntp_get_time(&tv);
            int64_t b = realtime_us();
            int64_t ours = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
            printf("%s%lld", k ? ", " : "", rc == ESP_OK ? (long long)(ours - (a + b) / 2) : 999999999LL);
            if (k + 1 < samples) {
                usleep(50000);
            }
        }
        printf("]}\n");
    }
    if (resync && wait_rc == ESP_OK) {
        esp_smoltcp_sntp_info_t info;
        esp_smoltcp_sntp_get_info(&info);
        uint32_t first = info.sync_count;
        t0 = mono_ms();
        esp_err_t rrc = esp_smoltcp_sntp_restart();
        while (mono_ms() - t0 < wait_ms && esp_smoltcp_sntp_get_info(&info) == ESP_OK && info.sync_count == first) {
            usleep(20000);
        }
        usleep(50000); /* let the callback of that sync run */
        printf("{\"event\": \"resync\", \"restart_rc\": %d, \"ms\": %.0f, ", rrc, mono_ms() - t0);
        print_info();
    }
    double d0 = mono_ms();
    esp_smoltcp_sntp_deinit();
    printf("{\"event\": \"done\", \"deinit_ms\": %.0f, \"deinit_again\": %d}\n", mono_ms() - d0,
           esp_smoltcp_sntp_deinit());
    fflush(stdout);
    _Exit(0);
}
