/*
 * getsockopt / setsockopt with Linux's values, ranges and errors. Options
 * the stack acts on go to the native API (TCP_NODELAY, keep-alive, TTL,
 * buffer sizes, TCP_USER_TIMEOUT); the others live in the fd table (timeouts,
 * flags, the multicast interface — stored, see docs/conformance-bsd.md). Multicast
 * TTL and loop apply to UDP datagrams to a group (runtime's mcast_tx.c).
 * Memberships join the interface's groups (IGMP/MLD) through the runtime. Unknown options fail, never silently.
 */
#ifndef _GNU_SOURCE /* IDF's linux target passes -D_GNU_SOURCE */
#define _GNU_SOURCE /* host glibc: TCP_KEEP*, ip_mreq, IPV6_* as Linux has them */
#endif
#include <errno.h>
#include <string.h>

#include "bsd_socket.h"
#include "esp_smoltcp_mcast.h"
#include "esp_smoltcp_sock.h"
#include "fd_table.h"

#define MIN_BUF 2048u     /* SO_RCVBUF/SO_SNDBUF are clamped to [MIN_BUF, MAX_BUF] */
#define MAX_BUF 262144u
#define DEFAULT_TTL 64    /* Linux net.ipv4.ip_default_ttl, IPv6 hop_limit */
#define MAX_KEEPIDLE 32767 /* Linux MAX_TCP_KEEPIDLE / _KEEPINTVL */
#define MAX_KEEPCNT 127

/* ---- value helpers ----------------------------------------------------------------- */

static int int_arg(const void *val, socklen_t len, int *out)
{
    if ((int)len < (int)sizeof(int)) {
        return -EINVAL;
    }
    if (!val) {
        return -EFAULT;
    }
    memcpy(out, val, sizeof(int));
    return 0;
}

/* IP-level options also take a single byte (Linux do_ip_setsockopt). */
static int ip_int_arg(const void *val, socklen_t len, int *out)
{
    if ((int)len >= (int)sizeof(int)) {
        return int_arg(val, len, out);
    }
    if ((int)len < 1) {
        return -EINVAL;
    }
    if (!val) {
        return -EFAULT;
    }
    *out = *(const unsigned char *)val;
    return 0;
}

static int timeval_arg(const void *val, socklen_t len, uint32_t *ms)
{
    if ((int)len < (int)sizeof(struct timeval)) {
        return -EINVAL;
    }
    if (!val) {
        return -EFAULT;
    }
    struct timeval tv;
    memcpy(&tv, val, sizeof(tv));
    if (tv.tv_usec < 0 || tv.tv_usec >= 1000000) {
        return -EDOM;
    }
    if (tv.tv_sec < 0) {
        *ms = 0; /* Linux: a negative timeout means "do not wait" */
        return 0;
    }
    uint64_t v = (uint64_t)tv.tv_sec * 1000 + ((uint64_t)tv.tv_usec + 999) / 1000;
    /* Zero means no timeout (POSIX SO_RCVTIMEO). */
    *ms = (v == 0 || v >= ESP_SMOLTCP_WAIT_FOREVER) ? ESP_SMOLTCP_WAIT_FOREVER : (uint32_t)v;
    return 0;
}

/* Copy out as Linux does: at most the option's size, *len set to what was copied. */
static int put(void *val, socklen_t *len, const void *v, size_t size)
{
    if (!len) {
        return -EFAULT;
    }
    if ((int)*len < 0) {
        return -EINVAL;
    }
    size_t n = *len < size ? *len : size;
    if (n && !val) {
        return -EFAULT;
    }
    if (n) {
        memcpy(val, v, n); /* val may be NULL with a zero length (found by fuzz_bsd) */
    }
    *len = (socklen_t)n;
    return 0;
}

static int put_int(void *val, socklen_t *len, int v)
{
    return put(val, len, &v, sizeof(v));
}

/* ---- native side --------------------------------------------------------------------- */

