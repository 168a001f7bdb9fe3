/*
 * Differential test of the shim's address text and netdb functions against
 * glibc, in process, with no network: inet_pton/inet_ntop on fixed and
 * random inputs, and getaddrinfo over every combination of numeric nodes,
 * services and hints that glibc answers without a DNS query. Same return
 * code, same list (family, socktype, protocol, address, port) in the same
 * order, or the case fails.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netdb_compat.h"
#include "unit_test.h"

static void test_pton(void)
{
    static const char *v4[] = {"0.0.0.0", "1.2.3.4", "255.255.255.255", "256.1.1.1", "1.2.3", "1.2.3.4.5",
                               "01.2.3.4", "1.2.3.04", "0.0.0.00", "1..2.3", " 1.2.3.4", "1.2.3.4 ", "", "a.b.c.d",
                               "1.2.3.-4", "198.18.0.1", "127.0.0.1", "1.2.3.4x", "4294967295"};
    for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
        uint8_t a[4] = {0}, b[4] = {0};
        int want = inet_pton(AF_INET, v4[i], a);
        bool got = compat_inet_pton4(v4[i], b);
        if ((want == 1) != got || (got && memcmp(a, b, 4) != 0)) {
            FAILF("inet_pton4(\"%s\"): glibc %d, shim %d", v4[i], want, got);
        } else {
            unit_passed++;
        }
    }
    static const char *v6[] = {"::", "::1", "1::", "2001:db8::1", "2001:DB8:0:0:0:0:0:1", "fe80::1:2:3:4",
                               "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "1::2::3", ":1:2:3:4:5:6:7",
                               "1:2:3:4:5:6:7:", "::ffff:198.18.0.1", "::198.18.0.1", "1:2:3:4:5:6:1.2.3.4",
                               "1:2:3:4:5:6:7:1.2.3.4", "12345::", "g::", "::1.2.3", "::ffff:1.2.3.4.5", "",
                               ":", ":::", "1:::2", "0:0:0:0:0:0:0:0", "::0:0", "1::0:0:0:0:0:0:2"};
    for (size_t i = 0; i < sizeof(v6) / sizeof(v6[0]); i++) {
        uint8_t a[16] = {0}, b[16] = {0};
        int want = inet_pton(AF_INET6, v6[i], a);
        bool got = compat_inet_pton6(v6[i], b);
        if ((want == 1) != got || (got && memcmp(a, b, 16) != 0)) {
            FAILF("inet_pton6(\"%s\"): glibc %d, shim %d", v6[i], want, got);
        } else {
            unit_passed++;
        }
    }
}

static void check_ntop6(const uint8_t a[16])
{
    char want[64], got[64];
    inet_ntop(AF_INET6, a, want, sizeof(want));
    if (!compat_inet_ntop6(a, got, sizeof(got)) || strcmp(want, got) != 0) {
        FAILF("inet_ntop6: glibc \"%s\", shim \"%s\"", want, compat_inet_ntop6(a, got, sizeof(got)) ? got : "(null)");
    } else {
        unit_passed++;
    }
}

static void test_ntop(void)
{
    static const char *fixed[] = {"::", "::1", "1::", "2001:db8::1", "::ffff:1.2.3.4", "::1.2.3.4", "::ffff:0.0.0.0",
                                  "1:0:0:2:0:0:0:3", "1:0:0:2:0:0:3:4", "0:1:0:1:0:1:0:1", "fe80::2:0:0:0",
                                  "1:2:3:4:5:6:7:8", "::2:3:4:5:6:7:8", "1:2:3:4:5:6:7::"};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        uint8_t a[16];
        inet_pton(AF_INET6, fixed[i], a);
        check_ntop6(a);
    }
    srand(1234);
    for (int n = 0; n < 2000; n++) {
        uint8_t a[16];
        for (int g = 0; g < 8; g++) {
            /* Mostly zero groups, so runs of every length and position occur. */
            uint16_t v = (rand() % 3 == 0) ? (uint16_t)(rand() & (rand() % 2 ? 0xffff : 0xf)) : 0;
            a[2 * g] = (uint8_t)(v >> 8);
            a[2 * g + 1] = (uint8_t)v;
        }
        check_ntop6(a);
    }
    uint8_t v4[4] = {198, 18, 0, 1};
    char buf[16];
    CHECK(compat_inet_ntop4(v4, buf, sizeof(buf)) && strcmp(buf, "198.18.0.1") == 0);
    CHECK(compat_inet_ntop4(v4, buf, 10) == NULL); /* ENOSPC-style: too small */
}

