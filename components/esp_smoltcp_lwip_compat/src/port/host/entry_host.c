/*
 * Host entry points: the lwip_* names that IDF's <lwip/sockets.h> inlines
 * (and IDF's VFS, for read/write/close/fcntl/ioctl/select) call, given to the
 * shim's functions. Host programs reach them through
 * include/esp_smoltcp_host_sockets.h. (On the target, port/idf wraps them.)
 */
#include "bsd_socket.h"
#define ESP_SMOLTCP_HOST_SOCKETS_NO_MAP
#include "esp_smoltcp_host_sockets.h"

int lwip_socket(int domain, int type, int protocol) { return compat_socket(domain, type, protocol); }
int lwip_bind(int s, const struct sockaddr *a, socklen_t l) { return compat_bind(s, a, l); }
int lwip_listen(int s, int backlog) { return compat_listen(s, backlog); }
int lwip_accept(int s, struct sockaddr *a, socklen_t *l) { return compat_accept(s, a, l); }
int lwip_connect(int s, const struct sockaddr *a, socklen_t l) { return compat_connect(s, a, l); }
ssize_t lwip_send(int s, const void *b, size_t n, int f) { return compat_send(s, b, n, f); }
ssize_t lwip_sendto(int s, const void *b, size_t n, int f, const struct sockaddr *a, socklen_t l)
{
    return compat_sendto(s, b, n, f, a, l);
}
ssize_t lwip_sendmsg(int s, const struct msghdr *m, int f) { return compat_sendmsg(s, m, f); }
ssize_t lwip_recv(int s, void *b, size_t n, int f) { return compat_recv(s, b, n, f); }
ssize_t lwip_recvfrom(int s, void *b, size_t n, int f, struct sockaddr *a, socklen_t *l)
{
    return compat_recvfrom(s, b, n, f, a, l);
}
ssize_t lwip_recvmsg(int s, struct msghdr *m, int f) { return compat_recvmsg(s, m, f); }
int lwip_shutdown(int s, int how) { return compat_shutdown(s, how); }
int lwip_close(int s) { return compat_close(s); }
int lwip_getsockname(int s, struct sockaddr *a, socklen_t *l) { return compat_getsockname(s, a, l); }
int lwip_getpeername(int s, struct sockaddr *a, socklen_t *l) { return compat_getpeername(s, a, l); }
int lwip_setsockopt(int s, int lv, int n, const void *v, socklen_t l) { return compat_setsockopt(s, lv, n, v, l); }
int lwip_getsockopt(int s, int lv, int n, void *v, socklen_t *l) { return compat_getsockopt(s, lv, n, v, l); }
ssize_t lwip_read(int s, void *b, size_t n) { return compat_read(s, b, n); }
ssize_t lwip_readv(int s, const struct iovec *iov, int cnt) { return compat_readv(s, iov, cnt); }
ssize_t lwip_write(int s, const void *b, size_t n) { return compat_write(s, b, n); }
ssize_t lwip_writev(int s, const struct iovec *iov, int cnt) { return compat_writev(s, iov, cnt); }
int lwip_fcntl(int s, int cmd, int val) { return compat_fcntl(s, cmd, val); }
int lwip_ioctl(int s, long cmd, void *argp) { return compat_ioctl(s, cmd, argp); }
int lwip_select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv) { return compat_select(n, r, w, e, tv); }
int lwip_poll(struct pollfd *fds, nfds_t n, int timeout) { return compat_poll(fds, n, timeout); }
int lwip_inet_pton(int af, const char *src, void *dst) { return compat_inet_pton(af, src, dst); }
const char *lwip_inet_ntop(int af, const void *src, char *dst, socklen_t size)
{
    return compat_inet_ntop(af, src, dst, size);
}
