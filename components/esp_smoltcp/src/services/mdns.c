/*
 * mDNS responder with DNS-SD (esp_smoltcp_mdns.h) over the native UDP socket
 * API, one task.
 *
 * Model: the host name and each service instance are "owners" with their own
 * phase (probe -> announce -> ready, RFC 6762 §8). All records are rebuilt
 * from the owners and the interface's current addresses whenever they are
 * needed (a few dozen at most, fixed arrays): there is no record cache to
 * get stale. An owner's records are answered only once it is announcing.
 * The lock guards everything in `md`; the task drops it only while waiting
 * in recvfrom, so API calls wait at most one packet's processing.
 */
#include <errno.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "esp_log.h"
#include "esp_smoltcp_addrs.h"
#include "esp_smoltcp_dns.h"
#include "esp_smoltcp_mcast.h"
#include "esp_smoltcp_mdns.h"
#include "esp_smoltcp_sock.h"
#include "mdns_proto.h"
#include "os.h"

static const char *TAG = "esp_smoltcp_mdns";

#define MDNS_PORT 5353
#define HOST_TTL 120u   /* records naming the host (A, AAAA, SRV): RFC 6762 §10 */
#define OTHER_TTL 4500u /* PTR, TXT */
#define LEGACY_TTL 10u  /* §6.7: legacy unicast answers carry at most 10 s */
#define PROBE_US 250000u
#define ANNOUNCE_US 1000000u
#define PROBES 3
#define ANNOUNCES 2
#define LOSE_TIEBREAK_US 1000000u  /* §8.2: lost a simultaneous probe: probe again 1 s later */
#define CONFLICT_WINDOW_US 10000000u
#define CONFLICT_LIMIT 15          /* §8.1: 15 conflicts in 10 s -> wait 5 s between probes */
#define CONFLICT_BACKOFF_US 5000000u
#define ADDR_CHECK_US 1000000u     /* how often the interface's addresses are compared */
#define RECV_SLICE_MS 100u         /* the task looks at `stopping` this often */
#define MAX_ADDRS 8
#define MAX_RECS (MAX_ADDRS + 4 * ESP_SMOLTCP_MDNS_MAX_SERVICES)
#define MAX_QUESTIONS 8 /* answered per query; more are parsed (validated) but not answered */
#define RD_MAX (6 + DNS_NAME_MAX)
#define TX_MAX 1440 /* fits one IPv6 frame at MTU 1500 */
#define RX_MAX 1500
#define TIEBREAK_MAX 8
#define MC_GAP_US 1000000u       /* §6: a record is multicast at most once a second ... */
#define MC_GAP_PROBE_US 250000u  /* ... or every 250 ms when defending against a probe */

typedef enum { PH_IDLE, PH_PROBE, PH_ANNOUNCE, PH_READY } phase_t;

typedef struct {
    phase_t ph;
    unsigned step;
    uint64_t due_us;
} owner_t;

typedef struct {
    bool used;
    char base[ESP_SMOLTCP_MDNS_NAME_MAX]; /* instance name as given */
    unsigned n;                           /* rename counter, 1 = the name as given */
    char type[DNS_LABEL_MAX + 1], proto[8];
    dns_name_t type_name, inst_name;
    uint16_t port;
    uint8_t txt[ESP_SMOLTCP_MDNS_TXT_MAX];
    uint16_t txt_len;
    owner_t o;
} svc_t;

typedef struct {
    const dns_name_t *name;
    uint16_t type;
    bool unique;                  /* cache-flush bit; probed */
    uint32_t ttl;
    int owner;                    /* -1: host, else service index */
    uint8_t slot;                 /* stable index into md.mc_us: address number, or service x 4 + kind */
    const dns_name_t *rd_name;    /* PTR / SRV target, written compressed */
    uint16_t rdlen;
    uint8_t rd[RD_MAX];           /* canonical rdata */
    bool answer, additional;      /* selection while answering one query */
} rec_t;

typedef struct {
    uint16_t cls, type, rdlen;
    uint8_t rd[RD_MAX];
} cmp_rec_t;

static struct {
    _Atomic(os_mutex_t *) lock; /* created at the first init, kept for the process */
    bool running;
    atomic_bool stopping;
    os_thread_t *thread;
    int sock;
    bool v4, v6; /* groups joined */
    char host_base[ESP_SMOLTCP_MDNS_NAME_MAX];
    unsigned host_n;
    char host_label[ESP_SMOLTCP_MDNS_NAME_MAX];
    dns_name_t host_name, local_name, services_name;
    owner_t host;
    svc_t svc[ESP_SMOLTCP_MDNS_MAX_SERVICES];
    esp_smoltcp_ip_addr_t addrs[MAX_ADDRS];
    size_t naddrs;
    uint64_t addrs_checked_us;
    rec_t recs[MAX_RECS];
    size_t nrecs;
    uint64_t conflict_window_us;
    unsigned conflict_count;
    cmp_rec_t ours[TIEBREAK_MAX], theirs[TIEBREAK_MAX];
    dns_question_t qs[MAX_QUESTIONS]; /* here, not on the task's stack (~260 bytes each) */
    uint8_t rx[RX_MAX], tx[TX_MAX];
    /* When each record (by rec_t.slot) was last multicast: §6's one-second rule. */
    uint64_t mc_us[MAX_RECS];
    /* §6: a multicast answer holding shared records waits a random 20-120 ms. One slot. */
    uint8_t delayed[TX_MAX];
    size_t delayed_len;
    uint8_t delayed_family;
    uint64_t delayed_due_us;
    esp_smoltcp_mdns_info_t info;
} md;

static const uint8_t GROUP4[4] = {224, 0, 0, 251};
static const uint8_t GROUP6[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfb};

static os_mutex_t *md_lock(void)
{
    return atomic_load_explicit(&md.lock, memory_order_acquire);
}

static void lock(void)
{
    os_mutex_lock(md_lock());
}

static void unlock(void)
{
    os_mutex_unlock(md_lock());
}

/* ---- names ---------------------------------------------------------------------- */

