/*
 * Blocking name resolution over the engine's DNS socket: start one query per
 * record type, sleep on the query's own wait queue, collect the addresses.
 */
#include <errno.h>
#include <string.h>

#include "esp_smoltcp_dns.h"
#include "runtime.h"

int esp_smoltcp_dns_resolve(const char *name, int family, esp_smoltcp_endpoint_t *out, size_t max,
                            uint32_t timeout_ms)
{
    if (!name || !out || max == 0 || !*name) {
        return -EINVAL;
    }
    if (family != ESP_SMOLTCP_AF_INET && family != ESP_SMOLTCP_AF_INET6 && family != ESP_SMOLTCP_AF_UNSPEC) {
        return -EINVAL;
    }
    if (!rt.attached) {
        return -ENETDOWN;
    }
    os_event_t *ev = os_thread_event();
    if (!ev) {
        return -ENOMEM;
    }
    uint64_t deadline = timeout_ms == ESP_SMOLTCP_WAIT_FOREVER ? UINT64_MAX : os_now_us() + (uint64_t)timeout_ms * 1000;
    const uint16_t types[2] = {ESG_DNS_TYPE_A, ESG_DNS_TYPE_AAAA};
    int qids[2] = {-1, -1};
    bool done[2] = {true, true};
    int rc = 0;
    rt_lock();
    if (rt.dns_server_count == 0) {
        rt_unlock();
        return -ENETDOWN;
    }
    for (int t = 0; t < 2; t++) {
        bool wanted = family == ESP_SMOLTCP_AF_UNSPEC || (t == 0) == (family == ESP_SMOLTCP_AF_INET);
        if (!wanted) {
            continue;
        }
        qids[t] = esg_dns_query(rt.eng, name, strlen(name), types[t]);
        if (qids[t] < 0) {
            rc = qids[t] == ESG_ERR_NOSLOT ? -EBUSY : -EINVAL;
            break;
        }
        done[t] = false;
    }
    rt_kick();
    /* A answers first, then AAAA: the order getaddrinfo() hands out (RFC 6724 without IPv6 routes). */
    esp_smoltcp_endpoint_t found[2][8];
    size_t nfound[2] = {0, 0};
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
        uint64_t now = os_now_us();
        if (now >= deadline) {
            rc = -ETIMEDOUT;
            break;
        }
        waiter_t w = {.event = ev};
        for (int t = 0; t < 2; t++) {
            if (!done[t]) {
                esg_dns_register_wake(rt.eng, qids[t], rt.cfg.max_sockets + (uintptr_t)qids[t]);
            }
        }
        waitq_add(&rt.dns_waiters, &w);
        rt_unlock();
        os_event_wait(ev, deadline == UINT64_MAX ? OS_WAIT_FOREVER : deadline - now);
        rt_lock();
        waitq_remove(&rt.dns_waiters, &w);
    }
    for (int t = 0; t < 2; t++) {
        if (qids[t] >= 0) {
            esg_dns_cancel(rt.eng, qids[t]);
        }
    }
    rt_unlock();
    if (rc != 0) {
        return rc;
    }
    size_t n = 0;
    for (int t = 0; t < 2; t++) {
        for (size_t i = 0; i < nfound[t] && n < max; i++) {
            out[n++] = found[t][i];
        }
    }
    return n > 0 ? (int)n : -ENOENT;
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
    memcpy(rt.dns_servers, servers, count * sizeof(*servers));
    rt.dns_server_count = count;
    dns_apply_servers();
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
