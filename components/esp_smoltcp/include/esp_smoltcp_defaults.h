/*
 * Default configuration values of esp_smoltcp: from Kconfig (sdkconfig.h) on
 * ESP-IDF, the host values otherwise. ESP_SMOLTCP_DEFAULT_CONFIG() and thus
 * esp_smoltcp_init() read these, so menuconfig settings reach the runtime
 * without the application passing a configuration.
 *
 * docs/configuration.md lists every option.
 */
#pragma once

#ifdef ESP_PLATFORM
#include "sdkconfig.h"
#endif

/* ---- IPv4 ------------------------------------------------------------------ */
#if defined(CONFIG_ESP_SMOLTCP_IPV4_STATIC)
#define ESP_SMOLTCP_DEFAULT_IPV4_MODE ESP_SMOLTCP_IPV4_STATIC
#define ESP_SMOLTCP_DEFAULT_STATIC_IP CONFIG_ESP_SMOLTCP_STATIC_IP
#define ESP_SMOLTCP_DEFAULT_STATIC_NETMASK CONFIG_ESP_SMOLTCP_STATIC_NETMASK
#define ESP_SMOLTCP_DEFAULT_STATIC_GATEWAY CONFIG_ESP_SMOLTCP_STATIC_GATEWAY
#define ESP_SMOLTCP_DEFAULT_STATIC_DNS CONFIG_ESP_SMOLTCP_STATIC_DNS
#else
#define ESP_SMOLTCP_DEFAULT_IPV4_MODE ESP_SMOLTCP_IPV4_DHCP
#define ESP_SMOLTCP_DEFAULT_STATIC_IP NULL
#define ESP_SMOLTCP_DEFAULT_STATIC_NETMASK NULL
#define ESP_SMOLTCP_DEFAULT_STATIC_GATEWAY NULL
#define ESP_SMOLTCP_DEFAULT_STATIC_DNS NULL
#endif

/* ---- IPv6 ------------------------------------------------------------------ */
/* SLAAC and DHCPv6 are done in C by the runtime (smoltcp's own SLAAC stays off: it spins,
 * docs/architecture.md "Workarounds"). On by default; Kconfig can turn them off, and both
 * are off without ESP_SMOLTCP_IPV6 (an IPv4-only build links src/core/ipv4_only/ip6_off.c). */
#if defined(ESP_PLATFORM) && !(defined(CONFIG_ESP_SMOLTCP_IPV6) && defined(CONFIG_ESP_SMOLTCP_IPV6_SLAAC))
#define ESP_SMOLTCP_DEFAULT_IPV6_SLAAC false
#else
#define ESP_SMOLTCP_DEFAULT_IPV6_SLAAC true
#endif
#if defined(ESP_PLATFORM) && !(defined(CONFIG_ESP_SMOLTCP_IPV6) && defined(CONFIG_ESP_SMOLTCP_IPV6_DHCPV6))
#define ESP_SMOLTCP_DEFAULT_IPV6_DHCP6 false
#else
#define ESP_SMOLTCP_DEFAULT_IPV6_DHCP6 true
#endif

/* ---- latency ------------------------------------------------------------------ */
#if defined(ESP_PLATFORM) && !defined(CONFIG_ESP_SMOLTCP_SEND_POLL_INLINE)
#define ESP_SMOLTCP_DEFAULT_SEND_POLL_INLINE false
#else
#define ESP_SMOLTCP_DEFAULT_SEND_POLL_INLINE true
#endif

#if defined(ESP_PLATFORM) && !defined(CONFIG_ESP_SMOLTCP_RX_POLL_INLINE)
#define ESP_SMOLTCP_DEFAULT_RX_POLL_INLINE false
#else
#define ESP_SMOLTCP_DEFAULT_RX_POLL_INLINE true
#endif

/* ---- sizes (Kconfig value when set, else the host default) ------------------ */
#ifdef CONFIG_ESP_SMOLTCP_RX_POOL_FRAMES
#define ESP_SMOLTCP_DEFAULT_RX_POOL_FRAMES CONFIG_ESP_SMOLTCP_RX_POOL_FRAMES
#else
#define ESP_SMOLTCP_DEFAULT_RX_POOL_FRAMES 64
#endif

#ifdef CONFIG_ESP_SMOLTCP_MAX_SOCKETS
#define ESP_SMOLTCP_DEFAULT_MAX_SOCKETS CONFIG_ESP_SMOLTCP_MAX_SOCKETS
#else
#define ESP_SMOLTCP_DEFAULT_MAX_SOCKETS 16
#endif

#ifdef CONFIG_ESP_SMOLTCP_TCP_RX_BUFFER
#define ESP_SMOLTCP_DEFAULT_TCP_RX_BUFFER CONFIG_ESP_SMOLTCP_TCP_RX_BUFFER
#else
/* Host: 45 x 1460, past 64 KiB (window scaling on); the target's Kconfig default is smaller. */
#define ESP_SMOLTCP_DEFAULT_TCP_RX_BUFFER 65700
#endif

#ifdef CONFIG_ESP_SMOLTCP_TCP_TX_BUFFER
#define ESP_SMOLTCP_DEFAULT_TCP_TX_BUFFER CONFIG_ESP_SMOLTCP_TCP_TX_BUFFER
#else
#define ESP_SMOLTCP_DEFAULT_TCP_TX_BUFFER 65700
#endif

