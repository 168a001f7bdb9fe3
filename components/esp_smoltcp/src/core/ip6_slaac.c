/* Router discovery, SLAAC, DAD, default route and RDNSS; see ip6_slaac.h. */
#include "ip6_slaac.h"

#include <string.h>

#include "esp_log.h"
#include "esp_smoltcp_dns.h"
#include "ip6_dhcp6.h"
#include "ip6_mld.h"
#include "ip6_nd.h"
#include "runtime.h"

static const char *TAG = "esp_smoltcp";

#define NEVER UINT64_MAX
#define SEC 1000000ull
#define RS_MAX 3                     /* MAX_RTR_SOLICITATIONS */
#define RS_INTERVAL_US (4 * SEC)     /* RTR_SOLICITATION_INTERVAL */
#define RS_MAX_DELAY_US (1 * SEC)    /* MAX_RTR_SOLICITATION_DELAY */
#define DAD_WAIT_US (1 * SEC)        /* RetransTimer x DupAddrDetectTransmits (1) */
#define TWO_HOURS_US (7200 * SEC)    /* RFC 4862 §5.5.3 e) */
#define MAX_SLAAC 2                  /* addresses formed from prefixes */
#define PENDING 4                    /* ND messages recorded during one poll */

typedef enum { A_FREE = 0, A_TENTATIVE, A_ASSIGNED, A_DUPLICATE } astate_t;

typedef struct {
    astate_t state;
    uint8_t addr[16];
    uint64_t dad_deadline;  /* tentative: DAD ends */
    uint64_t preferred_until, valid_until;
} slaac_addr_t;

static struct {
    bool running;
    uint8_t ll[16];
    uint8_t rs_sent;
    uint64_t rs_next;        /* NEVER: no solicitation due */
    bool has_router;
    uint8_t router[16];
    uint64_t router_until;
    slaac_addr_t addrs[MAX_SLAAC];
    uint8_t rdnss_count;
    uint8_t rdnss[IP6_MAX_RDNSS][16];
    uint64_t rdnss_until[IP6_MAX_RDNSS];
    nd_msg_t pending[PENDING];
    unsigned pending_count;
    uint32_t pending_lost;
} s;

static uint64_t until(uint64_t now, uint32_t seconds)
{
    return seconds == UINT32_MAX ? NEVER : now + (uint64_t)seconds * SEC;
}

static uint32_t left_s(uint64_t now, uint64_t t)
{
    if (t == NEVER) {
        return UINT32_MAX;
    }
    return t > now ? (uint32_t)((t - now) / SEC) : 0;
}

/* ---- transmit ---------------------------------------------------------------- */

/* Ethernet + IPv6 header for an ICMPv6 ND message to a multicast group; returns the ICMPv6 offset. */
static size_t nd_header(uint8_t *f, const uint8_t src[16], const uint8_t dst[16], size_t icmp_len)
{
    return ip6_mcast_frame_header(f, rt.mac, src, dst, 58, 255, icmp_len);
}

static void send_rs(void)
{
    static const uint8_t all_routers[16] = {0xff, 0x02, [15] = 0x02};
    uint8_t f[54 + 16];
    size_t o = nd_header(f, s.ll, all_routers, 16);
    memset(f + o, 0, 16);
    f[o] = 133;
    f[o + 8] = 1; /* source link-layer address option (checksum filled by rt_transmit) */
    f[o + 9] = 1;
    memcpy(f + o + 10, rt.mac, 6);
    rt_transmit(f, sizeof(f));
}

static void send_dad_ns(const uint8_t target[16])
{
    static const uint8_t unspecified[16];
    uint8_t snm[16];
    ip6_solicited_node(target, snm);
    uint8_t f[54 + 24];
    size_t o = nd_header(f, unspecified, snm, 24);
    memset(f + o, 0, 24);
    f[o] = 135;
    memcpy(f + o + 8, target, 16);
    rt_transmit(f, sizeof(f));
}

/* Defend an address against another node's DAD probe: smoltcp would answer the probe's source,
 * ::, which cannot be sent (RFC 4861 §7.2.4: to all-nodes, S=0, O=1). */