/* Keep-alive as Linux: first probe after TCP_KEEPIDLE of idle time, the
 * connection aborted (ETIMEDOUT) when the peer stays silent for KEEPIDLE +
 * KEEPINTVL x KEEPCNT. smoltcp repeats probes at the idle interval. */
static int apply_keepalive(const compat_fd_t *s)
{
    if (s->type != SOCK_STREAM) {
        return 0;
    }
    uint32_t idle_ms = s->keepalive ? (uint32_t)s->keepidle_s * 1000 : 0;
    uint32_t abort_ms = s->keepalive ? idle_ms + (uint32_t)s->keepintvl_s * (uint32_t)s->keepcnt * 1000 : 0;
    int rc = esp_smoltcp_sock_set_keepalive(s->handle, idle_ms);
    return rc < 0 ? rc : esp_smoltcp_sock_set_keepalive_abort(s->handle, abort_ms);
}

/* IP_MULTICAST_TTL/LOOP, IPV6_MULTICAST_HOPS/LOOP: applied to UDP datagrams to a group as they leave. */
static int apply_multicast(const compat_fd_t *s, uint8_t family)
{
    if (s->type != SOCK_DGRAM) {
        return 0; /* stored for getsockopt */
    }
    bool v4 = family == ESP_SMOLTCP_AF_INET;
    return esp_smoltcp_sock_set_multicast(s->handle, family, (uint8_t)(v4 ? s->mcast_ttl : s->mcast_hops6),
                                          v4 ? s->mcast_loop : s->mcast_loop6);
}

void compat_apply_options(const compat_fd_t *s)
{
    int hops = s->family == AF_INET6 ? s->hops6 : s->ttl;
    esp_smoltcp_sock_set_hop_limit(s->handle, hops < 0 ? 0 : (uint8_t)hops);
    if (s->type != SOCK_STREAM) {
        return;
    }
    esp_smoltcp_sock_set_nodelay(s->handle, s->nodelay);
    apply_keepalive(s);
    esp_smoltcp_sock_set_user_timeout(s->handle, s->user_timeout_ms);
}

static int set_buffer(compat_fd_t *s, int v, bool rx)
{
    uint32_t b = v < 0 || (uint32_t)v > MAX_BUF ? MAX_BUF : (uint32_t)v < MIN_BUF ? MIN_BUF : (uint32_t)v;
    esp_smoltcp_sock_buffers_t bufs = {.rx_bytes = rx ? b : 0, .tx_bytes = rx ? 0 : b};
    int rc = esp_smoltcp_sock_set_buffers(s->handle, &bufs);
    if (rc == 0) {
        *(rx ? &s->rcvbuf : &s->sndbuf) = (int)b;
        compat_apply_options(s); /* a fresh TCP socket was rebuilt with the new rings */
    }
    return rc;
}

/* ---- multicast memberships: per-socket list here, the interface's count in the runtime ---- */

static int join_errno(esp_err_t err)
{
    switch (err) {
    case ESP_OK:
        return 0;
    case ESP_ERR_NO_MEM:
        return -ENOBUFS; /* Linux, past the interface's group table */
    case ESP_ERR_INVALID_STATE:
        return -ENODEV;  /* no interface to join on */
    default:
        return -EINVAL;
    }
}

static bool has_group(const compat_fd_t *s, const compat_group_t *g)
{
    for (int i = 0; s && i < COMPAT_MAX_GROUPS; i++) {
        const compat_group_t *h = &s->groups[i];
        if (h->family == g->family && h->ifindex == g->ifindex && memcmp(h->addr, g->addr, sizeof(g->addr)) == 0) {
            return true;
        }
    }
    return false;
}

void compat_leave_groups(const compat_fd_t *s, const compat_fd_t *keep)
{
    for (int i = 0; i < COMPAT_MAX_GROUPS; i++) {
        const compat_group_t *g = &s->groups[i];
        if (g->family && !has_group(keep, g)) {
            esp_smoltcp_mcast_leave(ESP_SMOLTCP_IFACE_ETH, g->family, g->addr);
        }
    }
}

