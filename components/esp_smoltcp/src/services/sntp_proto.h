/*
 * SNTP on the wire (RFC 4330 §4-§5, RFC 5905 §7.3): the 48-byte packet,
 * NTP timestamps, the checks a reply must pass, offset and delay. Pure
 * functions, tested in tests/services/test_sntp_proto.c.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_smoltcp_sntp.h"

#define NTP_PACKET_LEN 48
#define NTP_PORT 123
/* Seconds from 1900-01-01 (NTP era 0) to 1970-01-01 (RFC 5905 §6, Figure 4). */
#define NTP_UNIX_OFFSET 2208988800u

typedef uint64_t ntp_ts_t; /* 32.32 fixed point: seconds and fraction (RFC 5905 §6) */

/** UTC microseconds since 1970 to an NTP timestamp (era 0, or era 1 after 2036). */
ntp_ts_t ntp_from_unix_us(int64_t unix_us);

/**
 * NTP timestamp to UTC microseconds since 1970. RFC 4330 §3: a timestamp
 * with the top bit clear is taken to be in era 1 (2036-02-07 to 2104), so
 * the conversion is right for 1968-2104.
 */
int64_t ntp_to_unix_us(ntp_ts_t t);

/** A client request (LI 0, VN 4, mode 3) carrying `nonce` as its transmit timestamp. */
void sntp_build_request(uint8_t pkt[NTP_PACKET_LEN], ntp_ts_t nonce);

typedef struct {
    uint8_t li, vn, mode, stratum;
    char kiss[5]; /* stratum 0: the kiss code (reference ID as ASCII) */
    ntp_ts_t org, rec, xmt;
} sntp_reply_t;

/**
 * Check a reply to the request that carried `nonce`. Order: length, origin
 * (RFC 5905 §8: a packet whose origin is not our transmit timestamp is bogus
 * and is checked first, so that a forged KoD cannot silence a server), mode,
 * version, kiss-o'-death (stratum 0), leap indicator 3 / stratum > 15, zero
 * transmit timestamp. *out is filled from whatever was parsed.
 */
esp_smoltcp_sntp_status_t sntp_check_reply(const uint8_t *pkt, size_t len, ntp_ts_t nonce, sntp_reply_t *out);

/** A status that says "not an answer to this request": keep waiting for one. */
bool sntp_status_is_bogus(esp_smoltcp_sntp_status_t st);

/**
 * Clock offset and round-trip delay from T1 (our send), T2 (server receive),
 * T3 (server transmit), T4 (our receive), all UTC microseconds
 * (RFC 4330 §5): offset = ((T2 - T1) + (T3 - T4)) / 2,
 * delay = (T4 - T1) - (T3 - T2).
 */
void sntp_offset_delay(int64_t t1, int64_t t2, int64_t t3, int64_t t4, int64_t *offset, int64_t *delay);

/**
 * Split a server string: "host", "host:port", "a.b.c.d[:port]", an IPv6
 * literal, "[v6]:port". A literal address is returned in *literal (family
 * set, port filled) and host is empty; a name goes to host.
 * @return 0; -EINVAL (empty, too long, bad port or bad literal).
 */
int sntp_parse_server(const char *spec, char *host, size_t host_len, uint16_t *port,
                      esp_smoltcp_endpoint_t *literal);
