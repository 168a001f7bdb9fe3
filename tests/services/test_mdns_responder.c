/*
 * The mDNS responder's task in one process, no root: the runtime on a
 * netdev that records every transmitted frame (with its time) and lets the
 * test inject frames. Checks what the e2e test against avahi cannot see
 * closely: argument checks and table limits, the probe and announcement
 * timing on both IPv4 and IPv6 (§8.1: 3 probes 250 ms apart, the first QU;
 * §8.3: 2 announcements 1 s apart), record contents and TTLs, goodbyes on
 * service removal and on free, a conflict while established (probe again,
 * §9) followed by one while probing (rename to "node-2"), a lost
 * simultaneous-probe tie-break (§8.2), and init after free.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "esp_smoltcp.h"
#include "esp_smoltcp_dns.h"
#include "esp_smoltcp_mdns.h"
#include "mdns_proto.h"
#include "test_netdev.h"
#include "unit_test.h"

#define MAX_FRAMES 2048
#define FRAME_MAX 1600

typedef struct {
    uint64_t t_us;
    size_t len;
    uint8_t b[FRAME_MAX];
} frame_rec_t;

static frame_rec_t *frames;
static size_t nframes;
static pthread_mutex_t fl = PTHREAD_MUTEX_INITIALIZER;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Observer of the test netdev: records every frame the stack transmits, with its time. */
static void capture_tx(const uint8_t *f, size_t n)
{
    pthread_mutex_lock(&fl);
    if (nframes < MAX_FRAMES && n <= FRAME_MAX) {
        frames[nframes].t_us = now_us();
        frames[nframes].len = n;
        memcpy(frames[nframes].b, f, n);
        nframes++;
    }
    pthread_mutex_unlock(&fl);
}
static const uint8_t MAC[6] = {0x02, 0, 0, 0x12, 0x34, 0x77};

static size_t mark(void)
{
    pthread_mutex_lock(&fl);
    size_t n = nframes;
    pthread_mutex_unlock(&fl);
    return n;
}

/* ---- mDNS messages among the frames sent since `from` ------------------------------ */

typedef struct {
    uint64_t t_us;
    int family;
    const uint8_t *dns;
    size_t len;
} msg_t;

static size_t mdns_msgs(size_t from, msg_t *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&fl);
    size_t end = nframes;
    pthread_mutex_unlock(&fl);
    for (size_t i = from; i < end && n < max; i++) {
        const uint8_t *f = frames[i].b;
        size_t len = frames[i].len;
        size_t udp;
        int fam;
        if (len > 14 + 20 + 8 && f[12] == 0x08 && f[13] == 0x00 && f[14 + 9] == 17) {
            udp = 14 + (size_t)(f[14] & 15) * 4;
            fam = 4;
        } else if (len > 14 + 40 + 8 && f[12] == 0x86 && f[13] == 0xdd && f[14 + 6] == 17) {
            udp = 14 + 40;
            fam = 6;
        } else {
            continue;
        }
        if ((f[udp + 2] << 8 | f[udp + 3]) != 5353 && (f[udp] << 8 | f[udp + 1]) != 5353) {
            continue;
        }
        out[n++] = (msg_t){.t_us = frames[i].t_us, .family = fam, .dns = f + udp + 8, .len = len - udp - 8};
    }
    return n;
}

/* First record of section-agnostic type/name in m, with its class and ttl; -1 if none. */
static int find_rr(const msg_t *m, const char *name, uint16_t type, dns_rr_t *out, dns_reader_t *rdr)
{
    dns_name_t want;
    dns_name_from_str(&want, name);
    if (dns_reader_init(rdr, m->dns, m->len) != 0) {
        return -1;
    }
    for (unsigned i = 0; i < rdr->h.qdcount; i++) {
        dns_question_t q;
        if (dns_read_question(rdr, &q) != 0) {
            return -1;
        }
    }
    unsigned total = (unsigned)rdr->h.ancount + rdr->h.nscount + rdr->h.arcount;
    for (unsigned i = 0; i < total; i++) {
        if (dns_read_rr(rdr, out) != 0) {
            return -1;
        }
        if (out->type == type && dns_name_eq(&out->name, &want)) {
            return 0;
        }
    }
    return -1;
}