static void send_defending_na(const uint8_t target[16])
{
    static const uint8_t all_nodes[16] = {0xff, 0x02, [15] = 0x01};
    uint8_t f[54 + 32];
    size_t o = nd_header(f, target, all_nodes, 32);
    memset(f + o, 0, 32);
    f[o] = 136;
    f[o + 4] = 0x20; /* Override */
    memcpy(f + o + 8, target, 16);
    f[o + 24] = 2; /* target link-layer address option */
    f[o + 25] = 1;
    memcpy(f + o + 26, rt.mac, 6);
    rt_transmit(f, sizeof(f));
}

/* ---- state ------------------------------------------------------------------- */

bool ip6_supported(void)
{
    return true;
}

void ip6_start(uint64_t now)
{
    memset(&s, 0, sizeof(s));
    s.running = true;
    uint8_t prefix;
    if (esg_iface_get_addr(rt.eng, ESG_AF_INET6, 0, s.ll, &prefix) != ESG_OK) {
        s.running = false; /* an IPv4-only glue */
        return;
    }
    s.rs_next = now + os_random_u64() % RS_MAX_DELAY_US; /* RFC 4861 §6.3.7 random delay */
}

void ip6_link_up(uint64_t now)
{
    if (!s.running) {
        return;
    }
    s.rs_sent = 0;
    s.rs_next = now + os_random_u64() % RS_MAX_DELAY_US;
    ip6_mld_report_all(s.ll);
    /* RFC 4862 §5.4: DAD again on the link we came back to. An assigned address stays in use
     * while the probe is out (optimistic, RFC 4429 §3.3): a conflicting advertisement removes it
     * (on_conflict); a tentative one starts its wait again, its first probe may have been lost. */
    for (int i = 0; i < MAX_SLAAC; i++) {
        slaac_addr_t *a = &s.addrs[i];
        if (a->state == A_ASSIGNED || a->state == A_TENTATIVE) {
            if (a->state == A_TENTATIVE) {
                a->dad_deadline = now + DAD_WAIT_US;
            }
            send_dad_ns(a->addr);
        }
    }
}

void ip6_stop(void)
{
    memset(&s, 0, sizeof(s));
}

void ip6_rx_snoop(const uint8_t *f, size_t len)
{
    /* Cheap test first: only ICMPv6 ND types 134-136 directly behind the IPv6 header. */
    if (!s.running || len < 14 + 40 + 8 || f[12] != 0x86 || f[13] != 0xdd || f[14 + 6] != 58 ||
        f[54] < 134 || f[54] > 136) {
        return;
    }
    if (s.pending_count == PENDING) {
        s.pending_lost++;
        return;
    }
    if (nd_parse(f, len, &s.pending[s.pending_count])) {
        s.pending_count++;
    }
}

bool ip6_has_global(void)
{
    for (int i = 0; i < MAX_SLAAC; i++) {
        if (s.addrs[i].state == A_ASSIGNED) {
            return true;
        }
    }
    return false;
}

size_t ip6_rdnss_servers(uint8_t (*out)[16], size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < s.rdnss_count && n < max; i++) {
        memcpy(out[n++], s.rdnss[i], 16);
    }
    return n;
}

static void addr_changed(void)
{
    waitq_wake_all(&rt.ip_waiters);
}

static void set_router(const uint8_t src[16], uint16_t lifetime_s, uint64_t now)
{
    char b[40];
    if (lifetime_s == 0) {
        /* RFC 4861 §6.3.4: lifetime 0 = not a default router (any more). */
        if (s.has_router && memcmp(s.router, src, 16) == 0) {
            s.has_router = false;
            s.router_until = NEVER;
            esg_iface_set_default_route(rt.eng, ESG_AF_INET6, NULL);
            ESP_LOGI(TAG, "ipv6 router %s: lifetime 0, default route removed", ip6_fmt(src, b));
        }
        return;
    }
    if (!s.has_router || memcmp(s.router, src, 16) != 0) {
        if (esg_iface_set_default_route(rt.eng, ESG_AF_INET6, src) != ESG_OK) {
            return;
        }
        ESP_LOGI(TAG, "ipv6 router %s: default route, lifetime %u s", ip6_fmt(src, b), lifetime_s);
    }
    s.has_router = true;
    memcpy(s.router, src, 16);
    s.router_until = now + (uint64_t)lifetime_s * SEC;
}

