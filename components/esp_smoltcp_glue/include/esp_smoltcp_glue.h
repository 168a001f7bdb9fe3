/*
 * esp_smoltcp_glue — the C ABI of the Rust staticlib that wraps smoltcp.
 *
 * The glue is mechanism only: it owns no memory (the caller passes every
 * buffer), starts no threads, takes no locks and never reads a clock. The C
 * runtime (esp_smoltcp) serialises all calls under its core lock and passes
 * the time in. Errors are the ESG_ERR_* values below (negative); they are the
 * glue's own and never libc errno values.
 *
 * Addresses cross this line as bytes in network order inside esg_endpoint_t.
 *
 * Keep in sync with src/lib.rs: tests/check_glue_header.py compares both.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- error codes (negative) ---------------------------------------------- */
#define ESG_OK 0
#define ESG_ERR_INVAL (-1)     /* bad argument (length, family, port 0 ...) */
#define ESG_ERR_NOSLOT (-2)    /* socket table full */
#define ESG_ERR_STATE (-3)     /* operation not valid in the socket's state */
#define ESG_ERR_AGAIN (-4)     /* nothing to receive / no room to send now */
#define ESG_ERR_UNADDR (-5)    /* no route / no source address / unspecified peer */
#define ESG_ERR_BADID (-6)     /* socket id unknown or of another type */
#define ESG_ERR_FINISHED (-7)  /* receive side closed by the peer (EOF) */
#define ESG_ERR_TOOBIG (-8)    /* datagram larger than the socket buffer */
#define ESG_ERR_NOMEM (-9)     /* memory block given is too small */
#define ESG_ERR_FAILED (-10)   /* the operation finished without a result (DNS: no such name) */

/* ---- families ------------------------------------------------------------ */
#define ESG_AF_UNSPEC 0
#define ESG_AF_INET 4
#define ESG_AF_INET6 6

/** An IP endpoint. addr holds 4 (IPv4) or 16 (IPv6) bytes in network order. */
typedef struct {
    uint8_t family; /* ESG_AF_* ; ESG_AF_UNSPEC = any address */
    uint8_t reserved;
    uint16_t port;  /* host order; 0 = any */
    uint8_t addr[16];
} esg_endpoint_t;

/* ---- engine --------------------------------------------------------------- */
typedef struct esg_engine esg_engine_t;

/**
 * The frame device, implemented by the C runtime. Called from inside
 * esg_poll() only.
 *  rx_next: hand over the oldest queued frame (true) or report none (false).
 *           The frame stays valid until rx_done(cookie).
 *  rx_done: the engine is finished with that frame (consumed or dropped).
 *  tx:      transmit one complete Ethernet frame; the buffer is only valid
 *           during the call and may be finished in place (checksums, see
 *           tx_checksums_by_runtime). Returns 0, or non-zero when the driver
 *           failed (the runtime counts it; TCP retransmits).
 */
typedef struct {
    void *ctx;
    bool (*rx_next)(void *ctx, const uint8_t **frame, size_t *len, uintptr_t *cookie);
    void (*rx_done)(void *ctx, uintptr_t cookie);
    int (*tx)(void *ctx, uint8_t *frame, size_t len);
} esg_netdev_ops_t;

typedef struct {
    uint8_t mac[6];
    uint16_t mtu;              /* IP MTU, 576..1500 */
    uint16_t max_sockets;      /* TCP + UDP + ICMP sockets the engine can hold */
    bool rx_checksums_verified; /* the runtime verified RX checksums: skip them */
    bool tx_checksums_by_runtime; /* leave TX checksums to the runtime's tx function */
    bool ipv6_slaac;           /* smoltcp's SLAAC; only with the glue feature smoltcp-slaac (tests) */
    uint64_t random_seed;      /* ISNs and IPv4 ids; different each boot */
} esg_config_t;

/** Alignment of the memory block esg_engine_init() needs. */
size_t esg_engine_mem_align(void);
/** Bytes esg_engine_init() needs for max_sockets sockets. */
size_t esg_engine_mem_size(uint16_t max_sockets);

/**
 * Build an engine in mem (esg_engine_mem_size bytes, esg_engine_mem_align
 * aligned), owned by the caller until esg_engine_deinit(). ops is copied.
 * ESG_ERR_INVAL for a bad MAC/MTU/alignment, ESG_ERR_NOMEM for a short block.
 */
