#define _GNU_SOURCE
#include "interop_common.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <netdb.h>
#include <sys/socket.h>

#include "esp_smoltcp.h"
#include "esp_smoltcp_tap.h"

#include "esp_smoltcp_host_netdb.h" /* last: getaddrinfo() goes to the shim's resolver */

static int parse_mac(const char *s, uint8_t mac[6])
{
    unsigned v[6];
    if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) {
        return -1;
    }
    for (int i = 0; i < 6; i++) {
        if (v[i] > 255) {
            return -1;
        }
        mac[i] = (uint8_t)v[i];
    }
    return 0;
}

int interop_stack_start(int *argc, char **argv)
{
    const char *tap = NULL;
    const char *ip = "198.18.0.2/24";
    const char *gw = NULL;
    const char *dns = NULL;
    uint8_t mac[6];
    bool have_mac = false;
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        bool ours = strcmp(a, "--tap") == 0 || strcmp(a, "--mac") == 0 || strcmp(a, "--static") == 0 ||
                    strcmp(a, "--gw") == 0 || strcmp(a, "--dns") == 0;
        if (!ours) {
            argv[out++] = argv[i];
            continue;
        }
        if (i + 1 >= *argc) {
            fprintf(stderr, "%s needs a value\n", a);
            return -1;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--tap") == 0) {
            tap = v;
        } else if (strcmp(a, "--mac") == 0) {
            if (parse_mac(v, mac) != 0) {
                fprintf(stderr, "bad --mac '%s'\n", v);
                return -1;
            }
            have_mac = true;
        } else if (strcmp(a, "--static") == 0) {
            ip = v;
        } else if (strcmp(a, "--gw") == 0) {
            gw = v;
        } else {
            dns = v;
        }
    }
    argv[out] = NULL;
    *argc = out;
    if (!tap) {
        fprintf(stderr, "--tap IFNAME is required\n");
        return -1;
    }
    /* A peer that resets a connection must give EPIPE, not kill the app (as on the chip). */
    signal(SIGPIPE, SIG_IGN);
    esp_smoltcp_config_t cfg = ESP_SMOLTCP_DEFAULT_CONFIG();
    cfg.ipv4_mode = ESP_SMOLTCP_IPV4_STATIC;
    cfg.static_ip = ip;
    cfg.static_gateway = gw;
    cfg.static_dns = dns;
    esp_smoltcp_netdev_t *dev = NULL;
    esp_err_t err = esp_smoltcp_init_with_config(&cfg);
    if (err == ESP_OK) {
        err = esp_smoltcp_tap_create(tap, have_mac ? mac : NULL, &dev);
    }
    if (err == ESP_OK) {
        err = esp_smoltcp_attach_netdev(dev);
    }
    if (err == ESP_OK) {
        err = esp_smoltcp_wait_for_ip(ESP_SMOLTCP_IFACE_ETH, 10000);
    }
    if (err != ESP_OK) {
        fprintf(stderr, "stack start failed: %s\n", esp_err_to_name(err));
        return -1;
    }
    esp_smoltcp_ip4_info_t info;
    esp_smoltcp_get_ip4_info(ESP_SMOLTCP_IFACE_ETH, &info);
    printf("ip: %u.%u.%u.%u/%u gw %u.%u.%u.%u\n", info.addr[0], info.addr[1], info.addr[2], info.addr[3],
           info.prefix_len, info.gateway[0], info.gateway[1], info.gateway[2], info.gateway[3]);
    fflush(stdout);
    return 0;
}

_Noreturn void interop_exit(int code)
{
    fflush(stdout);
    uint64_t deadline = interop_now_ms() + 3000;
    esp_smoltcp_stats_t st;
    while (esp_smoltcp_get_stats(ESP_SMOLTCP_IFACE_ETH, &st) == ESP_OK && st.sockets_lingering > 0 &&
           interop_now_ms() < deadline) {
        struct timespec ts = {.tv_nsec = 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    /* Other threads may be blocked in the stack: no teardown under them (as eth_basic). */
    _Exit(code);
}

void interop_pattern(uint8_t *buf, size_t len, uint64_t off)
{
    unsigned v = (unsigned)(off % INTEROP_PATTERN_PERIOD);
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)v;
        if (++v == INTEROP_PATTERN_PERIOD) {
            v = 0;
        }
    }
}

void interop_hex(const uint8_t digest[32], char out[65])
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hx[digest[i] >> 4];
        out[2 * i + 1] = hx[digest[i] & 15];
    }
    out[64] = '\0';
}

uint64_t interop_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t interop_parse_size(const char *s)
{
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (end == s || v < 0) {
        return -1;
    }
    if (*end == 'k' || *end == 'K') {
        v *= 1024;
        end++;
    } else if (*end == 'M') {
        v *= 1024 * 1024;
        end++;
    }
    return *end == '\0' ? (int64_t)v : -1;
}

int interop_resolve(const char *host, int port, struct sockaddr_storage *out, unsigned *out_len)
{
    char service[8];
    snprintf(service, sizeof(service), "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0 || !res) {
        fprintf(stderr, "resolve %s: %s\n", host, rc ? gai_strerror(rc) : "no address");
        return rc ? rc : EAI_NONAME;
    }
    memcpy(out, res->ai_addr, res->ai_addrlen);
    *out_len = (unsigned)res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}
