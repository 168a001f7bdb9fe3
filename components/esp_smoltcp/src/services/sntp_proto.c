/* SNTP packets and checks (sntp_proto.h). */
#include "sntp_proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ip_config.h"

#define US_PER_S 1000000

ntp_ts_t ntp_from_unix_us(int64_t unix_us)
{
    int64_t sec = unix_us / US_PER_S;
    int64_t us = unix_us % US_PER_S;
    if (us < 0) {
        sec--;
        us += US_PER_S;
    }
    uint32_t ntp_sec = (uint32_t)((uint64_t)(sec + NTP_UNIX_OFFSET) & 0xFFFFFFFFu); /* wraps into era 1 */
    uint32_t frac = (uint32_t)(((uint64_t)us << 32) / US_PER_S);
    return (ntp_ts_t)ntp_sec << 32 | frac;
}

int64_t ntp_to_unix_us(ntp_ts_t t)
{
    uint32_t ntp_sec = (uint32_t)(t >> 32);
    int64_t sec = (ntp_sec & 0x80000000u) ? (int64_t)ntp_sec - NTP_UNIX_OFFSET
                                          : (int64_t)ntp_sec + 4294967296LL - NTP_UNIX_OFFSET;
    int64_t us = (int64_t)(((t & 0xFFFFFFFFu) * US_PER_S + (1ull << 31)) >> 32); /* rounded */
    return sec * US_PER_S + us;
}

static void put_ts(uint8_t *p, ntp_ts_t t)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(t >> (56 - 8 * i));
    }
}

static ntp_ts_t get_ts(const uint8_t *p)
{
    ntp_ts_t t = 0;
    for (int i = 0; i < 8; i++) {
        t = t << 8 | p[i];
    }
    return t;
}

void sntp_build_request(uint8_t pkt[NTP_PACKET_LEN], ntp_ts_t nonce)
{
    memset(pkt, 0, NTP_PACKET_LEN);
    pkt[0] = (0u << 6) | (4u << 3) | 3u; /* LI 0, VN 4, mode 3 (client) */
    /* RFC 4330 §5: everything else may be zero; the transmit timestamp comes back as the origin. */
    put_ts(pkt + 40, nonce);
}

esp_smoltcp_sntp_status_t sntp_check_reply(const uint8_t *p, size_t len, ntp_ts_t nonce, sntp_reply_t *out)
{
    memset(out, 0, sizeof(*out));
    if (len < NTP_PACKET_LEN) {
        return ESP_SMOLTCP_SNTP_ERR_BAD_LENGTH;
    }
    out->li = p[0] >> 6;
    out->vn = (p[0] >> 3) & 7u;
    out->mode = p[0] & 7u;
    out->stratum = p[1];
    out->org = get_ts(p + 24);
    out->rec = get_ts(p + 32);
    out->xmt = get_ts(p + 40);
    if (out->org != nonce) {
        return ESP_SMOLTCP_SNTP_ERR_BAD_ORIGIN;
    }
    if (out->mode != 4) {
        return ESP_SMOLTCP_SNTP_ERR_BAD_MODE;
    }
    if (out->vn < 1 || out->vn > 4) {
        return ESP_SMOLTCP_SNTP_ERR_BAD_VERSION;
    }
    if (out->stratum == 0) {
        /* RFC 5905 §7.4: the kiss code is the reference ID, four ASCII characters. */
        for (int i = 0; i < 4; i++) {
            out->kiss[i] = (p[12 + i] >= 0x20 && p[12 + i] < 0x7F) ? (char)p[12 + i] : '?';
        }
        if (memcmp(out->kiss, "RATE", 4) == 0) {
            return ESP_SMOLTCP_SNTP_ERR_KOD_RATE;
        }
        if (memcmp(out->kiss, "DENY", 4) == 0) {
            return ESP_SMOLTCP_SNTP_ERR_KOD_DENY;
        }
        if (memcmp(out->kiss, "RSTR", 4) == 0) {
            return ESP_SMOLTCP_SNTP_ERR_KOD_RSTR;
        }
        return ESP_SMOLTCP_SNTP_ERR_KOD_OTHER;
    }
    if (out->li == 3 || out->stratum > 15) {
        return ESP_SMOLTCP_SNTP_ERR_UNSYNCHRONISED;
    }
    if (out->xmt == 0) {
        return ESP_SMOLTCP_SNTP_ERR_ZERO_TRANSMIT;
    }
    return ESP_SMOLTCP_SNTP_OK;
}

