/*
 * esp_smoltcp — the smoltcp TCP/IP engine as an ESP-IDF component.
 *
 * One poll task owns the engine; application threads call the socket API
 * (esp_smoltcp_sock.h, or BSD sockets through esp_smoltcp_lwip_compat),
 * which takes the stack lock briefly and wakes the poll task. Typical use:
 *
 *     esp_smoltcp_init();
 *     esp_smoltcp_attach_netdev(dev);       // esp_smoltcp_attach_eth(eth) on a chip
 *     esp_smoltcp_wait_for_ip(ESP_SMOLTCP_IFACE_ETH, 15000);
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "esp_smoltcp_netdev.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Interfaces. One Ethernet interface today. */
typedef enum {
    ESP_SMOLTCP_IFACE_ETH = 0,
} esp_smoltcp_iface_t;

typedef enum {
    ESP_SMOLTCP_IPV4_DHCP = 0,   /* DHCPv4 client (default) */
    ESP_SMOLTCP_IPV4_STATIC = 1, /* the static_* strings below */
} esp_smoltcp_ipv4_mode_t;

/** Runtime configuration; start from ESP_SMOLTCP_DEFAULT_CONFIG(). */
typedef struct {
    uint32_t rx_pool_frames;    /* RX frame buffers (and queue slots) */
    uint16_t max_sockets;       /* engine sockets: TCP + UDP + ICMP, listen backlogs included */
    uint32_t tcp_rx_buffer;     /* default TCP receive buffer, bytes */
    uint32_t tcp_tx_buffer;     /* default TCP send buffer, bytes */
    uint32_t udp_rx_buffer;     /* default UDP receive buffer, bytes of payload */
    uint32_t udp_tx_buffer;
    uint16_t udp_rx_packets;    /* datagrams a UDP receive buffer can hold */
    uint16_t udp_tx_packets;
    uint32_t linger_timeout_ms; /* a closed TCP socket not finished by then is aborted */
    esp_smoltcp_ipv4_mode_t ipv4_mode;
    const char *static_ip;      /* "198.18.0.2" or "198.18.0.2/24" */
    const char *static_netmask; /* "255.255.255.0", NULL when static_ip has /len */
    const char *static_gateway; /* NULL or "" for none */
    const char *static_dns;     /* "198.18.0.1,198.18.0.53", NULL or "" for none */
    bool ipv6_slaac;            /* router discovery + SLAAC addresses, default route, RDNSS (C, RFC 4861/4862/8106) */
    bool ipv6_dhcp6;            /* stateless DHCPv6 for DNS servers when a router sets the O/M flag (needs ipv6_slaac) */
    int poll_task_priority;
    size_t poll_task_stack;
    int poll_task_core;         /* -1: no affinity */
    bool send_poll_inline;      /* a TCP_NODELAY send on an idle connection polls the engine in the sending
                                   task: one task switch less per request/response; that task then needs
                                   the poll's stack too (about 3 KiB on rv32) */
    bool rx_poll_inline;        /* a netdev that hands frames over in bursts (rx_bursts) runs the engine
                                   poll in its own thread at each burst's end when the core is free:
                                   one task switch less per received request; that thread then needs
                                   the poll's stack too */
} esp_smoltcp_config_t;

/* Defaults: Kconfig values on ESP-IDF (menuconfig reaches esp_smoltcp_init()), host values otherwise. */
#include "esp_smoltcp_defaults.h"
#define ESP_SMOLTCP_DEFAULT_CONFIG() ESP_SMOLTCP_KCONFIG_CONFIG()

/**
 * Start the runtime with the default (Kconfig) configuration.
 * @return ESP_OK; ESP_ERR_INVALID_STATE if already running; ESP_ERR_NO_MEM.
 */
esp_err_t esp_smoltcp_init(void);

/**
 * Start the runtime with an explicit configuration (copied; strings must
 * stay valid until esp_smoltcp_attach_netdev returns).
 * @return ESP_OK; ESP_ERR_INVALID_ARG for a zero size; ESP_ERR_INVALID_STATE
 *         if already running; ESP_ERR_NO_MEM.
 */
esp_err_t esp_smoltcp_init_with_config(const esp_smoltcp_config_t *cfg);

/**
 * Attach the Ethernet device, bring the interface up (static address or
 * DHCP) and start the poll task.
 * @return ESP_OK; ESP_ERR_INVALID_STATE (not initialised / already attached);
 *         ESP_ERR_INVALID_ARG (bad device or bad static configuration);
 *         ESP_ERR_NO_MEM; the device's own start error.
 */
esp_err_t esp_smoltcp_attach_netdev(esp_smoltcp_netdev_t *dev);

