/*
 * Name resolution over the stack's DNS client (smoltcp's DNS socket).
 * Servers come from the DHCP lease and from static configuration
 * (esp_smoltcp_config_t.static_dns), or are set here.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "esp_smoltcp_sock.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ESP_SMOLTCP_DNS_MAX_SERVERS 4

/**
 * Resolve name to at most max addresses of family (ESP_SMOLTCP_AF_INET: A,
 * ESP_SMOLTCP_AF_INET6: AAAA, ESP_SMOLTCP_AF_UNSPEC: A then AAAA, queried
 * at once). Ports in *out are 0.
 * @return number of addresses (> 0); -ENOENT the name does not resolve (or no
 *         server answered within smoltcp's retries); -ETIMEDOUT timeout_ms ran
 *         out; -ENETDOWN no DNS server known / stack not running; -EINVAL bad
 *         name; -EBUSY all query slots in use.
 */
int esp_smoltcp_dns_resolve(const char *name, int family, esp_smoltcp_endpoint_t *out, size_t max,
                            uint32_t timeout_ms);

/**
 * Replace the DNS server list (port 53). A later DHCP lease that carries DNS
 * servers replaces it again. @return ESP_OK; ESP_ERR_INVALID_ARG;
 * ESP_ERR_INVALID_STATE (not attached).
 */
esp_err_t esp_smoltcp_dns_set_servers(const esp_smoltcp_endpoint_t *servers, size_t count);

/** Current servers; returns how many were written (<= max). */
size_t esp_smoltcp_dns_get_servers(esp_smoltcp_endpoint_t *out, size_t max);

/** A resolver for one namespace, with esp_smoltcp_dns_resolve()'s contract. */
typedef int (*esp_smoltcp_dns_local_resolver_t)(const char *name, int family, esp_smoltcp_endpoint_t *out,
                                                size_t max, uint32_t timeout_ms);

/**
 * Send names under ".local" (RFC 6762 §3: they never go to unicast DNS
 * servers) to fn, e.g. esp_smoltcp_mdns_resolve_host; NULL: such names are
 * asked of the DNS servers like any other. esp_smoltcp_mdns_init() sets it.
 */
void esp_smoltcp_dns_set_local_resolver(esp_smoltcp_dns_local_resolver_t fn);

#ifdef __cplusplus
}
#endif
