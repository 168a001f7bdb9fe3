/*
 * Unit tests for core/ip_config.c: strict dotted-quad parsing, wire byte
 * order, netmask and prefix forms for every length, and the whole-config
 * checks (gateway on-link, network/broadcast address, DNS list limits).
 */
#include <stdint.h>
#include <string.h>

#include "ip_config.h"
#include "unit_test.h"

static void test_parse_addr_ok(void)
{
    uint8_t a[4] = {0};
    CHECK_EQ(ip4_parse_addr("198.18.0.2", a), ESP_OK);
    static const uint8_t want[4] = {198, 18, 0, 2}; /* wire order, first octet first */
    CHECK_MEM(a, want, 4);
    CHECK_EQ(ip4_parse_addr("0.0.0.0", a), ESP_OK);
    CHECK(a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == 0);
    CHECK_EQ(ip4_parse_addr("255.255.255.255", a), ESP_OK);
    CHECK(a[0] == 255 && a[3] == 255);
    /* Leading zeros are decimal, never octal. */
    CHECK_EQ(ip4_parse_addr("010.001.000.099", a), ESP_OK);
    static const uint8_t dec[4] = {10, 1, 0, 99};
    CHECK_MEM(a, dec, 4);
}

static void test_parse_addr_rejects(void)
{
    static const char *const bad[] = {
        "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.256", "1.2.3.4x", "x1.2.3.4", " 1.2.3.4",
        "1.2.3.4 ", "1.2.3.4\n", "1..3.4", ".1.2.3", "1.2.3.", "1.2.3.-4", "+1.2.3.4", "0x1.2.3.4",
        "1.2.3.0004", "1000.2.3.4", "1,2,3,4", "1.2.3.4/24", "999999999999.1.1.1", "a.b.c.d",
    };
    uint8_t a[4] = {7, 7, 7, 7};
    unsigned accepted = 0;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ip4_parse_addr(bad[i], a) != ESP_ERR_INVALID_ARG) {
            FAILF("accepted \"%s\"", bad[i]);
            accepted++;
        }
    }
    CHECK_EQ(accepted, 0);
    CHECK(a[0] == 7 && a[1] == 7 && a[2] == 7 && a[3] == 7); /* untouched on error */
    CHECK_EQ(ip4_parse_addr(NULL, a), ESP_ERR_INVALID_ARG);
    CHECK_EQ(ip4_parse_addr("1.2.3.4", NULL), ESP_ERR_INVALID_ARG);
}

static void test_netmask_all_prefixes(void)
{
    unsigned errors = 0;
    for (unsigned len = 0; len <= 32; len++) {
        uint8_t m[4];
        ip4_prefix_to_mask((uint8_t)len, m);
        char text[20];
        snprintf(text, sizeof(text), "%u.%u.%u.%u", m[0], m[1], m[2], m[3]);
        uint8_t got = 99;
        if (ip4_parse_netmask(text, &got) != ESP_OK || got != len) {
            FAILF("mask %s -> %u", text, got);
            errors++;
        }
        snprintf(text, sizeof(text), "%u", len);
        if (ip4_parse_netmask(text, &got) != ESP_OK || got != len) {
            errors++;
        }
        snprintf(text, sizeof(text), "/%u", len);
        if (ip4_parse_netmask(text, &got) != ESP_OK || got != len) {
            errors++;
        }
    }
    CHECK_EQ(errors, 0);

    uint8_t m[4];
    ip4_prefix_to_mask(22, m);
    CHECK(m[0] == 255 && m[1] == 255 && m[2] == 252 && m[3] == 0);
    ip4_prefix_to_mask(0, m);
    CHECK(m[0] == 0 && m[1] == 0 && m[2] == 0 && m[3] == 0);
    ip4_prefix_to_mask(32, m);
    CHECK(m[0] == 255 && m[3] == 255);
    ip4_prefix_to_mask(31, m);
    CHECK(m[3] == 254);
    ip4_prefix_to_mask(200, m); /* out of range clamps to /32 */
    CHECK(m[0] == 255 && m[3] == 255);

    uint8_t len = 0;
    CHECK_EQ(ip4_parse_netmask("255.255.252.0", &len), ESP_OK);
    CHECK_EQ(len, 22);
    CHECK_EQ(ip4_parse_netmask("255.0.0.0", &len), ESP_OK);
    CHECK_EQ(len, 8);
}

static void test_netmask_rejects(void)
{
    static const char *const bad[] = {
        "255.255.253.0", "255.0.255.0", "0.255.255.255", "255.255.255.1", "128.0.0.1",
        "33", "/33", "100", "", "/", "//24", "24/", "-1", "2 4", " 24", "24 ", "255.255.255",
        "255.255.256.0", "0x18", "024",
    };
    unsigned accepted = 0;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t len = 77;
        if (ip4_parse_netmask(bad[i], &len) != ESP_ERR_INVALID_ARG) {
            FAILF("accepted netmask \"%s\" as /%u", bad[i], len);
            accepted++;
        }
    }
    CHECK_EQ(accepted, 0);
    uint8_t len;
    CHECK_EQ(ip4_parse_netmask(NULL, &len), ESP_ERR_INVALID_ARG);
}

