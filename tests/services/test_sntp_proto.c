/*
 * SNTP's pure parts without a network: NTP timestamp conversion across the
 * 2036 era boundary, the request, every reply check (RFC 4330 §5/§8, RFC 5905
 * §7.4/§8) including a forged kiss-o'-death, offset/delay, server strings,
 * and the software clock's step and bounded slew.
 */
#include <errno.h>

#include "sntp_proto.h"
#include "swclock.h"
#include "unit_test.h"

#define S 1000000LL

static void put_ts(uint8_t *p, ntp_ts_t t)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(t >> (56 - 8 * i));
    }
}

static void test_ntp_time(void)
{
    CHECK(ntp_from_unix_us(0) == (ntp_ts_t)NTP_UNIX_OFFSET << 32);
    CHECK_EQ(ntp_to_unix_us((ntp_ts_t)NTP_UNIX_OFFSET << 32), 0);
    CHECK(ntp_from_unix_us(S / 2) == ((ntp_ts_t)NTP_UNIX_OFFSET << 32 | 0x80000000u));
    /* 2036-02-07T06:28:16Z: NTP seconds wrap to 0, era 1 (RFC 4330 §3). */
    int64_t wrap = 2085978496LL * S;
    CHECK(ntp_from_unix_us(wrap) == 0);
    CHECK_EQ(ntp_to_unix_us(0), wrap);
    CHECK_EQ(ntp_to_unix_us(ntp_from_unix_us(wrap + 1234567)), wrap + 1234567);
    /* Round trip to the microsecond over 1970..2100. */
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 10000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t us = (int64_t)(x % (uint64_t)(4102444800LL * S)); /* < 2100-01-01 */
        int64_t back = ntp_to_unix_us(ntp_from_unix_us(us));
        if (back != us) {
            FAILF("round trip %lld -> %lld", (long long)us, (long long)back);
            break;
        }
    }
    CHECK(true);
}

/* A good server reply to nonce: LI 0, VN 4, mode 4, stratum 2. */
static void good_reply(uint8_t p[48], ntp_ts_t nonce)
{
    memset(p, 0, 48);
    p[0] = (0 << 6) | (4 << 3) | 4;
    p[1] = 2;
    memcpy(p + 12, "\xC6\x12\x00\x01", 4);
    put_ts(p + 24, nonce);
    put_ts(p + 32, ntp_from_unix_us(1700000000LL * S));
    put_ts(p + 40, ntp_from_unix_us(1700000000LL * S + 30));
}

