/*
 * The eth_basic HTTP server, written against the plain BSD socket API so the
 * same source runs on esp_smoltcp (through the lwip_* mapping) and on the
 * Linux kernel (for side-by-side benchmarks).
 *   GET /dl/N   N bytes, byte i = i % 251; logs "dl: N bytes in T us = X Mbit/s"
 *   POST /ul    counts and hashes the body; logs "ul: ... sha256=..."
 *   GET /stats  JSON from the stats callback
 */
#pragma once

#include <signal.h>
#include <stddef.h>

typedef struct {
    int port;
    int max_clients;                       /* concurrent connections served */
    int dual_stack;                        /* listen on PF_INET6 with IPV6_V6ONLY=0 (IPv4 and IPv6) */
    /* Writes the /stats JSON into buf (NUL-terminated); returns its length. */
    size_t (*stats_json)(char *buf, size_t len);
} http_server_config_t;

/** Serve until *stop becomes non-zero. Returns 0, or -1 if the listen socket failed. */
int http_server_run(const http_server_config_t *cfg, volatile sig_atomic_t *stop);
