/*
 * bench_kernel: the eth_basic application (http_server.c, port 80) plus the echo
 * server (rr_server.c, port 7) on the Linux kernel's sockets. Run it in the
 * namespace whose interface holds the server address.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_proc.h"
#include "http_server.h"
#include "rr_server.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* The namespace's TCP counters (/proc/net/snmp "Tcp:" lines). */
static void tcp_counters(long *retrans, long *out_segs, long *in_segs)
{
    *retrans = *out_segs = *in_segs = -1;
    FILE *f = fopen("/proc/net/snmp", "r");
    if (!f) {
        return;
    }
    char names[1024], vals[1024];
    while (fgets(names, sizeof(names), f)) {
        if (strncmp(names, "Tcp:", 4) != 0 || !fgets(vals, sizeof(vals), f)) {
            continue;
        }
        char *sn, *sv;
        char *n = strtok_r(names, " \n", &sn), *v = strtok_r(vals, " \n", &sv);
        while (n && v) {
            if (strcmp(n, "RetransSegs") == 0) {
                *retrans = atol(v);
            } else if (strcmp(n, "OutSegs") == 0) {
                *out_segs = atol(v);
            } else if (strcmp(n, "InSegs") == 0) {
                *in_segs = atol(v);
            }
            n = strtok_r(NULL, " \n", &sn);
            v = strtok_r(NULL, " \n", &sv);
        }
        break;
    }
    fclose(f);
}

static size_t stats_json(char *buf, size_t len)
{
    char proc[256];
    bench_proc_json(proc, sizeof(proc));
    long r, o, i;
    tcp_counters(&r, &o, &i);
    int n = snprintf(buf, len, "{\"stack\": \"kernel\", \"tcp_retrans_segs\": %ld, \"tcp_out_segs\": %ld, "
                               "\"tcp_in_segs\": %ld, %s}", r, o, i, proc);
    return n < 0 ? 0 : (size_t)n;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    printf("bench: ready (kernel)\n");
    rr_server_start(7, 64, &stop_requested);
    http_server_config_t hcfg = {.port = 80, .max_clients = 96, .stats_json = stats_json};
    int rc = http_server_run(&hcfg, &stop_requested);
    char json[1024];
    stats_json(json, sizeof(json));
    printf("stats: %s\n", json);
    fflush(stdout);
    _Exit(rc == 0 ? 0 : 1);
}
