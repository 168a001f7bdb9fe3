/* Stateless DHCPv6 (Information-Request for DNS servers); see ip6_dhcp6.h. */
#include "ip6_dhcp6.h"

#include <stdlib.h>
#include <string.h>

#include "dhcp6_rt.h"
#include "esp_log.h"
#include "ip6_nd.h"
#include "runtime.h"

static const char *TAG = "esp_smoltcp";

#define NEVER UINT64_MAX
#define SEC 1000000ull
#define INF_MAX_DELAY_US (1 * SEC) /* RFC 8415 §7.6 */
#define IRT_DEFAULT_S 86400        /* §21.23 */
#define IRT_MINIMUM_S 600
#define MSG_INFORMATION_REQUEST 11
#define MSG_REPLY 7
#define OPT_CLIENTID 1
#define OPT_SERVERID 2
#define OPT_ORO 6
#define OPT_ELAPSED_TIME 8
#define OPT_STATUS_CODE 13
#define OPT_DNS_SERVERS 23
#define OPT_INFORMATION_REFRESH_TIME 32
#define CLIENT_PORT 546
#define SERVER_PORT 547
#define MAX_DNS 3
#define BUF 512

static struct {
    bool active;          /* exchange in progress or refresh scheduled */
    int sock;             /* glue UDP socket, -1 when closed */
    void *rx_mem, *tx_mem;
    uint8_t xid[3];
    uint64_t started;     /* first transmission of this exchange */
    uint64_t next_tx;     /* NEVER while waiting for a refresh */
    uint64_t rt;          /* current retransmission timeout */
    uint64_t refresh_at;  /* NEVER while an exchange runs */
    uint8_t dns_count;
    uint8_t dns[MAX_DNS][16];
} c = {.sock = -1};

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void close_socket(void);

static bool open_socket(void)
{
    size_t mem = esg_dgram_buffer_mem_size(2, BUF * 2);
    c.rx_mem = malloc(mem);
    c.tx_mem = malloc(mem);
    int id = c.rx_mem && c.tx_mem ? esg_udp_open(rt.eng, c.rx_mem, mem, 2, c.tx_mem, mem, 2) : ESG_ERR_NOMEM;
    if (id >= 0) {
        c.sock = id;
        rt_count_socket(+1);
    }
    esg_endpoint_t local = {.family = ESG_AF_UNSPEC, .port = CLIENT_PORT};
    if (id < 0 || esg_udp_bind(rt.eng, c.sock, &local) != ESG_OK) {
        ESP_LOGW(TAG, "dhcpv6: no socket for the client");
        close_socket();
        return false;
    }
    return true;
}

void dhcp6_request(uint64_t now)
{
    if (c.active) {
        return;
    }
    if (c.sock < 0 && !open_socket()) {
        return;
    }
    c.active = true;
    uint64_t r = os_random_u64();
    memcpy(c.xid, &r, 3);
    c.started = 0;
    c.rt = 0;
    c.refresh_at = NEVER;
    c.next_tx = now + os_random_u64() % INF_MAX_DELAY_US; /* §18.2.6: random delay first */
}

/* Give the engine socket back (after a Reply: it is needed again only at the refresh). */
static void close_socket(void)
{
    if (c.sock >= 0 && rt.eng) {
        esg_socket_remove(rt.eng, c.sock);
        rt_count_socket(-1);
    }
    c.sock = -1;
    free(c.rx_mem);
    free(c.tx_mem);
    c.rx_mem = c.tx_mem = NULL;
}

void dhcp6_stop(void)
{
    close_socket();
    memset(&c, 0, sizeof(c));
    c.sock = -1;
}

size_t dhcp6_dns_servers(uint8_t (*out)[16], size_t max)
{
    size_t n = c.dns_count < max ? c.dns_count : max;
    memcpy(out, c.dns, n * 16);
    return n;
}