static void test_request_and_checks(void)
{
    uint8_t req[48];
    sntp_build_request(req, 0x0123456789ABCDEFull);
    CHECK_EQ(req[0], 0x23); /* LI 0, VN 4, mode 3 */
    CHECK(req[40] == 0x01 && req[47] == 0xEF);
    for (int i = 1; i < 40; i++) {
        CHECK_EQ(req[i], 0);
    }
    const ntp_ts_t nonce = 0x1111222233334444ull;
    uint8_t p[48];
    sntp_reply_t r;
    good_reply(p, nonce);
    CHECK_EQ(sntp_check_reply(p, 48, nonce, &r), ESP_SMOLTCP_SNTP_OK);
    CHECK_EQ(r.stratum, 2);
    CHECK_EQ(ntp_to_unix_us(r.xmt) - ntp_to_unix_us(r.rec), 30);
    CHECK_EQ(sntp_check_reply(p, 47, nonce, &r), ESP_SMOLTCP_SNTP_ERR_BAD_LENGTH);
    CHECK_EQ(sntp_check_reply(p, 48, nonce + 1, &r), ESP_SMOLTCP_SNTP_ERR_BAD_ORIGIN);
    CHECK(sntp_status_is_bogus(ESP_SMOLTCP_SNTP_ERR_BAD_ORIGIN) && !sntp_status_is_bogus(ESP_SMOLTCP_SNTP_ERR_BAD_MODE));

    good_reply(p, nonce);
    p[0] = (4 << 3) | 3; /* mode 3: a client's packet */
    CHECK_EQ(sntp_check_reply(p, 48, nonce, &r), ESP_SMOLTCP_SNTP_ERR_BAD_MODE);
    p[0] = (4 << 3) | 5; /* broadcast */
    CHECK_EQ(sntp_check_reply(p, 48, nonce, &r), ESP_SMOLTCP_SNTP_ERR_BAD_MODE);
    good_reply(p, nonce);
    p[0] = (0 << 3) | 4;
    CHECK_EQ(sntp_check_reply(p, 48, nonce, &r), ESP_SMOLTCP_SNTP_ERR_BAD_VERSION);
    p[0] = (5 << 3) | 4;
    CHECK_EQ(sntp_check_reply(p, 48, nonce, &r), ESP_SMOLTCP_SNTP_ERR_BAD_VERSION);
    p[0] = (3 << 3) | 4; /* an NTPv3 server is fine */
    CHECK_EQ(sntp_check_reply(p, 48, nonce, &r), ESP_SMOLTCP_SNTP_OK);

    static const struct {
        const char *code;
        esp_smoltcp_sntp_status_t st;
    } kod[] = {{"RATE", ESP_SMOLTCP_SNTP_ERR_KOD_RATE}, {"DENY", ESP_SMOLTCP_SNTP_ERR_KOD_DENY},
               {"RSTR", ESP_SMOLTCP_SNTP_ERR_KOD_RSTR}, {"INIT", ESP_SMOLTCP_SNTP_ERR_KOD_OTHER}};
    for (size_t i = 0; i < 4; i++) {
        good_reply(p, nonce);
        p[1] = 0;
        memcpy(p + 12, kod[i].code, 4);
        p[0] = (3 << 6) | (4 << 3) | 4; /* KoDs often carry LI 3: the kiss is still the reason */
        CHECK_EQ(sntp_check_reply(p, 48, nonce, &r), kod[i].st);
        CHECK_MEM(r.kiss, kod[i].code, 5);
        /* A KoD that is not an answer to us (forged, off-path) is bogus, not a kiss. */
        CHECK_EQ(sntp_check_reply(p, 48, nonce ^ 1, &r), ESP_SMOLTCP_SNTP_ERR_BAD_ORIGIN);
    }
    good_reply(p, nonce);
    p[0] = (3 << 6) | (4 << 3) | 4;
    CHECK_EQ(sntp_check_reply(p, 48, nonce, &r), ESP_SMOLTCP_SNTP_ERR_UNSYNCHRONISED);
    good_reply(p, nonce);
    p[1] = 16;
    CHECK_EQ(sntp_check_reply(p, 48, nonce, &r), ESP_SMOLTCP_SNTP_ERR_UNSYNCHRONISED);
    good_reply(p, nonce);
    memset(p + 40, 0, 8);
    CHECK_EQ(sntp_check_reply(p, 48, nonce, &r), ESP_SMOLTCP_SNTP_ERR_ZERO_TRANSMIT);
    CHECK(strcmp(esp_smoltcp_sntp_status_name(ESP_SMOLTCP_SNTP_ERR_KOD_RATE), "kod_rate") == 0);
    CHECK(strcmp(esp_smoltcp_sntp_status_name((esp_smoltcp_sntp_status_t)99), "unknown") == 0);
}

static void test_offset_delay(void)
{
    int64_t off, del;
    /* Server 1000 us ahead, 50 us each way, 10 us in the server. */
    sntp_offset_delay(0, 1050, 1060, 110, &off, &del);
    CHECK_EQ(off, 1000);
    CHECK_EQ(del, 100);
    /* First sync: client at 1970 + uptime, server in 2025. No overflow. */
    int64_t t1 = 5 * S, t2 = 1750000000LL * S, t3 = t2 + 20, t4 = t1 + 300;
    sntp_offset_delay(t1, t2, t3, t4, &off, &del);
    CHECK_EQ(del, 280);
    CHECK(off > (1750000000LL - 6) * S && off < 1750000000LL * S);
}

