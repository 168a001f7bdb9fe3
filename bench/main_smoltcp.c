/*
 * bench_smoltcp: the eth_basic application (http_server.c, port 80) plus the
 * echo server (rr_server.c, port 7) on esp_smoltcp over a TAP — the same steps
 * as examples/eth_basic/host/eth_basic_host.c, with a static address. Defaults
 * as eth_basic (16 sockets); the harness passes --sockets 160 for 64 clients.
 *
 *   bench_smoltcp --tap tap0 --mac 02:00:00:00:00:02 --static 198.18.0.2/24
 *                 [--sockets N] [--tcp-buf BYTES] [--pool FRAMES] [--rx-poll-inline 0|1]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_proc.h"
#include "esp_smoltcp.h"
#include "esp_smoltcp_tap.h"
#include "http_server.h"
#include "rr_server.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static size_t stats_json(char *buf, size_t len)
{
    esp_smoltcp_stats_t s;
    if (esp_smoltcp_get_stats(ESP_SMOLTCP_IFACE_ETH, &s) != ESP_OK) {
        return (size_t)snprintf(buf, len, "{}");
    }
    char proc[256];
    bench_proc_json(proc, sizeof(proc));
    int n = snprintf(
        buf, len,
        "{\"stack\": \"smoltcp\", \"rx_frames\": %" PRIu64 ", \"tx_frames\": %" PRIu64 ", \"rx_bytes\": %" PRIu64
        ", \"tx_bytes\": %" PRIu64 ", \"rx_drop_pool_empty\": %" PRIu64 ", \"rx_drop_queue_full\": %" PRIu64
        ", \"rx_drop_bad_l4_checksum\": %" PRIu64 ", \"tx_failures\": %" PRIu64 ", \"rx_pool_capacity\": %" PRIu32
        ", \"rx_pool_in_use\": %" PRIu32 ", \"rx_pool_high_water\": %" PRIu32 ", \"rx_queue_high_water\": %" PRIu32
        ", \"sockets_open\": %" PRIu32 ", \"sockets_high_water\": %" PRIu32 ", \"socket_alloc_failures\": %" PRIu64
        ", \"tcp_syn_backlog_drops\": %" PRIu64 ", \"tcp_opened\": %" PRIu64 ", \"tcp_aborted\": %" PRIu64
        ", \"polls\": %" PRIu64
        ", \"poll_wakeups\": %" PRIu64 ", \"inline_polls\": %" PRIu64 ", \"rx_inline_polls\": %" PRIu64
        ", \"tcp_rexmits_sacked\": %" PRIu64 ", \"tcp_dupack_windows_kept\": %" PRIu64 ", \"tcp_dsack_acks_held\": %" PRIu64 ", %s}",
        s.rx_frames, s.tx_frames, s.rx_bytes, s.tx_bytes, s.rx_drop_pool_empty, s.rx_drop_queue_full,
        s.rx_drop_bad_l4_checksum, s.tx_failures, s.rx_pool_capacity, s.rx_pool_in_use, s.rx_pool_high_water,
        s.rx_queue_high_water, s.sockets_open, s.sockets_high_water, s.socket_alloc_failures, s.tcp_syn_backlog_drops, s.tcp_opened,
        s.tcp_aborted, s.polls, s.poll_wakeups, s.inline_polls, s.rx_inline_polls, s.tcp_rexmits_sacked, s.tcp_dupack_windows_kept, s.tcp_dsack_acks_held, proc);
    return n < 0 ? 0 : (size_t)n;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
    unsigned v[6];
    if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) {
        return -1;
    }
    for (int i = 0; i < 6; i++) {
        mac[i] = (uint8_t)v[i];
    }
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *tap = NULL;
    uint8_t mac[6];
    bool have_mac = false;
    esp_smoltcp_config_t cfg = ESP_SMOLTCP_DEFAULT_CONFIG();
    /* eth_basic's defaults (16 sockets); the harness passes --sockets 160 where 64 clients come */
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (strcmp(a, "--tap") == 0) {
            tap = v;
        } else if (strcmp(a, "--mac") == 0 && parse_mac(v, mac) == 0) {
            have_mac = true;
        } else if (strcmp(a, "--static") == 0) {
            cfg.ipv4_mode = ESP_SMOLTCP_IPV4_STATIC;
            cfg.static_ip = v;
        } else if (strcmp(a, "--gw") == 0) {
            cfg.static_gateway = v;
        } else if (strcmp(a, "--sockets") == 0) {
            cfg.max_sockets = (uint16_t)atoi(v);
        } else if (strcmp(a, "--tcp-buf") == 0) {
            cfg.tcp_rx_buffer = cfg.tcp_tx_buffer = (uint32_t)atoi(v);
        } else if (strcmp(a, "--pool") == 0) {
            cfg.rx_pool_frames = (uint32_t)atoi(v);
        } else if (strcmp(a, "--rx-poll-inline") == 0) {
            cfg.rx_poll_inline = atoi(v) != 0;
        } else {
            fprintf(stderr, "bench_smoltcp: bad option %s\n", a);
            return 2;
        }
    }
    if (!tap) {
        fprintf(stderr, "usage: bench_smoltcp --tap IF [--mac M] [--static A/L] [--sockets N] [--tcp-buf B] [--pool F] [--rx-poll-inline 0|1]\n");
        return 2;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    esp_smoltcp_netdev_t *dev = NULL;
    esp_err_t err = esp_smoltcp_init_with_config(&cfg);
    if (err == ESP_OK) {
        err = esp_smoltcp_tap_create(tap, have_mac ? mac : NULL, &dev);
    }
    if (err == ESP_OK) {
        err = esp_smoltcp_attach_netdev(dev);
    }
    if (err != ESP_OK) {
        fprintf(stderr, "bench_smoltcp: start failed: %s\n", esp_err_to_name(err));
        return 1;
    }
    while (!stop_requested && esp_smoltcp_wait_for_ip(ESP_SMOLTCP_IFACE_ETH, 500) != ESP_OK) {
    }
    printf("bench: ready (smoltcp, tcp buffers %" PRIu32 "/%" PRIu32 ", pool %" PRIu32 ", sockets %u)\n",
           cfg.tcp_rx_buffer, cfg.tcp_tx_buffer, cfg.rx_pool_frames, (unsigned)cfg.max_sockets);
    rr_server_start(7, 64, &stop_requested);
    http_server_config_t hcfg = {.port = 80, .max_clients = 96, .stats_json = stats_json};
    int rc = http_server_run(&hcfg, &stop_requested);
    char json[2048];
    stats_json(json, sizeof(json));
    printf("stats: %s\n", json);
    fflush(stdout);
    _Exit(rc == 0 ? 0 : 1);
}
