/*
 * Blocking name resolution over the engine's DNS socket: start one query per
 * record type, sleep on the query's own wait queue, collect the addresses.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>

#include "esp_smoltcp_dns.h"
#include "ip6_dhcp6.h"
#include "ip6_slaac.h"
#include "runtime.h"

/* smoltcp moves to the next server only after 10 s; a resolver should after a few (glibc: 5 s). */
#define DNS_SERVER_TIMEOUT_US 2000000u

/* Start the still-needed queries; false (with *rc) when the engine refuses. Core lock held. */
static bool start_queries(const char *name, const bool want[2], bool done[2], int qids[2], int *rc)
{
    static const uint16_t types[2] = {ESG_DNS_TYPE_A, ESG_DNS_TYPE_AAAA};
    for (int t = 0; t < 2; t++) {
        if (!want[t] || done[t]) {
            continue;
        }
        qids[t] = esg_dns_query(rt.eng, name, strlen(name), types[t]);
        if (qids[t] < 0) {
            *rc = qids[t] == ESG_ERR_NOSLOT ? -EBUSY : -EINVAL;
            return false;
        }
    }
    rt_kick();
    return true;
}

static void cancel_queries(int qids[2])
{
    for (int t = 0; t < 2; t++) {
        if (qids[t] >= 0) {
            esg_dns_cancel(rt.eng, qids[t]);
            qids[t] = -1;
        }
    }
}

/* Put server `first` at the head of the engine's list, the others after it in order. */
static void use_servers_from(size_t first)
{
    esp_smoltcp_endpoint_t order[ESP_SMOLTCP_DNS_MAX_SERVERS];
    for (size_t i = 0; i < rt.dns_server_count; i++) {
        order[i] = rt.dns_servers[(first + i) % rt.dns_server_count];
    }
    esg_dns_set_servers(rt.eng, (const esg_endpoint_t *)order, rt.dns_server_count);
}

/* The .local resolver (mDNS), set by the service; read without the core lock. */
static _Atomic(esp_smoltcp_dns_local_resolver_t) local_resolver;

void esp_smoltcp_dns_set_local_resolver(esp_smoltcp_dns_local_resolver_t fn)
{
    atomic_store(&local_resolver, fn);
}

/* "x.local" or "x.local." (case-insensitive), with at least one label before "local". */
static bool is_local_name(const char *name)
{
    size_t n = strlen(name);
    if (n > 0 && name[n - 1] == '.') {
        n--;
    }
    return n > 6 && strncasecmp(name + n - 6, ".local", 6) == 0;
}

int esp_smoltcp_dns_resolve(const char *name, int family, esp_smoltcp_endpoint_t *out, size_t max,
                            uint32_t timeout_ms)
{
    if (!name || !out || max == 0 || !*name) {
        return -EINVAL;
    }
    if (family != ESP_SMOLTCP_AF_INET && family != ESP_SMOLTCP_AF_INET6 && family != ESP_SMOLTCP_AF_UNSPEC) {
        return -EINVAL;
    }
    esp_smoltcp_dns_local_resolver_t local = atomic_load(&local_resolver);
    if (local && is_local_name(name)) {
        return local(name, family, out, max, timeout_ms);
    }
    if (!rt.attached) {
        return -ENETDOWN;
    }
    os_event_t *ev = os_thread_event();
    if (!ev) {
        return -ENOMEM;
    }
    uint64_t now = os_now_us();
    uint64_t deadline = timeout_ms == ESP_SMOLTCP_WAIT_FOREVER ? UINT64_MAX : now + (uint64_t)timeout_ms * 1000;
    const bool want[2] = {family != ESP_SMOLTCP_AF_INET6, family != ESP_SMOLTCP_AF_INET};
    bool done[2] = {!want[0], !want[1]};
    int qids[2] = {-1, -1};
    /* Order of the answers: see the RFC 6724 note before the copy-out below. */
    esp_smoltcp_endpoint_t found[2][8];
    size_t nfound[2] = {0, 0};
    int rc = 0;
    rt_lock();
    if (rt.dns_server_count == 0) {
        rt_unlock();
        return -ENETDOWN;
    }
    size_t server = 0;
    uint64_t attempt_end = now + DNS_SERVER_TIMEOUT_US;
    start_queries(name, want, done, qids, &rc);
    while (rc == 0 && !(done[0] && done[1])) {
        for (int t = 0; t < 2; t++) {
            if (done[t]) {
                continue;
            }
            int r = esg_dns_result(rt.eng, qids[t], (esg_endpoint_t *)found[t], 8);
            if (r != ESG_ERR_AGAIN) {
                done[t] = true;
                qids[t] = -1;
                nfound[t] = r > 0 ? (size_t)r : 0;
            }
        }
        if (done[0] && done[1]) {
            break;
        }
        now = os_now_us();
        if (now >= deadline) {
            rc = -ETIMEDOUT;
            break;
        }
        if (now >= attempt_end && server + 1 < rt.dns_server_count) {
            /* This server is silent: ask the next one. */
            cancel_queries(qids);
            use_servers_from(++server);
            attempt_end = now + DNS_SERVER_TIMEOUT_US;
            start_queries(name, want, done, qids, &rc);
            continue;
        }
        for (int t = 0; t < 2; t++) {
            if (!done[t]) {
                esg_dns_register_wake(rt.eng, qids[t], rt.cfg.max_sockets + (uintptr_t)qids[t]);
            }
        }
        uint64_t until = deadline;
        if (server + 1 < rt.dns_server_count && attempt_end < until) {
            until = attempt_end;
        }
        waiter_t w = {.event = ev};
        waitq_add(&rt.dns_waiters, &w);
        rt_unlock();
        os_event_wait(ev, until == UINT64_MAX ? OS_WAIT_FOREVER : until - now);
        rt_lock();
        waitq_remove(&rt.dns_waiters, &w);
    }
    cancel_queries(qids);
    if (server != 0) {
        use_servers_from(0);
    }
    /* RFC 6724 §6: with a global IPv6 address, IPv6 destinations (precedence 40) come before
     * IPv4 ones (35); without one, IPv4 first. */
    const int first = ip6_has_global() ? 1 : 0;
    rt_unlock();
    if (rc != 0) {
        return rc;
    }
    size_t n = 0;
    for (int k = 0; k < 2; k++) {
        int t = k ^ first;
        for (size_t i = 0; i < nfound[t] && n < max; i++) {
            out[n++] = found[t][i];
        }
    }
    return n > 0 ? (int)n : -ENOENT;
}