static int set_host_name(void)
{
    if (md.host_n <= 1) {
        snprintf(md.host_label, sizeof(md.host_label), "%s", md.host_base);
    } else {
        char suffix[12];
        int sl = snprintf(suffix, sizeof(suffix), "-%u", md.host_n);
        size_t keep = strlen(md.host_base);
        if (keep + (size_t)sl >= sizeof(md.host_label)) {
            keep = sizeof(md.host_label) - 1 - (size_t)sl; /* shorten the base, keep the number */
        }
        snprintf(md.host_label, sizeof(md.host_label), "%.*s%s", (int)keep, md.host_base, suffix);
    }
    return dns_name_prepend(&md.host_name, md.host_label, strlen(md.host_label), &md.local_name);
}

static int set_inst_name(svc_t *s)
{
    char label[DNS_LABEL_MAX + 1];
    if (s->n <= 1) {
        snprintf(label, sizeof(label), "%s", s->base);
    } else {
        char suffix[14];
        int sl = snprintf(suffix, sizeof(suffix), " (%u)", s->n); /* RFC 6763 §4.3 style */
        size_t keep = strlen(s->base);
        if (keep + (size_t)sl > DNS_LABEL_MAX) {
            keep = DNS_LABEL_MAX - (size_t)sl;
        }
        snprintf(label, sizeof(label), "%.*s%s", (int)keep, s->base, suffix);
    }
    return dns_name_prepend(&s->inst_name, label, strlen(label), &s->type_name);
}

/* ---- records -------------------------------------------------------------------- */

static rec_t *new_rec(const dns_name_t *name, uint16_t type, bool unique, uint32_t ttl, int owner)
{
    if (md.nrecs >= MAX_RECS) {
        return NULL;
    }
    rec_t *r = &md.recs[md.nrecs++];
    memset(r, 0, offsetof(rec_t, rd));
    r->name = name;
    r->type = type;
    r->unique = unique;
    r->ttl = ttl;
    r->owner = owner;
    r->answer = r->additional = false;
    return r;
}

/* Every record we have, from the owners and the current addresses. */
static void build_records(void)
{
    md.nrecs = 0;
    for (size_t i = 0; i < md.naddrs; i++) {
        bool v4 = md.addrs[i].family == ESP_SMOLTCP_AF_INET;
        rec_t *r = new_rec(&md.host_name, v4 ? DNS_TYPE_A : DNS_TYPE_AAAA, true, HOST_TTL, -1);
        if (r) {
            r->slot = (uint8_t)i;
            r->rdlen = v4 ? 4 : 16;
            memcpy(r->rd, md.addrs[i].addr, r->rdlen);
        }
    }
    for (int k = 0; k < ESP_SMOLTCP_MDNS_MAX_SERVICES; k++) {
        svc_t *s = &md.svc[k];
        if (!s->used) {
            continue;
        }
        uint8_t slot = (uint8_t)(MAX_ADDRS + 4 * k);
        rec_t *r = new_rec(&s->type_name, DNS_TYPE_PTR, false, OTHER_TTL, k);
        if (r) {
            r->slot = slot;
            r->rd_name = &s->inst_name;
            r->rdlen = s->inst_name.len;
            memcpy(r->rd, s->inst_name.b, r->rdlen);
        }
        r = new_rec(&md.services_name, DNS_TYPE_PTR, false, OTHER_TTL, k);
        if (r) {
            r->slot = (uint8_t)(slot + 1);
            r->rd_name = &s->type_name;
            r->rdlen = s->type_name.len;
            memcpy(r->rd, s->type_name.b, r->rdlen);
        }
        r = new_rec(&s->inst_name, DNS_TYPE_SRV, true, HOST_TTL, k);
        if (r) {
            r->slot = (uint8_t)(slot + 2);
            uint8_t fixed[6] = {0, 0, 0, 0, (uint8_t)(s->port >> 8), (uint8_t)s->port}; /* priority, weight, port */
            memcpy(r->rd, fixed, 6);
            r->rd_name = &md.host_name;
            memcpy(r->rd + 6, md.host_name.b, md.host_name.len);
            r->rdlen = (uint16_t)(6 + md.host_name.len);
        }
        r = new_rec(&s->inst_name, DNS_TYPE_TXT, true, OTHER_TTL, k);
        if (r) {
            r->slot = (uint8_t)(slot + 3);
            r->rdlen = s->txt_len;
            memcpy(r->rd, s->txt, s->txt_len);
        }
    }
}

static owner_t *owner_of(int owner)
{
    return owner < 0 ? &md.host : &md.svc[owner].o;
}

static const dns_name_t *owner_name(int owner)
{
    return owner < 0 ? &md.host_name : &md.svc[owner].inst_name;
}

/* Records of an owner that is announcing or ready may be given in answers. */
static bool rec_live(const rec_t *r)
{
    return owner_of(r->owner)->ph >= PH_ANNOUNCE;
}

static void write_rec(dns_writer_t *w, int sec, const rec_t *r, uint32_t ttl, bool flush)
{
    uint16_t cls = (uint16_t)(DNS_CLASS_IN | (flush && r->unique ? MDNS_CLASS_TOP : 0));
    size_t mark = dns_write_rr_begin(w, sec, r->name, r->type, cls, ttl);
    if (r->type == DNS_TYPE_PTR) {
        dns_write_name(w, r->rd_name);
    } else if (r->type == DNS_TYPE_SRV) {
        dns_write_bytes(w, r->rd, 6);
        dns_write_name(w, r->rd_name);
    } else {
        dns_write_bytes(w, r->rd, r->rdlen);
    }
    dns_write_rr_end(w, mark);
}

/* Add a record, or leave the message as it was when it does not fit. */
static bool try_rec(dns_writer_t *w, int sec, const rec_t *r, uint32_t ttl, bool flush)
{
    dns_writer_t save = *w;
    write_rec(w, sec, r, ttl, flush);
    if (w->overflow) {
        *w = save;
        return false;
    }
    return true;
}

/* ---- sending -------------------------------------------------------------------- */