static void test_parse_server(void)
{
    char host[64];
    uint16_t port;
    esp_smoltcp_endpoint_t lit;
    CHECK_EQ(sntp_parse_server("198.18.0.1", host, sizeof(host), &port, &lit), 0);
    CHECK(lit.family == ESP_SMOLTCP_AF_INET && lit.port == 123 && lit.addr[0] == 198 && lit.addr[3] == 1);
    CHECK_EQ(host[0], '\0');
    CHECK_EQ(sntp_parse_server("198.18.0.1:1123", host, sizeof(host), &port, &lit), 0);
    CHECK(lit.family == ESP_SMOLTCP_AF_INET && lit.port == 1123);
    CHECK_EQ(sntp_parse_server("ntp.esst.test", host, sizeof(host), &port, &lit), 0);
    CHECK(lit.family == 0 && port == 123 && strcmp(host, "ntp.esst.test") == 0);
    CHECK_EQ(sntp_parse_server("ntp.esst.test:4123", host, sizeof(host), &port, &lit), 0);
    CHECK(port == 4123 && strcmp(host, "ntp.esst.test") == 0);
    CHECK_EQ(sntp_parse_server("2001:db8::1", host, sizeof(host), &port, &lit), 0);
    static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    CHECK(lit.family == ESP_SMOLTCP_AF_INET6 && lit.port == 123);
    CHECK_MEM(lit.addr, v6, 16);
    CHECK_EQ(sntp_parse_server("[2001:db8::1]:124", host, sizeof(host), &port, &lit), 0);
    CHECK(lit.family == ESP_SMOLTCP_AF_INET6 && lit.port == 124);
    CHECK_MEM(lit.addr, v6, 16);
    CHECK_EQ(sntp_parse_server("fe80::", host, sizeof(host), &port, &lit), 0);
    CHECK(lit.addr[0] == 0xfe && lit.addr[1] == 0x80 && lit.addr[15] == 0);
    CHECK_EQ(sntp_parse_server("1:2:3:4:5:6:7:8", host, sizeof(host), &port, &lit), 0);
    CHECK(lit.addr[14] == 0 && lit.addr[15] == 8);
    const char *bad[] = {"", ":123", "host:", "host:0", "host:70000", "1::2::3", "[2001:db8::1", "[::1]x",
                         "1:2:3:4:5:6:7:8:9", "12345::1", "1:2:3"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (sntp_parse_server(bad[i], host, sizeof(host), &port, &lit) != -EINVAL) {
            FAILF("accepted bad server string \"%s\"", bad[i]);
        }
    }
    CHECK_EQ(sntp_parse_server(NULL, host, sizeof(host), &port, &lit), -EINVAL);
}

static void test_swclock(void)
{
    swclock_t c = {0};
    CHECK_EQ(swclock_read(&c, 5 * S), 5 * S);
    swclock_step(&c, 5 * S, 1700000000LL * S);
    CHECK_EQ(swclock_read(&c, 6 * S), 1700000006LL * S);
    /* +1000 us at 500 ppm: 500 us after one second, all of it after two, no more after. */
    int64_t base = swclock_read(&c, 10 * S);
    swclock_slew(&c, 10 * S, 1000, 500);
    CHECK_EQ(swclock_read(&c, 11 * S) - base, 1 * S + 500);
    CHECK_EQ(swclock_slew_left(&c, 11 * S), 500);
    CHECK_EQ(swclock_read(&c, 12 * S) - base, 2 * S + 1000);
    CHECK_EQ(swclock_read(&c, 20 * S) - base, 10 * S + 1000);
    CHECK_EQ(swclock_slew_left(&c, 20 * S), 0);
    /* A negative slew never runs the clock backwards. */
    swclock_slew(&c, 20 * S, -3000, 500);
    int64_t prev = swclock_read(&c, 20 * S);
    bool monotonic = true;
    for (int64_t t = 20 * S; t <= 30 * S; t += 1000) {
        int64_t v = swclock_read(&c, (uint64_t)t);
        monotonic = monotonic && v >= prev;
        prev = v;
    }
    CHECK(monotonic);
    CHECK_EQ(swclock_read(&c, 30 * S) - swclock_read(&c, 20 * S), 10 * S - 3000);
    /* A new slew halfway replaces the rest of the old one; a step drops it. */
    swclock_slew(&c, 40 * S, 2000, 1000);
    int64_t at41 = swclock_read(&c, 41 * S);
    swclock_slew(&c, 41 * S, -500, 1000);
    CHECK_EQ(swclock_read(&c, 42 * S) - at41, 1 * S - 500);
    swclock_slew(&c, 50 * S, 10000, 500);
    int64_t at51 = swclock_read(&c, 51 * S);
    swclock_step(&c, 51 * S, 7);
    CHECK_EQ(swclock_read(&c, 52 * S) - at51, 1 * S + 7);
    CHECK_EQ(swclock_slew_left(&c, 52 * S), 0);
}

int main(void)
{
    RUN(test_ntp_time);
    RUN(test_request_and_checks);
    RUN(test_offset_delay);
    RUN(test_parse_server);
    RUN(test_swclock);
    return UNIT_TEST_END();
}
