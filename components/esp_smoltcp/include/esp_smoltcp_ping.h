/*
 * ICMP / ICMPv6 echo ("ping") over the runtime's ICMP sockets, printing
 * like iputils ping does:
 *
 *     PING 198.18.0.1: 56 data bytes
 *     64 bytes from 198.18.0.1: icmp_seq=1 time=0.412 ms
 *     ...
 *     --- 198.18.0.1 ping statistics ---
 *     4 packets transmitted, 4 received, 0% packet loss, time 3004ms
 *     rtt min/avg/max/mdev = 0.301/0.388/0.451/0.057 ms
 *
 * Blocking; call it from an application task, not from a stack callback.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "esp_err.h"
#include "esp_smoltcp_sock.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    esp_smoltcp_endpoint_t target; /* family ESP_SMOLTCP_AF_INET or _INET6 and address; port unused */
    uint32_t count;                /* echo requests to send (>= 1) */
    uint32_t interval_ms;          /* between requests (sent on time whatever came back, as ping -i) */
    uint32_t timeout_ms;           /* after the last request, wait this long for outstanding replies */
    uint16_t data_size;            /* payload bytes after the 8-byte ICMP header (>= 8: holds the send time) */
    bool quiet;                    /* no per-reply lines, only the summary */
} esp_smoltcp_ping_config_t;

#define ESP_SMOLTCP_PING_DEFAULT_CONFIG() \
    {.count = 4, .interval_ms = 1000, .timeout_ms = 1000, .data_size = 56, .quiet = false}

typedef struct {
    uint32_t transmitted;
    uint32_t received;
    uint32_t duplicates;    /* replies with a sequence number already answered */
    uint32_t rtt_min_us, rtt_avg_us, rtt_max_us, rtt_mdev_us; /* 0 when nothing was received */
    uint32_t total_ms;      /* first request to the end */
} esp_smoltcp_ping_result_t;

/**
 * Ping cfg->target. Prints the lines above to stdout; fills *out (may be NULL).
 * @return ESP_OK when at least one reply came back; ESP_ERR_TIMEOUT when none did;
 *         ESP_ERR_INVALID_ARG (bad family, count 0, data_size < 8 or > 1400);
 *         ESP_ERR_INVALID_STATE (stack not attached); ESP_ERR_NO_MEM (no socket);
 *         ESP_FAIL (no route to the target); ESP_ERR_NOT_SUPPORTED (an IPv6 target in
 *         an IPv4-only build, Kconfig ESP_SMOLTCP_IPV6=n).
 */
esp_err_t esp_smoltcp_ping(const esp_smoltcp_ping_config_t *cfg, esp_smoltcp_ping_result_t *out);

#ifdef __cplusplus
}
#endif