int esg_engine_init(void *mem, size_t mem_len, const esg_config_t *cfg,
                    const esg_netdev_ops_t *ops, uint64_t now_us, esg_engine_t **out);
/** Drop every socket and the interface; mem may be freed afterwards. */
void esg_engine_deinit(esg_engine_t *eng);

#define ESG_POLL_NEVER UINT64_MAX
/**
 * Process every queued RX frame, transmit what sockets have queued, run
 * timers. Returns microseconds until the engine next needs a poll, or
 * ESG_POLL_NEVER when only a frame or a socket call can create work.
 */
uint64_t esg_poll(esg_engine_t *eng, uint64_t now_us);
/**
 * esg_poll() without the sockets' egress: every queued RX frame is processed
 * (what ingress answers itself, ARP, ICMP echo, RST, leaves at once) and the
 * interface timers run; what the sockets then want to send waits for the next
 * esg_poll(). Returns as esg_poll() (0: they want to send now).
 */
uint64_t esg_poll_ingress(esg_engine_t *eng, uint64_t now_us);
/**
 * Microseconds until the engine needs a poll (0: now, e.g. a window update a
 * read made due; ESG_POLL_NEVER), from the sockets' state, without polling.
 */
uint64_t esg_poll_delay(esg_engine_t *eng, uint64_t now_us);

/**
 * The function a socket waker calls, with the token given to
 * esg_socket_register_wake(). One for the whole image; set before any
 * register call. Called from inside esg_poll() or a socket call.
 */
void esg_set_wake_handler(void (*handler)(uintptr_t token));

/* ---- interface: addresses and routes ------------------------------------- */
/** Add addr/prefix. ESG_ERR_NOSLOT when the address table is full. */
int esg_iface_add_addr(esg_engine_t *eng, uint8_t family, const uint8_t *addr, uint8_t prefix);
/** Remove every address of family (ESG_AF_UNSPEC: all) but the IPv6 link-local one. */
void esg_iface_clear_addrs(esg_engine_t *eng, uint8_t family);
/** Remove addr (any prefix length); ESG_ERR_INVAL when the interface does not have it. */
int esg_iface_remove_addr(esg_engine_t *eng, uint8_t family, const uint8_t *addr);
/** Address number index of family; ESG_ERR_INVAL past the end. */
int esg_iface_get_addr(esg_engine_t *eng, uint8_t family, unsigned index, uint8_t *addr,
                       uint8_t *prefix);
/** Default route via gw (NULL: remove it). */
int esg_iface_set_default_route(esg_engine_t *eng, uint8_t family, const uint8_t *gw);
/** Is addr one of the interface's own addresses? */
bool esg_iface_has_addr(esg_engine_t *eng, uint8_t family, const uint8_t *addr);
void esg_iface_get_mac(esg_engine_t *eng, uint8_t mac[6]);
/**
 * Can a packet to addr leave? True when addr is on a directly connected
 * network, broadcast or multicast, or a default route of its family exists.
 */
bool esg_iface_has_route(esg_engine_t *eng, uint8_t family, const uint8_t *addr);
/** The source address the interface would use towards dst (4 or 16 bytes to out); ESG_ERR_UNADDR if none. */
int esg_iface_source_addr(esg_engine_t *eng, uint8_t family, const uint8_t *dst, uint8_t *out);

/* ---- multicast groups (IGMPv2 / MLDv2 reports sent by esg_poll) ------------- */
/** Join a group: ESG_ERR_INVAL if addr is not multicast, ESG_ERR_NOSLOT if the table is full. */
int esg_iface_join_group(esg_engine_t *eng, uint8_t family, const uint8_t *addr);
/** Leave a group (ESG_OK also for a group never joined). */
int esg_iface_leave_group(esg_engine_t *eng, uint8_t family, const uint8_t *addr);
/** Is the interface a member of the group (smoltcp accepts datagrams to it)? */
bool esg_iface_has_group(esg_engine_t *eng, uint8_t family, const uint8_t *addr);