static slaac_addr_t *find_addr(const uint8_t a[16])
{
    for (int i = 0; i < MAX_SLAAC; i++) {
        if (s.addrs[i].state != A_FREE && memcmp(s.addrs[i].addr, a, 16) == 0) {
            return &s.addrs[i];
        }
    }
    return NULL;
}

static void remove_addr(slaac_addr_t *a, const char *why)
{
    char b[40];
    if (a->state == A_ASSIGNED) {
        esg_iface_remove_addr(rt.eng, ESG_AF_INET6, a->addr);
        ESP_LOGI(TAG, "ipv6 slaac: %s/64 %s, removed", ip6_fmt(a->addr, b), why);
        addr_changed();
    }
    memset(a, 0, sizeof(*a));
}

static void on_prefix(const nd_prefix_t *p, uint64_t now)
{
    char b[40];
    /* RFC 4862 §5.5.3 a)-c): autonomous flag, not link-local, preferred <= valid. */
    if (!(p->flags & ND_PREFIX_FLAG_AUTO) || (p->prefix[0] == 0xfe && (p->prefix[1] & 0xc0) == 0x80) ||
        p->preferred_s > p->valid_s) {
        return;
    }
    if (p->len != 64) {
        ESP_LOGW(TAG, "ipv6 slaac: prefix %s/%u ignored (interface identifiers are 64 bits)",
                 ip6_fmt(p->prefix, b), p->len);
        return;
    }
    uint8_t addr[16];
    memcpy(addr, p->prefix, 8);
    memcpy(addr + 8, s.ll + 8, 8); /* the EUI-64 identifier of the link-local address */
    slaac_addr_t *a = find_addr(addr);
    if (!a) {
        if (p->valid_s == 0) {
            return;
        }
        for (int i = 0; i < MAX_SLAAC && !a; i++) {
            a = s.addrs[i].state == A_FREE ? &s.addrs[i] : NULL;
        }
        if (!a) {
            ESP_LOGW(TAG, "ipv6 slaac: no room for %s", ip6_fmt(addr, b));
            return;
        }
        memcpy(a->addr, addr, 16);
        a->state = A_TENTATIVE;
        a->dad_deadline = now + DAD_WAIT_US;
        a->valid_until = until(now, p->valid_s);
        a->preferred_until = until(now, p->preferred_s);
        send_dad_ns(addr);
        ESP_LOGI(TAG, "ipv6 slaac: %s tentative, DAD", ip6_fmt(addr, b));
        return;
    }
    if (a->state == A_DUPLICATE) {
        return;
    }
    a->preferred_until = until(now, p->preferred_s);
    /* RFC 4862 §5.5.3 e): a short valid lifetime may not cut an address below two hours. */
    uint64_t remaining = a->valid_until == NEVER ? NEVER : (a->valid_until > now ? a->valid_until - now : 0);
    uint64_t rv = p->valid_s == UINT32_MAX ? NEVER : (uint64_t)p->valid_s * SEC;
    if (rv > TWO_HOURS_US || rv > remaining) {
        a->valid_until = until(now, p->valid_s);
    } else if (remaining > TWO_HOURS_US) {
        a->valid_until = now + TWO_HOURS_US;
    }
}