static int membership(compat_fd_t *s, int family, const uint8_t *group, uint32_t ifindex, bool join)
{
    if (s->type == SOCK_STREAM) {
        return -EPROTO; /* Linux: not on a connection-oriented socket */
    }
    if (!esp_smoltcp_mcast_is_multicast((uint8_t)family, group)) {
        return -EINVAL;
    }
    size_t alen = family == ESP_SMOLTCP_AF_INET ? 4 : 16;
    int free_slot = -1;
    for (int i = 0; i < COMPAT_MAX_GROUPS; i++) {
        compat_group_t *g = &s->groups[i];
        if (g->family == family && memcmp(g->addr, group, alen) == 0 && g->ifindex == ifindex) {
            if (join) {
                return -EADDRINUSE;
            }
            esp_smoltcp_mcast_leave(ESP_SMOLTCP_IFACE_ETH, g->family, g->addr);
            g->family = 0;
            return 0;
        }
        if (!g->family && free_slot < 0) {
            free_slot = i;
        }
    }
    if (!join) {
        return -EADDRNOTAVAIL;
    }
    if (free_slot < 0) {
        return -ENOBUFS;
    }
    int rc = join_errno(esp_smoltcp_mcast_join(ESP_SMOLTCP_IFACE_ETH, (uint8_t)family, group));
    if (rc < 0) {
        return rc;
    }
    compat_group_t *g = &s->groups[free_slot];
    memset(g, 0, sizeof(*g));
    g->family = (uint8_t)family;
    memcpy(g->addr, group, alen);
    g->ifindex = ifindex;
    return 0;
}

/* ---- setsockopt ----------------------------------------------------------------------- */

static int set_socket(compat_fd_t *s, int name, const void *val, socklen_t len)
{
    int v = 0, rc;
    switch (name) {
    case SO_REUSEADDR:
        rc = int_arg(val, len, &v);
        s->reuse_addr = rc == 0 ? v != 0 : s->reuse_addr;
        return rc;
    case SO_BROADCAST:
        rc = int_arg(val, len, &v);
        s->broadcast = rc == 0 ? v != 0 : s->broadcast;
        return rc;
    case SO_KEEPALIVE:
        if ((rc = int_arg(val, len, &v)) == 0) {
            s->keepalive = v != 0;
            rc = apply_keepalive(s);
        }
        return rc;
    case SO_RCVTIMEO:
        return timeval_arg(val, len, &s->rcv_timeout_ms);
    case SO_SNDTIMEO:
        return timeval_arg(val, len, &s->snd_timeout_ms);
    case SO_LINGER: {
        struct linger l;
        if ((int)len < (int)sizeof(l)) {
            return -EINVAL;
        }
        if (!val) {
            return -EFAULT;
        }
        memcpy(&l, val, sizeof(l));
        s->linger_on = l.l_onoff != 0;
        if (l.l_onoff) {
            s->linger_s = l.l_linger < 0 ? 0 : l.l_linger;
        }
        return 0;
    }
    case SO_RCVBUF:
    case SO_SNDBUF:
        return (rc = int_arg(val, len, &v)) == 0 ? set_buffer(s, v, name == SO_RCVBUF) : rc;
    case SO_BINDTODEVICE:
        return 0; /* one interface: every name binds to it (IDF's esp-tls and httpd set it) */
    default:
        return -ENOPROTOOPT;
    }
}