static void send_buf(const uint8_t *buf, size_t len, const esp_smoltcp_endpoint_t *to)
{
    if (len == 0) {
        md.info.tx_failures++; /* nothing fitted: a caller bug, counted, never sent half */
        return;
    }
    ssize_t n = esp_smoltcp_sock_sendto(md.sock, buf, len, 0, to, 100);
    if (n == (ssize_t)len) {
        md.info.tx_packets++;
    } else {
        md.info.tx_failures++;
        ESP_LOGD(TAG, "send failed: %d", (int)n);
    }
}

static void send_to(size_t len, const esp_smoltcp_endpoint_t *to)
{
    send_buf(md.tx, len, to);
}

static void send_multicast_buf(const uint8_t *buf, size_t len, uint8_t only_family)
{
    esp_smoltcp_endpoint_t ep = {.port = MDNS_PORT};
    if (md.v4 && only_family != ESP_SMOLTCP_AF_INET6) {
        ep.family = ESP_SMOLTCP_AF_INET;
        memcpy(ep.addr, GROUP4, 4);
        send_buf(buf, len, &ep);
    }
    if (md.v6 && only_family != ESP_SMOLTCP_AF_INET) {
        ep.family = ESP_SMOLTCP_AF_INET6;
        memcpy(ep.addr, GROUP6, 16);
        send_buf(buf, len, &ep);
    }
}

static void send_multicast(size_t len, uint8_t only_family)
{
    send_multicast_buf(md.tx, len, only_family);
}

/* The multicast answer waiting out its random delay, if any, goes now. */
static void flush_delayed(void)
{
    if (md.delayed_len) {
        send_multicast_buf(md.delayed, md.delayed_len, md.delayed_family);
        md.delayed_len = 0;
    }
}

/* Unsolicited response with every record of owner: announcement (ttl) or goodbye (0). */
static void send_owner_records(int owner, bool goodbye)
{
    dns_writer_t w;
    dns_writer_init(&w, md.tx, sizeof(md.tx), 0, DNS_FLAG_QR | DNS_FLAG_AA);
    for (size_t i = 0; i < md.nrecs; i++) {
        const rec_t *r = &md.recs[i];
        if (r->owner == owner) {
            if (try_rec(&w, DNS_SEC_AN, r, goodbye ? 0 : r->ttl, !goodbye)) {
                md.mc_us[r->slot] = os_now_us();
            }
        }
    }
    if (w.counts[DNS_SEC_AN]) {
        send_multicast(dns_writer_finish(&w), ESP_SMOLTCP_AF_UNSPEC);
    }
}

/* Probe (§8.1): "name ANY?" (QU on the first) with the proposed records as authority. */
static void send_probe(int owner, unsigned step)
{
    dns_writer_t w;
    dns_writer_init(&w, md.tx, sizeof(md.tx), 0, 0);
    dns_write_question(&w, owner_name(owner), DNS_TYPE_ANY,
                       (uint16_t)(DNS_CLASS_IN | (step == 0 ? MDNS_CLASS_TOP : 0)));
    for (size_t i = 0; i < md.nrecs; i++) {
        const rec_t *r = &md.recs[i];
        if (r->owner == owner && r->unique) {
            try_rec(&w, DNS_SEC_NS, r, r->ttl, false);
        }
    }
    send_multicast(dns_writer_finish(&w), ESP_SMOLTCP_AF_UNSPEC);
}

/* ---- owners' phases --------------------------------------------------------------- */

static void start_probe(owner_t *o, uint64_t delay_us)
{
    o->ph = PH_PROBE;
    o->step = 0;
    o->due_us = os_now_us() + delay_us;
}

static void start_announce(owner_t *o)
{
    o->ph = PH_ANNOUNCE;
    o->step = 0;
    o->due_us = os_now_us();
}

/* §8.1 first probe after a random 0-250 ms, so hosts powered on together do not collide. */
static uint64_t initial_delay(void)
{
    return os_random_u64() % PROBE_US;
}

static void log_owner(int owner, const char *what)
{
    char name[DNS_NAME_MAX + 1];
    dns_name_to_str(owner_name(owner), name, sizeof(name));
    ESP_LOGI(TAG, "%s: %s", name, what);
}

static void run_owner(int owner, uint64_t now)
{
    owner_t *o = owner_of(owner);
    if (o->ph == PH_PROBE && now >= o->due_us) {
        if (o->step < PROBES) {
            send_probe(owner, o->step);
            o->step++;
            o->due_us = now + PROBE_US;
        } else {
            log_owner(owner, "probing done, announcing");
            start_announce(o);
            if (owner < 0) {
                md.info.host_ready = true;
            }
        }
    }
    if (o->ph == PH_ANNOUNCE && now >= o->due_us) {
        send_owner_records(owner, false);
        o->step++;
        o->due_us = now + ANNOUNCE_US;
        if (o->step >= ANNOUNCES) {
            o->ph = PH_READY;
        }
    }
}

static void run_timers(uint64_t now)
{
    if (md.delayed_len && now >= md.delayed_due_us) {
        flush_delayed();
    }
    run_owner(-1, now);
    for (int k = 0; k < ESP_SMOLTCP_MDNS_MAX_SERVICES; k++) {
        svc_t *s = &md.svc[k];
        if (!s->used) {
            continue;
        }
        /* A service's SRV names the host: its probing waits for the host name to be settled. */
        if (s->o.ph == PH_IDLE && md.host.ph >= PH_ANNOUNCE) {
            start_probe(&s->o, initial_delay());
        }
        run_owner(k, now);
    }
}

static uint64_t next_due(void)
{
    uint64_t t = md.delayed_len ? md.delayed_due_us : UINT64_MAX;
    if (md.host.ph == PH_PROBE || md.host.ph == PH_ANNOUNCE) {
        t = md.host.due_us;
    }
    for (int k = 0; k < ESP_SMOLTCP_MDNS_MAX_SERVICES; k++) {
        const owner_t *o = &md.svc[k].o;
        if (md.svc[k].used && (o->ph == PH_PROBE || o->ph == PH_ANNOUNCE) && o->due_us < t) {
            t = o->due_us;
        }
    }
    return t;
}