static bool is_probe_for(const msg_t *m, const char *name, bool *qu)
{
    dns_reader_t r;
    dns_question_t q;
    dns_name_t want;
    dns_name_from_str(&want, name);
    if (dns_reader_init(&r, m->dns, m->len) != 0 || (r.h.flags & DNS_FLAG_QR) || r.h.qdcount != 1 ||
        r.h.nscount == 0 || dns_read_question(&r, &q) != 0) {
        return false;
    }
    *qu = q.top_bit;
    return q.type == DNS_TYPE_ANY && dns_name_eq(&q.name, &want);
}

static bool is_response(const msg_t *m)
{
    return m->len >= 12 && (m->dns[2] & 0x80);
}

static esp_smoltcp_mdns_info_t info(void)
{
    esp_smoltcp_mdns_info_t i;
    esp_smoltcp_mdns_get_info(&i);
    return i;
}

static bool wait_for(bool (*cond)(void), uint32_t ms)
{
    for (uint32_t t = 0; t < ms; t += 10) {
        if (cond()) {
            return true;
        }
        usleep(10000);
    }
    return cond();
}

static bool host_ready(void) { return info().host_ready; }
static bool all_services_ready(void) { return info().services_ready == ESP_SMOLTCP_MDNS_MAX_SERVICES; }

/* ---- injected frames -------------------------------------------------------------- */

static uint16_t csum(const uint8_t *p, size_t n, uint32_t sum)
{
    for (size_t i = 0; i + 1 < n; i += 2) {
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    }
    if (n & 1) {
        sum += (uint32_t)p[n - 1] << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t)~sum;
}

static void release(void *ctx, uint8_t *buf)
{
    (void)ctx;
    free(buf);
}

/* An mDNS datagram from 198.18.7.9:5353 to 224.0.0.251:5353. */
static void inject(const uint8_t *dns, size_t len)
{
    size_t total = 14 + 20 + 8 + len;
    uint8_t *f = calloc(1, total);
    static const uint8_t dst[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb}, src[6] = {0x02, 0, 0, 0, 0, 0x09};
    static const uint8_t sip[4] = {198, 18, 7, 9}, dip[4] = {224, 0, 0, 251};
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = 0x08;
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    ip[2] = (uint8_t)((20 + 8 + len) >> 8);
    ip[3] = (uint8_t)(20 + 8 + len);
    ip[8] = 255;
    ip[9] = 17;
    memcpy(ip + 12, sip, 4);
    memcpy(ip + 16, dip, 4);
    uint16_t c = csum(ip, 20, 0);
    ip[10] = (uint8_t)(c >> 8);
    ip[11] = (uint8_t)c;
    uint8_t *udp = ip + 20;
    udp[0] = udp[2] = 5353 >> 8;
    udp[1] = udp[3] = 5353 & 0xff;
    udp[4] = (uint8_t)((8 + len) >> 8);
    udp[5] = (uint8_t)(8 + len);
    memcpy(udp + 8, dns, len);
    uint8_t pseudo[12] = {0};
    memcpy(pseudo, sip, 4);
    memcpy(pseudo + 4, dip, 4);
    pseudo[9] = 17;
    pseudo[10] = udp[4];
    pseudo[11] = udp[5];
    uint32_t s = 0;
    for (int i = 0; i < 12; i += 2) {
        s += (uint32_t)(pseudo[i] << 8 | pseudo[i + 1]);
    }
    c = csum(udp, 8 + len, s);
    udp[6] = (uint8_t)(c >> 8);
    udp[7] = (uint8_t)c;
    esp_smoltcp_netdev_input(f, total, release, NULL);
}

