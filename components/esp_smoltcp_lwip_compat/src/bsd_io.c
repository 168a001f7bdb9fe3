/*
 * BSD data calls: send/sendto/sendmsg/write/writev and recv/recvfrom/recvmsg/
 * read/readv, with Linux's flags (MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL,
 * MSG_TRUNC in and out), connected-UDP filtering and errors.
 */
#ifndef _GNU_SOURCE /* IDF's linux target passes -D_GNU_SOURCE */
#define _GNU_SOURCE /* host glibc: MSG_* and struct msghdr as Linux has them */
#endif
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bsd_socket.h"
#include "esp_smoltcp.h"
#include "esp_smoltcp_sock.h"
#include "fd_table.h"

#define COMPAT_IOV_MAX 1024      /* Linux UIO_MAXIOV */
#define MAX_DATAGRAM 65535u      /* a bounce buffer never needs more */
#define TCP_TRUNC_CHUNK 65536u   /* MSG_TRUNC on TCP discards at most this per call */

static int native_flags(int flags)
{
    return ((flags & MSG_PEEK) ? ESP_SMOLTCP_MSG_PEEK : 0) | ((flags & MSG_WAITALL) ? ESP_SMOLTCP_MSG_WAITALL : 0);
}

/* ---- send ------------------------------------------------------------------------------ */

/* IPv4 broadcast needs SO_BROADCAST (Linux: EACCES), limited or of our subnet. */
static bool is_broadcast4(const esp_smoltcp_endpoint_t *ep)
{
    static const uint8_t all[4] = {255, 255, 255, 255};
    if (ep->family != ESP_SMOLTCP_AF_INET) {
        return false;
    }
    if (memcmp(ep->addr, all, 4) == 0) {
        return true;
    }
    esp_smoltcp_ip4_info_t ip;
    if (esp_smoltcp_get_ip4_info(ESP_SMOLTCP_IFACE_ETH, &ip) != ESP_OK || !ip.has_addr || ip.prefix_len >= 31) {
        return false;
    }
    uint32_t a, self;
    memcpy(&a, ep->addr, 4);
    memcpy(&self, ip.addr, 4);
    uint32_t host = ip.prefix_len == 0 ? 0xffffffffu : (0xffffffffu >> ip.prefix_len);
    return (ntohl(a) & ~host) == (ntohl(self) & ~host) && (ntohl(a) & host) == host;
}

static ssize_t send_stream(const compat_fd_t *s, const void *buf, size_t len, int flags)
{
    if (s->listening) {
        return -EPIPE;
    }
    ssize_t n = esp_smoltcp_sock_send(s->handle, buf, len, native_flags(flags), compat_timeout_of(s, true, flags));
    /* Linux: a stream that never connected fails writes with EPIPE (sk_stream_wait_connect). */
    return n == -ENOTCONN ? -EPIPE : n;
}

static ssize_t send_dgram(const compat_fd_t *s, const void *buf, size_t len, int flags, const struct sockaddr *to,
                          socklen_t tolen)
{
    esp_smoltcp_endpoint_t ep;
    const esp_smoltcp_endpoint_t *dst = NULL;
    if (to) {
        int rc = compat_sockaddr_to_ep(to, tolen, s->family, COMPAT_SA_DGRAM, &ep);
        if (rc < 0) {
            return rc;
        }
        if (s->family == AF_INET6 && s->v6only && ep.family == ESP_SMOLTCP_AF_INET) {
            return -ENETUNREACH;
        }
        dst = &ep;
    } else if (s->has_peer) {
        dst = &s->peer;
    }
    if (s->shut_wr) {
        return -EPIPE;
    }
    if (dst && !s->broadcast && is_broadcast4(dst)) {
        return -EACCES;
    }
    if (len > MAX_DATAGRAM - 8 - (s->family == AF_INET6 && (!dst || dst->family != ESP_SMOLTCP_AF_INET) ? 0 : 20)) {
        return -EMSGSIZE;
    }
    if (!buf && len) {
        return -EFAULT;
    }
    return esp_smoltcp_sock_sendto(s->handle, buf, len, native_flags(flags), dst, compat_timeout_of(s, true, flags));
}

