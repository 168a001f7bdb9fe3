/*
 * Multicast group membership of the interface.
 *
 * The stack joins a group once however many users want it and leaves when the
 * last one leaves: IGMPv2 (IPv4) and MLDv2 (IPv6) reports and leaves go out on
 * the next poll, and smoltcp then accepts datagrams sent to the group. The BSD
 * shim's IP_ADD_MEMBERSHIP / IPV6_JOIN_GROUP end up here; services (mDNS, PTP)
 * call it directly. Memberships do not depend on addresses, so they survive a
 * DHCP renew or a new lease.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "esp_err.h"
#include "esp_smoltcp.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Distinct groups the interface can be a member of at once (besides the
 *  IPv6 solicited-node groups the stack joins for its own addresses). */
#define ESP_SMOLTCP_MCAST_MAX_GROUPS 12

/**
 * Join group (4 bytes for ESP_SMOLTCP_AF_INET, 16 for ESP_SMOLTCP_AF_INET6,
 * network order), counting one more user.
 *
 * @return ESP_OK; ESP_ERR_INVALID_ARG (NULL, bad family, not a multicast
 *         address); ESP_ERR_NO_MEM (group table full: the join is refused,
 *         never silently ignored); ESP_ERR_INVALID_STATE (stack not started).
 */
esp_err_t esp_smoltcp_mcast_join(esp_smoltcp_iface_t iface, uint8_t family, const uint8_t *group);

/**
 * Drop one user of group; the interface leaves it with the last user.
 *
 * @return ESP_OK; ESP_ERR_NOT_FOUND (not joined); ESP_ERR_INVALID_ARG;
 *         ESP_ERR_INVALID_STATE.
 */
esp_err_t esp_smoltcp_mcast_leave(esp_smoltcp_iface_t iface, uint8_t family, const uint8_t *group);

/** Number of users of group (0: not a member). */
unsigned esp_smoltcp_mcast_users(esp_smoltcp_iface_t iface, uint8_t family, const uint8_t *group);

/**
 * Whether addr (network order) is a multicast address: 224.0.0.0/4 for
 * ESP_SMOLTCP_AF_INET (RFC 1112 §4), ff00::/8 for ESP_SMOLTCP_AF_INET6
 * (RFC 4291 §2.7). Reads the first byte only, so a frame's header field will do.
 *
 * @return true for a multicast address of family; false otherwise, and for
 *         NULL or a family other than the two.
 */
bool esp_smoltcp_mcast_is_multicast(uint8_t family, const uint8_t *addr);

#ifdef __cplusplus
}
#endif
