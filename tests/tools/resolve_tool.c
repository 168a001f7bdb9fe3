/*
 * Resolve names through the stack (DHCP or static DNS) with the BSD netdb
 * API, as an IDF app would, and print one JSON line per query:
 *   resolve_tool --tap tap0 [--static A/LEN --gw G --dns "D1,D2"] [--wait v4|v6|both] [--mdns HOST] NAME:FAMILY ...
 * FAMILY is 4, 6 or 0 (AF_UNSPEC). Used by tests/e2e/test_dns.py, which
 * compares the answers with the Linux resolver's for the same queries.
 * --mdns HOST starts the mDNS responder as HOST.local, which also sends .local
 * names to mDNS (tests/e2e/test_mdns.py).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "esp_smoltcp.h"
#include "esp_smoltcp_host_netdb.h"
#include "esp_smoltcp_mdns.h"
#include "esp_smoltcp_tap.h"

static const char *eai_name(int rc)
{
    switch (rc) {
    case 0: return "OK";
    case EAI_NONAME: return "EAI_NONAME";
    case EAI_AGAIN: return "EAI_AGAIN";
    case EAI_FAIL: return "EAI_FAIL";
    case EAI_FAMILY: return "EAI_FAMILY";
    case EAI_SERVICE: return "EAI_SERVICE";
    case EAI_MEMORY: return "EAI_MEMORY";
    case EAI_NODATA: return "EAI_NODATA";
    case EAI_ADDRFAMILY: return "EAI_ADDRFAMILY";
    default: return "EAI_OTHER";
    }
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    esp_smoltcp_config_t cfg = ESP_SMOLTCP_DEFAULT_CONFIG();
    const char *tap = NULL;
    esp_smoltcp_ip_wait_t wait = ESP_SMOLTCP_WAIT_IPV4;
    const char *mdns = NULL;
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--tap") == 0) {
            tap = argv[i + 1];
        } else if (strcmp(argv[i], "--static") == 0) {
            cfg.ipv4_mode = ESP_SMOLTCP_IPV4_STATIC;
            cfg.static_ip = argv[i + 1];
        } else if (strcmp(argv[i], "--gw") == 0) {
            cfg.static_gateway = argv[i + 1];
        } else if (strcmp(argv[i], "--dns") == 0) {
            cfg.static_dns = argv[i + 1];
        } else if (strcmp(argv[i], "--wait") == 0) {
            /* v6 / both: also wait for a SLAAC address (IPv6 answers then sort first, RFC 6724) */
            wait = strcmp(argv[i + 1], "v6") == 0     ? ESP_SMOLTCP_WAIT_IPV6_GLOBAL
                   : strcmp(argv[i + 1], "both") == 0 ? ESP_SMOLTCP_WAIT_BOTH
                                                      : ESP_SMOLTCP_WAIT_IPV4;
        } else if (strcmp(argv[i], "--mdns") == 0) {
            mdns = argv[i + 1];
        }
    }
    esp_smoltcp_netdev_t *dev;
    if (!tap || esp_smoltcp_init_with_config(&cfg) != ESP_OK || esp_smoltcp_tap_create(tap, NULL, &dev) != ESP_OK ||
        esp_smoltcp_attach_netdev(dev) != ESP_OK ||
        esp_smoltcp_wait_for_ip_kind(ESP_SMOLTCP_IFACE_ETH, wait, 20000) != ESP_OK) {
        fprintf(stderr, "resolve_tool: stack did not come up\n");
        return 1;
    }
    if (mdns && esp_smoltcp_mdns_init(mdns) != ESP_OK) {
        fprintf(stderr, "resolve_tool: mdns init failed\n");
        return 1;
    }
    for (; i < argc; i++) {
        char name[256];
        snprintf(name, sizeof(name), "%s", argv[i]);
        char *colon = strrchr(name, ':');
        int fam = colon ? atoi(colon + 1) : 0;
        if (colon) {
            *colon = '\0';
        }
        struct addrinfo hints = {.ai_family = fam == 4 ? AF_INET : fam == 6 ? AF_INET6 : AF_UNSPEC,
                                 .ai_socktype = SOCK_STREAM};
        struct addrinfo *res = NULL;
        double t0 = now_ms();
        int rc = getaddrinfo(name, "80", &hints, &res);
        double dt = now_ms() - t0;
        printf("{\"name\": \"%s\", \"family\": %d, \"rc\": \"%s\", \"ms\": %.0f, \"addrs\": [", name, fam, eai_name(rc), dt);
        for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
            char text[64];
            const void *a = ai->ai_family == AF_INET ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                                                     : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
            inet_ntop(ai->ai_family, a, text, sizeof(text));
            printf("%s\"%s\"", ai == res ? "" : ", ", text);
        }
        printf("]}\n");
        freeaddrinfo(res);
    }
    /* gethostbyname_r with a buffer too small, then large enough (ERANGE contract). */
    struct hostent he, *hr = NULL;
    char small[8], big[512];
    int herr = 0;
    int r1 = gethostbyname_r("198.18.0.1", &he, small, sizeof(small), &hr, &herr);
    int r2 = gethostbyname_r("198.18.0.1", &he, big, sizeof(big), &hr, &herr);
    printf("{\"gethostbyname_r_small\": %d, \"gethostbyname_r\": %d, \"h_name\": \"%s\"}\n", r1, r2,
           r2 == 0 && hr ? hr->h_name : "");
    fflush(stdout);
    _Exit(0);
}