static int set_tcp(compat_fd_t *s, int name, const void *val, socklen_t len)
{
    int v = 0;
    int rc = int_arg(val, len, &v);
    if (rc < 0) {
        return rc;
    }
    switch (name) {
    case TCP_NODELAY:
        s->nodelay = v != 0;
        return esp_smoltcp_sock_set_nodelay(s->handle, s->nodelay);
    case TCP_KEEPIDLE:
        if (v < 1 || v > MAX_KEEPIDLE) {
            return -EINVAL;
        }
        s->keepidle_s = v;
        return apply_keepalive(s);
    case TCP_KEEPINTVL:
        if (v < 1 || v > MAX_KEEPIDLE) {
            return -EINVAL;
        }
        s->keepintvl_s = v;
        return apply_keepalive(s);
    case TCP_KEEPCNT:
        if (v < 1 || v > MAX_KEEPCNT) {
            return -EINVAL;
        }
        s->keepcnt = v;
        return apply_keepalive(s);
    case TCP_USER_TIMEOUT:
        if (v < 0) {
            return -EINVAL;
        }
        s->user_timeout_ms = (uint32_t)v;
        return esp_smoltcp_sock_set_user_timeout(s->handle, (uint32_t)v);
    default:
        return -ENOPROTOOPT;
    }
}

static int set_ip(compat_fd_t *s, int name, const void *val, socklen_t len)
{
    int v = 0, rc;
    switch (name) {
    case IP_TTL:
        if ((rc = ip_int_arg(val, len, &v)) < 0) {
            return rc;
        }
        if (v != -1 && (v < 1 || v > 255)) {
            return -EINVAL;
        }
        s->ttl = v;
        return s->family == AF_INET ? esp_smoltcp_sock_set_hop_limit(s->handle, v < 0 ? 0 : (uint8_t)v) : 0;
    case IP_TOS:
        if ((rc = ip_int_arg(val, len, &v)) < 0) {
            return rc;
        }
        /* On TCP the ECN bits belong to the stack (Linux __ip_sock_set_tos). */
        s->tos = s->type == SOCK_STREAM ? (v & ~3) | (s->tos & 3) : v & 0xff;
        return 0;
    case IP_MULTICAST_TTL:
        if ((rc = ip_int_arg(val, len, &v)) < 0) {
            return rc;
        }
        if (v != -1 && (v < 0 || v > 255)) {
            return -EINVAL;
        }
        s->mcast_ttl = v < 0 ? 1 : v;
        return apply_multicast(s, ESP_SMOLTCP_AF_INET);
    case IP_MULTICAST_LOOP:
        if ((rc = ip_int_arg(val, len, &v)) < 0) {
            return rc;
        }
        s->mcast_loop = v != 0;
        return apply_multicast(s, ESP_SMOLTCP_AF_INET);
    case IP_MULTICAST_IF:
        if ((int)len < (int)sizeof(struct in_addr)) {
            return -EINVAL;
        }
        if (!val) {
            return -EFAULT;
        }
        /* struct in_addr, or an ip_mreq whose second member is the interface address. */
        memcpy(s->mcast_if4, (const uint8_t *)val + ((int)len >= (int)sizeof(struct ip_mreq) ? 4 : 0), 4);
        return 0;
    case IP_ADD_MEMBERSHIP:
    case IP_DROP_MEMBERSHIP: {
        struct ip_mreq mr;
        if ((int)len < (int)sizeof(mr)) {
            return -EINVAL;
        }
        if (!val) {
            return -EFAULT;
        }
        memcpy(&mr, val, sizeof(mr));
        return membership(s, ESP_SMOLTCP_AF_INET, (const uint8_t *)&mr.imr_multiaddr.s_addr, 0,
                          name == IP_ADD_MEMBERSHIP);
    }
    default:
        return -ENOPROTOOPT;
    }
}