#ifdef CONFIG_ESP_SMOLTCP_UDP_RX_BUFFER
#define ESP_SMOLTCP_DEFAULT_UDP_RX_BUFFER CONFIG_ESP_SMOLTCP_UDP_RX_BUFFER
#else
#define ESP_SMOLTCP_DEFAULT_UDP_RX_BUFFER 8192
#endif

#ifdef CONFIG_ESP_SMOLTCP_UDP_TX_BUFFER
#define ESP_SMOLTCP_DEFAULT_UDP_TX_BUFFER CONFIG_ESP_SMOLTCP_UDP_TX_BUFFER
#else
#define ESP_SMOLTCP_DEFAULT_UDP_TX_BUFFER 8192
#endif

#ifdef CONFIG_ESP_SMOLTCP_UDP_PACKETS
#define ESP_SMOLTCP_DEFAULT_UDP_PACKETS CONFIG_ESP_SMOLTCP_UDP_PACKETS
#else
#define ESP_SMOLTCP_DEFAULT_UDP_PACKETS 16
#endif

#ifdef CONFIG_ESP_SMOLTCP_LINGER_TIMEOUT_MS
#define ESP_SMOLTCP_DEFAULT_LINGER_TIMEOUT_MS CONFIG_ESP_SMOLTCP_LINGER_TIMEOUT_MS
#else
#define ESP_SMOLTCP_DEFAULT_LINGER_TIMEOUT_MS 60000
#endif

/* ---- poll task ---------------------------------------------------------------- */
#ifdef CONFIG_ESP_SMOLTCP_POLL_TASK_PRIORITY
#define ESP_SMOLTCP_DEFAULT_POLL_TASK_PRIORITY CONFIG_ESP_SMOLTCP_POLL_TASK_PRIORITY
#else
#define ESP_SMOLTCP_DEFAULT_POLL_TASK_PRIORITY 18
#endif

#ifdef CONFIG_ESP_SMOLTCP_POLL_TASK_STACK
#define ESP_SMOLTCP_DEFAULT_POLL_TASK_STACK CONFIG_ESP_SMOLTCP_POLL_TASK_STACK
#else
#define ESP_SMOLTCP_DEFAULT_POLL_TASK_STACK 16384
#endif

/* Kconfig: -1 = no affinity (default), 0 or 1 = pinned. */
#ifdef CONFIG_ESP_SMOLTCP_POLL_TASK_CORE
#define ESP_SMOLTCP_DEFAULT_POLL_TASK_CORE CONFIG_ESP_SMOLTCP_POLL_TASK_CORE
#else
#define ESP_SMOLTCP_DEFAULT_POLL_TASK_CORE (-1)
#endif

/*
 * The whole default configuration, for ESP_SMOLTCP_DEFAULT_CONFIG() in
 * esp_smoltcp.h (which then reads: `#define ESP_SMOLTCP_DEFAULT_CONFIG()
 * ESP_SMOLTCP_KCONFIG_CONFIG()`).
 */
#define ESP_SMOLTCP_KCONFIG_CONFIG()                                   \
    {                                                                  \
        .rx_pool_frames = ESP_SMOLTCP_DEFAULT_RX_POOL_FRAMES,          \
        .max_sockets = ESP_SMOLTCP_DEFAULT_MAX_SOCKETS,                \
        .tcp_rx_buffer = ESP_SMOLTCP_DEFAULT_TCP_RX_BUFFER,            \
        .tcp_tx_buffer = ESP_SMOLTCP_DEFAULT_TCP_TX_BUFFER,            \
        .udp_rx_buffer = ESP_SMOLTCP_DEFAULT_UDP_RX_BUFFER,            \
        .udp_tx_buffer = ESP_SMOLTCP_DEFAULT_UDP_TX_BUFFER,            \
        .udp_rx_packets = ESP_SMOLTCP_DEFAULT_UDP_PACKETS,             \
        .udp_tx_packets = ESP_SMOLTCP_DEFAULT_UDP_PACKETS,             \
        .linger_timeout_ms = ESP_SMOLTCP_DEFAULT_LINGER_TIMEOUT_MS,    \
        .ipv4_mode = ESP_SMOLTCP_DEFAULT_IPV4_MODE,                    \
        .static_ip = ESP_SMOLTCP_DEFAULT_STATIC_IP,                    \
        .static_netmask = ESP_SMOLTCP_DEFAULT_STATIC_NETMASK,          \
        .static_gateway = ESP_SMOLTCP_DEFAULT_STATIC_GATEWAY,          \
        .static_dns = ESP_SMOLTCP_DEFAULT_STATIC_DNS,                  \
        .ipv6_slaac = ESP_SMOLTCP_DEFAULT_IPV6_SLAAC,                  \
        .ipv6_dhcp6 = ESP_SMOLTCP_DEFAULT_IPV6_DHCP6,                  \
        .poll_task_priority = ESP_SMOLTCP_DEFAULT_POLL_TASK_PRIORITY,  \
        .poll_task_stack = ESP_SMOLTCP_DEFAULT_POLL_TASK_STACK,        \
        .poll_task_core = ESP_SMOLTCP_DEFAULT_POLL_TASK_CORE,          \
        .send_poll_inline = ESP_SMOLTCP_DEFAULT_SEND_POLL_INLINE,      \
        .rx_poll_inline = ESP_SMOLTCP_DEFAULT_RX_POLL_INLINE,          \
    }