static void send_request(uint64_t now)
{
    uint8_t m[64];
    size_t n = 0;
    m[n++] = MSG_INFORMATION_REQUEST;
    memcpy(m + n, c.xid, 3);
    n += 3;
    /* Client Identifier: DUID-LL (type 3, hardware type 1 = Ethernet). */
    wr16(m + n, OPT_CLIENTID);
    wr16(m + n + 2, 10);
    wr16(m + n + 4, 3);
    wr16(m + n + 6, 1);
    memcpy(m + n + 8, rt.mac, 6);
    n += 14;
    wr16(m + n, OPT_ORO);
    wr16(m + n + 2, 4);
    wr16(m + n + 4, OPT_DNS_SERVERS);
    wr16(m + n + 6, OPT_INFORMATION_REFRESH_TIME);
    n += 8;
    /* Elapsed time in 1/100 s since the first transmission (§21.9), capped at 0xffff. */
    uint64_t cs = c.started ? (now - c.started) / 10000 : 0;
    wr16(m + n, OPT_ELAPSED_TIME);
    wr16(m + n + 2, 2);
    wr16(m + n + 4, (uint16_t)(cs > 0xffff ? 0xffff : cs));
    n += 6;
    esg_endpoint_t to = {.family = ESG_AF_INET6, .port = SERVER_PORT,
                         .addr = {0xff, 0x02, [13] = 0x01, [15] = 0x02}};
    uint8_t ll[16], prefix;
    if (esg_iface_get_addr(rt.eng, ESG_AF_INET6, 0, ll, &prefix) != ESG_OK) {
        return;
    }
    if (esg_udp_send(rt.eng, c.sock, m, n, &to, ll) >= 0) {
        rt_kick(); /* queued in the socket: the engine sends it at the next poll, which must come now */
    }
}

static void take_reply(const uint8_t *m, size_t len, uint64_t now)
{
    if (len < 4 || m[0] != MSG_REPLY || memcmp(m + 1, c.xid, 3) != 0) {
        return;
    }
    uint8_t dns[MAX_DNS][16];
    uint8_t ndns = 0;
    uint32_t irt = IRT_DEFAULT_S;
    bool have_server = false;
    for (size_t o = 4; o + 4 <= len;) {
        uint16_t code = rd16(m + o), olen = rd16(m + o + 2);
        const uint8_t *v = m + o + 4;
        if (o + 4 + olen > len) {
            return; /* truncated option: drop the message */
        }
        if (code == OPT_SERVERID) {
            have_server = true;
        } else if (code == OPT_STATUS_CODE && olen >= 2 && rd16(v) != 0) {
            ESP_LOGW(TAG, "dhcpv6: reply with status %u", rd16(v));
            return;
        } else if (code == OPT_DNS_SERVERS) {
            for (size_t i = 0; i + 16 <= olen && ndns < MAX_DNS; i += 16) {
                memcpy(dns[ndns++], v + i, 16);
            }
        } else if (code == OPT_INFORMATION_REFRESH_TIME && olen == 4) {
            irt = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
        }
        o += 4 + (size_t)olen;
    }
    if (!have_server) {
        return; /* §16.10: a Reply without a Server Identifier is discarded */
    }
    if (irt < IRT_MINIMUM_S) {
        irt = IRT_MINIMUM_S;
    }
    bool changed = ndns != c.dns_count || memcmp(dns, c.dns, (size_t)ndns * 16) != 0;
    c.dns_count = ndns;
    memcpy(c.dns, dns, (size_t)ndns * 16);
    char b[40];
    ESP_LOGI(TAG, "dhcpv6: reply, %u dns server(s)%s%s, refresh in %u s", ndns, ndns ? " first " : "",
             ndns ? ip6_fmt(dns[0], b) : "", (unsigned)irt);
    c.next_tx = NEVER;
    c.refresh_at = irt == UINT32_MAX ? NEVER : now + (uint64_t)irt * SEC;
    close_socket();
    if (changed) {
        dns_rebuild_servers();
    }
}

uint64_t dhcp6_after_poll(uint64_t now)
{
    if (!c.active) {
        return NEVER;
    }
    uint8_t m[BUF];
    size_t full;
    int n;
    while (c.sock >= 0 && (n = esg_udp_recv(rt.eng, c.sock, m, sizeof(m), false, &full, NULL, NULL)) >= 0) {
        take_reply(m, (size_t)n, now);
    }
    if (c.refresh_at != NEVER && now >= c.refresh_at) {
        c.active = false; /* §18.2.6: ask again after the Information Refresh Time */
        dhcp6_request(now);
    }
    if (c.next_tx != NEVER && now >= c.next_tx && c.sock >= 0) {
        if (!c.started) {
            c.started = now;
        }
        send_request(now);
        c.rt = dhcp6_next_rt(c.rt, os_random_u64());
        c.next_tx = now + c.rt;
    }
    uint64_t next = c.next_tx < c.refresh_at ? c.next_tx : c.refresh_at;
    return next == NEVER ? NEVER : next - now;
}