ssize_t compat_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tolen)
{
    compat_fd_t s;
    int rc = fd_get(fd, &s);
    if (rc < 0) {
        return compat_fail(rc);
    }
    /* Linux ignores the address on a stream socket (no TCP Fast Open here). */
    ssize_t n = s.type == SOCK_STREAM ? send_stream(&s, buf, len, flags) : send_dgram(&s, buf, len, flags, to, tolen);
    return n < 0 ? compat_fail((int)n) : n;
}

ssize_t compat_send(int fd, const void *buf, size_t len, int flags)
{
    return compat_sendto(fd, buf, len, flags, NULL, 0);
}

ssize_t compat_write(int fd, const void *buf, size_t len)
{
    return compat_sendto(fd, buf, len, 0, NULL, 0);
}

/* ---- receive ---------------------------------------------------------------------------- */

static bool same_peer(const compat_fd_t *s, const esp_smoltcp_endpoint_t *from)
{
    size_t alen = s->peer.family == ESP_SMOLTCP_AF_INET6 ? 16 : 4;
    return from->family == s->peer.family && memcmp(from->addr, s->peer.addr, alen) == 0 &&
           (s->type == SOCK_RAW || from->port == s->peer.port);
}

/*
 * One datagram into buf (up to len); *full = its size, *from = sender.
 * A connected socket drops datagrams from anyone else, and a socket drops
 * those of a family it does not take (AF_INET, IPV6_V6ONLY), as Linux does
 * (its lookup never delivers them), within the same timeout.
 */
static ssize_t recv_dgram(const compat_fd_t *s, void *buf, size_t len, int flags, size_t *full,
                          esp_smoltcp_endpoint_t *from)
{
    uint32_t timeout = compat_timeout_of(s, false, flags);
    uint64_t deadline = timeout == ESP_SMOLTCP_WAIT_FOREVER ? UINT64_MAX : compat_now_ms() + timeout;
    for (;;) {
        memset(from, 0, sizeof(*from));
        ssize_t n = esp_smoltcp_sock_recvfrom(s->handle, buf, len, native_flags(flags), full, from, timeout);
        /* No sender: no datagram at all (reading shut down). */
        bool none = from->family == ESP_SMOLTCP_AF_UNSPEC;
        if (n < 0 || none || (compat_family_ok(s, from->family) && (!s->has_peer || same_peer(s, from)))) {
            return n;
        }
        if (flags & MSG_PEEK) {
            esp_smoltcp_sock_recvfrom(s->handle, NULL, 0, 0, NULL, NULL, 0); /* drop the peeked stranger */
        }
        if (deadline != UINT64_MAX && timeout != 0) {
            uint64_t now = compat_now_ms();
            if (now >= deadline) {
                return -EAGAIN;
            }
            timeout = (uint32_t)(deadline - now);
        }
    }
}

/* TCP with MSG_TRUNC: the bytes are taken and thrown away (Linux tcp_recvmsg). */
static ssize_t recv_stream_discard(const compat_fd_t *s, size_t len, int flags)
{
    size_t n = len < TCP_TRUNC_CHUNK ? len : TCP_TRUNC_CHUNK;
    void *scratch = malloc(n ? n : 1);
    if (!scratch) {
        return -ENOMEM;
    }
    ssize_t r = esp_smoltcp_sock_recv(s->handle, scratch, n, native_flags(flags), compat_timeout_of(s, false, flags));
    free(scratch);
    return r;
}

static ssize_t recv_stream(const compat_fd_t *s, void *buf, size_t len, int flags)
{
    if (s->listening) {
        return -ENOTCONN;
    }
    if (flags & MSG_TRUNC) {
        return recv_stream_discard(s, len, flags);
    }
    uint32_t timeout = compat_timeout_of(s, false, flags);
    if (len == 0) {
        /* Linux: a 0-byte read still waits for data, EOF or an error, then returns 0; when
         * it may not wait and nothing is there, EAGAIN (tcp_recvmsg's target of 0 bytes). */
        esp_smoltcp_pollfd_t p = {.handle = s->handle, .events = ESP_SMOLTCP_POLLIN};
        int n = esp_smoltcp_sock_poll(&p, 1, timeout);
        if (n <= 0) {
            return n < 0 ? n : timeout == 0 ? -EAGAIN : 0;
        }
    }
    return esp_smoltcp_sock_recv(s->handle, buf, len, native_flags(flags), compat_timeout_of(s, false, flags));
}