static void test_config_prefixes(void)
{
    ip4_config_t c;
    CHECK_EQ(ip4_config_parse("198.18.0.2", "255.255.255.0", "198.18.0.1", NULL, &c), ESP_OK);
    static const uint8_t addr[4] = {198, 18, 0, 2}, gw[4] = {198, 18, 0, 1};
    CHECK_MEM(c.addr, addr, 4);
    CHECK_EQ(c.prefix_len, 24);
    CHECK(c.has_gateway);
    CHECK_MEM(c.gateway, gw, 4);
    CHECK_EQ(c.dns_count, 0);

    CHECK_EQ(ip4_config_parse("10.1.2.3/8", NULL, "10.255.0.1", "", &c), ESP_OK);
    CHECK_EQ(c.prefix_len, 8);
    CHECK_EQ(ip4_config_parse("198.18.1.200", "255.255.252.0", "198.18.3.254", NULL, &c), ESP_OK);
    CHECK_EQ(c.prefix_len, 22);
    CHECK_EQ(ip4_config_parse("198.18.0.2/22", "", "", NULL, &c), ESP_OK);
    CHECK(!c.has_gateway);
    CHECK_EQ(ip4_config_parse("198.18.0.2", "/24", NULL, NULL, &c), ESP_OK);
    CHECK_EQ(c.prefix_len, 24);
    CHECK_EQ(ip4_config_parse("198.18.0.2/24", "255.255.255.0", NULL, NULL, &c), ESP_OK);

    /* /30: .1 and .2 usable, .0 and .3 not. */
    CHECK_EQ(ip4_config_parse("198.18.0.1/30", NULL, "198.18.0.2", NULL, &c), ESP_OK);
    CHECK_EQ(ip4_config_parse("198.18.0.0/30", NULL, NULL, NULL, &c), ESP_ERR_INVALID_ARG);
    CHECK_EQ(ip4_config_parse("198.18.0.3/30", NULL, NULL, NULL, &c), ESP_ERR_INVALID_ARG);
    CHECK_EQ(ip4_config_parse("198.18.0.1/30", NULL, "198.18.0.3", NULL, &c), ESP_ERR_INVALID_ARG);
    CHECK_EQ(ip4_config_parse("198.18.0.1/30", NULL, "198.18.0.5", NULL, &c), ESP_ERR_INVALID_ARG);

    /* /31 (RFC 3021): both addresses usable, the other one can be the gateway. */
    CHECK_EQ(ip4_config_parse("198.18.0.0/31", NULL, "198.18.0.1", NULL, &c), ESP_OK);
    CHECK_EQ(c.prefix_len, 31);
    CHECK_EQ(ip4_config_parse("198.18.0.1", "255.255.255.254", "198.18.0.0", NULL, &c), ESP_OK);

    /* /32: a host route; no other address is on-link, so no gateway. */
    CHECK_EQ(ip4_config_parse("198.18.0.7/32", NULL, NULL, NULL, &c), ESP_OK);
    CHECK_EQ(c.prefix_len, 32);
    CHECK_EQ(ip4_config_parse("198.18.0.7/32", NULL, "198.18.0.1", NULL, &c), ESP_ERR_INVALID_ARG);

    /* /0: everything is on-link. */
    CHECK_EQ(ip4_config_parse("198.18.0.2/0", NULL, "203.0.113.1", NULL, &c), ESP_OK);
    CHECK_EQ(c.prefix_len, 0);

    /* /24 network and broadcast addresses. */
    CHECK_EQ(ip4_config_parse("198.18.0.0/24", NULL, NULL, NULL, &c), ESP_ERR_INVALID_ARG);
    CHECK_EQ(ip4_config_parse("198.18.0.255/24", NULL, NULL, NULL, &c), ESP_ERR_INVALID_ARG);
    /* ...but x.x.x.0 is an ordinary host in a /22. */
    CHECK_EQ(ip4_config_parse("198.18.1.0/22", NULL, NULL, NULL, &c), ESP_OK);
    CHECK_EQ(ip4_config_parse("198.18.3.255/22", NULL, NULL, NULL, &c), ESP_ERR_INVALID_ARG);
}

static void test_config_gateway(void)
{
    ip4_config_t c;
    CHECK_EQ(ip4_config_parse("198.18.0.2/24", NULL, "198.18.1.1", NULL, &c), ESP_ERR_INVALID_ARG);
    CHECK_EQ(ip4_config_parse("198.18.0.2/24", NULL, "198.18.0.2", NULL, &c), ESP_ERR_INVALID_ARG);
    CHECK_EQ(ip4_config_parse("198.18.0.2/24", NULL, "198.18.0.255", NULL, &c),
             ESP_ERR_INVALID_ARG);
    CHECK_EQ(ip4_config_parse("198.18.0.2/24", NULL, "198.18.0.0", NULL, &c), ESP_ERR_INVALID_ARG);
    CHECK_EQ(ip4_config_parse("198.18.0.2/24", NULL, "198.18.0.1x", NULL, &c),
             ESP_ERR_INVALID_ARG);
    CHECK_EQ(ip4_config_parse("198.18.0.2/23", NULL, "198.18.1.254", NULL, &c), ESP_OK);
    CHECK(c.has_gateway && c.gateway[2] == 1 && c.gateway[3] == 254);
}

