/*
 * Parsing of static IPv4 configuration given as text (Kconfig strings on the
 * target, command-line options on the host). Addresses are kept as four bytes
 * in network (wire) order: "198.18.0.2" -> {198, 18, 0, 2}.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define IP_CONFIG_MAX_DNS 3

typedef struct {
    uint8_t addr[4];
    uint8_t prefix_len;               /* 0..32 */
    bool has_gateway;
    uint8_t gateway[4];
    uint8_t dns_count;
    uint8_t dns[IP_CONFIG_MAX_DNS][4];
} ip4_config_t;

/** Dotted quad to bytes. ESP_ERR_INVALID_ARG on anything but a.b.c.d, each 0..255, no extra text. */
esp_err_t ip4_parse_addr(const char *text, uint8_t out[4]);

/**
 * Netmask to prefix length: "255.255.252.0" -> 22. Also accepts "/22" and
 * "22". ESP_ERR_INVALID_ARG for a non-contiguous mask or a length over 32.
 */
esp_err_t ip4_parse_netmask(const char *text, uint8_t *prefix_len);

/**
 * Whole configuration: address (optionally "a.b.c.d/len"), netmask (NULL or
 * "" when the address carries /len), gateway (NULL or "" for none), DNS list
 * separated by commas or spaces (NULL or "" for none, at most
 * IP_CONFIG_MAX_DNS). Checks the gateway lies inside the subnet and the
 * address is not the network or broadcast address for prefixes < 31.
 * Returns ESP_ERR_INVALID_ARG with *out untouched on any error.
 */
esp_err_t ip4_config_parse(const char *addr, const char *netmask, const char *gateway,
                           const char *dns, ip4_config_t *out);

/** Prefix length to mask bytes: 22 -> {255,255,252,0}. */
void ip4_prefix_to_mask(uint8_t prefix_len, uint8_t mask[4]);

#ifdef __cplusplus
}
#endif
