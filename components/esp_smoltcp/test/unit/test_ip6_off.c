/*
 * ipv4_only/ip6_off.c, the IPv6 interface of an IPv4-only build
 * (Kconfig ESP_SMOLTCP_IPV6=n): says it is not there, never asks for a
 * timer, never reports an address, router or DNS server.
 */
#include <stdint.h>

#include "ip6_dhcp6.h"
#include "ip6_nd.h"
#include "ip6_slaac.h"
#include "unit_test.h"

static void test_nothing_there(void)
{
    CHECK(!ip6_supported());
    ip6_start(0);
    static const uint8_t ra[14 + 40 + 16] = {[12] = 0x86, [13] = 0xdd, [14] = 0x60, [20] = 58, [21] = 255, [54] = 134};
    ip6_rx_snoop(ra, sizeof(ra));
    nd_msg_t m;
    CHECK(!nd_parse(ra, sizeof(ra), &m));
    CHECK(ip6_after_poll(1000000) == UINT64_MAX);
    CHECK(!ip6_has_global());
    dhcp6_request(0);
    CHECK(dhcp6_after_poll(1000000) == UINT64_MAX);
    uint8_t dns[3][16];
    CHECK_EQ(ip6_rdnss_servers(dns, 3), 0);
    CHECK_EQ(dhcp6_dns_servers(dns, 3), 0);
    esp_smoltcp_ip6_info_t info;
    memset(&info, 0xa5, sizeof(info));
    ip6_get_info(0, &info);
    CHECK_EQ(info.addr_count, 0);
    CHECK(!info.has_router);
    CHECK_EQ(info.dns_count, 0);
    dhcp6_stop();
    ip6_stop();
}

/* Full RFC 4291 §2.2 form: eight groups, no "::". */
static void test_fmt(void)
{
    static const uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    char b[40];
    CHECK(strcmp(ip6_fmt(a, b), "2001:db8:0:0:0:0:0:1") == 0);
}

int main(void)
{
    RUN(test_nothing_there);
    RUN(test_fmt);
    return UNIT_TEST_END();
}
