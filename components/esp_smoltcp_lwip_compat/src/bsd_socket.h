/*
 * The BSD socket functions of the shim, named compat_*; the platform entry
 * file (port/host: lwip_*, port/idf: __wrap_lwip_*) gives them the names
 * that application code reaches.
 */
#pragma once

#include <sys/types.h>

#include "compat_platform.h"
#include "esp_smoltcp_sock.h"

int compat_socket(int domain, int type, int protocol);
int compat_bind(int fd, const struct sockaddr *addr, socklen_t len);
int compat_listen(int fd, int backlog);
int compat_accept(int fd, struct sockaddr *addr, socklen_t *len);
int compat_connect(int fd, const struct sockaddr *addr, socklen_t len);
ssize_t compat_send(int fd, const void *buf, size_t len, int flags);
ssize_t compat_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tolen);
ssize_t compat_recv(int fd, void *buf, size_t len, int flags);
ssize_t compat_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from, socklen_t *fromlen);
int compat_shutdown(int fd, int how);
int compat_close(int fd);
int compat_getsockname(int fd, struct sockaddr *addr, socklen_t *len);
int compat_getpeername(int fd, struct sockaddr *addr, socklen_t *len);
int compat_setsockopt(int fd, int level, int name, const void *val, socklen_t len);
int compat_getsockopt(int fd, int level, int name, void *val, socklen_t *len);
ssize_t compat_read(int fd, void *buf, size_t len);
ssize_t compat_write(int fd, const void *buf, size_t len);
int compat_fcntl(int fd, int cmd, int arg);

/** sockaddr → endpoint for a socket of sock_family (v4-mapped IPv6 becomes IPv4). -errno on error. */
int compat_sockaddr_to_ep(const struct sockaddr *sa, socklen_t len, int sock_family, esp_smoltcp_endpoint_t *ep);
/** endpoint → sockaddr of sock_family (IPv4 peers of an IPv6 socket are v4-mapped); returns the full length. */
socklen_t compat_ep_to_sockaddr(const esp_smoltcp_endpoint_t *ep, int sock_family, struct sockaddr *sa, socklen_t len);
