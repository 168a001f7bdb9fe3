/*
 * ".local" host names resolved by one-shot multicast queries (RFC 6762 §5.1):
 * esp_smoltcp_mdns_resolve_host() (esp_smoltcp_mdns.h). The resolver's
 * esp_smoltcp_dns_resolve() routes .local names here once the hook is set
 * (esp_smoltcp_mdns_init() sets it).
 *
 * The query goes from an ephemeral port, so responders answer it as a legacy
 * unicast query (§6.7): straight back to us, with our id. It is sent to both
 * groups and repeated every second until an answer comes or time runs out.
 * Our own host name is answered from the interface's addresses (the stack
 * does not hear its own multicast).
 */
#include <errno.h>
#include <string.h>

#include "esp_smoltcp_addrs.h"
#include "esp_smoltcp_mdns.h"
#include "esp_smoltcp_sock.h"
#include "mdns_proto.h"
#include "os.h"

#define RESEND_US 1000000u
#define MAX_FOUND 8

static const uint8_t GROUP4[4] = {224, 0, 0, 251};
static const uint8_t GROUP6[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfb};

typedef struct {
    esp_smoltcp_endpoint_t a[2][MAX_FOUND]; /* [0] IPv4, [1] IPv6 */
    size_t n[2];
} found_t;

static void add(found_t *f, uint8_t family, const uint8_t *addr)
{
    int t = family == ESP_SMOLTCP_AF_INET ? 0 : 1;
    size_t len = t ? 16 : 4;
    for (size_t i = 0; i < f->n[t]; i++) {
        if (memcmp(f->a[t][i].addr, addr, len) == 0) {
            return; /* the same answer from both groups */
        }
    }
    if (f->n[t] < MAX_FOUND) {
        esp_smoltcp_endpoint_t *e = &f->a[t][f->n[t]++];
        memset(e, 0, sizeof(*e));
        e->family = family;
        memcpy(e->addr, addr, len);
    }
}

/* A before AAAA, as the unicast resolver hands them out. */
static int collect(const found_t *f, esp_smoltcp_endpoint_t *out, size_t max)
{
    size_t n = 0;
    for (int t = 0; t < 2; t++) {
        for (size_t i = 0; i < f->n[t] && n < max; i++) {
            out[n++] = f->a[t][i];
        }
    }
    return n ? (int)n : -ENOENT;
}

/* Does the name end in the label "local" (and have one before it)? */
static bool is_local(const dns_name_t *n)
{
    size_t last = 0;
    unsigned labels = 0;
    for (size_t i = 0; i < n->len && n->b[i]; i += 1u + n->b[i]) {
        last = i;
        labels++;
    }
    if (labels < 2) {
        return false;
    }
    dns_name_t tail, local;
    tail.len = (uint8_t)(n->len - last);
    memcpy(tail.b, n->b + last, tail.len);
    dns_name_from_str(&local, "local");
    return dns_name_eq(&tail, &local);
}

/* Our own name: the stack does not hear its own multicast, so answer from the interface. */
static bool own_name(const dns_name_t *qn, int family, found_t *f)
{
    esp_smoltcp_mdns_info_t info;
    dns_name_t mine, local;
    dns_name_from_str(&local, "local");
    if (esp_smoltcp_mdns_get_info(&info) != ESP_OK || !info.running ||
        dns_name_prepend(&mine, info.hostname, strlen(info.hostname), &local) != 0 || !dns_name_eq(qn, &mine)) {
        return false;
    }
    esp_smoltcp_ip_addr_t a[MAX_FOUND];
    size_t n = 0;
    esp_smoltcp_get_ip_addrs(ESP_SMOLTCP_IFACE_ETH, (uint8_t)family, a, MAX_FOUND, &n);
    for (size_t i = 0; i < n; i++) {
        bool loop = a[i].family == ESP_SMOLTCP_AF_INET ? a[i].addr[0] == 127 : a[i].addr[0] == 0;
        if (!loop) {
            add(f, a[i].family, a[i].addr);
        }
    }
    return true;
}

/* Take the A/AAAA records for qn from a reply to query id. */
static void take_answers(const uint8_t *m, size_t len, uint16_t id, const dns_name_t *qn, const bool want[2],
                         found_t *f)
{
    dns_reader_t r;
    if (dns_reader_init(&r, m, len) != 0 || r.h.id != id || !(r.h.flags & DNS_FLAG_QR) ||
        (r.h.flags & (DNS_OPCODE_MASK | DNS_RCODE_MASK))) {
        return;
    }
    for (unsigned i = 0; i < r.h.qdcount; i++) {
        dns_question_t q;
        if (dns_read_question(&r, &q) != 0) {
            return;
        }
    }
    unsigned total = (unsigned)r.h.ancount + r.h.nscount + r.h.arcount;
    for (unsigned i = 0; i < total; i++) {
        dns_rr_t rr;
        if (dns_read_rr(&r, &rr) != 0) {
            return;
        }
        if (rr.cls != DNS_CLASS_IN || rr.ttl == 0 || !dns_name_eq(&rr.name, qn)) {
            continue;
        }
        if (rr.type == DNS_TYPE_A && rr.rdlen == 4 && want[0]) {
            add(f, ESP_SMOLTCP_AF_INET, m + rr.rdoff);
        } else if (rr.type == DNS_TYPE_AAAA && rr.rdlen == 16 && want[1]) {
            add(f, ESP_SMOLTCP_AF_INET6, m + rr.rdoff);
        }
    }
}