/* ---- DHCPv4 client --------------------------------------------------------- */
#define ESG_DHCP_MAX_DNS 3
#define ESG_DHCP_MAX_NTP 3
#define ESG_DHCP_RX_MIN 576 /* smallest rx buffer for esg_dhcp_start */
typedef struct {
    uint8_t addr[4];
    uint8_t prefix;
    bool has_router;
    uint8_t router[4];
    uint8_t server[4];
    uint8_t dns_count;
    uint8_t dns[ESG_DHCP_MAX_DNS][4];
    uint32_t lease_s; /* 0 = infinite / unknown */
    uint8_t ntp_count; /* option 42; only with an rx buffer given to esg_dhcp_start */
    uint8_t ntp[ESG_DHCP_MAX_NTP][4];
} esg_dhcp_lease_t;

#define ESG_DHCP_EVENT_NONE 0
#define ESG_DHCP_EVENT_CONFIGURED 1
#define ESG_DHCP_EVENT_DECONFIGURED 2

/**
 * Start the DHCPv4 client (takes one socket slot). rx_buf (may be NULL):
 * caller memory of rx_len >= ESG_DHCP_RX_MIN bytes (1472 holds any reply on a
 * 1500-byte MTU) that smoltcp copies each DHCP reply into; with it the client
 * also asks for option 42 and leases carry NTP servers. It must stay valid and
 * untouched until esg_dhcp_stop() or esg_engine_deinit(). ESG_ERR_INVAL if too
 * short. A second start while running is a no-op.
 */
int esg_dhcp_start(esg_engine_t *eng, uint8_t *rx_buf, size_t rx_len);
void esg_dhcp_stop(esg_engine_t *eng);
/**
 * Restart discovery, e.g. when the link comes back up (it may be another
 * network). A bound client reports DECONFIGURED at the next esg_dhcp_poll().
 * No-op when the client is stopped.
 */
void esg_dhcp_reset(esg_engine_t *eng);
/**
 * Fetch the client's latest event after esg_poll(). On CONFIGURED, *lease
 * holds it; the caller applies address, route and DNS.
 */
int esg_dhcp_poll(esg_engine_t *eng, esg_dhcp_lease_t *lease);

/* ---- DNS resolver ---------------------------------------------------------- */
#define ESG_DNS_MAX_QUERIES 4 /* queries in flight at once */
#define ESG_DNS_MAX_SERVERS 4
#define ESG_DNS_TYPE_A 1
#define ESG_DNS_TYPE_AAAA 28

/** Replace the server list (UDP port 53). Returns the number kept (at most ESG_DNS_MAX_SERVERS). */
int esg_dns_set_servers(esg_engine_t *eng, const esg_endpoint_t *servers, size_t count);
/**
 * Start resolving name (no trailing NUL needed) for one record type. Returns
 * a query id >= 0; ESG_ERR_NOSLOT when ESG_DNS_MAX_QUERIES are in flight;
 * ESG_ERR_INVAL for a bad name or type.
 */
int esg_dns_query(esg_engine_t *eng, const char *name, size_t name_len, uint16_t qtype);
/**
 * Addresses found (up to max; the id is then free), ESG_ERR_AGAIN while
 * pending, ESG_ERR_FAILED when the name does not resolve or no server
 * answered (smoltcp does not tell the two apart).
 */
int esg_dns_result(esg_engine_t *eng, int qid, esg_endpoint_t *addrs, size_t max);
/** Abandon a query; its id is free. */
int esg_dns_cancel(esg_engine_t *eng, int qid);
/** One-shot wake with token when the query finishes. */
int esg_dns_register_wake(esg_engine_t *eng, int qid, uintptr_t token);

/* ---- sockets common -------------------------------------------------------- */
#define ESG_WAKE_RECV 0
#define ESG_WAKE_SEND 1
/**
 * Arm a one-shot wake: when the socket next changes in direction dir
 * (ESG_WAKE_RECV: data/FIN/RST/state, ESG_WAKE_SEND: room/state), the wake
 * handler is called with token. Re-arm after every wake.
 */
int esg_socket_register_wake(esg_engine_t *eng, int id, int dir, uintptr_t token);
/** Remove the socket from the engine at once (no FIN); its buffers are free. */
int esg_socket_remove(esg_engine_t *eng, int id);

