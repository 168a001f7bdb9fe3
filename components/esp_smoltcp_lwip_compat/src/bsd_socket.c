/*
 * BSD socket life cycle over the native esp_smoltcp API: socket, bind,
 * listen, accept, connect, shutdown, close, names — with Linux's checks and
 * errors. This is the POSIX edge: native calls return negative errno values,
 * and only compat_fail() sets errno.
 */
#ifndef _GNU_SOURCE /* IDF's linux target passes -D_GNU_SOURCE */
#define _GNU_SOURCE /* host glibc: the BSD/Linux socket options and flags */
#endif
#include "bsd_socket.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "esp_smoltcp_sock.h"
#include "fd_table.h"

/* Engine sockets a listen() may take (each has its own buffers); Linux clamps at somaxconn. */
#ifndef COMPAT_MAX_BACKLOG
#define COMPAT_MAX_BACKLOG 8
#endif

#define SIN6_LEN_RFC2133 24 /* a sockaddr_in6 without sin6_scope_id: the least Linux takes */

int compat_fail(int neg_errno)
{
    errno = -neg_errno;
    return -1;
}

uint64_t compat_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

bool compat_family_ok(const compat_fd_t *s, uint8_t ep_family)
{
    if (s->family == AF_INET) {
        return ep_family != ESP_SMOLTCP_AF_INET6;
    }
    return !(s->v6only && ep_family == ESP_SMOLTCP_AF_INET);
}

uint32_t compat_timeout_of(const compat_fd_t *s, bool send, int flags)
{
    if (s->nonblocking || (flags & MSG_DONTWAIT)) {
        return 0;
    }
    return send ? s->snd_timeout_ms : s->rcv_timeout_ms;
}

/* ---- addresses ------------------------------------------------------------------ */

static void ep_from_v4(const struct sockaddr_in *in, esp_smoltcp_endpoint_t *ep)
{
    ep->port = ntohs(in->sin_port);
    memcpy(ep->addr, &in->sin_addr.s_addr, 4);
    ep->family = in->sin_addr.s_addr == htonl(INADDR_ANY) ? ESP_SMOLTCP_AF_UNSPEC : ESP_SMOLTCP_AF_INET;
}

static void ep_from_v6(const struct sockaddr_in6 *in6, esp_smoltcp_endpoint_t *ep)
{
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t any[16] = {0};
    const uint8_t *a = in6->sin6_addr.s6_addr;
    ep->port = ntohs(in6->sin6_port);
    if (memcmp(a, v4mapped, 12) == 0) {
        /* ::ffff:a.b.c.d is the IPv4 peer of a dual-stack socket (RFC 4291 §2.5.5.2). */
        memcpy(ep->addr, a + 12, 4);
        ep->family = memcmp(a + 12, any, 4) == 0 ? ESP_SMOLTCP_AF_UNSPEC : ESP_SMOLTCP_AF_INET;
    } else if (memcmp(a, any, 16) == 0) {
        ep->family = ESP_SMOLTCP_AF_UNSPEC;
    } else {
        memcpy(ep->addr, a, 16);
        ep->family = ESP_SMOLTCP_AF_INET6;
    }
}

int compat_sockaddr_to_ep(const struct sockaddr *sa, socklen_t len, int sock_family, compat_sa_use_t use,
                          esp_smoltcp_endpoint_t *ep)
{
    memset(ep, 0, sizeof(*ep));
    /* The syscall layer first: a length beyond sockaddr_storage, then the copy. */
    if ((int)len < 0 || len > (socklen_t)sizeof(struct sockaddr_storage)) {
        return -EINVAL;
    }
    if (len > 0 && !sa) {
        return -EFAULT;
    }
    if (len < (socklen_t)(offsetof(struct sockaddr, sa_family) + sizeof(sa->sa_family))) {
        return -EINVAL;
    }
    int fam = sa->sa_family;
    if (fam == AF_INET && (sock_family == AF_INET || use == COMPAT_SA_DGRAM)) {
        if (len < (socklen_t)sizeof(struct sockaddr_in)) {
            return -EINVAL;
        }
        ep_from_v4((const struct sockaddr_in *)sa, ep);
        return 0;
    }
    if (sock_family == AF_INET6) {
        if (len < SIN6_LEN_RFC2133) {
            return -EINVAL;
        }
        if (fam != AF_INET6) {
            return use == COMPAT_SA_DGRAM ? -EINVAL : -EAFNOSUPPORT;
        }
        ep_from_v6((const struct sockaddr_in6 *)sa, ep);
        return 0;
    }
    if (len < (socklen_t)sizeof(struct sockaddr_in)) {
        return -EINVAL;
    }
    return -EAFNOSUPPORT;
}