ssize_t compat_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from, socklen_t *fromlen)
{
    compat_fd_t s;
    int rc = fd_get(fd, &s);
    if (rc < 0) {
        return compat_fail(rc);
    }
    if (from && !fromlen) {
        return compat_fail(-EFAULT);
    }
    if (from && (int)*fromlen < 0) {
        return compat_fail(-EINVAL);
    }
    if (s.type == SOCK_STREAM) {
        ssize_t n = recv_stream(&s, buf, len, flags);
        if (n >= 0 && from) {
            *fromlen = 0; /* Linux fills no address for a stream */
        }
        return n < 0 ? compat_fail((int)n) : n;
    }
    esp_smoltcp_endpoint_t ep = {0};
    size_t full = 0;
    ssize_t n = recv_dgram(&s, buf, len, flags, &full, &ep);
    if (n < 0) {
        return compat_fail((int)n);
    }
    if (from) {
        *fromlen = compat_ep_to_sockaddr(&ep, s.family, from, *fromlen);
    }
    /* MSG_TRUNC on a datagram socket: the real datagram size (Linux). */
    return (flags & MSG_TRUNC) ? (ssize_t)full : n;
}

ssize_t compat_recv(int fd, void *buf, size_t len, int flags)
{
    return compat_recvfrom(fd, buf, len, flags, NULL, NULL);
}

ssize_t compat_read(int fd, void *buf, size_t len)
{
    compat_fd_t s;
    int rc = fd_get(fd, &s);
    if (rc < 0) {
        return compat_fail(rc);
    }
    /* Nothing to read into: 0 at once, the queue untouched (Linux sock_read_iter, "SYS5 behaviour"). */
    return len == 0 ? 0 : compat_recvfrom(fd, buf, len, 0, NULL, NULL);
}

/* ---- scatter / gather -------------------------------------------------------------------- */

static int iov_total(const struct iovec *iov, size_t cnt, size_t *total)
{
    if (cnt > COMPAT_IOV_MAX) {
        return -EMSGSIZE;
    }
    if (cnt && !iov) {
        return -EFAULT;
    }
    size_t t = 0;
    for (size_t i = 0; i < cnt; i++) {
        if (iov[i].iov_len > (size_t)SSIZE_MAX - t) {
            return -EINVAL;
        }
        if (!iov[i].iov_base && iov[i].iov_len) {
            return -EFAULT;
        }
        t += iov[i].iov_len;
    }
    *total = t;
    return 0;
}

/* What sendmsg and recvmsg check first: fd's socket into s, the bytes msg's iovec holds into total. */
static int msg_socket(int fd, const struct msghdr *msg, compat_fd_t *s, size_t *total)
{
    int rc = fd_get(fd, s);
    if (rc == 0 && !msg) {
        rc = -EFAULT;
    }
    if (rc == 0) {
        rc = iov_total(msg->msg_iov, (size_t)msg->msg_iovlen, total);
    }
    return rc;
}

static void scatter(const struct iovec *iov, size_t cnt, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < cnt && n; i++) {
        size_t k = iov[i].iov_len < n ? iov[i].iov_len : n;
        memcpy(iov[i].iov_base, src, k);
        src += k;
        n -= k;
    }
}

static void gather(const struct iovec *iov, size_t cnt, uint8_t *dst)
{
    for (size_t i = 0; i < cnt; i++) {
        if (iov[i].iov_len) {
            memcpy(dst, iov[i].iov_base, iov[i].iov_len);
            dst += iov[i].iov_len;
        }
    }
}

/* A stream takes the pieces in turn; later ones do not wait, as data that is there is enough. */
static ssize_t sendv_stream(const compat_fd_t *s, const struct iovec *iov, size_t cnt, int flags)
{
    ssize_t done = 0;
    for (size_t i = 0; i < cnt; i++) {
        if (!iov[i].iov_len) {
            continue;
        }
        ssize_t n = send_stream(s, iov[i].iov_base, iov[i].iov_len, flags);
        if (n < 0) {
            return done ? done : n;
        }
        done += n;
        if ((size_t)n < iov[i].iov_len) {
            break;
        }
    }
    return done;
}