/* ---- TCP -------------------------------------------------------------------- */
/** TCP states, RFC 793 order as in smoltcp. */
#define ESG_TCP_CLOSED 0
#define ESG_TCP_LISTEN 1
#define ESG_TCP_SYN_SENT 2
#define ESG_TCP_SYN_RECEIVED 3
#define ESG_TCP_ESTABLISHED 4
#define ESG_TCP_FIN_WAIT_1 5
#define ESG_TCP_FIN_WAIT_2 6
#define ESG_TCP_CLOSE_WAIT 7
#define ESG_TCP_CLOSING 8
#define ESG_TCP_LAST_ACK 9
#define ESG_TCP_TIME_WAIT 10

typedef struct {
    uint8_t state;      /* ESG_TCP_* */
    bool may_send;      /* state allows sending (ESTABLISHED, CLOSE_WAIT) */
    bool may_recv;      /* peer has not sent FIN */
    bool can_send;      /* may_send and room in the send buffer */
    bool can_recv;      /* data in the receive buffer */
    uint32_t recv_queue; /* bytes waiting to be read */
    uint32_t send_queue; /* bytes queued, not yet acknowledged */
    uint32_t send_capacity;
    uint32_t recv_capacity;
    esg_endpoint_t local;  /* family UNSPEC when not bound/connected */
    esg_endpoint_t remote;
} esg_tcp_info_t;

/** New TCP socket over caller-owned buffers (valid until esg_socket_remove). Returns id >= 0. */
int esg_tcp_open(esg_engine_t *eng, uint8_t *rx_buf, size_t rx_len, uint8_t *tx_buf, size_t tx_len);
/** Listen on local (family UNSPEC = any address); port must be non-zero. */
int esg_tcp_listen(esg_engine_t *eng, int id, const esg_endpoint_t *local);
/** Active open from local (port non-zero; family UNSPEC = pick by route) to remote. */
int esg_tcp_connect(esg_engine_t *eng, int id, const esg_endpoint_t *remote, const esg_endpoint_t *local);
/** Queue up to len bytes; returns bytes queued (0 when the buffer is full), or an error. */
int esg_tcp_send(esg_engine_t *eng, int id, const uint8_t *buf, size_t len);
/**
 * Copy up to len received bytes (peek: leave them queued). Returns bytes,
 * 0 when none are queued yet, ESG_ERR_FINISHED at EOF (FIN received and all
 * data read), ESG_ERR_STATE when the connection is not open.
 */
int esg_tcp_recv(esg_engine_t *eng, int id, uint8_t *buf, size_t len, bool peek);
/** Graceful close: FIN after queued data. */
int esg_tcp_close(esg_engine_t *eng, int id);
/** Abort: RST now, drop queued data. */
int esg_tcp_abort(esg_engine_t *eng, int id);
int esg_tcp_get_info(esg_engine_t *eng, int id, esg_tcp_info_t *info);
/**
 * The state (ESG_TCP_*, returned) and whether the peer may still send (*may_recv, when not
 * NULL): the cheap part of esg_tcp_get_info(), for a scan of every socket after every poll.
 */
int esg_tcp_get_state(esg_engine_t *eng, int id, bool *may_recv);
int esg_tcp_set_nodelay(esg_engine_t *eng, int id, bool nodelay);
/** Keep-alive probe interval in ms, 0 = off. */
int esg_tcp_set_keepalive(esg_engine_t *eng, int id, uint32_t interval_ms);
/** Give up a connection idle this long with unacknowledged data, 0 = never. */
int esg_tcp_set_timeout(esg_engine_t *eng, int id, uint32_t timeout_ms);
/** Delayed-ACK time in ms, 0 = ACK at once. */
int esg_tcp_set_ack_delay(esg_engine_t *eng, int id, uint32_t delay_ms);
/** IP TTL / hop limit, 0 = default. */
int esg_tcp_set_hop_limit(esg_engine_t *eng, int id, uint8_t hop_limit);

/* ---- UDP -------------------------------------------------------------------- */
/**
 * Bytes of memory a UDP (or ICMP) buffer needs to hold `packets` datagrams
 * of `payload_bytes` total payload (metadata + payload, aligned).
 */
size_t esg_dgram_buffer_mem_size(uint16_t packets, size_t payload_bytes);

/** New UDP socket; each block from esg_dgram_buffer_mem_size(). Returns id >= 0. */
int esg_udp_open(esg_engine_t *eng, void *rx_mem, size_t rx_mem_len, uint16_t rx_packets,
                 void *tx_mem, size_t tx_mem_len, uint16_t tx_packets);