/* Re-read the interface's addresses; a change is announced again (§8.4). */
static void check_addrs(uint64_t now, bool force)
{
    if (!force && now - md.addrs_checked_us < ADDR_CHECK_US) {
        return;
    }
    md.addrs_checked_us = now;
    esp_smoltcp_ip_addr_t a[MAX_ADDRS];
    size_t n = 0;
    memset(a, 0, sizeof(a)); /* compared whole with memcmp below */
    if (esp_smoltcp_get_ip_addrs(ESP_SMOLTCP_IFACE_ETH, ESP_SMOLTCP_AF_UNSPEC, a, MAX_ADDRS, &n) != ESP_OK) {
        n = 0;
    }
    /* Loopback addresses (the runtime puts 127.0.0.1 on the interface) mean nothing to other hosts. */
    size_t keep = 0;
    for (size_t i = 0; i < n; i++) {
        static const uint8_t v6_loop[16] = {[15] = 1};
        bool loop = a[i].family == ESP_SMOLTCP_AF_INET ? a[i].addr[0] == 127 : memcmp(a[i].addr, v6_loop, 16) == 0;
        if (!loop) {
            a[keep++] = a[i];
        }
    }
    n = keep;
    if (n == md.naddrs && memcmp(a, md.addrs, n * sizeof(a[0])) == 0) {
        return;
    }
    memcpy(md.addrs, a, n * sizeof(a[0]));
    md.naddrs = n;
    build_records();
    if (md.host.ph == PH_READY) {
        ESP_LOGI(TAG, "addresses changed: announcing again");
        start_announce(&md.host);
    }
}

static void conflict(int owner)
{
    owner_t *o = owner_of(owner);
    uint64_t now = os_now_us();
    md.info.conflicts++;
    if (now - md.conflict_window_us > CONFLICT_WINDOW_US) {
        md.conflict_window_us = now;
        md.conflict_count = 0;
    }
    uint64_t delay = ++md.conflict_count > CONFLICT_LIMIT ? CONFLICT_BACKOFF_US : 0;
    if (o->ph != PH_PROBE) {
        /* §9: an established name in conflict is probed again; only a failed probe renames. */
        log_owner(owner, "conflicting record seen, probing again");
        if (owner < 0) {
            md.info.host_ready = false;
        }
        start_probe(o, delay);
        return;
    }
    md.info.renames++;
    if (owner < 0) {
        md.host_n = md.host_n < 2 ? 2 : md.host_n + 1;
        set_host_name();
        snprintf(md.info.hostname, sizeof(md.info.hostname), "%s", md.host_label);
        md.info.host_ready = false;
        /* The SRV records name the host: announced services follow the new name. */
        for (int k = 0; k < ESP_SMOLTCP_MDNS_MAX_SERVICES; k++) {
            if (md.svc[k].used && md.svc[k].o.ph >= PH_ANNOUNCE) {
                md.svc[k].o.ph = PH_IDLE;
            }
        }
    } else {
        svc_t *s = &md.svc[owner];
        s->n = s->n < 2 ? 2 : s->n + 1;
        set_inst_name(s);
    }
    build_records();
    log_owner(owner, "name in use elsewhere, renamed; probing");
    start_probe(o, delay);
}

/* ---- receiving -------------------------------------------------------------------- */

static bool question_matches(const dns_question_t *q, const rec_t *r)
{
    return (q->cls == DNS_CLASS_IN || q->cls == DNS_TYPE_ANY) &&
           (q->type == r->type || q->type == DNS_TYPE_ANY) && dns_name_eq(&q->name, r->name);
}

static bool same_rdata(const rec_t *r, const uint8_t *rd, int rdlen)
{
    return rdlen == r->rdlen && memcmp(rd, r->rd, (size_t)rdlen) == 0;
}

static int cmp_rec(const cmp_rec_t *a, const cmp_rec_t *b)
{
    if (a->cls != b->cls) {
        return a->cls < b->cls ? -1 : 1;
    }
    if (a->type != b->type) {
        return a->type < b->type ? -1 : 1;
    }
    size_t n = a->rdlen < b->rdlen ? a->rdlen : b->rdlen;
    int c = memcmp(a->rd, b->rd, n);
    if (c) {
        return c < 0 ? -1 : 1;
    }
    return a->rdlen == b->rdlen ? 0 : a->rdlen < b->rdlen ? -1 : 1;
}

static void sort_recs(cmp_rec_t *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        for (size_t j = i; j > 0 && cmp_rec(&v[j - 1], &v[j]) > 0; j--) {
            cmp_rec_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    }
}

/*
 * Simultaneous probe tie-break (§8.2): both sides' authority records for the
 * name, sorted by class, type, rdata, compared in order; the lexicographically
 * later set wins. Losing: probe again in 1 s (the winner's answer then renames us).
 */
static void tiebreak(int owner, const dns_reader_t *msg, size_t ns_off, uint16_t nscount)
{
    size_t no = 0, nt = 0;
    for (size_t i = 0; i < md.nrecs && no < TIEBREAK_MAX; i++) {
        const rec_t *r = &md.recs[i];
        if (r->owner == owner && r->unique) {
            md.ours[no] = (cmp_rec_t){.cls = DNS_CLASS_IN, .type = r->type, .rdlen = r->rdlen};
            memcpy(md.ours[no].rd, r->rd, r->rdlen);
            no++;
        }
    }
    dns_reader_t rd = *msg;
    rd.off = ns_off;
    for (uint16_t i = 0; i < nscount; i++) {
        dns_rr_t rr;
        if (dns_read_rr(&rd, &rr) != 0) {
            return;
        }
        if (nt < TIEBREAK_MAX && dns_name_eq(&rr.name, owner_name(owner))) {
            int l = dns_rr_canonical_rdata(&rd, &rr, md.theirs[nt].rd, RD_MAX);
            if (l >= 0) {
                md.theirs[nt].cls = rr.cls;
                md.theirs[nt].type = rr.type;
                md.theirs[nt].rdlen = (uint16_t)l;
                nt++;
            }
        }
    }
    if (nt == 0) {
        return;
    }
    sort_recs(md.ours, no);
    sort_recs(md.theirs, nt);
    int c = 0;
    for (size_t i = 0; i < no && i < nt && c == 0; i++) {
        c = cmp_rec(&md.ours[i], &md.theirs[i]);
    }
    if (c == 0 && no != nt) {
        c = no > nt ? 1 : -1;
    }
    if (c < 0) {
        log_owner(owner, "lost a simultaneous probe, probing again in 1 s");
        md.info.conflicts++;
        start_probe(owner_of(owner), LOSE_TIEBREAK_US);
    }
}

