/*
 * The BSD socket functions of the shim, named compat_*; the platform entry
 * file (port/host: lwip_*, port/idf: __wrap_lwip_*) gives them the names
 * that application code reaches. Each returns as its BSD namesake does and
 * sets errno only through compat_fail().
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "compat_platform.h"
#include "compat_consts.h"
#include "esp_smoltcp_sock.h"
#include "fd_table.h"

struct pollfd;

/* bsd_socket.c: life cycle, addresses */
int compat_socket(int domain, int type, int protocol);
int compat_bind(int fd, const struct sockaddr *addr, socklen_t len);
int compat_listen(int fd, int backlog);
int compat_accept(int fd, struct sockaddr *addr, socklen_t *len);
int compat_connect(int fd, const struct sockaddr *addr, socklen_t len);
int compat_shutdown(int fd, int how);
int compat_close(int fd);
int compat_getsockname(int fd, struct sockaddr *addr, socklen_t *len);
int compat_getpeername(int fd, struct sockaddr *addr, socklen_t *len);

/* bsd_io.c: data */
ssize_t compat_send(int fd, const void *buf, size_t len, int flags);
ssize_t compat_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tolen);
ssize_t compat_sendmsg(int fd, const struct msghdr *msg, int flags);
ssize_t compat_recv(int fd, void *buf, size_t len, int flags);
ssize_t compat_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from, socklen_t *fromlen);
ssize_t compat_recvmsg(int fd, struct msghdr *msg, int flags);
ssize_t compat_read(int fd, void *buf, size_t len);
ssize_t compat_write(int fd, const void *buf, size_t len);
ssize_t compat_readv(int fd, const struct iovec *iov, int iovcnt);
ssize_t compat_writev(int fd, const struct iovec *iov, int iovcnt);

/* sockopt.c */
int compat_setsockopt(int fd, int level, int name, const void *val, socklen_t len);
int compat_getsockopt(int fd, int level, int name, void *val, socklen_t *len);

/* bsd_select.c */
int compat_select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds, struct timeval *timeout);
int compat_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms);

/* bsd_ctl.c: fcntl, ioctl, address text */
int compat_fcntl(int fd, int cmd, int arg);
int compat_ioctl(int fd, long cmd, void *argp);
int compat_inet_pton(int af, const char *src, void *dst);
const char *compat_inet_ntop(int af, const void *src, char *dst, socklen_t size);

/* ---- shared inside the shim ----------------------------------------------------------- */

/** Set errno from a negative native result; returns -1 as BSD wants. */
int compat_fail(int neg_errno);

/** How a sockaddr is read (the checks differ by call, as in Linux). */
typedef enum {
    COMPAT_SA_BIND,    /* own family only */
    COMPAT_SA_CONNECT, /* TCP connect */
    COMPAT_SA_DGRAM,   /* UDP/raw connect and sendto: AF_INET also on an AF_INET6 socket */
} compat_sa_use_t;

/**
 * sockaddr → endpoint for a socket of sock_family; v4-mapped IPv6 becomes
 * IPv4, the any-address becomes family UNSPEC. -EFAULT, -EINVAL,
 * -EAFNOSUPPORT as Linux gives them.
 */
int compat_sockaddr_to_ep(const struct sockaddr *sa, socklen_t len, int sock_family, compat_sa_use_t use,
                          esp_smoltcp_endpoint_t *ep);
/**
 * endpoint → sockaddr of sock_family (IPv4 of an IPv6 socket v4-mapped);
 * copies up to len, returns the full length.
 */
socklen_t compat_ep_to_sockaddr(const esp_smoltcp_endpoint_t *ep, int sock_family, struct sockaddr *sa, socklen_t len);

/** Give a (new or rebuilt) native socket the options s holds: nodelay, keep-alive, TTL, user timeout. */
void compat_apply_options(const compat_fd_t *s);
/** Leave the interface groups s joined that keep (NULL: none) does not have (sockopt.c). */
void compat_leave_groups(const compat_fd_t *s, const compat_fd_t *keep);

/** Monotonic milliseconds (timeouts that span several native calls). */
uint64_t compat_now_ms(void);

/** Does a socket of s's family and IPV6_V6ONLY take traffic from an endpoint of this family? */
bool compat_family_ok(const compat_fd_t *s, uint8_t ep_family);

/** The timeout a call on s waits: 0 when non-blocking or MSG_DONTWAIT. */
uint32_t compat_timeout_of(const compat_fd_t *s, bool send, int flags);