/* One line per entry: "family socktype protocol addr port". */
static void describe(const struct addrinfo *ai, char *out, size_t len)
{
    size_t pos = 0;
    out[0] = '\0';
    for (; ai && pos < len; ai = ai->ai_next) {
        char addr[64] = "?";
        unsigned port = 0;
        if (ai->ai_family == AF_INET) {
            const struct sockaddr_in *in = (const void *)ai->ai_addr;
            inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
            port = ntohs(in->sin_port);
        } else if (ai->ai_family == AF_INET6) {
            const struct sockaddr_in6 *in6 = (const void *)ai->ai_addr;
            inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr));
            port = ntohs(in6->sin6_port);
        }
        pos += (size_t)snprintf(out + pos, len - pos, "[%d %d %d %s %u%s%s] ", ai->ai_family, ai->ai_socktype,
                                ai->ai_protocol, addr, port, ai->ai_canonname ? " " : "",
                                ai->ai_canonname ? ai->ai_canonname : "");
    }
}

static void test_getaddrinfo_numeric(void)
{
    static const char *nodes[] = {NULL, "198.18.0.5", "127.0.0.1", "::1", "2001:db8::7", "1.2.3", "::ffff:1.2.3.4"};
    static const char *svcs[] = {NULL, "80", "0", "65535", "65536", "http", "no-such-service", "-1"};
    static const int fams[] = {AF_UNSPEC, AF_INET, AF_INET6, 12345};
    static const int types[] = {0, SOCK_STREAM, SOCK_DGRAM, SOCK_RAW};
    static const int flagsets[] = {AI_NUMERICHOST, AI_NUMERICHOST | AI_PASSIVE, AI_NUMERICHOST | AI_NUMERICSERV,
                                   AI_NUMERICHOST | AI_CANONNAME, AI_PASSIVE, 0};
    struct addrinfo *probe = NULL;
    bool have_services = getaddrinfo(NULL, "http", NULL, &probe) == 0;
    if (probe) {
        freeaddrinfo(probe);
    }
    unsigned cases = 0;
    for (size_t n = 0; n < sizeof(nodes) / sizeof(nodes[0]); n++)
    for (size_t s = 0; s < sizeof(svcs) / sizeof(svcs[0]); s++)
    for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++)
    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
    for (size_t fl = 0; fl < sizeof(flagsets) / sizeof(flagsets[0]); fl++) {
        const char *node = nodes[n], *svc = svcs[s];
        int flags = flagsets[fl];
        /* Only what glibc answers without DNS: a numeric node or none. */
        if (node && !(flags & AI_NUMERICHOST) && strcmp(node, "1.2.3") == 0) {
            continue;
        }
        if (!have_services && svc && strcmp(svc, "http") == 0) {
            continue;
        }
        struct addrinfo hints = {.ai_family = fams[f], .ai_socktype = types[t], .ai_flags = flags};
        struct addrinfo *a = NULL, *b = NULL;
        int ra = getaddrinfo(node, svc, &hints, &a);
        int rb = compat_getaddrinfo(node, svc, &hints, &b);
        char da[1024], db[1024];
        describe(ra == 0 ? a : NULL, da, sizeof(da));
        describe(rb == 0 ? b : NULL, db, sizeof(db));
        cases++;
        if (ra != rb || strcmp(da, db) != 0) {
            FAILF("getaddrinfo(%s, %s, fam %d type %d flags %#x): glibc %d {%s} shim %d {%s}", node ? node : "NULL",
                  svc ? svc : "NULL", fams[f], types[t], (unsigned)flags, ra, da, rb, db);
        } else {
            unit_passed++;
        }
        if (a) {
            freeaddrinfo(a);
        }
        compat_freeaddrinfo(b);
    }
    printf("getaddrinfo: %u combinations compared\n", cases);
    CHECK(cases > 1000);
    struct addrinfo *r = (struct addrinfo *)1;
    CHECK_EQ(compat_getaddrinfo(NULL, NULL, NULL, &r), EAI_NONAME);
    CHECK(r == NULL);
}

int main(void)
{
    RUN(test_pton);
    RUN(test_ntop);
    RUN(test_getaddrinfo_numeric);
    return UNIT_TEST_END();
}