/* Is rr (from someone else's response) in conflict with what owner claims? */
static bool conflicts_with(int owner, const dns_reader_t *msg, const dns_rr_t *rr)
{
    if (rr->ttl == 0 || rr->type == DNS_TYPE_NSEC || !dns_name_eq(&rr->name, owner_name(owner))) {
        return false;
    }
    uint8_t rd[RD_MAX];
    int l = dns_rr_canonical_rdata(msg, rr, rd, sizeof(rd));
    if (l < 0) {
        return false;
    }
    bool probing = owner_of(owner)->ph == PH_PROBE;
    bool type_ours = false;
    for (size_t i = 0; i < md.nrecs; i++) {
        const rec_t *r = &md.recs[i];
        if (r->owner == owner && r->type == rr->type) {
            if (same_rdata(r, rd, l)) {
                return false; /* the same record (another responder's cache, or us) */
            }
            type_ours = true;
        }
    }
    /* While probing, any record with the name is a conflict (§8.1); later, a unique type of ours with other data (§9). */
    return probing || type_ours;
}

static void handle_response(const dns_reader_t *msg, size_t an_off)
{
    dns_reader_t rd = *msg;
    rd.off = an_off;
    unsigned total = (unsigned)msg->h.ancount + msg->h.nscount + msg->h.arcount;
    /* One conflict per owner and packet: the other host's A and AAAA are one claim, not two. */
    unsigned done = 0;
    for (unsigned i = 0; i < total; i++) {
        dns_rr_t rr;
        if (dns_read_rr(&rd, &rr) != 0) {
            return; /* validated before: cannot happen */
        }
        if (i >= msg->h.ancount && i < (unsigned)msg->h.ancount + msg->h.nscount) {
            continue; /* authority records of a response are not claims */
        }
        if (!(done & 1u) && conflicts_with(-1, msg, &rr)) {
            done |= 1u;
            conflict(-1);
        }
        for (int k = 0; k < ESP_SMOLTCP_MDNS_MAX_SERVICES; k++) {
            unsigned bit = 2u << k;
            if (!(done & bit) && md.svc[k].used && md.svc[k].o.ph != PH_IDLE && conflicts_with(k, msg, &rr)) {
                done |= bit;
                conflict(k);
            }
        }
    }
}

static void mark_additional(void)
{
    for (size_t i = 0; i < md.nrecs; i++) {
        const rec_t *r = &md.recs[i];
        if (!r->answer) {
            continue;
        }
        bool svc_ptr = r->type == DNS_TYPE_PTR && r->rd_name && r->owner >= 0 &&
                       r->rd_name == &md.svc[r->owner].inst_name;
        /* RFC 6763 §12: PTR -> SRV, TXT, addresses; SRV -> addresses. */
        for (size_t j = 0; j < md.nrecs; j++) {
            rec_t *x = &md.recs[j];
            bool want = (svc_ptr && x->owner == r->owner && (x->type == DNS_TYPE_SRV || x->type == DNS_TYPE_TXT)) ||
                        ((svc_ptr || r->type == DNS_TYPE_SRV) && x->owner < 0);
            if (want && !x->answer && rec_live(x)) {
                x->additional = true;
            }
        }
    }
}

static void handle_query(const dns_reader_t *msg, const dns_question_t *qs, size_t nq, size_t an_off,
                         size_t ns_off, const esp_smoltcp_endpoint_t *from)
{
    bool legacy = from->port != MDNS_PORT;
    bool all_qu = nq > 0;
    bool any = false;
    for (size_t i = 0; i < md.nrecs; i++) {
        md.recs[i].answer = md.recs[i].additional = false;
    }
    for (size_t q = 0; q < nq; q++) {
        all_qu = all_qu && qs[q].top_bit;
        /* Someone else probing a name we are probing too. */
        if (msg->h.nscount && !legacy) {
            if (md.host.ph == PH_PROBE && dns_name_eq(&qs[q].name, &md.host_name)) {
                tiebreak(-1, msg, ns_off, msg->h.nscount);
            }
            for (int k = 0; k < ESP_SMOLTCP_MDNS_MAX_SERVICES; k++) {
                if (md.svc[k].used && md.svc[k].o.ph == PH_PROBE && dns_name_eq(&qs[q].name, &md.svc[k].inst_name)) {
                    tiebreak(k, msg, ns_off, msg->h.nscount);
                }
            }
        }
        for (size_t i = 0; i < md.nrecs; i++) {
            if (rec_live(&md.recs[i]) && question_matches(&qs[q], &md.recs[i])) {
                md.recs[i].answer = any = true;
            }
        }
    }
    if (!any) {
        return;
    }
    /* §7.1: leave out answers the querier already holds with at least half their TTL. */
    dns_reader_t rd = *msg;
    rd.off = an_off;
    for (uint16_t a = 0; a < msg->h.ancount; a++) {
        dns_rr_t rr;
        if (dns_read_rr(&rd, &rr) != 0) {
            return;
        }
        uint8_t rdata[RD_MAX];
        int l = dns_rr_canonical_rdata(&rd, &rr, rdata, sizeof(rdata));
        for (size_t i = 0; l >= 0 && i < md.nrecs; i++) {
            rec_t *r = &md.recs[i];
            if (r->answer && r->type == rr.type && rr.cls == DNS_CLASS_IN && dns_name_eq(r->name, &rr.name) &&
                same_rdata(r, rdata, l) && rr.ttl >= r->ttl / 2) {
                r->answer = false;
                md.info.known_answer_suppressed++;
            }
        }
    }
    /* §6: no record multicast again within a second (250 ms to defend a name being probed). */
    bool multicast = !legacy && !all_qu;
    uint64_t now = os_now_us();
    uint64_t gap = msg->h.nscount ? MC_GAP_PROBE_US : MC_GAP_US;
    any = false;
    for (size_t i = 0; i < md.nrecs; i++) {
        rec_t *r = &md.recs[i];
        if (multicast && r->answer && md.mc_us[r->slot] && now - md.mc_us[r->slot] < gap) {
            r->answer = false;
            md.info.rate_limited++;
        }
        any = any || r->answer;
    }
    if (!any) {
        return;
    }
    md.info.queries++;
    mark_additional();
    dns_writer_t w;
    dns_writer_init(&w, md.tx, sizeof(md.tx), legacy ? msg->h.id : 0, DNS_FLAG_QR | DNS_FLAG_AA);
    if (legacy) {
        /* §6.7: a legacy resolver wants its id and question back, TTLs <= 10 s, no cache-flush bits. */
        md.info.legacy_queries++;
        for (size_t q = 0; q < nq; q++) {
            dns_write_question(&w, &qs[q].name, qs[q].type, qs[q].cls);
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < md.nrecs; i++) {
            const rec_t *r = &md.recs[i];
            if (pass == 0 ? r->answer : r->additional) {
                uint32_t ttl = legacy && r->ttl > LEGACY_TTL ? LEGACY_TTL : r->ttl;
                if (try_rec(&w, pass == 0 ? DNS_SEC_AN : DNS_SEC_AR, r, ttl, !legacy) && multicast) {
                    md.mc_us[r->slot] = now;
                }
            }
        }
    }
    size_t len = dns_writer_finish(&w);
    bool shared = false;
    for (size_t i = 0; i < md.nrecs; i++) {
        shared = shared || (md.recs[i].answer && !md.recs[i].unique);
    }
    if (legacy || all_qu) {
        send_to(len, from); /* §5.4 QU / §6.7 legacy: straight back to the asker */
    } else if (shared && len) {
        /* §6: other responders may answer the same shared set: 20-120 ms apart, at random. */
        flush_delayed();
        memcpy(md.delayed, md.tx, len);
        md.delayed_len = len;
        md.delayed_family = from->family;
        md.delayed_due_us = now + 20000u + os_random_u64() % 100001u;
    } else {
        send_multicast(len, from->family);
    }
}

