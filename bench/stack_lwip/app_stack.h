/*
 * The eth_basic application on lwIP 2.1.3 (Debian's liblwip, its sockets API):
 * the BSD calls go to lwip_*, as LWIP_COMPAT_SOCKETS would map them (Debian
 * builds with it off). Debian's lwIP uses the system's <sys/socket.h>
 * constants and errno, so only the function names change.
 */
#pragma once

#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lwip/sockets.h"

#define socket(d, t, p) lwip_socket(d, t, p)
#define bind(s, a, l) lwip_bind(s, a, l)
#define listen(s, b) lwip_listen(s, b)
#define accept(s, a, l) lwip_accept(s, a, l)
#define connect(s, a, l) lwip_connect(s, a, l)
#define send(s, b, n, f) lwip_send(s, b, n, f)
#define sendto(s, b, n, f, a, l) lwip_sendto(s, b, n, f, a, l)
#define recv(s, b, n, f) lwip_recv(s, b, n, f)
#define recvfrom(s, b, n, f, a, l) lwip_recvfrom(s, b, n, f, a, l)
#define shutdown(s, h) lwip_shutdown(s, h)
#define getsockname(s, a, l) lwip_getsockname(s, a, l)
#define getpeername(s, a, l) lwip_getpeername(s, a, l)
#define setsockopt(s, lv, n, v, l) lwip_setsockopt(s, lv, n, v, l)
#define getsockopt(s, lv, n, v, l) lwip_getsockopt(s, lv, n, v, l)
#define close(fd) lwip_close(fd)
#define read(fd, b, n) lwip_read(fd, b, n)
#define write(fd, b, n) lwip_write(fd, b, n)