static int set_ipv6(compat_fd_t *s, int name, const void *val, socklen_t len)
{
    int v = 0, rc;
    switch (name) {
    case IPV6_V6ONLY: {
        if ((rc = int_arg(val, len, &v)) < 0) {
            return rc;
        }
        esp_smoltcp_endpoint_t ep;
        if (esp_smoltcp_sock_getsockname(s->handle, &ep) == 0 && ep.port != 0) {
            return -EINVAL; /* Linux: only before bind */
        }
        s->v6only = v != 0;
        return esp_smoltcp_sock_set_family(s->handle, s->v6only ? ESP_SMOLTCP_AF_INET6 : ESP_SMOLTCP_AF_UNSPEC);
    }
    case IPV6_UNICAST_HOPS:
        if ((rc = int_arg(val, len, &v)) < 0) {
            return rc;
        }
        if (v < -1 || v > 255) {
            return -EINVAL;
        }
        s->hops6 = v;
        return esp_smoltcp_sock_set_hop_limit(s->handle, v < 0 ? 0 : (uint8_t)v);
    case IPV6_MULTICAST_HOPS:
        if ((rc = int_arg(val, len, &v)) < 0) {
            return rc;
        }
        if (v < -1 || v > 255) {
            return -EINVAL;
        }
        s->mcast_hops6 = v < 0 ? 1 : v;
        return apply_multicast(s, ESP_SMOLTCP_AF_INET6);
    case IPV6_MULTICAST_LOOP:
        if ((rc = int_arg(val, len, &v)) < 0) {
            return rc;
        }
        if (v != 0 && v != 1) {
            return -EINVAL;
        }
        s->mcast_loop6 = v != 0;
        return apply_multicast(s, ESP_SMOLTCP_AF_INET6);
    case IPV6_MULTICAST_IF:
        if ((rc = int_arg(val, len, &v)) < 0) {
            return rc;
        }
        s->mcast_if6 = (uint32_t)v;
        return 0;
    case IPV6_JOIN_GROUP:
    case IPV6_LEAVE_GROUP: {
        struct ipv6_mreq mr;
        if ((int)len < (int)sizeof(mr)) {
            return -EINVAL;
        }
        if (!val) {
            return -EFAULT;
        }
        memcpy(&mr, val, sizeof(mr));
        return membership(s, ESP_SMOLTCP_AF_INET6, mr.ipv6mr_multiaddr.s6_addr, mr.ipv6mr_interface,
                          name == IPV6_JOIN_GROUP);
    }
    default:
        return -ENOPROTOOPT;
    }
}

int compat_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    compat_fd_t s, before;
    int rc = fd_edit_begin(fd, &s);
    if (rc < 0) {
        return compat_fail(rc);
    }
    before = s;
    if (level == SOL_SOCKET) {
        rc = set_socket(&s, name, val, len);
    } else if (level == IPPROTO_TCP && s.type == SOCK_STREAM) {
        rc = set_tcp(&s, name, val, len);
    } else if (level == IPPROTO_IP) {
        rc = set_ip(&s, name, val, len); /* IPv6 sockets take them too (their IPv4-mapped side) */
    } else if (level == IPPROTO_IPV6 && s.family == AF_INET6) {
        rc = set_ipv6(&s, name, val, len);
    } else {
        rc = -ENOPROTOOPT;
    }
    if (fd_edit_end(fd, rc == 0 ? &s : NULL) < 0) {
        compat_leave_groups(&s, &before); /* closed meanwhile: undo a join */
        rc = -EBADF;
    }
    return rc < 0 ? compat_fail(rc) : 0;
}

/* ---- getsockopt ------------------------------------------------------------------------ */

static int get_timeval(void *val, socklen_t *len, uint32_t ms)
{
    struct timeval tv = {0, 0};
    if (ms != ESP_SMOLTCP_WAIT_FOREVER) {
        tv.tv_sec = (time_t)(ms / 1000);
        tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
    }
    return put(val, len, &tv, sizeof(tv));
}

