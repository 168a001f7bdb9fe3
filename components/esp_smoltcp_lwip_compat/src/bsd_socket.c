/*
 * BSD socket semantics over the native esp_smoltcp socket API. This is the
 * POSIX edge: native calls return negative errno values, and only here is
 * errno set (through fail()).
 */
#include "bsd_socket.h"

#include <errno.h>
#include <string.h>

#include "esp_smoltcp_sock.h"
#include "fd_table.h"

/* Set errno from a negative native result; -1 as BSD wants. */
static int fail(int neg_errno)
{
    errno = -neg_errno;
    return -1;
}

static uint32_t timeout_of(const compat_fd_t *s, bool send, int flags)
{
    if (s->nonblocking || (flags & MSG_DONTWAIT)) {
        return 0;
    }
    return send ? s->snd_timeout_ms : s->rcv_timeout_ms;
}

static int native_flags(int flags)
{
    return ((flags & MSG_PEEK) ? ESP_SMOLTCP_MSG_PEEK : 0) | ((flags & MSG_WAITALL) ? ESP_SMOLTCP_MSG_WAITALL : 0);
}

/* ---- addresses ------------------------------------------------------------------ */

int compat_sockaddr_to_ep(const struct sockaddr *sa, socklen_t len, int sock_family, esp_smoltcp_endpoint_t *ep)
{
    memset(ep, 0, sizeof(*ep));
    if (!sa) {
        return -EFAULT;
    }
    if (len < (socklen_t)sizeof(sa_family_t)) {
        return -EINVAL;
    }
    if (sa->sa_family == AF_INET) {
        if (len < (socklen_t)sizeof(struct sockaddr_in)) {
            return -EINVAL;
        }
        if (sock_family != AF_INET && sock_family != AF_INET6) {
            return -EAFNOSUPPORT;
        }
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        ep->port = ntohs(in->sin_port);
        memcpy(ep->addr, &in->sin_addr.s_addr, 4);
        ep->family = in->sin_addr.s_addr == htonl(INADDR_ANY) ? ESP_SMOLTCP_AF_UNSPEC : ESP_SMOLTCP_AF_INET;
        return sock_family == AF_INET ? 0 : -EAFNOSUPPORT;
    }
    if (sa->sa_family == AF_INET6) {
        if (len < (socklen_t)sizeof(struct sockaddr_in6)) {
            return -EINVAL;
        }
        if (sock_family != AF_INET6) {
            return -EAFNOSUPPORT;
        }
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        ep->port = ntohs(in6->sin6_port);
        const uint8_t *a = in6->sin6_addr.s6_addr;
        static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        static const uint8_t any[16] = {0};
        if (memcmp(a, v4mapped, 12) == 0) {
            /* ::ffff:a.b.c.d is the IPv4 peer of a dual-stack socket (RFC 4291 §2.5.5.2). */
            memcpy(ep->addr, a + 12, 4);
            ep->family = ESP_SMOLTCP_AF_INET;
        } else if (memcmp(a, any, 16) == 0) {
            ep->family = ESP_SMOLTCP_AF_UNSPEC;
        } else {
            memcpy(ep->addr, a, 16);
            ep->family = ESP_SMOLTCP_AF_INET6;
        }
        return 0;
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

/* ---- calls ----------------------------------------------------------------------- */

int compat_socket(int domain, int type, int protocol)
{
    int flags = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
    type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (domain != AF_INET && domain != AF_INET6) {
        return fail(-EAFNOSUPPORT);
    }
    esp_smoltcp_sock_type_t native;
    if (type == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP)) {
        native = ESP_SMOLTCP_SOCK_TCP;
    } else if (type == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP)) {
        native = ESP_SMOLTCP_SOCK_UDP;
    } else if (type == SOCK_STREAM || type == SOCK_DGRAM) {
        return fail(-EPROTONOSUPPORT);
    } else {
        return fail(-ESOCKTNOSUPPORT);
    }
    int h = esp_smoltcp_sock_open(native, NULL);
    if (h < 0) {
        return fail(h);
    }
    compat_fd_t s = {
        .handle = h,
        .family = domain,
        .type = type,
        .protocol = protocol,
        .nonblocking = (flags & SOCK_NONBLOCK) != 0,
        .rcv_timeout_ms = ESP_SMOLTCP_WAIT_FOREVER,
        .snd_timeout_ms = ESP_SMOLTCP_WAIT_FOREVER,
    };
    int fd = fd_alloc(&s);
    if (fd < 0) {
        esp_smoltcp_sock_close(h);
        return fail(fd);
    }
    return fd;
}

int compat_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    compat_fd_t s;
    int rc = fd_get(fd, &s);
    esp_smoltcp_endpoint_t ep;
    if (rc == 0) {
        rc = compat_sockaddr_to_ep(addr, len, s.family, &ep);
    }
    if (rc == 0) {
        rc = esp_smoltcp_sock_bind(s.handle, &ep, s.reuse_addr);
    }
    return rc < 0 ? fail(rc) : 0;
}

int compat_listen(int fd, int backlog)
{
    compat_fd_t s;
    int rc = fd_get(fd, &s);
    if (rc == 0 && s.type != SOCK_STREAM) {
        rc = -EOPNOTSUPP;
    }
    if (rc == 0) {
        rc = esp_smoltcp_sock_listen(s.handle, backlog);
    }
    return rc < 0 ? fail(rc) : 0;
}