static ssize_t recvv_stream(const compat_fd_t *s, const struct iovec *iov, size_t cnt, size_t total, int flags)
{
    if (flags & MSG_PEEK) {
        /* Peeking twice would read the same bytes: one peek into a bounce buffer. */
        size_t n = total < MAX_DATAGRAM ? total : MAX_DATAGRAM;
        uint8_t *b = malloc(n ? n : 1);
        if (!b) {
            return -ENOMEM;
        }
        ssize_t r = recv_stream(s, b, n, flags);
        if (r > 0) {
            scatter(iov, cnt, b, (size_t)r);
        }
        free(b);
        return r;
    }
    ssize_t done = 0;
    for (size_t i = 0; i < cnt; i++) {
        if (!iov[i].iov_len) {
            continue;
        }
        int f = done && !(flags & MSG_WAITALL) ? flags | MSG_DONTWAIT : flags;
        ssize_t n = recv_stream(s, iov[i].iov_base, iov[i].iov_len, f);
        if (n < 0) {
            return done ? done : n;
        }
        done += n;
        if ((size_t)n < iov[i].iov_len) {
            break;
        }
    }
    if (done == 0 && total == 0) {
        return recv_stream(s, NULL, 0, flags);
    }
    return done;
}

ssize_t compat_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    compat_fd_t s;
    size_t total = 0;
    int rc = msg_socket(fd, msg, &s, &total);
    if (rc < 0) {
        return compat_fail(rc);
    }
    ssize_t n;
    if (s.type == SOCK_STREAM) {
        n = sendv_stream(&s, msg->msg_iov, (size_t)msg->msg_iovlen, flags);
    } else if (total > MAX_DATAGRAM) {
        n = -EMSGSIZE;
    } else {
        uint8_t *b = malloc(total ? total : 1);
        if (!b) {
            return compat_fail(-ENOMEM);
        }
        gather(msg->msg_iov, (size_t)msg->msg_iovlen, b);
        n = send_dgram(&s, b, total, flags, msg->msg_name, msg->msg_name ? msg->msg_namelen : 0);
        free(b);
    }
    return n < 0 ? compat_fail((int)n) : n;
}

ssize_t compat_recvmsg(int fd, struct msghdr *msg, int flags)
{
    compat_fd_t s;
    size_t total = 0;
    int rc = msg_socket(fd, msg, &s, &total);
    if (rc < 0) {
        return compat_fail(rc);
    }
    msg->msg_flags = 0;
    msg->msg_controllen = 0;
    if (s.type == SOCK_STREAM) {
        ssize_t n = recvv_stream(&s, msg->msg_iov, (size_t)msg->msg_iovlen, total, flags);
        if (n < 0) {
            return compat_fail((int)n);
        }
        msg->msg_namelen = 0;
        return n;
    }
    size_t cap = total < MAX_DATAGRAM ? total : MAX_DATAGRAM;
    uint8_t *b = malloc(cap ? cap : 1);
    if (!b) {
        return compat_fail(-ENOMEM);
    }
    esp_smoltcp_endpoint_t ep = {0};
    size_t full = 0;
    ssize_t n = recv_dgram(&s, b, cap, flags, &full, &ep);
    if (n >= 0) {
        scatter(msg->msg_iov, (size_t)msg->msg_iovlen, b, (size_t)n);
        if (full > (size_t)n) {
            msg->msg_flags |= MSG_TRUNC;
        }
        if (msg->msg_name) {
            msg->msg_namelen = compat_ep_to_sockaddr(&ep, s.family, msg->msg_name, msg->msg_namelen);
        }
    }
    free(b);
    if (n < 0) {
        return compat_fail((int)n);
    }
    return (flags & MSG_TRUNC) ? (ssize_t)full : n;
}

ssize_t compat_readv(int fd, const struct iovec *iov, int iovcnt)
{
    if (iovcnt < 0 || iovcnt > COMPAT_IOV_MAX) {
        compat_fd_t s;
        int rc = fd_get(fd, &s);
        return compat_fail(rc < 0 ? rc : -EINVAL);
    }
    struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
    size_t total = 0;
    if (iov_total(iov, (size_t)iovcnt, &total) == 0 && total == 0) {
        return compat_read(fd, NULL, 0);
    }
    return compat_recvmsg(fd, &m, 0);
}

ssize_t compat_writev(int fd, const struct iovec *iov, int iovcnt)
{
    if (iovcnt < 0 || iovcnt > COMPAT_IOV_MAX) {
        compat_fd_t s;
        int rc = fd_get(fd, &s);
        return compat_fail(rc < 0 ? rc : -EINVAL);
    }
    struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
    return compat_sendmsg(fd, &m, 0);
}