static int get_socket(const compat_fd_t *s, int name, void *val, socklen_t *len)
{
    esp_smoltcp_sock_buffers_t b = {0};
    int rc;
    switch (name) {
    case SO_ERROR:
        rc = esp_smoltcp_sock_take_error(s->handle);
        return rc < 0 ? rc : put_int(val, len, rc);
    case SO_TYPE:
        return put_int(val, len, s->type);
    case SO_DOMAIN:
        return put_int(val, len, s->family);
    case SO_PROTOCOL:
        return put_int(val, len, s->protocol);
    case SO_ACCEPTCONN:
        return put_int(val, len, s->listening);
    case SO_REUSEADDR:
        return put_int(val, len, s->reuse_addr);
    case SO_KEEPALIVE:
        return put_int(val, len, s->keepalive);
    case SO_BROADCAST:
        return put_int(val, len, s->broadcast);
    case SO_RCVTIMEO:
        return get_timeval(val, len, s->rcv_timeout_ms);
    case SO_SNDTIMEO:
        return get_timeval(val, len, s->snd_timeout_ms);
    case SO_LINGER: {
        struct linger l = {s->linger_on, s->linger_s};
        return put(val, len, &l, sizeof(l));
    }
    case SO_RCVBUF:
    case SO_SNDBUF:
        /* The bytes the socket really has (Linux reports twice what was asked: its overhead). */
        rc = esp_smoltcp_sock_get_buffers(s->handle, &b);
        return rc < 0 ? rc : put_int(val, len, (int)(name == SO_RCVBUF ? b.rx_bytes : b.tx_bytes));
    default:
        return -ENOPROTOOPT;
    }
}

static int get_tcp(const compat_fd_t *s, int name, void *val, socklen_t *len)
{
    switch (name) {
    case TCP_NODELAY:
        return put_int(val, len, s->nodelay);
    case TCP_KEEPIDLE:
        return put_int(val, len, s->keepidle_s);
    case TCP_KEEPINTVL:
        return put_int(val, len, s->keepintvl_s);
    case TCP_KEEPCNT:
        return put_int(val, len, s->keepcnt);
    case TCP_USER_TIMEOUT:
        return put_int(val, len, (int)s->user_timeout_ms);
    default:
        return -ENOPROTOOPT;
    }
}

static int get_ip(const compat_fd_t *s, int name, void *val, socklen_t *len)
{
    switch (name) {
    case IP_TTL:
        return put_int(val, len, s->ttl < 0 ? DEFAULT_TTL : s->ttl);
    case IP_TOS:
        return put_int(val, len, s->tos);
    case IP_MULTICAST_TTL:
        return put_int(val, len, s->mcast_ttl);
    case IP_MULTICAST_LOOP:
        return put_int(val, len, s->mcast_loop);
    case IP_MULTICAST_IF:
        return put(val, len, s->mcast_if4, 4);
    default:
        return -ENOPROTOOPT;
    }
}

static int get_ipv6(const compat_fd_t *s, int name, void *val, socklen_t *len)
{
    switch (name) {
    case IPV6_V6ONLY:
        return put_int(val, len, s->v6only);
    case IPV6_UNICAST_HOPS:
        return put_int(val, len, s->hops6 < 0 ? DEFAULT_TTL : s->hops6);
    case IPV6_MULTICAST_HOPS:
        return put_int(val, len, s->mcast_hops6);
    case IPV6_MULTICAST_LOOP:
        return put_int(val, len, s->mcast_loop6);
    case IPV6_MULTICAST_IF:
        return put_int(val, len, (int)s->mcast_if6);
    default:
        return -ENOPROTOOPT;
    }
}

int compat_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
    compat_fd_t s;
    int rc = fd_get(fd, &s);
    if (rc < 0) {
        return compat_fail(rc);
    }
    if (!len) {
        return compat_fail(-EFAULT);
    }
    if ((int)*len < 0) {
        return compat_fail(-EINVAL);
    }
    /* A level the socket's protocol does not handle: IPv4 answers EOPNOTSUPP, IPv6 ENOPROTOOPT (Linux). */
    int wrong_level = s.family == AF_INET ? -EOPNOTSUPP : -ENOPROTOOPT;
    if (level == SOL_SOCKET) {
        rc = get_socket(&s, name, val, len);
    } else if (level == IPPROTO_TCP) {
        rc = s.type == SOCK_STREAM ? get_tcp(&s, name, val, len) : wrong_level;
    } else if (level == IPPROTO_IP) {
        rc = get_ip(&s, name, val, len);
    } else if (level == IPPROTO_IPV6) {
        rc = s.family == AF_INET6 ? get_ipv6(&s, name, val, len) : wrong_level;
    } else {
        rc = wrong_level;
    }
    return rc < 0 ? compat_fail(rc) : 0;
}
