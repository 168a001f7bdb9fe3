/*
 * Native socket API of esp_smoltcp: handles over the engine's TCP, UDP and
 * ICMP sockets, with blocking calls that take a timeout and wake for their
 * own socket only. The BSD layer (esp_smoltcp_lwip_compat) is built on it.
 *
 * Returns follow Zephyr's convention: >= 0 on success, a negative errno value
 * (-EAGAIN, -ECONNRESET, ...) on failure; nothing here sets errno.
 * Timeouts are in milliseconds: 0 = do not block,
 * ESP_SMOLTCP_WAIT_FOREVER = no limit.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ESP_SMOLTCP_WAIT_FOREVER UINT32_MAX

typedef enum {
    ESP_SMOLTCP_SOCK_TCP = 1,
    ESP_SMOLTCP_SOCK_UDP = 2,
    ESP_SMOLTCP_SOCK_ICMP = 3,
    ESP_SMOLTCP_SOCK_RAW = 4, /* opened with esp_smoltcp_sock_open_raw() */
} esp_smoltcp_sock_type_t;

#define ESP_SMOLTCP_AF_UNSPEC 0
#define ESP_SMOLTCP_AF_INET 4
#define ESP_SMOLTCP_AF_INET6 6

/** An endpoint: family, port in host order, address bytes in network order. */
typedef struct {
    uint8_t family; /* ESP_SMOLTCP_AF_*; UNSPEC = any address */
    uint8_t reserved;
    uint16_t port;
    uint8_t addr[16];
} esp_smoltcp_endpoint_t;

/* recv/send flags */
#define ESP_SMOLTCP_MSG_PEEK 0x1    /* leave received data queued */
#define ESP_SMOLTCP_MSG_WAITALL 0x2 /* TCP: wait until len bytes, EOF, error or timeout */

/** Buffer sizes for one socket; 0 = the configured default. */
typedef struct {
    uint32_t rx_bytes;
    uint32_t tx_bytes;
} esp_smoltcp_sock_buffers_t;

/**
 * Open a socket. TCP buffers are allocated now (lazily grown sockets are not
 * possible in smoltcp); a listening socket's backlog sockets at listen().
 * @return handle >= 0; -EINVAL (type); -ENFILE (socket table full);
 *         -ENOMEM (no memory for buffers); -ENETDOWN (runtime not running).
 */
int esp_smoltcp_sock_open(esp_smoltcp_sock_type_t type, const esp_smoltcp_sock_buffers_t *bufs);

/** Bind the local endpoint; port 0 picks an ephemeral port. -EADDRINUSE, -EINVAL. */
int esp_smoltcp_sock_bind(int h, const esp_smoltcp_endpoint_t *local, bool reuse_addr);

/**
 * TCP: listen with `backlog` connections completing before accept (at least
 * 1). When all backlog sockets are busy the engine answers SYNs with RST.
 * -EINVAL (not bound / not TCP), -ENFILE/-ENOMEM for the backlog sockets.
 */
int esp_smoltcp_sock_listen(int h, int backlog);

/**
 * TCP: take a completed connection. @return new handle, peer in *peer;
 * -EAGAIN (timeout / nothing with timeout 0); -EINVAL (not listening);
 * -ENFILE/-ENOMEM (no socket for the replacement listener: the connection
 * is still handed over, the backlog shrinks by one until memory returns).
 */
int esp_smoltcp_sock_accept(int h, esp_smoltcp_endpoint_t *peer, uint32_t timeout_ms);

/**
 * TCP: connect. Picks an ephemeral local port when unbound.
 * @return 0; -EINPROGRESS (timeout 0, or timeout ran out: still connecting);
 * -EALREADY (a connect is in progress); -EISCONN; -ECONNREFUSED (RST);
 * -ETIMEDOUT; -ENETUNREACH (no route/address); -EINVAL.
 * UDP: set the default destination. 0 or -EINVAL.
 */
int esp_smoltcp_sock_connect(int h, const esp_smoltcp_endpoint_t *remote, uint32_t timeout_ms);

/**
 * TCP send. @return bytes queued (> 0, may be fewer than len when the
 * timeout runs out after some progress); -EAGAIN (nothing queued in time);
 * -EPIPE (shut down for writing or peer closed); -ECONNRESET; -ENOTCONN.
 */
ssize_t esp_smoltcp_sock_send(int h, const void *buf, size_t len, int flags, uint32_t timeout_ms);

/**
 * TCP receive. @return bytes (> 0); 0 at end of stream (or len 0);
 * -EAGAIN (nothing in time, never 0); -ECONNRESET; -ENOTCONN.
 */
ssize_t esp_smoltcp_sock_recv(int h, void *buf, size_t len, int flags, uint32_t timeout_ms);

/**
 * UDP/ICMP send one datagram to `to` (NULL: the connected destination).
 * @return len; -EAGAIN (buffer full in time); -EMSGSIZE; -EDESTADDRREQ;
 * -ENETUNREACH; -EINVAL.
 */
ssize_t esp_smoltcp_sock_sendto(int h, const void *buf, size_t len, int flags,
                                const esp_smoltcp_endpoint_t *to, uint32_t timeout_ms);

/**
 * UDP/ICMP receive one datagram. Copies up to len bytes; *full_len gets the
 * datagram's size (truncation when larger than len), *from its sender.
 * @return bytes copied; -EAGAIN.
 */
ssize_t esp_smoltcp_sock_recvfrom(int h, void *buf, size_t len, int flags, size_t *full_len,
                                  esp_smoltcp_endpoint_t *from, uint32_t timeout_ms);