socklen_t compat_ep_to_sockaddr(const esp_smoltcp_endpoint_t *ep, int sock_family, struct sockaddr *sa, socklen_t len)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t full;
    if (sock_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(ep->port);
        if (ep->family == ESP_SMOLTCP_AF_INET) {
            in6->sin6_addr.s6_addr[10] = 0xff;
            in6->sin6_addr.s6_addr[11] = 0xff;
            memcpy(&in6->sin6_addr.s6_addr[12], ep->addr, 4);
        } else if (ep->family == ESP_SMOLTCP_AF_INET6) {
            memcpy(in6->sin6_addr.s6_addr, ep->addr, 16);
        }
        full = sizeof(struct sockaddr_in6);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(ep->port);
        if (ep->family == ESP_SMOLTCP_AF_INET) {
            memcpy(&in->sin_addr.s_addr, ep->addr, 4);
        }
        full = sizeof(struct sockaddr_in);
    }
    if (sa && len > 0) {
        memcpy(sa, &ss, len < full ? len : full); /* truncated as POSIX says; the full size is returned */
    }
    return full;
}

/* ---- socket / bind / listen / accept ------------------------------------------------- */

/* Linux's limits (include/linux/socket.h, net.h): families below AF_MAX, types below SOCK_MAX. */
#define LINUX_AF_MAX 46
#define LINUX_SOCK_MAX 11
#define SOCK_TYPE_FLAGS (SOCK_NONBLOCK | SOCK_CLOEXEC)

static int open_native(int domain, int type, int protocol)
{
    if (type == SOCK_STREAM) {
        return protocol == 0 || protocol == IPPROTO_TCP ? esp_smoltcp_sock_open(ESP_SMOLTCP_SOCK_TCP, NULL)
                                                        : -EPROTONOSUPPORT;
    }
    if (type == SOCK_DGRAM) {
        return protocol == 0 || protocol == IPPROTO_UDP ? esp_smoltcp_sock_open(ESP_SMOLTCP_SOCK_UDP, NULL)
                                                        : -EPROTONOSUPPORT;
    }
    if (type == SOCK_RAW) {
        /* What ping needs: ICMP over IPv4 with the IP header, ICMPv6 without (RFC 3542 §3). */
        if (domain == AF_INET && protocol == IPPROTO_ICMP) {
            return esp_smoltcp_sock_open_raw(ESP_SMOLTCP_AF_INET, IPPROTO_ICMP, NULL);
        }
        if (domain == AF_INET6 && protocol == IPPROTO_ICMPV6) {
            return esp_smoltcp_sock_open(ESP_SMOLTCP_SOCK_ICMP, NULL);
        }
        return -EPROTONOSUPPORT;
    }
    return -ESOCKTNOSUPPORT;
}

