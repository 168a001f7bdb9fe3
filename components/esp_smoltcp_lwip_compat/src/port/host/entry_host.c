/*
 * Host entry points: the lwip_* names that IDF's <lwip/sockets.h> inlines
 * call, given to the shim's functions. Host programs reach them through
 * include/esp_smoltcp_host_sockets.h. (On the target, port/idf wraps them.)
 */
#include <stdarg.h>

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
ssize_t lwip_recv(int s, void *b, size_t n, int f) { return compat_recv(s, b, n, f); }
ssize_t lwip_recvfrom(int s, void *b, size_t n, int f, struct sockaddr *a, socklen_t *l)
{
    return compat_recvfrom(s, b, n, f, a, l);
}
int lwip_shutdown(int s, int how) { return compat_shutdown(s, how); }
int lwip_close(int s) { return compat_close(s); }
int lwip_getsockname(int s, struct sockaddr *a, socklen_t *l) { return compat_getsockname(s, a, l); }
int lwip_getpeername(int s, struct sockaddr *a, socklen_t *l) { return compat_getpeername(s, a, l); }
int lwip_setsockopt(int s, int lv, int n, const void *v, socklen_t l) { return compat_setsockopt(s, lv, n, v, l); }
int lwip_getsockopt(int s, int lv, int n, void *v, socklen_t *l) { return compat_getsockopt(s, lv, n, v, l); }
ssize_t lwip_read(int s, void *b, size_t n) { return compat_read(s, b, n); }
ssize_t lwip_write(int s, const void *b, size_t n) { return compat_write(s, b, n); }
int lwip_fcntl(int s, int cmd, int val) { return compat_fcntl(s, cmd, val); }