#define ESP_SMOLTCP_SHUT_RD 0
#define ESP_SMOLTCP_SHUT_WR 1
#define ESP_SMOLTCP_SHUT_RDWR 2
/** Shut down a direction; SHUT_WR sends FIN. Wakes blocked callers. -ENOTCONN, -EINVAL. */
int esp_smoltcp_sock_shutdown(int h, int how);

/**
 * Close the handle at once. TCP: queued data is still delivered, then FIN;
 * the engine socket lingers until the close completes (or linger_timeout).
 * Blocked callers on this handle return -EBADF.
 */
int esp_smoltcp_sock_close(int h);

/** Close with RST at once (SO_LINGER with linger 0). */
int esp_smoltcp_sock_abort(int h);

/**
 * Close like esp_smoltcp_sock_close, but first wait up to timeout_ms for the
 * queued data and the FIN to be acknowledged (SO_LINGER with a timeout: the
 * caller learns the data arrived). Returns 0 either way once closed, as Linux
 * does; unread received data still means RST at once.
 */
int esp_smoltcp_sock_close_linger(int h, uint32_t timeout_ms);

/* readiness, for select()/poll() */
#define ESP_SMOLTCP_POLLIN 0x1
#define ESP_SMOLTCP_POLLOUT 0x2
#define ESP_SMOLTCP_POLLERR 0x4
#define ESP_SMOLTCP_POLLHUP 0x8
#define ESP_SMOLTCP_POLLNVAL 0x10
#define ESP_SMOLTCP_POLLRDHUP 0x20 /* TCP: reading is over (FIN, reset or SHUT_RD) */

typedef struct {
    int handle;
    uint16_t events;
    uint16_t revents;
} esp_smoltcp_pollfd_t;

/** Wait until one of the handles is ready. @return number of ready entries, 0 on timeout. */
int esp_smoltcp_sock_poll(esp_smoltcp_pollfd_t *fds, size_t n, uint32_t timeout_ms);

int esp_smoltcp_sock_getsockname(int h, esp_smoltcp_endpoint_t *out);
int esp_smoltcp_sock_getpeername(int h, esp_smoltcp_endpoint_t *out); /* -ENOTCONN */
/** Pending error (ECONNREFUSED, ECONNRESET, ETIMEDOUT ...), cleared by reading; 0 for none. */
int esp_smoltcp_sock_take_error(int h);
/** Bytes waiting to be read (TCP) or size of the next datagram (UDP). */
int esp_smoltcp_sock_pending(int h);

int esp_smoltcp_sock_set_nodelay(int h, bool nodelay);
int esp_smoltcp_sock_set_keepalive(int h, uint32_t interval_ms); /* 0 = off */
/**
 * TCP with keep-alive on: abort the connection (pending error ETIMEDOUT) after
 * silence_ms without any packet from the peer — TCP_KEEPIDLE + TCP_KEEPINTVL ×
 * TCP_KEEPCNT for the BSD shim. 0 = never. Combined with the user timeout, the
 * shorter one applies. @return 0; -EBADF; -ENOPROTOOPT (not TCP).
 */
int esp_smoltcp_sock_set_keepalive_abort(int h, uint32_t silence_ms);
int esp_smoltcp_sock_set_hop_limit(int h, uint8_t ttl);          /* 0 = default */

/**
 * Raw IP socket: receives every packet of one family (ESP_SMOLTCP_AF_INET /
 * _INET6) and IP protocol with its IP header (BSD SOCK_RAW without
 * IP_HDRINCL); sendto() sends the payload behind a header the stack builds.
 * Bound and connected like UDP, without ports. Same returns as open().
 */
int esp_smoltcp_sock_open_raw(uint8_t family, uint8_t protocol, const esp_smoltcp_sock_buffers_t *bufs);

/**
 * TCP buffer sizes (0 = keep). Takes effect at once on a socket that has not
 * connected or listened yet (its engine socket is replaced: options set on
 * it before must be set again), for future connections on a listener, and
 * never on a connection. @return 0; -EBADF; -ENOMEM; -ENFILE.
 */
int esp_smoltcp_sock_set_buffers(int h, const esp_smoltcp_sock_buffers_t *bufs);
/** The buffer sizes a socket has (TCP: ring bytes; datagrams: memory of the rings). 0; -EBADF. */
int esp_smoltcp_sock_get_buffers(int h, esp_smoltcp_sock_buffers_t *out);

/**
 * UDP: hop limit (IPv4 TTL) of datagrams sent to a multicast group of family
 * (default 1, as Linux: they stay on the link) and whether they are also
 * delivered to this host's own members of the group (default true).
 * @return 0; -EBADF; -ENOPROTOOPT (not UDP); -EINVAL (family).
 */
int esp_smoltcp_sock_set_multicast(int h, uint8_t family, uint8_t hops, bool loop);

/**
 * TCP: give up a connect, or a connection whose sent data stays
 * unacknowledged, after timeout_ms (0 = the defaults: 75 s for a connect,
 * never after). A connect that runs out fails with -ETIMEDOUT.
 * @return 0; -EBADF; -ENOPROTOOPT (not TCP).
 */
int esp_smoltcp_sock_set_user_timeout(int h, uint32_t timeout_ms);

/**
 * The family an any-address binding of h covers, for port conflicts:
 * ESP_SMOLTCP_AF_INET (a BSD AF_INET socket), _INET6 (IPV6_V6ONLY) or
 * ESP_SMOLTCP_AF_UNSPEC (dual stack, the default). Set before bind.
 * @return 0; -EBADF; -EINVAL.
 */
int esp_smoltcp_sock_set_family(int h, uint8_t family);

#ifdef __cplusplus
}
#endif
