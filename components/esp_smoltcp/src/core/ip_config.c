/*
 * Static IPv4 configuration from text (see ip_config.h).
 *
 * Parsing is strict on purpose: a typo in a Kconfig string should fail at
 * start-up with ESP_ERR_INVALID_ARG, not configure a surprising address.
 * Octets are one to three decimal digits; leading zeros are read as decimal
 * ("010" is 10, not octal 8 as inet_aton would have it).
 */
#include "ip_config.h"

#include <string.h>

/* "255.255.255.255" plus the terminator. */
#define IP4_TEXT_MAX 16

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/*
 * 1..max_digits decimal digits at *p, value <= max; advances *p past them.
 * No sign, no whitespace.
 */
static bool parse_dec(const char **p, unsigned max_digits, unsigned max, unsigned *out)
{
    const char *s = *p;
    unsigned v = 0;
    unsigned n = 0;
    while (is_digit(s[n])) {
        if (n == max_digits) {
            return false;
        }
        v = v * 10 + (unsigned)(s[n] - '0');
        n++;
    }
    if (n == 0 || v > max) {
        return false;
    }
    *p = s + n;
    *out = v;
    return true;
}

static uint32_t to_u32(const uint8_t a[4])
{
    return ((uint32_t)a[0] << 24) | ((uint32_t)a[1] << 16) | ((uint32_t)a[2] << 8) | a[3];
}

static uint32_t prefix_mask(uint8_t prefix_len)
{
    /* A shift by 32 is undefined, so /0 is its own case. */
    return prefix_len == 0 ? 0 : 0xFFFFFFFFu << (32 - prefix_len);
}

esp_err_t ip4_parse_addr(const char *text, uint8_t out[4])
{
    if (!text || !out) {
        return ESP_ERR_INVALID_ARG;
    }
    uint8_t bytes[4];
    const char *p = text;
    for (int i = 0; i < 4; i++) {
        unsigned v;
        if (i > 0 && *p++ != '.') {
            return ESP_ERR_INVALID_ARG;
        }
        if (!parse_dec(&p, 3, 255, &v)) {
            return ESP_ERR_INVALID_ARG;
        }
        bytes[i] = (uint8_t)v;
    }
    if (*p != '\0') {
        return ESP_ERR_INVALID_ARG;
    }
    memcpy(out, bytes, 4);
    return ESP_OK;
}

/* "22" or "/22", nothing else. */
static esp_err_t parse_prefix_len(const char *text, uint8_t *out)
{
    const char *p = text;
    unsigned v;
    if (*p == '/') {
        p++;
    }
    if (!parse_dec(&p, 2, 32, &v) || *p != '\0') {
        return ESP_ERR_INVALID_ARG;
    }
    *out = (uint8_t)v;
    return ESP_OK;
}

esp_err_t ip4_parse_netmask(const char *text, uint8_t *prefix_len)
{
    if (!text || !prefix_len) {
        return ESP_ERR_INVALID_ARG;
    }
    if (!strchr(text, '.')) {
        return parse_prefix_len(text, prefix_len);
    }
    uint8_t bytes[4];
    if (ip4_parse_addr(text, bytes) != ESP_OK) {
        return ESP_ERR_INVALID_ARG;
    }
    uint32_t host = ~to_u32(bytes);
    /* Contiguous ones then zeros: the host part is 2^k - 1. */
    if (host & (host + 1)) {
        return ESP_ERR_INVALID_ARG;
    }
    uint8_t len = 32;
    while (host) {
        host >>= 1;
        len--;
    }
    *prefix_len = len;
    return ESP_OK;
}

void ip4_prefix_to_mask(uint8_t prefix_len, uint8_t mask[4])
{
    if (!mask) {
        return;
    }
    uint32_t m = prefix_mask(prefix_len > 32 ? 32 : prefix_len);
    mask[0] = (uint8_t)(m >> 24);
    mask[1] = (uint8_t)(m >> 16);
    mask[2] = (uint8_t)(m >> 8);
    mask[3] = (uint8_t)m;
}

static bool is_empty(const char *s)
{
    return !s || s[0] == '\0';
}

/* 0.0.0.0, 255.255.255.255 and multicast (224/4) are never a host's address. */
static bool is_unicast(uint32_t a)
{
    return a != 0 && a != 0xFFFFFFFFu && (a >> 28) != 0xE;
}

