/* esp_smoltcp_ping(): echo requests over an ICMP socket, RTTs printed like ping(8). */
#include "esp_smoltcp_ping.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ip6_nd.h"
#include "ip6_slaac.h"
#include "os.h"

#define MAX_DATA 1400

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

/* Integer square root: no libm for one standard deviation. */
static uint64_t isqrt(uint64_t v)
{
    uint64_t r = 0;
    for (uint64_t bit = 1ull << 62; bit; bit >>= 2) {
        if (v >= r + bit) {
            v -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
    }
    return r;
}

/* Microseconds as ping(8)'s "%.3f" milliseconds, in integers: a double division here pulled
 * the soft-float double routines (1.8 KB) into the image of a single-float core. */
#define MS_FMT "%u.%03u"
#define MS_ARG(us) (unsigned)((us) / 1000), (unsigned)((us) % 1000)

static void fmt_addr(const esp_smoltcp_endpoint_t *ep, char *buf)
{
    if (ep->family == ESP_SMOLTCP_AF_INET) {
        sprintf(buf, "%u.%u.%u.%u", ep->addr[0], ep->addr[1], ep->addr[2], ep->addr[3]);
    } else {
        ip6_fmt(ep->addr, buf);
    }
}

esp_err_t esp_smoltcp_ping(const esp_smoltcp_ping_config_t *cfg, esp_smoltcp_ping_result_t *out)
{
    if (!cfg || cfg->count == 0 || cfg->data_size < 8 || cfg->data_size > MAX_DATA ||
        (cfg->target.family != ESP_SMOLTCP_AF_INET && cfg->target.family != ESP_SMOLTCP_AF_INET6)) {
        return ESP_ERR_INVALID_ARG;
    }
    if (cfg->target.family == ESP_SMOLTCP_AF_INET6 && !ip6_supported()) {
        return ESP_ERR_NOT_SUPPORTED;
    }
    int h = esp_smoltcp_sock_open(ESP_SMOLTCP_SOCK_ICMP, NULL);
    if (h == -ENETDOWN) {
        return ESP_ERR_INVALID_STATE;
    }
    if (h < 0) {
        return ESP_ERR_NO_MEM;
    }
    const bool v6 = cfg->target.family == ESP_SMOLTCP_AF_INET6;
    const uint16_t ident = (uint16_t)os_random_u64();
    uint8_t *req = malloc(8u + cfg->data_size);
    uint8_t *rep = malloc(8u + cfg->data_size);
    uint8_t *seen = calloc((cfg->count + 7) / 8, 1);
    if (!req || !rep || !seen) {
        free(req);
        free(rep);
        free(seen);
        esp_smoltcp_sock_close(h);
        return ESP_ERR_NO_MEM;
    }
    char who[48];
    fmt_addr(&cfg->target, who);
    printf("PING %s: %u data bytes\n", who, cfg->data_size);
    esp_smoltcp_ping_result_t r = {0};
    uint64_t sum = 0, sum2 = 0; /* µs and µs²: 64 bits hold 4 billion replies of 1 s */
    esp_err_t err = ESP_OK;
    const uint64_t start = os_now_us();
    for (uint32_t seq = 1; seq <= cfg->count; seq++) {
        const uint64_t sent_at = os_now_us();
        memset(req, 0, 8);
        req[0] = v6 ? 128 : 8; /* echo request */
        req[4] = (uint8_t)(ident >> 8);
        req[5] = (uint8_t)ident;
        req[6] = (uint8_t)(seq >> 8);
        req[7] = (uint8_t)seq;
        put_u64(req + 8, sent_at);
        for (uint16_t i = 8; i < cfg->data_size; i++) {
            req[8 + i] = (uint8_t)i;
        }
        ssize_t n = esp_smoltcp_sock_sendto(h, req, 8u + cfg->data_size, 0, &cfg->target, 1000);
        if (n == -ENETUNREACH) {
            printf("ping: %s: network unreachable\n", who);
            err = ESP_FAIL;
            break;
        }
        r.transmitted++;
        /* As ping(8): the next request goes out after the interval whatever came back; replies
         * to earlier requests count when they arrive. After the last, wait up to the timeout. */
        const uint64_t until = sent_at + (uint64_t)(seq == cfg->count ? cfg->timeout_ms : cfg->interval_ms) * 1000;
        for (;;) {
            uint64_t now = os_now_us();
            if (now >= until || (seq == cfg->count && r.received >= seq)) {
                break;
            }
            size_t full = 0;
            esp_smoltcp_endpoint_t from;
            n = esp_smoltcp_sock_recvfrom(h, rep, 8u + cfg->data_size, 0, &full, &from,
                                          (uint32_t)((until - now + 999) / 1000));
            if (n < 8) {
                continue;
            }
            uint64_t got_at = os_now_us();
            uint16_t rseq = (uint16_t)(rep[6] << 8 | rep[7]);
            if (rep[0] != (v6 ? 129 : 0) || (uint16_t)(rep[4] << 8 | rep[5]) != ident || rseq == 0 ||
                rseq > seq || full != 8u + cfg->data_size) {
                continue;
            }
            if (seen[(rseq - 1) / 8] & (1u << ((rseq - 1) % 8))) {
                r.duplicates++;
                if (!cfg->quiet) {
                    printf("%u bytes from %s: icmp_seq=%u (DUP!)\n", (unsigned)full, who, rseq);
                }
                continue;
            }
            seen[(rseq - 1) / 8] |= (uint8_t)(1u << ((rseq - 1) % 8));
            uint64_t rtt = got_at - get_u64(rep + 8);
            r.received++;
            sum += rtt;
            sum2 += rtt * rtt;
            if (r.received == 1 || rtt < r.rtt_min_us) {
                r.rtt_min_us = (uint32_t)rtt;
            }
            if (rtt > r.rtt_max_us) {
                r.rtt_max_us = (uint32_t)rtt;
            }
            if (!cfg->quiet) {
                printf("%u bytes from %s: icmp_seq=%u time=" MS_FMT " ms\n", (unsigned)full, who, rseq, MS_ARG(rtt));
            }
        }
    }
    r.total_ms = (uint32_t)((os_now_us() - start) / 1000);
    if (r.received) {
        uint64_t avg = sum / r.received, mean2 = sum2 / r.received;
        r.rtt_avg_us = (uint32_t)avg;
        r.rtt_mdev_us = (uint32_t)(mean2 > avg * avg ? isqrt(mean2 - avg * avg) : 0);
    }
    printf("--- %s ping statistics ---\n", who);
    printf("%u packets transmitted, %u received, %u%% packet loss, time %ums\n", (unsigned)r.transmitted,
           (unsigned)r.received, (unsigned)(r.transmitted ? (r.transmitted - r.received) * 100 / r.transmitted : 0),
           (unsigned)r.total_ms);
    if (r.received) {
        printf("rtt min/avg/max/mdev = " MS_FMT "/" MS_FMT "/" MS_FMT "/" MS_FMT " ms\n", MS_ARG(r.rtt_min_us),
               MS_ARG(r.rtt_avg_us), MS_ARG(r.rtt_max_us), MS_ARG(r.rtt_mdev_us));
    }
    free(req);
    free(rep);
    free(seen);
    esp_smoltcp_sock_close(h);
    if (out) {
        *out = r;
    }
    if (err == ESP_OK && r.received == 0) {
        err = ESP_ERR_TIMEOUT;
    }
    return err;
}
