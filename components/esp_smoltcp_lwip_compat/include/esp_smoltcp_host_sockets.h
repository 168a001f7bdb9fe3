/*
 * Host port only: what IDF's <lwip/sockets.h> does on the target. Include it
 * after the system socket headers; socket(), bind() ... select(), poll(),
 * inet_pton() then call the shim's lwip_* functions, exactly as unchanged IDF
 * code does on a chip. read/write/readv/writev/close/fcntl/ioctl route socket
 * fds to the shim and every other fd to the C library, as IDF's VFS does by
 * fd range. select()/poll() take shim sockets only (other fds: EBADF /
 * POLLNVAL), as lwip_select does under IDF's VFS.
 */
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

int lwip_socket(int domain, int type, int protocol);
int lwip_bind(int s, const struct sockaddr *name, socklen_t namelen);
int lwip_listen(int s, int backlog);
int lwip_accept(int s, struct sockaddr *addr, socklen_t *addrlen);
int lwip_connect(int s, const struct sockaddr *name, socklen_t namelen);
ssize_t lwip_send(int s, const void *dataptr, size_t size, int flags);
ssize_t lwip_sendto(int s, const void *dataptr, size_t size, int flags, const struct sockaddr *to, socklen_t tolen);
ssize_t lwip_sendmsg(int s, const struct msghdr *message, int flags);
ssize_t lwip_recv(int s, void *mem, size_t len, int flags);
ssize_t lwip_recvfrom(int s, void *mem, size_t len, int flags, struct sockaddr *from, socklen_t *fromlen);
ssize_t lwip_recvmsg(int s, struct msghdr *message, int flags);
int lwip_shutdown(int s, int how);
int lwip_close(int s);
int lwip_getsockname(int s, struct sockaddr *name, socklen_t *namelen);
int lwip_getpeername(int s, struct sockaddr *name, socklen_t *namelen);
int lwip_setsockopt(int s, int level, int optname, const void *optval, socklen_t optlen);
int lwip_getsockopt(int s, int level, int optname, void *optval, socklen_t *optlen);
ssize_t lwip_read(int s, void *mem, size_t len);
ssize_t lwip_readv(int s, const struct iovec *iov, int iovcnt);
ssize_t lwip_write(int s, const void *dataptr, size_t size);
ssize_t lwip_writev(int s, const struct iovec *iov, int iovcnt);
int lwip_fcntl(int s, int cmd, int val);
int lwip_ioctl(int s, long cmd, void *argp);
int lwip_select(int maxfdp1, fd_set *readset, fd_set *writeset, fd_set *exceptset, struct timeval *timeout);
int lwip_poll(struct pollfd *fds, nfds_t nfds, int timeout);
int lwip_inet_pton(int af, const char *src, void *dst);
const char *lwip_inet_ntop(int af, const void *src, char *dst, socklen_t size);

/* The VFS by fd range: socket fds to the shim, the rest to libc. */
int esp_smoltcp_host_is_socket_fd(int fd);
int esp_smoltcp_host_close(int fd);
ssize_t esp_smoltcp_host_read(int fd, void *buf, size_t len);
ssize_t esp_smoltcp_host_write(int fd, const void *buf, size_t len);
ssize_t esp_smoltcp_host_readv(int fd, const struct iovec *iov, int iovcnt);
ssize_t esp_smoltcp_host_writev(int fd, const struct iovec *iov, int iovcnt);
int esp_smoltcp_host_fcntl(int fd, int cmd, ...);
int esp_smoltcp_host_ioctl(int fd, unsigned long request, ...);

#ifndef ESP_SMOLTCP_HOST_SOCKETS_NO_MAP
#define socket(d, t, p) lwip_socket(d, t, p)
#define bind(s, a, l) lwip_bind(s, a, l)
#define listen(s, b) lwip_listen(s, b)
#define accept(s, a, l) lwip_accept(s, a, l)
#define connect(s, a, l) lwip_connect(s, a, l)
#define send(s, b, n, f) lwip_send(s, b, n, f)
#define sendto(s, b, n, f, a, l) lwip_sendto(s, b, n, f, a, l)
#define sendmsg(s, m, f) lwip_sendmsg(s, m, f)
#define recv(s, b, n, f) lwip_recv(s, b, n, f)
#define recvfrom(s, b, n, f, a, l) lwip_recvfrom(s, b, n, f, a, l)
#define recvmsg(s, m, f) lwip_recvmsg(s, m, f)
#define shutdown(s, h) lwip_shutdown(s, h)
#define getsockname(s, a, l) lwip_getsockname(s, a, l)
#define getpeername(s, a, l) lwip_getpeername(s, a, l)
#define setsockopt(s, lv, n, v, l) lwip_setsockopt(s, lv, n, v, l)
#define getsockopt(s, lv, n, v, l) lwip_getsockopt(s, lv, n, v, l)
#define select(n, r, w, e, t) lwip_select(n, r, w, e, t)
#define poll(f, n, t) lwip_poll(f, n, t)
#define inet_pton(af, s, d) lwip_inet_pton(af, s, d)
#define inet_ntop(af, s, d, n) lwip_inet_ntop(af, s, d, n)
#define close(fd) esp_smoltcp_host_close(fd)
#define read(fd, b, n) esp_smoltcp_host_read(fd, b, n)
#define write(fd, b, n) esp_smoltcp_host_write(fd, b, n)
#define readv(fd, v, n) esp_smoltcp_host_readv(fd, v, n)
#define writev(fd, v, n) esp_smoltcp_host_writev(fd, v, n)
#define fcntl(fd, ...) esp_smoltcp_host_fcntl(fd, __VA_ARGS__)
#define ioctl(fd, ...) esp_smoltcp_host_ioctl(fd, __VA_ARGS__)
#endif

#ifdef __cplusplus
}
#endif