bool sntp_status_is_bogus(esp_smoltcp_sntp_status_t st)
{
    return st == ESP_SMOLTCP_SNTP_ERR_BAD_LENGTH || st == ESP_SMOLTCP_SNTP_ERR_BAD_ORIGIN;
}

void sntp_offset_delay(int64_t t1, int64_t t2, int64_t t3, int64_t t4, int64_t *offset, int64_t *delay)
{
    /* Halve each difference before adding: no overflow even with a 1900-vs-2036 first sync. */
    *offset = (t2 - t1) / 2 + (t3 - t4) / 2;
    *delay = (t4 - t1) - (t3 - t2);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* RFC 4291 §2.2 text form without an embedded IPv4 part: groups of 1-4 hex digits, one "::". */
static int parse_ipv6(const char *s, size_t n, uint8_t out[16])
{
    uint16_t words[8];
    int count = 0, gap = -1;
    size_t i = 0;
    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 0;
        i = 2;
    } else if (n >= 1 && s[0] == ':') {
        return -EINVAL;
    }
    while (i < n) {
        unsigned v = 0;
        int digits = 0;
        while (i < n && hexval(s[i]) >= 0 && digits < 5) {
            v = v << 4 | (unsigned)hexval(s[i]);
            i++;
            digits++;
        }
        if (digits == 0 || digits > 4 || count == 8) {
            return -EINVAL;
        }
        words[count++] = (uint16_t)v;
        if (i == n) {
            break;
        }
        if (s[i] != ':') {
            return -EINVAL;
        }
        i++;
        if (i < n && s[i] == ':') {
            if (gap >= 0) {
                return -EINVAL;
            }
            gap = count;
            i++;
        } else if (i == n) {
            return -EINVAL; /* trailing single ':' */
        }
    }
    if ((gap < 0 && count != 8) || (gap >= 0 && count > 7)) {
        return -EINVAL;
    }
    int fill = gap < 0 ? 0 : 8 - count;
    int w = 0;
    for (int k = 0; k < count; k++) {
        if (k == gap) {
            for (int z = 0; z < fill; z++) {
                out[2 * w] = 0;
                out[2 * w + 1] = 0;
                w++;
            }
        }
        out[2 * w] = (uint8_t)(words[k] >> 8);
        out[2 * w + 1] = (uint8_t)words[k];
        w++;
    }
    while (w < 8) { /* gap at the end ("fe80::") */
        out[2 * w] = 0;
        out[2 * w + 1] = 0;
        w++;
    }
    return 0;
}

static int parse_port(const char *s, uint16_t *port)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || v == 0 || v > 65535) {
        return -EINVAL;
    }
    *port = (uint16_t)v;
    return 0;
}

int sntp_parse_server(const char *spec, char *host, size_t host_len, uint16_t *port,
                      esp_smoltcp_endpoint_t *literal)
{
    memset(literal, 0, sizeof(*literal));
    *port = NTP_PORT;
    host[0] = '\0';
    if (!spec || !*spec) {
        return -EINVAL;
    }
    size_t n = strlen(spec);
    const char *colon = strchr(spec, ':');
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (!close || (close[1] && (close[1] != ':' || parse_port(close + 2, port) != 0))) {
            return -EINVAL;
        }
        literal->family = ESP_SMOLTCP_AF_INET6;
        literal->port = *port;
        return parse_ipv6(spec + 1, (size_t)(close - spec - 1), literal->addr);
    }
    if (colon && strchr(colon + 1, ':')) { /* two colons or more: a bare IPv6 literal */
        literal->family = ESP_SMOLTCP_AF_INET6;
        literal->port = *port;
        return parse_ipv6(spec, n, literal->addr);
    }
    size_t hn = colon ? (size_t)(colon - spec) : n;
    if (hn == 0 || hn >= host_len || (colon && parse_port(colon + 1, port) != 0)) {
        return -EINVAL;
    }
    memcpy(host, spec, hn);
    host[hn] = '\0';
    uint8_t v4[4];
    if (ip4_parse_addr(host, v4) == ESP_OK) {
        literal->family = ESP_SMOLTCP_AF_INET;
        literal->port = *port;
        memcpy(literal->addr, v4, 4);
        host[0] = '\0';
    }
    return 0;
}