/** Bind to local (port non-zero; family UNSPEC = any address). */
int esg_udp_bind(esg_engine_t *eng, int id, const esg_endpoint_t *local);
/**
 * Queue one datagram to remote. src (4 or 16 bytes, NULL = choose) fixes the
 * source address. Returns len, ESG_ERR_AGAIN when the buffer is full,
 * ESG_ERR_TOOBIG when it can never fit, ESG_ERR_UNADDR for a bad remote.
 */
int esg_udp_send(esg_engine_t *eng, int id, const uint8_t *buf, size_t len,
                 const esg_endpoint_t *remote, const uint8_t *src);
/**
 * Copy the next datagram (truncated to len; peek leaves it queued). Returns
 * bytes copied, *full_len = the datagram's real size, *from = sender,
 * *to = local address it was sent to (both may be NULL).
 * ESG_ERR_AGAIN when none is queued.
 */
int esg_udp_recv(esg_engine_t *eng, int id, uint8_t *buf, size_t len, bool peek,
                 size_t *full_len, esg_endpoint_t *from, esg_endpoint_t *to);

typedef struct {
    bool is_open;          /* bound */
    bool can_send;
    bool can_recv;
    uint32_t recv_queue;   /* payload bytes queued */
    uint32_t send_queue;   /* payload bytes waiting to be sent */
    uint32_t next_len;     /* size of the next datagram, 0 if none */
    esg_endpoint_t local;
} esg_dgram_info_t;

int esg_udp_get_info(esg_engine_t *eng, int id, esg_dgram_info_t *info);
int esg_udp_set_hop_limit(esg_engine_t *eng, int id, uint8_t hop_limit);

/* ---- ICMP ------------------------------------------------------------------- */
/** New ICMP socket over caller memory (esg_dgram_buffer_mem_size). Returns id >= 0. */
int esg_icmp_open(esg_engine_t *eng, void *rx_mem, size_t rx_mem_len, uint16_t rx_packets,
                  void *tx_mem, size_t tx_mem_len, uint16_t tx_packets);
/** Receive ICMP echo replies whose identifier is ident. */
int esg_icmp_bind_ident(esg_engine_t *eng, int id, uint16_t ident);
/** Queue one ICMP message (header + data, checksum filled in by the engine) to addr. */
int esg_icmp_send(esg_engine_t *eng, int id, const uint8_t *buf, size_t len, uint8_t family,
                  const uint8_t *addr);
/** Next ICMP message (truncated to len). Returns bytes, *full_len, sender. */
int esg_icmp_recv(esg_engine_t *eng, int id, uint8_t *buf, size_t len, size_t *full_len,
                  esg_endpoint_t *from);
int esg_icmp_get_info(esg_engine_t *eng, int id, esg_dgram_info_t *info);

/* ---- raw IP ----------------------------------------------------------------- */
/**
 * New raw socket for one IP version (family ESG_AF_INET/INET6) and protocol
 * (IP protocol number), over caller memory (esg_dgram_buffer_mem_size).
 * Receives every such packet, IP header included. Returns id >= 0.
 */
int esg_raw_open(esg_engine_t *eng, uint8_t family, uint8_t protocol, void *rx_mem, size_t rx_mem_len,
                 uint16_t rx_packets, void *tx_mem, size_t tx_mem_len, uint16_t tx_packets);
/**
 * Queue payload to addr behind an IP header the glue builds (source address
 * chosen by the interface, the socket's protocol, hop_limit 0 = 64). Returns
 * len; ESG_ERR_UNADDR (no source address), ESG_ERR_TOOBIG, ESG_ERR_AGAIN.
 */
int esg_raw_send(esg_engine_t *eng, int id, const uint8_t *buf, size_t len, uint8_t family, const uint8_t *addr,
                 uint8_t hop_limit);
/**
 * Next packet with its IP header (truncated to len; peek leaves it queued).
 * Returns bytes copied, *full_len its size, *from its source (port 0).
 */
int esg_raw_recv(esg_engine_t *eng, int id, uint8_t *buf, size_t len, bool peek, size_t *full_len,
                 esg_endpoint_t *from);
int esg_raw_get_info(esg_engine_t *eng, int id, esg_dgram_info_t *info);

#ifdef __cplusplus
}
#endif