/**
 * Wait until the interface has an IPv4 address
 * (= esp_smoltcp_wait_for_ip_kind(iface, ESP_SMOLTCP_WAIT_IPV4, timeout_ms)).
 * @return ESP_OK; ESP_ERR_TIMEOUT; ESP_ERR_INVALID_ARG (unknown iface);
 *         ESP_ERR_INVALID_STATE (nothing attached).
 */
esp_err_t esp_smoltcp_wait_for_ip(esp_smoltcp_iface_t iface, uint32_t timeout_ms);

/** What esp_smoltcp_wait_for_ip_kind() waits for. */
typedef enum {
    ESP_SMOLTCP_WAIT_IPV4 = 1,        /* an IPv4 address (DHCP lease or static) */
    ESP_SMOLTCP_WAIT_IPV6_GLOBAL = 2, /* a SLAAC address that passed duplicate address detection */
    ESP_SMOLTCP_WAIT_EITHER = 3,      /* whichever comes first */
    ESP_SMOLTCP_WAIT_BOTH = 4,        /* both */
} esp_smoltcp_ip_wait_t;

/**
 * Wait until the interface has the address(es) `what` asks for.
 * @return ESP_OK (also at once when already there); ESP_ERR_TIMEOUT;
 *         ESP_ERR_INVALID_ARG (unknown iface or `what`); ESP_ERR_INVALID_STATE (nothing attached);
 *         ESP_ERR_NOT_SUPPORTED (IPV6_GLOBAL or BOTH in an IPv4-only build, Kconfig ESP_SMOLTCP_IPV6=n).
 */
esp_err_t esp_smoltcp_wait_for_ip_kind(esp_smoltcp_iface_t iface, esp_smoltcp_ip_wait_t what, uint32_t timeout_ms);

/** IPv4 settings of an interface, addresses as 4 bytes in network order. */
typedef struct {
    bool has_addr;
    uint8_t addr[4];
    uint8_t prefix_len;
    bool has_gateway;
    uint8_t gateway[4];
    uint8_t dns_count;
    uint8_t dns[3][4];
    uint8_t ntp_count;        /* NTP servers of the DHCP lease (option 42); 0 when static or not offered */
    uint8_t ntp[3][4];
} esp_smoltcp_ip4_info_t;

/** @return ESP_OK; ESP_ERR_INVALID_ARG; ESP_ERR_INVALID_STATE. */
esp_err_t esp_smoltcp_get_ip4_info(esp_smoltcp_iface_t iface, esp_smoltcp_ip4_info_t *out);

/** IPv6 address states (RFC 4862). */
typedef enum {
    ESP_SMOLTCP_IP6_TENTATIVE = 0,  /* duplicate address detection running, not used yet */
    ESP_SMOLTCP_IP6_PREFERRED = 1,  /* in use */
    ESP_SMOLTCP_IP6_DEPRECATED = 2, /* preferred lifetime over: still valid, still answered */
    ESP_SMOLTCP_IP6_DUPLICATE = 3,  /* another node has it: refused, never used */
} esp_smoltcp_ip6_state_t;

#define ESP_SMOLTCP_IP6_MAX_ADDRS 3 /* link-local + 2 SLAAC */

typedef struct {
    uint8_t addr[16];
    uint8_t prefix_len;
    esp_smoltcp_ip6_state_t state;
    uint32_t valid_s;     /* seconds left; UINT32_MAX = infinite */
    uint32_t preferred_s;
} esp_smoltcp_ip6_addr_t;

/** IPv6 settings of an interface: addrs[0] is the link-local address. */
typedef struct {
    uint8_t addr_count;
    esp_smoltcp_ip6_addr_t addrs[ESP_SMOLTCP_IP6_MAX_ADDRS];
    bool has_router;          /* default route via router (link-local) */
    uint8_t router[16];
    uint32_t router_lifetime_s;
    uint8_t dns_count;        /* servers learned by RDNSS, then DHCPv6 */
    uint8_t dns[3][16];
} esp_smoltcp_ip6_info_t;

/**
 * @return ESP_OK; ESP_ERR_INVALID_ARG; ESP_ERR_INVALID_STATE (nothing attached);
 *         ESP_ERR_NOT_SUPPORTED (IPv4-only build, Kconfig ESP_SMOLTCP_IPV6=n).
 */
esp_err_t esp_smoltcp_get_ip6_info(esp_smoltcp_iface_t iface, esp_smoltcp_ip6_info_t *out);

/**
 * Called when an interface gets an IPv4 address (first lease, renewal with a
 * change, NTP servers included, static configuration: got = true) or loses it (got = false). Runs
 * in the poll task with the stack lock held: post an event or set a flag and
 * return; do not call esp_smoltcp functions from it.
 */
typedef void (*esp_smoltcp_ip4_cb_t)(esp_smoltcp_iface_t iface, bool got, const esp_smoltcp_ip4_info_t *info,
                                     void *arg);

