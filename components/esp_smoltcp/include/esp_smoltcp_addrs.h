/*
 * Every address an interface has now: the IPv4 one (static or DHCP) and the
 * IPv6 ones (link-local always, SLAAC or static when present). Services that
 * publish addresses (mDNS A/AAAA) read them here.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "esp_smoltcp.h"
#include "esp_smoltcp_sock.h" /* ESP_SMOLTCP_AF_* */

#ifdef __cplusplus
extern "C" {
#endif

/** One interface address; addr in network order (4 bytes used for IPv4). */
typedef struct {
    uint8_t family; /* ESP_SMOLTCP_AF_INET or ESP_SMOLTCP_AF_INET6 */
    uint8_t prefix_len;
    uint8_t addr[16];
} esp_smoltcp_ip_addr_t;

/**
 * Copy up to max addresses of family (ESP_SMOLTCP_AF_UNSPEC: both, IPv4
 * first) into out; *count gets the number copied.
 * @return ESP_OK; ESP_ERR_INVALID_ARG; ESP_ERR_INVALID_STATE (not attached).
 */
esp_err_t esp_smoltcp_get_ip_addrs(esp_smoltcp_iface_t iface, uint8_t family, esp_smoltcp_ip_addr_t *out,
                                   size_t max, size_t *count);

#ifdef __cplusplus
}
#endif