int esp_smoltcp_mdns_resolve_host(const char *name, int family, esp_smoltcp_endpoint_t *out, size_t max,
                                  uint32_t timeout_ms)
{
    dns_name_t qn;
    if (!name || !out || max == 0 || dns_name_from_str(&qn, name) != 0 || !is_local(&qn) ||
        (family != ESP_SMOLTCP_AF_UNSPEC && family != ESP_SMOLTCP_AF_INET && family != ESP_SMOLTCP_AF_INET6)) {
        return -EINVAL;
    }
    const bool want[2] = {family != ESP_SMOLTCP_AF_INET6, family != ESP_SMOLTCP_AF_INET};
    found_t f;
    memset(&f, 0, sizeof(f));
    if (own_name(&qn, family, &f)) {
        return collect(&f, out, max);
    }
    esp_smoltcp_sock_buffers_t bufs = {.rx_bytes = 4096, .tx_bytes = 1024};
    int h = esp_smoltcp_sock_open(ESP_SMOLTCP_SOCK_UDP, &bufs);
    if (h < 0) {
        return h;
    }
    esp_smoltcp_endpoint_t any = {.family = ESP_SMOLTCP_AF_UNSPEC, .port = 0};
    int rc = esp_smoltcp_sock_bind(h, &any, false);
    if (rc < 0) {
        esp_smoltcp_sock_close(h);
        return rc;
    }
    esp_smoltcp_sock_set_multicast(h, ESP_SMOLTCP_AF_INET, 255, true); /* RFC 6762 §11 */
    esp_smoltcp_sock_set_multicast(h, ESP_SMOLTCP_AF_INET6, 255, true);
    uint8_t q[DNS_NAME_MAX + 64];
    uint16_t id = (uint16_t)(os_random_u64() | 1u);
    dns_writer_t w;
    dns_writer_init(&w, q, sizeof(q), id, 0);
    if (want[0]) {
        dns_write_question(&w, &qn, DNS_TYPE_A, DNS_CLASS_IN);
    }
    if (want[1]) {
        dns_write_question(&w, &qn, DNS_TYPE_AAAA, DNS_CLASS_IN);
    }
    size_t qlen = dns_writer_finish(&w);
    uint64_t now = os_now_us();
    uint64_t deadline = timeout_ms == ESP_SMOLTCP_WAIT_FOREVER ? UINT64_MAX : now + (uint64_t)timeout_ms * 1000u;
    uint64_t next_send = now;
    uint8_t rx[512]; /* the caller's stack: A/AAAA replies are ~100 bytes; a larger one is skipped */
    while (f.n[0] + f.n[1] == 0) {
        now = os_now_us();
        if (now >= deadline) {
            break;
        }
        if (now >= next_send) {
            esp_smoltcp_endpoint_t g4 = {.family = ESP_SMOLTCP_AF_INET, .port = 5353};
            esp_smoltcp_endpoint_t g6 = {.family = ESP_SMOLTCP_AF_INET6, .port = 5353};
            memcpy(g4.addr, GROUP4, 4);
            memcpy(g6.addr, GROUP6, 16);
            /* Either may fail (no IPv4 address yet, IPv6 off): the other may still be answered. */
            esp_smoltcp_sock_sendto(h, q, qlen, 0, &g4, 100);
            esp_smoltcp_sock_sendto(h, q, qlen, 0, &g6, 100);
            next_send = now + RESEND_US;
        }
        uint64_t until = next_send < deadline ? next_send : deadline;
        now = os_now_us();
        uint32_t ms = until > now ? (uint32_t)((until - now + 999u) / 1000u) : 1;
        size_t full = 0;
        esp_smoltcp_endpoint_t from;
        ssize_t n = esp_smoltcp_sock_recvfrom(h, rx, sizeof(rx), 0, &full, &from, ms);
        if (n > 0 && full == (size_t)n && from.port == 5353) {
            take_answers(rx, (size_t)n, id, &qn, want, &f);
        }
    }
    esp_smoltcp_sock_close(h);
    return collect(&f, out, max);
}