static void add_server(const esp_smoltcp_endpoint_t *ep)
{
    for (size_t i = 0; i < rt.dns_server_count; i++) {
        if (rt.dns_servers[i].family == ep->family &&
            memcmp(rt.dns_servers[i].addr, ep->addr, ep->family == ESP_SMOLTCP_AF_INET ? 4 : 16) == 0) {
            return;
        }
    }
    if (rt.dns_server_count < ESP_SMOLTCP_DNS_MAX_SERVERS) {
        rt.dns_servers[rt.dns_server_count++] = *ep;
    }
}

/* Core lock held. Order (docs/configuration.md): static / DHCPv4 / set_servers, RDNSS, DHCPv6. */
void dns_rebuild_servers(void)
{
    rt.dns_server_count = 0;
    for (size_t i = 0; i < rt.dns_base_count; i++) {
        add_server(&rt.dns_base[i]);
    }
    uint8_t v6[2 * ESP_SMOLTCP_DNS_MAX_SERVERS][16];
    size_t n = ip6_rdnss_servers(v6, ESP_SMOLTCP_DNS_MAX_SERVERS);
    n += dhcp6_dns_servers(v6 + n, ESP_SMOLTCP_DNS_MAX_SERVERS);
    for (size_t i = 0; i < n; i++) {
        esp_smoltcp_endpoint_t ep = {.family = ESP_SMOLTCP_AF_INET6, .port = 53};
        memcpy(ep.addr, v6[i], 16);
        add_server(&ep);
    }
    dns_apply_servers();
}

/* Core lock held. */
void dns_apply_servers(void)
{
    esg_dns_set_servers(rt.eng, (const esg_endpoint_t *)rt.dns_servers, rt.dns_server_count);
}

esp_err_t esp_smoltcp_dns_set_servers(const esp_smoltcp_endpoint_t *servers, size_t count)
{
    if ((!servers && count) || count > ESP_SMOLTCP_DNS_MAX_SERVERS) {
        return ESP_ERR_INVALID_ARG;
    }
    if (!rt.attached) {
        return ESP_ERR_INVALID_STATE;
    }
    rt_lock();
    memcpy(rt.dns_base, servers, count * sizeof(*servers));
    rt.dns_base_count = count;
    dns_rebuild_servers();
    rt_unlock();
    return ESP_OK;
}

size_t esp_smoltcp_dns_get_servers(esp_smoltcp_endpoint_t *out, size_t max)
{
    if (!out || !rt.attached) {
        return 0;
    }
    rt_lock();
    size_t n = rt.dns_server_count < max ? rt.dns_server_count : max;
    memcpy(out, rt.dns_servers, n * sizeof(*out));
    rt_unlock();
    return n;
}