int compat_accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    compat_fd_t s;
    int rc = fd_get(fd, &s);
    if (rc < 0) {
        return fail(rc);
    }
    if (addr && !len) {
        return fail(-EFAULT);
    }
    esp_smoltcp_endpoint_t peer;
    int h = esp_smoltcp_sock_accept(s.handle, &peer, timeout_of(&s, false, 0));
    if (h < 0) {
        return fail(h);
    }
    compat_fd_t n = s;
    n.handle = h;
    n.nonblocking = false; /* Linux: accept() does not inherit O_NONBLOCK */
    int nfd = fd_alloc(&n);
    if (nfd < 0) {
        esp_smoltcp_sock_abort(h);
        return fail(nfd);
    }
    if (addr) {
        *len = compat_ep_to_sockaddr(&peer, s.family, addr, *len);
    }
    return nfd;
}

int compat_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    compat_fd_t s;
    int rc = fd_get(fd, &s);
    esp_smoltcp_endpoint_t ep;
    if (rc == 0) {
        rc = compat_sockaddr_to_ep(addr, len, s.family, &ep);
    }
    if (rc == 0) {
        rc = esp_smoltcp_sock_connect(s.handle, &ep, timeout_of(&s, true, 0));
    }
    return rc < 0 ? fail(rc) : 0;
}

ssize_t compat_send(int fd, const void *buf, size_t len, int flags)
{
    return compat_sendto(fd, buf, len, flags, NULL, 0);
}

ssize_t compat_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tolen)
{
    compat_fd_t s;
    int rc = fd_get(fd, &s);
    if (rc < 0) {
        return fail(rc);
    }
    ssize_t n;
    if (s.type == SOCK_STREAM) {
        /* Linux ignores the address on a connected stream socket. */
        n = esp_smoltcp_sock_send(s.handle, buf, len, native_flags(flags), timeout_of(&s, true, flags));
    } else {
        esp_smoltcp_endpoint_t ep;
        if (to) {
            rc = compat_sockaddr_to_ep(to, tolen, s.family, &ep);
            if (rc < 0) {
                return fail(rc);
            }
        }
        n = esp_smoltcp_sock_sendto(s.handle, buf, len, native_flags(flags), to ? &ep : NULL,
                                    timeout_of(&s, true, flags));
    }
    return n < 0 ? fail((int)n) : n;
}

ssize_t compat_recv(int fd, void *buf, size_t len, int flags)
{
    return compat_recvfrom(fd, buf, len, flags, NULL, NULL);
}

ssize_t compat_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from, socklen_t *fromlen)
{
    compat_fd_t s;
    int rc = fd_get(fd, &s);
    if (rc < 0) {
        return fail(rc);
    }
    if (from && !fromlen) {
        return fail(-EFAULT);
    }
    esp_smoltcp_endpoint_t ep = {0};
    size_t full = 0;
    ssize_t n = esp_smoltcp_sock_recvfrom(s.handle, buf, len, native_flags(flags), &full, from ? &ep : NULL,
                                          timeout_of(&s, false, flags));
    if (n < 0) {
        return fail((int)n);
    }
    if (from) {
        *fromlen = compat_ep_to_sockaddr(&ep, s.family, from, *fromlen);
    }
    /* MSG_TRUNC on a datagram socket: report the real datagram size (Linux). */
    if ((flags & MSG_TRUNC) && s.type != SOCK_STREAM) {
        return (ssize_t)full;
    }
    return n;
}

int compat_shutdown(int fd, int how)
{
    compat_fd_t s;
    int rc = fd_get(fd, &s);
    if (rc == 0) {
        int native = how == SHUT_RD ? ESP_SMOLTCP_SHUT_RD : how == SHUT_WR ? ESP_SMOLTCP_SHUT_WR
                   : how == SHUT_RDWR ? ESP_SMOLTCP_SHUT_RDWR : -1;
        rc = native < 0 ? -EINVAL : esp_smoltcp_sock_shutdown(s.handle, native);
    }
    return rc < 0 ? fail(rc) : 0;
}

int compat_close(int fd)
{
    compat_fd_t s;
    int rc = fd_get(fd, &s);
    if (rc < 0) {
        return fail(rc);
    }
    fd_free(fd);
    /* SO_LINGER with a zero timeout: RST at once (RFC 793 ABORT). */
    rc = (s.linger_on && s.linger_s == 0) ? esp_smoltcp_sock_abort(s.handle) : esp_smoltcp_sock_close(s.handle);
    return rc < 0 ? fail(rc) : 0;
}

static int name_of(int fd, struct sockaddr *addr, socklen_t *len, bool peer)
{
    compat_fd_t s;
    int rc = fd_get(fd, &s);
    if (rc == 0 && (!addr || !len)) {
        rc = -EFAULT;
    }
    esp_smoltcp_endpoint_t ep;
    if (rc == 0) {
        rc = peer ? esp_smoltcp_sock_getpeername(s.handle, &ep) : esp_smoltcp_sock_getsockname(s.handle, &ep);
    }
    if (rc < 0) {
        return fail(rc);
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

ssize_t compat_read(int fd, void *buf, size_t len)
{
    return compat_recvfrom(fd, buf, len, 0, NULL, NULL);
}

ssize_t compat_write(int fd, const void *buf, size_t len)
{
    return compat_sendto(fd, buf, len, 0, NULL, 0);
}

int compat_fcntl(int fd, int cmd, int arg)
{
    compat_fd_t s;
    int rc = fd_get(fd, &s);
    if (rc < 0) {
        return fail(rc);
    }
    switch (cmd) {
    case F_GETFL:
        return O_RDWR | (s.nonblocking ? O_NONBLOCK : 0);
    case F_SETFL:
        s.nonblocking = (arg & O_NONBLOCK) != 0;
        fd_update(fd, &s);
        return 0;
    case F_GETFD:
        return 0;
    case F_SETFD:
        return 0;
    default:
        return fail(-EINVAL);
    }
}