static bool from_self(const esp_smoltcp_endpoint_t *from)
{
    for (size_t i = 0; i < md.naddrs; i++) {
        size_t n = md.addrs[i].family == ESP_SMOLTCP_AF_INET ? 4 : 16;
        if (md.addrs[i].family == from->family && memcmp(md.addrs[i].addr, from->addr, n) == 0) {
            return true;
        }
    }
    return false;
}

/* One datagram; the lock is held. */
static void handle_packet(size_t len, const esp_smoltcp_endpoint_t *from)
{
    dns_reader_t r;
    dns_question_t *qs = md.qs;
    size_t nq = 0;
    if (dns_reader_init(&r, md.rx, len) != 0) {
        md.info.rx_malformed++;
        return;
    }
    /* Parse the whole message first: a malformed one is dropped before it changes anything. */
    for (uint16_t i = 0; i < r.h.qdcount; i++) {
        dns_question_t q;
        if (dns_read_question(&r, &q) != 0) {
            md.info.rx_malformed++;
            return;
        }
        if (nq < MAX_QUESTIONS) {
            qs[nq++] = q;
        }
    }
    size_t an_off = r.off, ns_off = 0;
    unsigned total = (unsigned)r.h.ancount + r.h.nscount + r.h.arcount;
    for (unsigned i = 0; i < total; i++) {
        dns_rr_t rr;
        if (i == r.h.ancount) {
            ns_off = r.off;
        }
        if (dns_read_rr(&r, &rr) != 0) {
            md.info.rx_malformed++;
            return;
        }
    }
    if (r.h.ancount == total) {
        ns_off = r.off;
    }
    /* §18.3/§18.11: opcode and rcode must be zero; self-sent packets are not news. */
    if ((r.h.flags & (DNS_OPCODE_MASK | DNS_RCODE_MASK)) || from_self(from)) {
        md.info.rx_dropped++;
        return;
    }
    if (r.h.flags & DNS_FLAG_QR) {
        if (from->port != MDNS_PORT) {
            md.info.rx_dropped++; /* §6: responses not from port 5353 are ignored */
            return;
        }
        handle_response(&r, an_off);
        return;
    }
    handle_query(&r, qs, nq, an_off, ns_off, from);
}

/* ---- task ------------------------------------------------------------------------- */

static void wait_ms(uint32_t ms)
{
    os_event_t *ev = os_thread_event();
    if (ev) {
        os_event_wait(ev, (uint64_t)ms * 1000u);
    }
}

static void mdns_task(void *arg)
{
    (void)arg;
    while (!atomic_load(&md.stopping)) {
        lock();
        uint64_t now = os_now_us();
        check_addrs(now, false);
        build_records();
        run_timers(now);
        uint64_t due = next_due();
        unlock();
        now = os_now_us();
        uint64_t left_us = due > now ? due - now : 0;
        uint32_t ms = left_us >= RECV_SLICE_MS * 1000u ? RECV_SLICE_MS : (uint32_t)((left_us + 999u) / 1000u);
        esp_smoltcp_endpoint_t from;
        size_t full = 0;
        ssize_t n = esp_smoltcp_sock_recvfrom(md.sock, md.rx, sizeof(md.rx), 0, &full, &from, ms ? ms : 1);
        if (n == -EAGAIN) {
            continue;
        }
        if (n < 0) {
            ESP_LOGW(TAG, "recvfrom: %d", (int)n);
            wait_ms(RECV_SLICE_MS); /* no spinning on a broken socket */
            continue;
        }
        lock();
        md.info.rx_packets++;
        if (full > (size_t)n) {
            md.info.rx_dropped++; /* larger than one frame: not ours to reassemble */
        } else {
            build_records();
            handle_packet((size_t)n, &from);
        }
        unlock();
    }
    /* §10.1: goodbyes for everything announced, so caches forget us at once. */
    esp_smoltcp_stats_t st;
    uint64_t tx_before = esp_smoltcp_get_stats(ESP_SMOLTCP_IFACE_ETH, &st) == ESP_OK ? st.tx_frames : 0;
    lock();
    uint64_t sent_before = md.info.tx_packets;
    build_records();
    for (int k = 0; k < ESP_SMOLTCP_MDNS_MAX_SERVICES; k++) {
        if (md.svc[k].used && md.svc[k].o.ph >= PH_ANNOUNCE) {
            send_owner_records(k, true);
        }
    }
    if (md.host.ph >= PH_ANNOUNCE) {
        send_owner_records(-1, true);
    }
    uint64_t sent = md.info.tx_packets - sent_before;
    unlock();
    /*
     * Closing a UDP socket drops datagrams the poll task has not sent yet: give
     * the goodbyes up to 250 ms to reach the driver (counted by its TX frames).
     */
    for (int i = 0; i < 50 && sent; i++) {
        if (esp_smoltcp_get_stats(ESP_SMOLTCP_IFACE_ETH, &st) != ESP_OK || st.tx_frames - tx_before >= sent) {
            break;
        }
        wait_ms(5);
    }
}

