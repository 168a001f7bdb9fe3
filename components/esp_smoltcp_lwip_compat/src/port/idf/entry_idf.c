/*
 * Target entry points: every lwip_* function that IDF code reaches — through
 * the static inlines of <lwip/sockets.h> and <lwip/netdb.h>, and through VFS
 * for read/write/close/fcntl/ioctl/select on socket fds — is redirected here
 * by `-Wl,--wrap=lwip_<name>` (components/esp_smoltcp_lwip_compat/
 * CMakeLists.txt keeps the list; it must match this file). lwIP itself stays
 * compiled and unused by sockets. The host twin is port/host/entry_host.c.
 *
 * Every compat_* is a plain (strong) reference: an earlier version declared
 * the then-missing ones weak, and a weak reference does not pull an archive
 * member, so bsd_select.o and netdb.o were left out of the IDF link and
 * select()/getaddrinfo() failed with ENOSYS (found on IDF's linux target).
 */
#include <errno.h>
#include <stdarg.h>

#include "bsd_socket.h"
#include "compat_idf.h"

#include "netdb_compat.h"

/* ---- <lwip/sockets.h> ---------------------------------------------------------------- */
int __wrap_lwip_socket(int domain, int type, int protocol)
{
    compat_vfs_ensure_registered();
    return compat_socket(domain, type, protocol);
}
int __wrap_lwip_bind(int s, const struct sockaddr *a, socklen_t l) { return compat_bind(s, a, l); }
int __wrap_lwip_listen(int s, int backlog) { return compat_listen(s, backlog); }
int __wrap_lwip_accept(int s, struct sockaddr *a, socklen_t *l) { return compat_accept(s, a, l); }
int __wrap_lwip_connect(int s, const struct sockaddr *a, socklen_t l) { return compat_connect(s, a, l); }
ssize_t __wrap_lwip_send(int s, const void *b, size_t n, int f) { return compat_send(s, b, n, f); }
ssize_t __wrap_lwip_sendto(int s, const void *b, size_t n, int f, const struct sockaddr *a, socklen_t l)
{
    return compat_sendto(s, b, n, f, a, l);
}
ssize_t __wrap_lwip_recv(int s, void *b, size_t n, int f) { return compat_recv(s, b, n, f); }
ssize_t __wrap_lwip_recvfrom(int s, void *b, size_t n, int f, struct sockaddr *a, socklen_t *l)
{
    return compat_recvfrom(s, b, n, f, a, l);
}
ssize_t __wrap_lwip_sendmsg(int s, const struct msghdr *m, int f)
{
    return compat_sendmsg(s, m, f);
}
ssize_t __wrap_lwip_recvmsg(int s, struct msghdr *m, int f)
{
    return compat_recvmsg(s, m, f);
}
int __wrap_lwip_shutdown(int s, int how) { return compat_shutdown(s, how); }
int __wrap_lwip_getsockname(int s, struct sockaddr *a, socklen_t *l) { return compat_getsockname(s, a, l); }
int __wrap_lwip_getpeername(int s, struct sockaddr *a, socklen_t *l) { return compat_getpeername(s, a, l); }
int __wrap_lwip_setsockopt(int s, int lv, int n, const void *v, socklen_t l) { return compat_setsockopt(s, lv, n, v, l); }
int __wrap_lwip_getsockopt(int s, int lv, int n, void *v, socklen_t *l) { return compat_getsockopt(s, lv, n, v, l); }
const char *__wrap_lwip_inet_ntop(int af, const void *src, char *dst, socklen_t size)
{
    return compat_inet_ntop(af, src, dst, size);
}
int __wrap_lwip_inet_pton(int af, const char *src, void *dst)
{
    return compat_inet_pton(af, src, dst);
}

/* ---- reached through VFS for fds in our range ------------------------------------------- */
ssize_t __wrap_lwip_read(int s, void *b, size_t n) { return compat_read(s, b, n); }
ssize_t __wrap_lwip_write(int s, const void *b, size_t n) { return compat_write(s, b, n); }
ssize_t __wrap_lwip_readv(int s, const struct iovec *iov, int cnt)
{
    return compat_readv(s, iov, cnt);
}
ssize_t __wrap_lwip_writev(int s, const struct iovec *iov, int cnt)
{
    return compat_writev(s, iov, cnt);
}
int __wrap_lwip_close(int s) { return compat_close(s); }
int __wrap_lwip_fcntl(int s, int cmd, int val) { return compat_fcntl(s, cmd, val); }
int __wrap_lwip_ioctl(int s, long cmd, void *argp)
{
    return compat_ioctl(s, cmd, argp);
}
int __wrap_lwip_select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
    return compat_select(nfds, r, w, e, tv);
}

/* ---- <lwip/netdb.h> --------------------------------------------------------------------- */
int __wrap_lwip_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                            struct addrinfo **res)
{
    return compat_getaddrinfo(node, service, hints, res);
}
void __wrap_lwip_freeaddrinfo(struct addrinfo *ai)
{
    compat_freeaddrinfo(ai);
}
struct hostent *__wrap_lwip_gethostbyname(const char *name)
{
    return compat_gethostbyname(name);
}
int __wrap_lwip_gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen,
                                struct hostent **result, int *h_errnop)
{
    return compat_gethostbyname_r(name, ret, buf, buflen, result, h_errnop);
}