int compat_socket(int domain, int type, int protocol)
{
    int flags = type & SOCK_TYPE_FLAGS;
    type &= ~SOCK_TYPE_FLAGS;
    /* Linux's order of checks: flags, family, type, then the protocol switch. */
    if (type & ~0xf) {
        return compat_fail(-EINVAL);
    }
    if (domain != AF_INET && domain != AF_INET6) {
        return compat_fail(-EAFNOSUPPORT);
    }
    if (type < 0 || type >= LINUX_SOCK_MAX) {
        return compat_fail(-EINVAL);
    }
    int h = open_native(domain, type, protocol);
    if (h < 0) {
        return compat_fail(h);
    }
    /* An AF_INET socket bound to 0.0.0.0 leaves the port free for IPv6-only sockets (Linux). */
    esp_smoltcp_sock_set_family(h, domain == AF_INET ? ESP_SMOLTCP_AF_INET : ESP_SMOLTCP_AF_UNSPEC);
    compat_fd_t s;
    fd_defaults(&s);
    s.handle = h;
    s.family = domain;
    s.type = type;
    s.protocol = protocol ? protocol : type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
    s.nonblocking = (flags & SOCK_NONBLOCK) != 0;
    s.cloexec = (flags & SOCK_CLOEXEC) != 0;
    int fd = fd_alloc(&s);
    if (fd < 0) {
        esp_smoltcp_sock_close(h);
        return compat_fail(fd);
    }
    return fd;
}

int compat_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    compat_fd_t s;
    esp_smoltcp_endpoint_t ep;
    int rc = fd_get(fd, &s);
    if (rc == 0) {
        rc = compat_sockaddr_to_ep(addr, len, s.family, COMPAT_SA_BIND, &ep);
    }
    if (rc == 0 && s.family == AF_INET6 && s.v6only && ep.family == ESP_SMOLTCP_AF_INET) {
        rc = -EINVAL; /* a v4-mapped address on a v6-only socket (Linux inet6_bind) */
    }
    if (rc == 0 && s.type == SOCK_RAW) {
        return 0; /* raw sockets have no ports; the address only filters on Linux */
    }
    if (rc == 0) {
        rc = esp_smoltcp_sock_bind(s.handle, &ep, s.reuse_addr);
    }
    return rc < 0 ? compat_fail(rc) : 0;
}

int compat_listen(int fd, int backlog)
{
    compat_fd_t s;
    int rc = fd_edit_begin(fd, &s);
    if (rc < 0) {
        return compat_fail(rc);
    }
    if (s.type != SOCK_STREAM) {
        rc = -EOPNOTSUPP;
    }
    if (rc == 0) {
        /* Linux's accept queue holds backlog + 1 connections (sk_acceptq_is_full). */
        int n = backlog < 0 ? 1 : backlog >= COMPAT_MAX_BACKLOG ? COMPAT_MAX_BACKLOG : backlog + 1;
        rc = esp_smoltcp_sock_listen(s.handle, n);
    }
    s.listening = s.listening || rc == 0;
    int wrc = fd_edit_end(fd, &s);
    rc = rc < 0 ? rc : wrc;
    return rc < 0 ? compat_fail(rc) : 0;
}

int compat_accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    compat_fd_t s;
    int rc = fd_get(fd, &s);
    if (rc < 0) {
        return compat_fail(rc);
    }
    if (s.type != SOCK_STREAM) {
        return compat_fail(-EOPNOTSUPP);
    }
    if (!s.listening) {
        return compat_fail(-EINVAL);
    }
    if (addr && !len) {
        return compat_fail(-EFAULT);
    }
    if (addr && (int)*len < 0) {
        return compat_fail(-EINVAL);
    }
    esp_smoltcp_endpoint_t peer;
    uint32_t timeout = compat_timeout_of(&s, false, 0);
    uint64_t deadline = timeout == ESP_SMOLTCP_WAIT_FOREVER ? UINT64_MAX : compat_now_ms() + timeout;
    int h;
    for (;;) {
        h = esp_smoltcp_sock_accept(s.handle, &peer, timeout);
        if (h < 0) {
            return compat_fail(h);
        }
        if (compat_family_ok(&s, peer.family)) {
            break;
        }
        /* The engine listens for both families; Linux would have refused this one (RST). */
        esp_smoltcp_sock_abort(h);
        if (deadline != UINT64_MAX && timeout) {
            uint64_t now = compat_now_ms();
            timeout = now >= deadline ? 0 : (uint32_t)(deadline - now);
        }
    }
    /* Linux: the new socket takes the listener's options, not O_NONBLOCK or FD_CLOEXEC. */
    compat_fd_t n = s;
    n.handle = h;
    n.nonblocking = false;
    n.cloexec = false;
    n.listening = false;
    n.connect_pending = false;
    int nfd = fd_alloc(&n);
    if (nfd < 0) {
        esp_smoltcp_sock_abort(h);
        return compat_fail(nfd);
    }
    compat_apply_options(&n);
    if (addr) {
        *len = compat_ep_to_sockaddr(&peer, s.family, addr, *len);
    }
    return nfd;
}