/* ---- API -------------------------------------------------------------------------- */

static bool valid_host_label(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > DNS_LABEL_MAX || n >= ESP_SMOLTCP_MDNS_NAME_MAX || s[0] == '-') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) {
            return false;
        }
    }
    return true;
}

static void close_socket(void)
{
    if (md.v4) {
        esp_smoltcp_mcast_leave(0, ESP_SMOLTCP_AF_INET, GROUP4);
    }
    if (md.v6) {
        esp_smoltcp_mcast_leave(0, ESP_SMOLTCP_AF_INET6, GROUP6);
    }
    md.v4 = md.v6 = false;
    if (md.sock >= 0) {
        esp_smoltcp_sock_close(md.sock);
    }
    md.sock = -1;
}

static esp_err_t open_socket(void)
{
    esp_smoltcp_sock_buffers_t bufs = {.rx_bytes = 8192, .tx_bytes = 4096};
    md.sock = esp_smoltcp_sock_open(ESP_SMOLTCP_SOCK_UDP, &bufs);
    if (md.sock < 0) {
        return md.sock == -ENETDOWN ? ESP_ERR_INVALID_STATE : ESP_ERR_NO_MEM;
    }
    esp_smoltcp_endpoint_t local = {.family = ESP_SMOLTCP_AF_UNSPEC, .port = MDNS_PORT};
    int rc = esp_smoltcp_sock_bind(md.sock, &local, true);
    if (rc < 0) {
        ESP_LOGE(TAG, "bind port 5353: %d", rc);
        close_socket();
        return ESP_ERR_INVALID_STATE;
    }
    esp_smoltcp_sock_set_hop_limit(md.sock, 255); /* §11: IP TTL 255 on everything we send */
    /* ... the multicast ones included (their hop limit is the socket's multicast option), and
     * not looped back: our own probes and announcements must not read as a conflict. */
    esp_smoltcp_sock_set_multicast(md.sock, ESP_SMOLTCP_AF_INET, 255, false);
    esp_smoltcp_sock_set_multicast(md.sock, ESP_SMOLTCP_AF_INET6, 255, false);
    md.v4 = esp_smoltcp_mcast_join(0, ESP_SMOLTCP_AF_INET, GROUP4) == ESP_OK;
    md.v6 = esp_smoltcp_mcast_join(0, ESP_SMOLTCP_AF_INET6, GROUP6) == ESP_OK;
    if (!md.v4 && !md.v6) {
        ESP_LOGE(TAG, "could not join 224.0.0.251 nor ff02::fb");
        close_socket();
        return ESP_ERR_NO_MEM;
    }
    if (!md.v6) {
        ESP_LOGW(TAG, "ff02::fb not joined: IPv4 only");
    }
    return ESP_OK;
}

esp_err_t esp_smoltcp_mdns_init(const char *hostname)
{
    if (!valid_host_label(hostname)) {
        return ESP_ERR_INVALID_ARG;
    }
    if (!md_lock()) {
        os_mutex_t *m = NULL;
        if (os_mutex_create(&m) != ESP_OK) {
            return ESP_ERR_NO_MEM;
        }
        atomic_store_explicit(&md.lock, m, memory_order_release);
    }
    lock();
    esp_err_t err = ESP_OK;
    if (md.running) {
        err = ESP_ERR_INVALID_STATE;
        goto out;
    }
    memset(md.svc, 0, sizeof(md.svc));
    memset(&md.info, 0, sizeof(md.info));
    memset(md.mc_us, 0, sizeof(md.mc_us));
    md.delayed_len = 0;
    md.naddrs = 0;
    md.conflict_count = 0;
    md.sock = -1;
    snprintf(md.host_base, sizeof(md.host_base), "%s", hostname);
    md.host_n = 1;
    dns_name_from_str(&md.local_name, "local");
    dns_name_from_str(&md.services_name, "_services._dns-sd._udp.local");
    set_host_name();
    snprintf(md.info.hostname, sizeof(md.info.hostname), "%s", md.host_label);
    err = open_socket();
    if (err != ESP_OK) {
        goto out;
    }
    check_addrs(os_now_us(), true);
    build_records();
    start_probe(&md.host, initial_delay());
    atomic_store(&md.stopping, false);
    os_thread_config_t tcfg = {.name = "mdns", .stack_size = 6144, .priority = 5, .core = -1};
    err = os_thread_create(&tcfg, mdns_task, NULL, &md.thread);
    if (err != ESP_OK) {
        close_socket();
        goto out;
    }
    md.running = true;
    md.info.running = true;
    /* getaddrinfo("x.local") from now on goes out as mDNS queries (RFC 6762 §3, §5.1). */
    esp_smoltcp_dns_set_local_resolver(esp_smoltcp_mdns_resolve_host);
    ESP_LOGI(TAG, "responder for %s.local started", md.host_label);
out:
    unlock();
    return err;
}