/* Someone else's response claiming name with A addr. */
static void inject_claim(const char *name, const uint8_t addr[4])
{
    uint8_t b[256];
    dns_writer_t w;
    dns_name_t n;
    dns_name_from_str(&n, name);
    dns_writer_init(&w, b, sizeof(b), 0, DNS_FLAG_QR | DNS_FLAG_AA);
    size_t m = dns_write_rr_begin(&w, DNS_SEC_AN, &n, DNS_TYPE_A, DNS_CLASS_IN | MDNS_CLASS_TOP, 120);
    dns_write_bytes(&w, addr, 4);
    dns_write_rr_end(&w, m);
    inject(b, dns_writer_finish(&w));
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_bad_arguments(void)
{
    CHECK_EQ(esp_smoltcp_mdns_init(NULL), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_smoltcp_mdns_init(""), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_smoltcp_mdns_init("a.b"), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_smoltcp_mdns_init("-x"), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_smoltcp_mdns_init("sp ace"), ESP_ERR_INVALID_ARG);
    char l64[65];
    memset(l64, 'h', 64);
    l64[64] = 0;
    CHECK_EQ(esp_smoltcp_mdns_init(l64), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_smoltcp_mdns_service_add("x", "_http", "_tcp", 80, NULL, 0), ESP_ERR_INVALID_STATE);
    CHECK_EQ(esp_smoltcp_mdns_service_remove("_http", "_tcp"), ESP_ERR_INVALID_STATE);
    CHECK_EQ(esp_smoltcp_mdns_free(), ESP_ERR_INVALID_STATE);
    CHECK_EQ(esp_smoltcp_mdns_get_info(NULL), ESP_ERR_INVALID_ARG);
    CHECK(!info().running);
}

static void test_probe_and_announce(void)
{
    size_t m0 = mark();
    uint64_t t0 = now_us();
    CHECK_EQ(esp_smoltcp_mdns_init("node"), ESP_OK);
    CHECK_EQ(esp_smoltcp_mdns_init("node"), ESP_ERR_INVALID_STATE);
    CHECK(info().running && strcmp(info().hostname, "node") == 0);
    CHECK(wait_for(host_ready, 3000));
    usleep(1300000); /* the second announcement */
    msg_t ms[64];
    size_t n = mdns_msgs(m0, ms, 64);
    uint64_t probes4[8], ann4[8];
    unsigned np4 = 0, np6 = 0, na4 = 0, na6 = 0;
    for (size_t i = 0; i < n; i++) {
        bool qu = false;
        if (is_probe_for(&ms[i], "node.local", &qu)) {
            if (ms[i].family == 4 && np4 < 8) {
                if (np4 == 0) {
                    CHECK(qu); /* §8.1: the first probe asks for a unicast answer */
                } else {
                    CHECK(!qu);
                }
                probes4[np4++] = ms[i].t_us;
            }
            np6 += ms[i].family == 6;
            continue;
        }
        dns_rr_t rr;
        dns_reader_t r;
        if (is_response(&ms[i]) && find_rr(&ms[i], "node.local", DNS_TYPE_A, &rr, &r) == 0) {
            CHECK(rr.ttl == 120 && rr.top_bit && rr.rdlen == 4);
            CHECK_MEM(r.msg + rr.rdoff, "\xc6\x12\x07\x02", 4);
            CHECK(find_rr(&ms[i], "node.local", DNS_TYPE_AAAA, &rr, &r) == 0); /* link-local, same message */
            CHECK(rr.rdlen == 16 && r.msg[rr.rdoff] == 0xfe && r.msg[rr.rdoff + 1] == 0x80);
            CHECK(find_rr(&ms[i], "node.local", DNS_TYPE_A, &rr, &r) == 0);
            if (ms[i].family == 4 && na4 < 8) {
                ann4[na4++] = ms[i].t_us;
            }
            na6 += ms[i].family == 6;
        }
    }
    CHECK_EQ(np4, 3);
    CHECK_EQ(np6, 3);
    CHECK_EQ(na4, 2);
    CHECK_EQ(na6, 2);
    if (np4 == 3 && na4 == 2) {
        CHECK(probes4[0] - t0 <= 300000); /* random 0-250 ms first */
        for (int i = 1; i < 3; i++) {
            uint64_t gap = probes4[i] - probes4[i - 1];
            CHECK(gap >= 240000 && gap < 400000);
        }
        CHECK(ann4[0] - probes4[2] >= 240000);
        uint64_t gap = ann4[1] - ann4[0];
        CHECK(gap >= 990000 && gap < 1200000);
        printf("probes at +%llu, +%llu, +%llu ms; announcements +%llu, +%llu ms\n",
               (unsigned long long)(probes4[0] - t0) / 1000, (unsigned long long)(probes4[1] - t0) / 1000,
               (unsigned long long)(probes4[2] - t0) / 1000, (unsigned long long)(ann4[0] - t0) / 1000,
               (unsigned long long)(ann4[1] - t0) / 1000);
    }
}

static void test_services(void)
{
    esp_smoltcp_mdns_txt_item_t txt[] = {{"path", "/"}, {"flag", NULL}};
    esp_smoltcp_mdns_txt_item_t bad_key[] = {{"a=b", "c"}};
    char big[300];
    memset(big, 'v', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    esp_smoltcp_mdns_txt_item_t too_long[] = {{"k", big}};
    esp_smoltcp_mdns_txt_item_t two[] = {{"k", big + 140}, {"j", big + 140}}; /* 2 x 162: over 200 */
    CHECK_EQ(esp_smoltcp_mdns_service_add("web", "http", "_tcp", 80, NULL, 0), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_smoltcp_mdns_service_add("web", "_http", "_sctp", 80, NULL, 0), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_smoltcp_mdns_service_add("web", "_http", "_tcp", 0, NULL, 0), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_smoltcp_mdns_service_add("", "_http", "_tcp", 80, NULL, 0), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_smoltcp_mdns_service_add("web", "_http", "_tcp", 80, NULL, 1), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_smoltcp_mdns_service_add("web", "_http", "_tcp", 80, bad_key, 1), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_smoltcp_mdns_service_add("web", "_http", "_tcp", 80, too_long, 1), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_smoltcp_mdns_service_add("web", "_http", "_tcp", 80, two, 2), ESP_ERR_NO_MEM);
    size_t m0 = mark();
    CHECK_EQ(esp_smoltcp_mdns_service_add("web", "_http", "_tcp", 80, txt, 2), ESP_OK);
    CHECK_EQ(esp_smoltcp_mdns_service_add("web2", "_http", "_tcp", 81, NULL, 0), ESP_ERR_INVALID_STATE);
    CHECK_EQ(esp_smoltcp_mdns_service_add("a", "_a1", "_udp", 1, NULL, 0), ESP_OK);
    CHECK_EQ(esp_smoltcp_mdns_service_add("b", "_a2", "_udp", 2, NULL, 0), ESP_OK);
    CHECK_EQ(esp_smoltcp_mdns_service_add("c", "_a3", "_udp", 3, NULL, 0), ESP_OK);
    CHECK_EQ(esp_smoltcp_mdns_service_add("d", "_a4", "_udp", 4, NULL, 0), ESP_ERR_NO_MEM);
    CHECK(wait_for(all_services_ready, 3000));
    usleep(200000);
    msg_t ms[128];
    size_t n = mdns_msgs(m0, ms, 128);
    bool srv = false, txt_ok = false, ptr = false, enum_ptr = false, empty_txt = false;
    for (size_t i = 0; i < n; i++) {
        dns_rr_t rr;
        dns_reader_t r;
        if (!is_response(&ms[i]) || ms[i].family != 4) {
            continue;
        }
        if (find_rr(&ms[i], "web._http._tcp.local", DNS_TYPE_SRV, &rr, &r) == 0) {
            uint8_t rd[300];
            int l = dns_rr_canonical_rdata(&r, &rr, rd, sizeof(rd));
            srv = rr.ttl == 120 && rr.top_bit && l == 6 + 12 && rd[5] == 80 && memcmp(rd + 6, "\4node\5local", 12) == 0;
        }
        if (find_rr(&ms[i], "web._http._tcp.local", DNS_TYPE_TXT, &rr, &r) == 0) {
            txt_ok = rr.ttl == 4500 && rr.rdlen == 12 && memcmp(r.msg + rr.rdoff, "\6path=/\4flag", 12) == 0;
        }
        if (find_rr(&ms[i], "_http._tcp.local", DNS_TYPE_PTR, &rr, &r) == 0) {
            uint8_t rd[300];
            int l = dns_rr_canonical_rdata(&r, &rr, rd, sizeof(rd));
            ptr = rr.ttl == 4500 && !rr.top_bit && l == 22 && memcmp(rd, "\3web\5_http\4_tcp\5local", 22) == 0;
        }
        if (find_rr(&ms[i], "_services._dns-sd._udp.local", DNS_TYPE_PTR, &rr, &r) == 0) {
            enum_ptr = enum_ptr || (rr.ttl == 4500 && !rr.top_bit);
        }
        if (find_rr(&ms[i], "a._a1._udp.local", DNS_TYPE_TXT, &rr, &r) == 0) {
            empty_txt = rr.rdlen == 1 && r.msg[rr.rdoff] == 0; /* RFC 6763 §6.1 */
        }
    }
    CHECK(srv);
    CHECK(txt_ok);
    CHECK(ptr);
    CHECK(enum_ptr);
    CHECK(empty_txt);
}

static void test_remove_sends_goodbye(void)
{
    size_t m0 = mark();
    CHECK_EQ(esp_smoltcp_mdns_service_remove("_a1", "_udp"), ESP_OK);
    CHECK_EQ(esp_smoltcp_mdns_service_remove("_a1", "_udp"), ESP_ERR_NOT_FOUND);
    usleep(100000);
    msg_t ms[16];
    size_t n = mdns_msgs(m0, ms, 16);
    bool srv0 = false, ptr0 = false;
    for (size_t i = 0; i < n; i++) {
        dns_rr_t rr;
        dns_reader_t r;
        if (is_response(&ms[i]) && find_rr(&ms[i], "a._a1._udp.local", DNS_TYPE_SRV, &rr, &r) == 0) {
            srv0 = rr.ttl == 0;
        }
        if (is_response(&ms[i]) && find_rr(&ms[i], "_a1._udp.local", DNS_TYPE_PTR, &rr, &r) == 0) {
            ptr0 = rr.ttl == 0;
        }
    }
    CHECK(srv0);
    CHECK(ptr0);
    CHECK_EQ(info().services_ready, ESP_SMOLTCP_MDNS_MAX_SERVICES - 1);
}

/* A multicast query from 198.18.7.9:5353; the time until the first response, in us (0: none in 1 s). */
static uint64_t query_time(const char *name, uint16_t type)
{
    uint8_t b[256];
    dns_writer_t w;
    dns_name_t n;
    dns_name_from_str(&n, name);
    dns_writer_init(&w, b, sizeof(b), 0, 0);
    dns_write_question(&w, &n, type, DNS_CLASS_IN);
    size_t m0 = mark();
    uint64_t t0 = now_us();
    inject(b, dns_writer_finish(&w));
    for (int i = 0; i < 1000; i++) {
        msg_t ms[8];
        size_t k = mdns_msgs(m0, ms, 8);
        for (size_t j = 0; j < k; j++) {
            dns_rr_t rr;
            dns_reader_t r;
            if (is_response(&ms[j]) && find_rr(&ms[j], name, type, &rr, &r) == 0) {
                return ms[j].t_us - t0;
            }
        }
        usleep(1000);
    }
    return 0;
}

static void test_shared_answers_delayed(void)
{
    usleep(2200000); /* past the second announcements and their one-second multicast limit */
    uint64_t dmin = UINT64_MAX, dmax = 0;
    for (int i = 0; i < 5; i++) {
        uint64_t d = query_time("_http._tcp.local", DNS_TYPE_PTR); /* shared: 20-120 ms later (§6) */
        CHECK(d >= 20000 && d < 200000);
        dmin = d < dmin ? d : dmin;
        dmax = d > dmax ? d : dmax;
        usleep(1050000);
    }
    uint64_t u = query_time("node.local", DNS_TYPE_A); /* unique: at once */
    CHECK(u > 0 && u < 20000);
    printf("shared answer delays %llu-%llu us, unique answer %llu us\n", (unsigned long long)dmin,
           (unsigned long long)dmax, (unsigned long long)u);
}

static bool probing_again(void) { return !info().host_ready || info().conflicts > 0; }
static bool renamed(void) { return info().renames == 1; }

static void test_conflict_then_rename(void)
{
    static const uint8_t other[4] = {198, 18, 7, 9};
    static const uint8_t mine[4] = {198, 18, 7, 2};
    esp_smoltcp_mdns_info_t before = info();
    /* Our own record echoed by someone (a cache): no conflict. */
    inject_claim("node.local", mine);
    usleep(200000);
    CHECK_EQ(info().conflicts, before.conflicts);
    /* A different address for our established name: probe again (§9), no rename yet. */
    size_t m0 = mark();
    inject_claim("node.local", other);
    CHECK(wait_for(probing_again, 1000));
    CHECK_EQ(info().conflicts, before.conflicts + 1);
    CHECK_EQ(info().renames, 0);
    /* Wait for the first new probe, then claim again: now it is a conflict while probing. */
    bool seen = false;
    for (int t = 0; t < 100 && !seen; t++) {
        msg_t ms[16];
        size_t n = mdns_msgs(m0, ms, 16);
        for (size_t i = 0; i < n; i++) {
            bool qu;
            seen = seen || is_probe_for(&ms[i], "node.local", &qu);
        }
        usleep(10000);
    }
    CHECK(seen);
    inject_claim("node.local", other);
    CHECK(wait_for(renamed, 1000));
    CHECK(strcmp(info().hostname, "node-2") == 0);
    CHECK(wait_for(host_ready, 3000));
    m0 = mark();
    usleep(2000000); /* the services probe and announce again after the host */
    /* The services follow: their SRV records now name node-2.local. */
    CHECK_EQ(info().services_ready, ESP_SMOLTCP_MDNS_MAX_SERVICES - 1);
    msg_t ms[64];
    size_t n = mdns_msgs(m0, ms, 64);
    bool srv_new = false;
    for (size_t i = 0; i < n; i++) {
        dns_rr_t rr;
        dns_reader_t r;
        uint8_t rd[300];
        if (is_response(&ms[i]) && find_rr(&ms[i], "web._http._tcp.local", DNS_TYPE_SRV, &rr, &r) == 0 &&
            dns_rr_canonical_rdata(&r, &rr, rd, sizeof(rd)) == 6 + 14) {
            srv_new = memcmp(rd + 6, "\6node-2\5local", 14) == 0;
        }
    }
    CHECK(srv_new);
    /* The resolver now sends .local names to mDNS; our own name comes from the interface. */
    esp_smoltcp_endpoint_t ep[4];
    CHECK_EQ(esp_smoltcp_dns_resolve("node-2.local", ESP_SMOLTCP_AF_INET, ep, 4, 1000), 1);
    CHECK(ep[0].family == ESP_SMOLTCP_AF_INET && memcmp(ep[0].addr, "\xc6\x12\x07\x02", 4) == 0);
    CHECK_EQ(esp_smoltcp_dns_resolve("NODE-2.LOCAL.", ESP_SMOLTCP_AF_UNSPEC, ep, 4, 1000), 2); /* A, then AAAA */
    CHECK(ep[0].family == ESP_SMOLTCP_AF_INET && ep[1].family == ESP_SMOLTCP_AF_INET6 && ep[1].addr[0] == 0xfe);
    CHECK_EQ(esp_smoltcp_mdns_resolve_host("printer.com", 0, ep, 4, 100), -EINVAL);
    CHECK_EQ(esp_smoltcp_mdns_resolve_host("local", 0, ep, 4, 100), -EINVAL);
    CHECK_EQ(esp_smoltcp_mdns_resolve_host(NULL, 0, ep, 4, 100), -EINVAL);
    CHECK_EQ(esp_smoltcp_mdns_resolve_host("x.local", 5, ep, 4, 100), -EINVAL);
    /* Nobody answers on the capture netdev: the query goes to both groups, then -ENOENT in time. */
    size_t m1 = mark();
    uint64_t t0 = now_us();
    CHECK_EQ(esp_smoltcp_dns_resolve("printer.local", ESP_SMOLTCP_AF_INET, ep, 4, 300), -ENOENT);
    uint64_t took = now_us() - t0;
    CHECK(took >= 290000 && took < 600000);
    msg_t qm[16];
    size_t nq = mdns_msgs(m1, qm, 16);
    unsigned q4 = 0, q6 = 0;
    for (size_t i = 0; i < nq; i++) {
        dns_reader_t r;
        dns_question_t q;
        dns_name_t want;
        dns_name_from_str(&want, "printer.local");
        if (dns_reader_init(&r, qm[i].dns, qm[i].len) == 0 && !(r.h.flags & DNS_FLAG_QR) && r.h.id != 0 &&
            dns_read_question(&r, &q) == 0 && q.type == DNS_TYPE_A && dns_name_eq(&q.name, &want)) {
            q4 += qm[i].family == 4;
            q6 += qm[i].family == 6;
        }
    }
    CHECK_EQ(q4, 1);
    CHECK_EQ(q6, 1);
}

static void test_tiebreak_lost(void)
{
    /* Restart so that the host is probing, then send a simultaneous probe whose
     * authority A record (198.18.7.200) sorts after ours (198.18.7.2): we lose. */
    CHECK_EQ(esp_smoltcp_mdns_free(), ESP_OK);
    CHECK_EQ(esp_smoltcp_mdns_init("tie"), ESP_OK);
    esp_smoltcp_mdns_info_t before = info();
    uint8_t b[256];
    dns_writer_t w;
    dns_name_t n;
    dns_name_from_str(&n, "tie.local");
    dns_writer_init(&w, b, sizeof(b), 0, 0);
    dns_write_question(&w, &n, DNS_TYPE_ANY, DNS_CLASS_IN);
    size_t m = dns_write_rr_begin(&w, DNS_SEC_NS, &n, DNS_TYPE_A, DNS_CLASS_IN, 120);
    dns_write_bytes(&w, "\xc6\x12\x07\xc8", 4);
    dns_write_rr_end(&w, m);
    inject(b, dns_writer_finish(&w));
    usleep(300000);
    CHECK_EQ(info().conflicts, before.conflicts + 1);
    CHECK(!info().host_ready); /* deferred by 1 s: not ready before ~1.75 s */
    CHECK_EQ(info().renames, 0);
    CHECK(wait_for(host_ready, 4000));
    CHECK(strcmp(info().hostname, "tie") == 0); /* nobody answered: the name is ours */
}

static void test_free_sends_goodbyes(void)
{
    esp_smoltcp_mdns_txt_item_t t[] = {{"x", "1"}};
    CHECK_EQ(esp_smoltcp_mdns_service_add("svc", "_ipp", "_tcp", 631, t, 1), ESP_OK);
    for (int i = 0; i < 300 && info().services_ready < 1; i++) {
        usleep(10000);
    }
    CHECK_EQ(info().services_ready, 1);
    size_t m0 = mark();
    CHECK_EQ(esp_smoltcp_mdns_free(), ESP_OK);
    CHECK_EQ(esp_smoltcp_mdns_free(), ESP_ERR_INVALID_STATE);
    usleep(100000);
    msg_t ms[16];
    size_t n = mdns_msgs(m0, ms, 16);
    bool a0 = false, srv0 = false;
    for (size_t i = 0; i < n; i++) {
        dns_rr_t rr;
        dns_reader_t r;
        if (is_response(&ms[i]) && find_rr(&ms[i], "tie.local", DNS_TYPE_A, &rr, &r) == 0) {
            a0 = rr.ttl == 0;
        }
        if (is_response(&ms[i]) && find_rr(&ms[i], "svc._ipp._tcp.local", DNS_TYPE_SRV, &rr, &r) == 0) {
            srv0 = rr.ttl == 0;
        }
    }
    if (!a0 || !srv0) {
        printf("frames %zu, from %zu, msgs %zu\n", mark(), m0, n);
    }
    CHECK(a0);
    CHECK(srv0);
    CHECK(!info().running);
    /* And it starts again. */
    CHECK_EQ(esp_smoltcp_mdns_init("again"), ESP_OK);
    CHECK_EQ(esp_smoltcp_mdns_free(), ESP_OK);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    frames = calloc(MAX_FRAMES, sizeof(*frames));
    esp_smoltcp_config_t cfg = ESP_SMOLTCP_DEFAULT_CONFIG();
    cfg.ipv4_mode = ESP_SMOLTCP_IPV4_STATIC;
    cfg.static_ip = "198.18.7.2/24";
    CHECK_EQ(esp_smoltcp_init_with_config(&cfg), ESP_OK);
    CHECK_EQ(esp_smoltcp_attach_netdev(test_netdev(MAC, capture_tx)), ESP_OK);

    RUN(test_bad_arguments);
    RUN(test_probe_and_announce);
    RUN(test_services);
    RUN(test_remove_sends_goodbye);
    RUN(test_shared_answers_delayed);
    RUN(test_conflict_then_rename);
    RUN(test_tiebreak_lost);
    RUN(test_free_sends_goodbyes);

    CHECK_EQ(esp_smoltcp_deinit(), ESP_OK);
    free(frames);
    return UNIT_TEST_END();
}