/* ---- connect ----------------------------------------------------------------------- */

/*
 * A connect() after one that returned EINPROGRESS reports how the attempt
 * went, as Linux's __inet_stream_connect does: the error (taken), 0 once
 * (then EISCONN), EALREADY while it runs, ECONNABORTED when it failed and
 * SO_ERROR already took the error.
 */
static int connect_again(compat_fd_t *s)
{
    int err = esp_smoltcp_sock_take_error(s->handle);
    if (err > 0) {
        s->connect_pending = false;
        return -err;
    }
    esp_smoltcp_endpoint_t peer;
    if (esp_smoltcp_sock_getpeername(s->handle, &peer) == 0) {
        s->connect_pending = false;
        return 0;
    }
    esp_smoltcp_pollfd_t p = {.handle = s->handle, .events = ESP_SMOLTCP_POLLOUT};
    esp_smoltcp_sock_poll(&p, 1, 0);
    if (p.revents & ESP_SMOLTCP_POLLHUP) {
        s->connect_pending = false;
        return -ECONNABORTED;
    }
    return -EALREADY;
}

/* The first connect() of a stream socket; it may block, so no edit lock is held. */
static int connect_stream(int fd, const compat_fd_t *s, const struct sockaddr *addr, socklen_t len)
{
    esp_smoltcp_endpoint_t ep;
    int rc = compat_sockaddr_to_ep(addr, len, s->family, COMPAT_SA_CONNECT, &ep);
    if (rc < 0) {
        return rc;
    }
    if (s->family == AF_INET6 && s->v6only && ep.family == ESP_SMOLTCP_AF_INET) {
        return -ENETUNREACH;
    }
    rc = esp_smoltcp_sock_connect(s->handle, &ep, compat_timeout_of(s, true, 0));
    compat_fd_t now;
    if (rc == -EINPROGRESS && fd_edit_begin(fd, &now) == 0) {
        now.connect_pending = true; /* also when SO_SNDTIMEO ran out (Linux) */
        fd_edit_end(fd, &now);
    }
    return rc;
}

/* A connect() after EINPROGRESS (never blocks); s is written back by the caller. */
static int connect_stream_again(compat_fd_t *s, const struct sockaddr *addr, socklen_t len)
{
    esp_smoltcp_endpoint_t ep;
    int rc = compat_sockaddr_to_ep(addr, len, s->family, COMPAT_SA_CONNECT, &ep);
    return rc < 0 ? rc : connect_again(s);
}

/* UDP / raw connect (never blocks); s is written back by the caller. */
static int connect_dgram(compat_fd_t *s, const struct sockaddr *addr, socklen_t len)
{
    esp_smoltcp_endpoint_t ep;
    int rc;
    if (addr && len >= (socklen_t)sizeof(sa_family_t) && addr->sa_family == AF_UNSPEC) {
        memset(&ep, 0, sizeof(ep)); /* AF_UNSPEC dissolves the association (Linux, POSIX) */
        rc = esp_smoltcp_sock_connect(s->handle, &ep, 0);
        s->has_peer = false;
        return rc;
    }
    rc = compat_sockaddr_to_ep(addr, len, s->family, COMPAT_SA_DGRAM, &ep);
    if (rc == 0 && s->family == AF_INET6 && s->v6only && ep.family == ESP_SMOLTCP_AF_INET) {
        rc = -EAFNOSUPPORT;
    }
    if (rc == 0 && s->type == SOCK_DGRAM) {
        /* Linux binds a connected UDP socket to an ephemeral port at once. */
        esp_smoltcp_endpoint_t name;
        if (esp_smoltcp_sock_getsockname(s->handle, &name) == 0 && name.port == 0) {
            esp_smoltcp_endpoint_t any = {0};
            rc = esp_smoltcp_sock_bind(s->handle, &any, false);
        }
    }
    if (rc == 0) {
        rc = esp_smoltcp_sock_connect(s->handle, &ep, 0);
    }
    if (rc == 0) {
        s->has_peer = true;
        s->peer = ep;
    }
    return rc;
}