/* Network or broadcast address of the subnet; RFC 3021 makes both usable on /31, /32 has one. */
static bool is_net_or_bcast(uint32_t a, uint8_t prefix_len)
{
    if (prefix_len >= 31) {
        return false;
    }
    uint32_t host = a & ~prefix_mask(prefix_len);
    return host == 0 || host == ~prefix_mask(prefix_len);
}

/* "a.b.c.d" or "a.b.c.d/len"; has_len tells which. */
static esp_err_t parse_addr_with_len(const char *text, uint8_t addr[4], uint8_t *len,
                                     bool *has_len)
{
    const char *slash = strchr(text, '/');
    if (!slash) {
        *has_len = false;
        return ip4_parse_addr(text, addr);
    }
    size_t n = (size_t)(slash - text);
    if (n >= IP4_TEXT_MAX) {
        return ESP_ERR_INVALID_ARG;
    }
    char buf[IP4_TEXT_MAX];
    memcpy(buf, text, n);
    buf[n] = '\0';
    *has_len = true;
    if (ip4_parse_addr(buf, addr) != ESP_OK) {
        return ESP_ERR_INVALID_ARG;
    }
    return parse_prefix_len(slash, len);
}

static bool is_dns_separator(char c)
{
    return c == ',' || c == ' ' || c == '\t';
}

/* Runs of separators count as one, so "a, b" and "a b" both work. */
static esp_err_t parse_dns_list(const char *text, uint8_t dns[IP_CONFIG_MAX_DNS][4],
                                uint8_t *count)
{
    *count = 0;
    const char *p = text;
    while (*p) {
        while (is_dns_separator(*p)) {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        size_t n = 0;
        while (p[n] && !is_dns_separator(p[n])) {
            n++;
        }
        if (n >= IP4_TEXT_MAX || *count == IP_CONFIG_MAX_DNS) {
            return ESP_ERR_INVALID_ARG;
        }
        char buf[IP4_TEXT_MAX];
        memcpy(buf, p, n);
        buf[n] = '\0';
        if (ip4_parse_addr(buf, dns[*count]) != ESP_OK || !is_unicast(to_u32(dns[*count]))) {
            return ESP_ERR_INVALID_ARG;
        }
        (*count)++;
        p += n;
    }
    return ESP_OK;
}

esp_err_t ip4_config_parse(const char *addr, const char *netmask, const char *gateway,
                           const char *dns, ip4_config_t *out)
{
    if (is_empty(addr) || !out) {
        return ESP_ERR_INVALID_ARG;
    }
    ip4_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));

    bool has_len;
    uint8_t len_from_addr = 0;
    if (parse_addr_with_len(addr, cfg.addr, &len_from_addr, &has_len) != ESP_OK) {
        return ESP_ERR_INVALID_ARG;
    }
    if (is_empty(netmask)) {
        if (!has_len) {
            return ESP_ERR_INVALID_ARG; /* no prefix length anywhere */
        }
        cfg.prefix_len = len_from_addr;
    } else {
        if (ip4_parse_netmask(netmask, &cfg.prefix_len) != ESP_OK) {
            return ESP_ERR_INVALID_ARG;
        }
        /* Both given: they must agree rather than one silently winning. */
        if (has_len && len_from_addr != cfg.prefix_len) {
            return ESP_ERR_INVALID_ARG;
        }
    }

    uint32_t a = to_u32(cfg.addr);
    if (!is_unicast(a) || is_net_or_bcast(a, cfg.prefix_len)) {
        return ESP_ERR_INVALID_ARG;
    }

    if (!is_empty(gateway)) {
        if (ip4_parse_addr(gateway, cfg.gateway) != ESP_OK) {
            return ESP_ERR_INVALID_ARG;
        }
        uint32_t g = to_u32(cfg.gateway);
        uint32_t m = prefix_mask(cfg.prefix_len);
        /* The gateway must be on-link (ARP reachable); on /32 nothing else is. */
        if (!is_unicast(g) || g == a || (g & m) != (a & m) || is_net_or_bcast(g, cfg.prefix_len)) {
            return ESP_ERR_INVALID_ARG;
        }
        cfg.has_gateway = true;
    }

    if (!is_empty(dns) && parse_dns_list(dns, cfg.dns, &cfg.dns_count) != ESP_OK) {
        return ESP_ERR_INVALID_ARG;
    }

    *out = cfg;
    return ESP_OK;
}