static void test_config_dns(void)
{
    ip4_config_t c;
    CHECK_EQ(ip4_config_parse("198.18.0.2/24", NULL, NULL, "", &c), ESP_OK);
    CHECK_EQ(c.dns_count, 0);
    CHECK_EQ(ip4_config_parse("198.18.0.2/24", NULL, NULL, "198.18.0.1", &c), ESP_OK);
    CHECK_EQ(c.dns_count, 1);
    CHECK(c.dns[0][0] == 198 && c.dns[0][3] == 1);
    CHECK_EQ(ip4_config_parse("198.18.0.2/24", NULL, NULL, "198.18.0.1,198.19.0.53", &c), ESP_OK);
    CHECK_EQ(c.dns_count, 2);
    CHECK(c.dns[1][1] == 19 && c.dns[1][3] == 53);
    CHECK_EQ(ip4_config_parse("198.18.0.2/24", NULL, NULL, "198.18.0.1, 198.18.0.2 198.18.0.3",
                              &c),
             ESP_OK);
    CHECK_EQ(c.dns_count, 3);
    CHECK(c.dns[2][3] == 3);
    CHECK_EQ(ip4_config_parse("198.18.0.2/24", NULL, NULL, "1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4", &c),
             ESP_ERR_INVALID_ARG);
    CHECK_EQ(ip4_config_parse("198.18.0.2/24", NULL, NULL, "198.18.0.1;198.18.0.2", &c),
             ESP_ERR_INVALID_ARG);
    CHECK_EQ(ip4_config_parse("198.18.0.2/24", NULL, NULL, "198.18.0.1,dns.example", &c),
             ESP_ERR_INVALID_ARG);
    CHECK_EQ(ip4_config_parse("198.18.0.2/24", NULL, NULL, "198.18.0.1,0.0.0.0", &c),
             ESP_ERR_INVALID_ARG);
    CHECK_EQ(ip4_config_parse("198.18.0.2/24", NULL, NULL, "198.18.0.1000000000000000", &c),
             ESP_ERR_INVALID_ARG);
}

static void test_config_rejects_and_untouched(void)
{
    ip4_config_t c;
    memset(&c, 0xA5, sizeof(c));
    ip4_config_t before = c;
    struct {
        const char *addr, *mask, *gw, *dns;
    } bad[] = {
        {NULL, "24", NULL, NULL},
        {"", "24", NULL, NULL},
        {"198.18.0.2", NULL, NULL, NULL},            /* no prefix anywhere */
        {"198.18.0.2", "", NULL, NULL},
        {"198.18.0.2/24", "255.255.0.0", NULL, NULL}, /* conflicting prefixes */
        {"198.18.0.2/33", NULL, NULL, NULL},
        {"198.18.0.2/", NULL, NULL, NULL},
        {"198.18.0.2/24x", NULL, NULL, NULL},
        {"198.18.0.2/2/4", NULL, NULL, NULL},
        {"198.18.0.2", "255.255.253.0", NULL, NULL},
        {"198.18.0.256/24", NULL, NULL, NULL},
        {"1.2.3/24", NULL, NULL, NULL},
        {"0.0.0.0/0", NULL, NULL, NULL},
        {"255.255.255.255/32", NULL, NULL, NULL},
        {"224.0.0.1/24", NULL, NULL, NULL},
        {"198.18.0.2/24", NULL, "198.18.1.1", NULL},
        {"198.18.0.2/24", NULL, NULL, "1,2"},
        {"1111111111111111111198.18.0.2/24", NULL, NULL, NULL},
    };
    unsigned accepted = 0;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ip4_config_parse(bad[i].addr, bad[i].mask, bad[i].gw, bad[i].dns, &c) !=
            ESP_ERR_INVALID_ARG) {
            FAILF("accepted config #%zu (%s %s)", i, bad[i].addr ? bad[i].addr : "NULL",
                  bad[i].mask ? bad[i].mask : "NULL");
            accepted++;
        }
    }
    CHECK_EQ(accepted, 0);
    CHECK(memcmp(&c, &before, sizeof(c)) == 0);
    CHECK_EQ(ip4_config_parse("198.18.0.2/24", NULL, NULL, NULL, NULL), ESP_ERR_INVALID_ARG);
}

int main(void)
{
    RUN(test_parse_addr_ok);
    RUN(test_parse_addr_rejects);
    RUN(test_netmask_all_prefixes);
    RUN(test_netmask_rejects);
    RUN(test_config_prefixes);
    RUN(test_config_gateway);
    RUN(test_config_dns);
    RUN(test_config_rejects_and_untouched);
    return UNIT_TEST_END();
}