int compat_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    compat_fd_t s;
    int rc = fd_edit_begin(fd, &s);
    if (rc < 0) {
        return compat_fail(rc);
    }
    if (s.type == SOCK_STREAM && !s.connect_pending) {
        fd_edit_end(fd, NULL);
        rc = connect_stream(fd, &s, addr, len);
    } else {
        rc = s.type == SOCK_STREAM ? connect_stream_again(&s, addr, len) : connect_dgram(&s, addr, len);
        int wrc = fd_edit_end(fd, &s);
        rc = rc < 0 ? rc : wrc;
    }
    return rc < 0 ? compat_fail(rc) : 0;
}

/* ---- shutdown / close / names -------------------------------------------------------- */

/* shutdown() on the state of an fd held for editing. */
static int shutdown_locked(compat_fd_t *s, int how)
{
    int native = how == SHUT_RD ? ESP_SMOLTCP_SHUT_RD
               : how == SHUT_WR ? ESP_SMOLTCP_SHUT_WR
               : how == SHUT_RDWR ? ESP_SMOLTCP_SHUT_RDWR : -1;
    if (native < 0) {
        return -EINVAL;
    }
    int rc = esp_smoltcp_sock_shutdown(s->handle, native);
    if (s->type != SOCK_STREAM) {
        /* Datagrams: the stack shuts reading; writing is refused here. Linux shuts both
         * directions even of an unconnected socket, and still answers ENOTCONN. */
        s->shut_wr = s->shut_wr || native != ESP_SMOLTCP_SHUT_RD;
        rc = rc < 0 ? rc : s->has_peer ? 0 : -ENOTCONN;
    }
    return rc;
}

int compat_shutdown(int fd, int how)
{
    compat_fd_t s;
    int rc = fd_edit_begin(fd, &s);
    if (rc < 0) {
        return compat_fail(rc);
    }
    rc = shutdown_locked(&s, how);
    int wrc = fd_edit_end(fd, &s);
    rc = rc < 0 ? rc : wrc;
    return rc < 0 ? compat_fail(rc) : 0;
}

int compat_close(int fd)
{
    compat_fd_t s;
    int rc = fd_get(fd, &s);
    if (rc < 0) {
        return compat_fail(rc);
    }
    fd_free(fd);
    compat_leave_groups(&s, NULL);
    /* SO_LINGER: zero timeout = RST at once (RFC 793 ABORT); otherwise wait for the data to be acknowledged. */
    rc = !s.linger_on          ? esp_smoltcp_sock_close(s.handle)
         : s.linger_s == 0     ? esp_smoltcp_sock_abort(s.handle)
                               : esp_smoltcp_sock_close_linger(s.handle, (uint32_t)s.linger_s * 1000);
    return rc < 0 ? compat_fail(rc) : 0;
}

static int name_of(int fd, struct sockaddr *addr, socklen_t *len, bool peer)
{
    compat_fd_t s;
    int rc = fd_get(fd, &s);
    if (rc == 0 && (!addr || !len)) {
        rc = -EFAULT;
    }
    if (rc == 0 && (int)*len < 0) {
        rc = -EINVAL;
    }
    esp_smoltcp_endpoint_t ep;
    if (rc == 0) {
        rc = peer ? esp_smoltcp_sock_getpeername(s.handle, &ep) : esp_smoltcp_sock_getsockname(s.handle, &ep);
    }
    if (rc < 0) {
        return compat_fail(rc);
    }
    *len = compat_ep_to_sockaddr(&ep, s.family, addr, *len);
    return 0;
}

int compat_getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
    return name_of(fd, addr, len, false);
}

int compat_getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
    return name_of(fd, addr, len, true);
}
