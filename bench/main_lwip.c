/*
 * bench_lwip: the eth_basic application (http_server.c, port 80) plus the echo
 * server (rr_server.c, port 7) on lwIP 2.1.3 (Debian's liblwip, NO_SYS=0, its
 * sockets API) over a TAP through bench/lwip_tapif.c. Static address.
 *
 *   bench_lwip --tap tap0 --mac 02:00:00:00:00:02 --static 198.18.0.2/24 [--gw G]
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_proc.h"
#include "http_server.h"
#include "lwip/init.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/tcpip.h"
#include "lwip_tapif.h"
#include "rr_server.h"

static volatile sig_atomic_t stop_requested;
static struct netif netif;
static bench_tapif_t tapif;
static ip4_addr_t addr, mask, gw;
static sem_t ready;
static int netif_ok;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static size_t stats_json(char *buf, size_t len)
{
    char proc[256];
    bench_proc_json(proc, sizeof(proc));
    int n = snprintf(buf, len,
                     "{\"stack\": \"lwip\", \"rx_frames\": %" PRIu64 ", \"tx_frames\": %" PRIu64 ", \"rx_bytes\": %" PRIu64
                     ", \"tx_bytes\": %" PRIu64 ", \"rx_drop_alloc\": %" PRIu64 ", \"rx_drop_input\": %" PRIu64
                     ", \"tx_failures\": %" PRIu64 ", %s}",
                     tapif.rx_frames, tapif.tx_frames, tapif.rx_bytes, tapif.tx_bytes, tapif.rx_drops_alloc,
                     tapif.rx_drops_input, tapif.tx_failures, proc);
    return n < 0 ? 0 : (size_t)n;
}

/* Runs in the tcpip thread. */
static void setup_netif(void *arg)
{
    (void)arg;
    if (netif_add(&netif, &addr, &mask, &gw, &tapif, bench_tapif_init, tcpip_input)) {
        netif_set_default(&netif);
        netif_set_up(&netif);
        netif_set_link_up(&netif);
        netif_ok = 1;
    }
    sem_post(&ready);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *tap = NULL, *ip = "198.18.0.2/24", *gws = "0.0.0.0";
    unsigned m[6] = {2, 0, 0, 0, 0, 2};
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (strcmp(a, "--tap") == 0) {
            tap = v;
        } else if (strcmp(a, "--mac") == 0) {
            sscanf(v, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]);
        } else if (strcmp(a, "--static") == 0) {
            ip = v;
        } else if (strcmp(a, "--gw") == 0) {
            gws = v;
        } else {
            fprintf(stderr, "bench_lwip: bad option %s\n", a);
            return 2;
        }
    }
    if (!tap) {
        fprintf(stderr, "usage: bench_lwip --tap IF [--mac M] [--static A/L] [--gw G]\n");
        return 2;
    }
    char ipbuf[64];
    snprintf(ipbuf, sizeof(ipbuf), "%s", ip);
    int plen = 24;
    char *slash = strchr(ipbuf, '/');
    if (slash) {
        *slash = '\0';
        plen = atoi(slash + 1);
    }
    if (!ip4addr_aton(ipbuf, &addr) || !ip4addr_aton(gws, &gw) || plen < 0 || plen > 32) {
        fprintf(stderr, "bench_lwip: bad address\n");
        return 2;
    }
    ip4_addr_set_u32(&mask, plen ? lwip_htonl(0xffffffffu << (32 - plen)) : 0);
    snprintf(tapif.ifname, sizeof(tapif.ifname), "%s", tap);
    for (int i = 0; i < 6; i++) {
        tapif.mac[i] = (uint8_t)m[i];
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);

    sem_init(&ready, 0, 0);
    tcpip_init(NULL, NULL);
    tcpip_callback(setup_netif, NULL);
    sem_wait(&ready);
    if (!netif_ok || bench_tapif_start(&netif) != 0) {
        fprintf(stderr, "bench_lwip: netif setup failed\n");
        return 1;
    }
    printf("bench: ready (lwip %s)\n", LWIP_VERSION_STRING);
    rr_server_start(7, 64, &stop_requested);
    http_server_config_t hcfg = {.port = 80, .max_clients = 96, .stats_json = stats_json};
    int rc = http_server_run(&hcfg, &stop_requested);
    char json[1024];
    stats_json(json, sizeof(json));
    printf("stats: %s\n", json);
    fflush(stdout);
    _Exit(rc == 0 ? 0 : 1);
}