static int find_service(const char *type, const char *proto)
{
    for (int k = 0; k < ESP_SMOLTCP_MDNS_MAX_SERVICES; k++) {
        if (md.svc[k].used && strcmp(md.svc[k].type, type) == 0 && strcmp(md.svc[k].proto, proto) == 0) {
            return k;
        }
    }
    return -1;
}

/* TXT rdata (RFC 6763 §6): one length-prefixed "key=value" string per item; empty = one zero byte. */
static esp_err_t build_txt(svc_t *s, const esp_smoltcp_mdns_txt_item_t *txt, size_t count)
{
    size_t o = 0;
    for (size_t i = 0; i < count; i++) {
        if (!txt[i].key || !txt[i].key[0] || strchr(txt[i].key, '=')) {
            return ESP_ERR_INVALID_ARG;
        }
        size_t kl = strlen(txt[i].key), vl = txt[i].value ? strlen(txt[i].value) : 0;
        size_t item = kl + (txt[i].value ? 1 + vl : 0);
        if (item > 255) {
            return ESP_ERR_INVALID_ARG;
        }
        if (o + 1 + item > sizeof(s->txt)) {
            return ESP_ERR_NO_MEM;
        }
        s->txt[o++] = (uint8_t)item;
        memcpy(&s->txt[o], txt[i].key, kl);
        o += kl;
        if (txt[i].value) {
            s->txt[o++] = '=';
            memcpy(&s->txt[o], txt[i].value, vl);
            o += vl;
        }
    }
    if (o == 0) {
        s->txt[o++] = 0;
    }
    s->txt_len = (uint16_t)o;
    return ESP_OK;
}

esp_err_t esp_smoltcp_mdns_service_add(const char *instance, const char *service_type, const char *proto,
                                       uint16_t port, const esp_smoltcp_mdns_txt_item_t *txt, size_t txt_count)
{
    if (!instance || !instance[0] || strlen(instance) > DNS_LABEL_MAX || strlen(instance) >= ESP_SMOLTCP_MDNS_NAME_MAX ||
        !service_type || service_type[0] != '_' || strlen(service_type) < 2 || strlen(service_type) > 16 || !proto ||
        (strcmp(proto, "_tcp") != 0 && strcmp(proto, "_udp") != 0) || port == 0 || (txt_count && !txt)) {
        return ESP_ERR_INVALID_ARG;
    }
    if (!md_lock()) {
        return ESP_ERR_INVALID_STATE;
    }
    lock();
    esp_err_t err = ESP_OK;
    int slot = -1;
    if (!md.running || atomic_load(&md.stopping) || find_service(service_type, proto) >= 0) {
        err = ESP_ERR_INVALID_STATE;
        goto out;
    }
    for (int k = 0; k < ESP_SMOLTCP_MDNS_MAX_SERVICES && slot < 0; k++) {
        slot = md.svc[k].used ? -1 : k;
    }
    if (slot < 0) {
        err = ESP_ERR_NO_MEM;
        goto out;
    }
    svc_t *s = &md.svc[slot];
    memset(s, 0, sizeof(*s));
    err = build_txt(s, txt, txt_count);
    if (err != ESP_OK) {
        goto out;
    }
    snprintf(s->base, sizeof(s->base), "%s", instance);
    snprintf(s->type, sizeof(s->type), "%s", service_type);
    snprintf(s->proto, sizeof(s->proto), "%s", proto);
    s->n = 1;
    s->port = port;
    dns_name_t t = md.local_name;
    if (dns_name_prepend(&t, proto, strlen(proto), &md.local_name) != 0 ||
        dns_name_prepend(&s->type_name, service_type, strlen(service_type), &t) != 0 || set_inst_name(s) != 0) {
        err = ESP_ERR_INVALID_ARG;
        goto out;
    }
    s->o.ph = PH_IDLE; /* the task starts probing once the host name is settled */
    memset(&md.mc_us[MAX_ADDRS + 4 * slot], 0, 4 * sizeof(md.mc_us[0])); /* a new service, never multicast */
    s->used = true;
out:
    unlock();
    return err;
}

esp_err_t esp_smoltcp_mdns_service_remove(const char *service_type, const char *proto)
{
    if (!service_type || !proto) {
        return ESP_ERR_INVALID_ARG;
    }
    if (!md_lock()) {
        return ESP_ERR_INVALID_STATE;
    }
    lock();
    esp_err_t err = ESP_OK;
    int k = md.running ? find_service(service_type, proto) : -1;
    if (!md.running) {
        err = ESP_ERR_INVALID_STATE;
    } else if (k < 0) {
        err = ESP_ERR_NOT_FOUND;
    } else {
        build_records();
        if (md.svc[k].o.ph >= PH_ANNOUNCE) {
            send_owner_records(k, true);
        }
        md.svc[k].used = false;
        build_records();
    }
    unlock();
    return err;
}

esp_err_t esp_smoltcp_mdns_free(void)
{
    if (!md_lock()) {
        return ESP_ERR_INVALID_STATE;
    }
    lock();
    if (!md.running || atomic_load(&md.stopping)) {
        unlock();
        return ESP_ERR_INVALID_STATE;
    }
    atomic_store(&md.stopping, true);
    unlock();
    os_thread_join(md.thread); /* sends the goodbyes on its way out */
    lock();
    md.thread = NULL;
    close_socket();
    md.running = false;
    md.info.running = false;
    md.info.host_ready = false;
    memset(md.svc, 0, sizeof(md.svc));
    md.host.ph = PH_IDLE;
    unlock();
    return ESP_OK;
}

esp_err_t esp_smoltcp_mdns_get_info(esp_smoltcp_mdns_info_t *out)
{
    if (!out) {
        return ESP_ERR_INVALID_ARG;
    }
    memset(out, 0, sizeof(*out));
    if (!md_lock()) {
        return ESP_OK;
    }
    lock();
    *out = md.info;
    for (int k = 0; k < ESP_SMOLTCP_MDNS_MAX_SERVICES; k++) {
        out->services_ready += md.svc[k].used && md.svc[k].o.ph >= PH_ANNOUNCE;
    }
    unlock();
    return ESP_OK;
}
