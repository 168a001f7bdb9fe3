/*
 * IPv4-only build (Kconfig ESP_SMOLTCP_IPV6=n): the runtime's IPv6 interface
 * (ip6_slaac.h, ip6_dhcp6.h, ip6_nd.h) with nothing behind it. It is linked
 * instead of the IPv6-only sources, src/core/ip6_*.c (router discovery, SLAAC,
 * DAD, RDNSS, DHCPv6, the ND parser: about 8.7 KB of rv32 code), by the
 * component's CMakeLists.txt and by scripts/size.sh's ipv4 profile. The host
 * build always has IPv6 and never compiles this file (except its unit test).
 *
 * The glue is built without smoltcp's IPv6 then, so there is no link-local
 * address to start from: no address, router or IPv6 DNS server ever appears.
 * Public calls that ask for IPv6 say so: esp_smoltcp_get_ip6_info(),
 * esp_smoltcp_wait_for_ip_kind(IPV6_GLOBAL / BOTH) and esp_smoltcp_ping() to
 * an IPv6 target return ESP_ERR_NOT_SUPPORTED (they ask ip6_supported()).
 */
#include <stdio.h>
#include <string.h>

#include "esp_log.h"
#include "ip6_dhcp6.h"
#include "ip6_nd.h"
#include "ip6_slaac.h"

static const char *TAG = "esp_smoltcp";

bool ip6_supported(void)
{
    return false;
}

/* Only called when the configuration asks for SLAAC: say once why nothing happens. */
void ip6_start(uint64_t now_us)
{
    (void)now_us;
    ESP_LOGW(TAG, "ipv6_slaac ignored: IPv4-only build (CONFIG_ESP_SMOLTCP_IPV6=n)");
}

void ip6_rx_snoop(const uint8_t *frame, size_t len)
{
    (void)frame, (void)len;
}

uint64_t ip6_after_poll(uint64_t now_us)
{
    (void)now_us;
    return UINT64_MAX;
}

void ip6_stop(void)
{
}

void ip6_link_up(uint64_t now_us)
{
    (void)now_us;
}

bool ip6_has_global(void)
{
    return false;
}

void ip6_get_info(uint64_t now_us, esp_smoltcp_ip6_info_t *out)
{
    (void)now_us;
    memset(out, 0, sizeof(*out));
}

size_t ip6_rdnss_servers(uint8_t (*out)[16], size_t max)
{
    (void)out, (void)max;
    return 0;
}

void dhcp6_request(uint64_t now_us)
{
    (void)now_us;
}

uint64_t dhcp6_after_poll(uint64_t now_us)
{
    (void)now_us;
    return UINT64_MAX;
}

void dhcp6_stop(void)
{
}

size_t dhcp6_dns_servers(uint8_t (*out)[16], size_t max)
{
    (void)out, (void)max;
    return 0;
}

bool nd_parse(const uint8_t *frame, size_t len, nd_msg_t *out)
{
    (void)frame, (void)len, (void)out;
    return false;
}

/* Eight groups, no zero compression: valid RFC 4291 §2.2 text, not RFC 5952's canonical form.
 * Nothing here reaches it (ping refuses IPv6 targets first); kept so the interface is whole. */
char *ip6_fmt(const uint8_t a[16], char *buf)
{
    char *p = buf;
    for (int i = 0; i < 16; i += 2) {
        p += sprintf(p, i ? ":%x" : "%x", (unsigned)(a[i] << 8 | a[i + 1]));
    }
    return buf;
}