static void on_rdnss(const nd_msg_t *m, uint64_t now)
{
    bool changed = false;
    for (uint8_t i = 0; i < m->rdnss_count; i++) {
        int at = -1;
        for (int j = 0; j < s.rdnss_count; j++) {
            if (memcmp(s.rdnss[j], m->rdnss[i], 16) == 0) {
                at = j;
            }
        }
        if (m->rdnss_lifetime_s == 0) {
            if (at >= 0) { /* RFC 8106 §5.1: lifetime 0 = stop using it */
                s.rdnss_until[at] = now;
                changed = true;
            }
            continue;
        }
        if (at < 0 && s.rdnss_count < IP6_MAX_RDNSS) {
            at = s.rdnss_count++;
            memcpy(s.rdnss[at], m->rdnss[i], 16);
            char b[40];
            ESP_LOGI(TAG, "ipv6 rdnss: dns server %s, lifetime %u s", ip6_fmt(m->rdnss[i], b),
                     (unsigned)m->rdnss_lifetime_s);
            changed = true;
        }
        if (at >= 0) {
            s.rdnss_until[at] = until(now, m->rdnss_lifetime_s);
        }
    }
    if (changed) {
        dns_rebuild_servers();
    }
}

static void on_conflict(const uint8_t target[16], const uint8_t mac[6], const char *what)
{
    slaac_addr_t *a = find_addr(target);
    if (!a || a->state == A_DUPLICATE || memcmp(mac, rt.mac, 6) == 0) {
        return;
    }
    char b[40];
    ESP_LOGW(TAG, "ipv6 dad: duplicate address %s refused (%s from %02x:%02x:%02x:%02x:%02x:%02x)",
             ip6_fmt(target, b), what, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    if (a->state == A_ASSIGNED) {
        esg_iface_remove_addr(rt.eng, ESG_AF_INET6, a->addr);
        addr_changed();
    }
    /* Kept as DUPLICATE so the same prefix does not form it again (RFC 4862 §5.4.5). */
    a->state = A_DUPLICATE;
    a->dad_deadline = 0;
}

static void handle(const nd_msg_t *m, uint64_t now)
{
    switch (m->kind) {
    case ND_RA:
        s.rs_next = NEVER; /* a router answered: no more solicitations */
        set_router(m->src, m->router_lifetime_s, now);
        for (uint8_t i = 0; i < m->prefix_count; i++) {
            on_prefix(&m->prefixes[i], now);
        }
        if (m->rdnss_count) {
            on_rdnss(m, now);
        }
        if (rt.cfg.ipv6_dhcp6 && (m->ra_flags & (ND_RA_FLAG_OTHER | ND_RA_FLAG_MANAGED))) {
            dhcp6_request(now);
        }
        break;
    case ND_NA:
        on_conflict(m->target, m->src_mac, "neighbour advertisement");
        break;
    case ND_NS_DAD: {
        slaac_addr_t *a = find_addr(m->target);
        if (a && a->state == A_TENTATIVE) { /* RFC 4862 §5.4.3: another node's DAD for it */
            on_conflict(m->target, m->src_mac, "DAD solicitation");
        } else if (esg_iface_has_addr(rt.eng, ESG_AF_INET6, m->target) && memcmp(m->src_mac, rt.mac, 6) != 0) {
            char b[40];
            ESP_LOGI(TAG, "ipv6 dad: defending %s", ip6_fmt(m->target, b));
            send_defending_na(m->target);
        }
        break;
    }
    default:
        break;
    }
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

uint64_t ip6_after_poll(uint64_t now)
{
    if (!s.running) {
        return NEVER;
    }
    for (unsigned i = 0; i < s.pending_count; i++) {
        handle(&s.pending[i], now);
    }
    s.pending_count = 0;

    uint64_t next = NEVER;
    if (s.rs_next != NEVER && s.rs_next != 0) {
        if (now >= s.rs_next) {
            send_rs();
            s.rs_sent++;
            /* Bounded: after the third, silence until an RA arrives on its own. */
            s.rs_next = s.rs_sent < RS_MAX ? now + RS_INTERVAL_US : NEVER;
        }
        next = earliest(next, s.rs_next);
    }
    if (s.has_router && s.router_until != NEVER) {
        if (now >= s.router_until) {
            char b[40];
            ESP_LOGI(TAG, "ipv6 router %s: lifetime expired, default route removed", ip6_fmt(s.router, b));
            esg_iface_set_default_route(rt.eng, ESG_AF_INET6, NULL);
            s.has_router = false;
        } else {
            next = earliest(next, s.router_until);
        }
    }
    for (int i = 0; i < MAX_SLAAC; i++) {
        slaac_addr_t *a = &s.addrs[i];
        if (a->state == A_FREE || a->state == A_DUPLICATE) {
            continue;
        }
        if (now >= a->valid_until) {
            remove_addr(a, "valid lifetime expired");
            continue;
        }
        if (a->state == A_TENTATIVE) {
            if (now < a->dad_deadline) {
                next = earliest(next, a->dad_deadline);
                continue;
            }
            char b[40];
            if (esg_iface_add_addr(rt.eng, ESG_AF_INET6, a->addr, 64) != ESG_OK) {
                ESP_LOGW(TAG, "ipv6 slaac: no interface slot for %s", ip6_fmt(a->addr, b));
                memset(a, 0, sizeof(*a));
                continue;
            }
            a->state = A_ASSIGNED;
            ESP_LOGI(TAG, "ipv6 slaac: %s/64 assigned (valid %u s, preferred %u s)", ip6_fmt(a->addr, b),
                     (unsigned)left_s(now, a->valid_until), (unsigned)left_s(now, a->preferred_until));
            addr_changed();
        }
        next = earliest(next, a->valid_until);
        if (a->preferred_until > now) {
            next = earliest(next, a->preferred_until); /* to report "deprecated" on time */
        }
    }
    bool dns_changed = false;
    for (int i = 0; i < s.rdnss_count;) {
        if (s.rdnss_until[i] <= now) {
            memmove(&s.rdnss[i], &s.rdnss[i + 1], (size_t)(s.rdnss_count - i - 1) * 16);
            memmove(&s.rdnss_until[i], &s.rdnss_until[i + 1], (size_t)(s.rdnss_count - i - 1) * sizeof(uint64_t));
            s.rdnss_count--;
            dns_changed = true;
            continue;
        }
        next = earliest(next, s.rdnss_until[i]);
        i++;
    }
    if (dns_changed) {
        dns_rebuild_servers();
    }
    return next == NEVER ? NEVER : next - now;
}

void ip6_get_info(uint64_t now, esp_smoltcp_ip6_info_t *out)
{
    memset(out, 0, sizeof(*out));
    esp_smoltcp_ip6_addr_t *o = &out->addrs[0];
    if (esg_iface_get_addr(rt.eng, ESG_AF_INET6, 0, o->addr, &o->prefix_len) == ESG_OK) {
        o->state = ESP_SMOLTCP_IP6_PREFERRED;
        o->valid_s = o->preferred_s = UINT32_MAX;
        out->addr_count = 1;
    }
    for (int i = 0; i < MAX_SLAAC && out->addr_count < ESP_SMOLTCP_IP6_MAX_ADDRS; i++) {
        const slaac_addr_t *a = &s.addrs[i];
        if (a->state == A_FREE) {
            continue;
        }
        o = &out->addrs[out->addr_count++];
        memcpy(o->addr, a->addr, 16);
        o->prefix_len = 64;
        o->valid_s = left_s(now, a->valid_until);
        o->preferred_s = left_s(now, a->preferred_until);
        o->state = a->state == A_TENTATIVE   ? ESP_SMOLTCP_IP6_TENTATIVE
                   : a->state == A_DUPLICATE ? ESP_SMOLTCP_IP6_DUPLICATE
                   : now >= a->preferred_until ? ESP_SMOLTCP_IP6_DEPRECATED
                                               : ESP_SMOLTCP_IP6_PREFERRED;
    }
    if (s.has_router) {
        out->has_router = true;
        memcpy(out->router, s.router, 16);
        out->router_lifetime_s = left_s(now, s.router_until);
    }
    uint8_t dns[ESP_SMOLTCP_DNS_MAX_SERVERS][16];
    size_t n = ip6_rdnss_servers(dns, ESP_SMOLTCP_DNS_MAX_SERVERS);
    n += dhcp6_dns_servers(dns + n, ESP_SMOLTCP_DNS_MAX_SERVERS - n);
    out->dns_count = (uint8_t)(n > 3 ? 3 : n);
    memcpy(out->dns, dns, (size_t)out->dns_count * 16);
}