/** Install (or with NULL remove) the IPv4 address callback. @return ESP_OK; ESP_ERR_INVALID_STATE. */
esp_err_t esp_smoltcp_set_ip4_callback(esp_smoltcp_ip4_cb_t cb, void *arg);

#define ESP_SMOLTCP_IP4_OBSERVERS 4 /* observers besides the application's callback */

/**
 * Add an IPv4 address observer, called like (and after) the callback of
 * esp_smoltcp_set_ip4_callback(), which stays the application's: for
 * components such as the esp_netif shim (IP_EVENT_ETH_GOT_IP / LOST_IP).
 * Same rules: runs with the stack lock held, must not call esp_smoltcp.
 * @return ESP_OK; ESP_ERR_INVALID_ARG (cb NULL); ESP_ERR_INVALID_STATE (before
 *         esp_smoltcp_init()); ESP_ERR_NO_MEM (ESP_SMOLTCP_IP4_OBSERVERS taken).
 */
esp_err_t esp_smoltcp_add_ip4_observer(esp_smoltcp_ip4_cb_t cb, void *arg);

/** Remove an observer added with the same cb and arg. @return ESP_OK; ESP_ERR_NOT_FOUND. */
esp_err_t esp_smoltcp_remove_ip4_observer(esp_smoltcp_ip4_cb_t cb, void *arg);

/** Per-interface counters. */
typedef struct {
    uint64_t rx_frames, rx_bytes;      /* accepted and handed to the engine */
    uint64_t tx_frames, tx_bytes;      /* handed to the driver successfully */
    uint64_t tx_failures;              /* driver refused a frame */
    uint64_t rx_drop_pool_empty;       /* no RX buffer for a frame */
    uint64_t rx_drop_queue_full;       /* RX queue full */
    uint64_t rx_drop_runt;
    uint64_t rx_drop_bad_ip_header;
    uint64_t rx_drop_bad_ip_checksum;
    uint64_t rx_drop_bad_l4_header;
    uint64_t rx_drop_bad_l4_checksum;
    uint64_t rx_drop_martian;          /* 127/8 source or destination from the wire */
    uint64_t loopback_frames;          /* frames the stack sent to itself (127/8, own address) */
    uint64_t loopback_drops;           /* looped frames lost to a full pool or queue */
    uint32_t rx_pool_capacity;
    uint32_t rx_pool_in_use;
    uint32_t rx_pool_high_water;
    uint32_t rx_queue_high_water;
    uint32_t sockets_open;             /* engine sockets in use (lingering ones included) */
    uint32_t sockets_high_water;
    uint32_t sockets_lingering;        /* closed by the app, still finishing */
    uint64_t socket_alloc_failures;    /* ENFILE/ENOMEM given to callers */
    uint64_t tcp_syn_backlog_drops;    /* SYNs dropped: listen backlog full (the client retries) */
    uint64_t tcp_syn_on_connection_drops; /* SYNs dropped: 4-tuple of an existing connection (not a new one) */
    uint64_t tcp_rexmits_sacked;       /* retransmitted segments not sent: the peer had SACKed them */
    uint64_t tcp_dupack_windows_kept;  /* duplicate ACKs whose grown window was set back to the last
                                          one, so the engine counts them (docs/architecture.md) */
    uint64_t tcp_dsack_acks_held;      /* duplicate ACKs that report a segment received twice (D-SACK):
                                          not news of a loss, not handed to the engine */
    uint64_t dgram_close_drops;        /* datagram sockets closed with datagrams unsent after 1 s */
    uint64_t tcp_opened;               /* connections established */
    uint64_t tcp_closed_by_peer;       /* FIN received */
    uint64_t tcp_aborted;              /* reset or timed out */
    uint64_t tcp_linger_aborts;        /* closed sockets aborted after linger_timeout */
    uint64_t polls;                    /* engine polls */
    uint64_t poll_wakeups;             /* poll task woken before its deadline */
    uint64_t inline_polls;             /* polls run by a TCP_NODELAY sender (first data on an idle connection) */
    uint64_t rx_inline_polls;          /* polls run by the netdev's thread at the end of an RX burst */
    uint32_t link_changes;             /* link up/down reports of the netdev (esp_smoltcp_netdev_link_changed) */
    bool link_up;                      /* as last reported; up until the netdev says otherwise */
} esp_smoltcp_stats_t;

/** @return ESP_OK; ESP_ERR_INVALID_ARG; ESP_ERR_INVALID_STATE. */
esp_err_t esp_smoltcp_get_stats(esp_smoltcp_iface_t iface, esp_smoltcp_stats_t *out);

/**
 * Stop the poll task and the device, release every socket and buffer.
 * Sockets still open become invalid. @return ESP_OK; ESP_ERR_INVALID_STATE.
 */
esp_err_t esp_smoltcp_deinit(void);

#ifdef __cplusplus
}
#endif
