/*
 * eth_basic, host twin: the same steps as the IDF example's app_main —
 * init, attach the Ethernet device (a TAP here), wait for an address, serve
 * HTTP /dl/N — on Linux.
 *
 *   eth_basic --tap tap0 [--port 80] [--mac 02:..] [--static A.B.C.D/LEN --gw G --dns D]
 *             [--ipv6 on|off] [--dhcp6 on|off] [--wait v4|v6|either|both] [--listen6 on|off]
 *             [--ptp l2|udp4 [--ptp-domain N] [--ptp-report-ms MS]] [--mdns NAME]
 *
 * --ptp: run the PTP slave (esp_smoltcp_ptp.h) over Ethernet or UDP/IPv4; its state
 * changes and a status line every MS (default 1000) are logged ("ptp: ...",
 * see ptp_monitor.h) and /stats gets a "ptp" object.
 *
 * --mdns NAME: answer mDNS for NAME.local and advertise the HTTP server as
 * DNS-SD service "eth_basic" (_http._tcp, TXT path=/dl).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "esp_smoltcp.h"
#include "esp_smoltcp_dns.h"
#include "esp_smoltcp_addrs.h"
#include "esp_smoltcp_mdns.h"
#include "esp_smoltcp_tap.h"
#include "http_server.h"
#include "ptp_monitor.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static const char *ip6_state_name(esp_smoltcp_ip6_state_t s)
{
    static const char *names[] = {"tentative", "preferred", "deprecated", "duplicate"};
    return (unsigned)s < 4 ? names[s] : "?";
}

/* "ipv4" and "ipv6" objects: every address with its state and lifetime, routers, DNS servers. */
static int addrs_json(char *buf, size_t len)
{
    char a[INET6_ADDRSTRLEN], g[INET6_ADDRSTRLEN];
    size_t n = 0;
#define OUT(...)                                                                            \
    do {                                                                                     \
        int k_ = snprintf(buf + n, n < len ? len - n : 0, __VA_ARGS__);                      \
        n += k_ > 0 ? (size_t)k_ : 0;                                                        \
    } while (0)
    esp_smoltcp_ip4_info_t v4;
    if (esp_smoltcp_get_ip4_info(ESP_SMOLTCP_IFACE_ETH, &v4) == ESP_OK && v4.has_addr) {
        inet_ntop(AF_INET, v4.addr, a, sizeof(a));
        inet_ntop(AF_INET, v4.gateway, g, sizeof(g));
        OUT(", \"ipv4\": {\"addr\": \"%s\", \"prefix\": %u, \"gw\": \"%s\"}", a, v4.prefix_len,
            v4.has_gateway ? g : "");
    }
    esp_smoltcp_ip6_info_t v6;
    if (esp_smoltcp_get_ip6_info(ESP_SMOLTCP_IFACE_ETH, &v6) == ESP_OK) {
        OUT(", \"ipv6\": {\"addrs\": [");
        for (int i = 0; i < v6.addr_count; i++) {
            const esp_smoltcp_ip6_addr_t *x = &v6.addrs[i];
            inet_ntop(AF_INET6, x->addr, a, sizeof(a));
            OUT("%s{\"addr\": \"%s\", \"prefix\": %u, \"state\": \"%s\", \"valid\": %" PRId64
                ", \"preferred\": %" PRId64 "}", i ? ", " : "", a, x->prefix_len, ip6_state_name(x->state),
                x->valid_s == UINT32_MAX ? (int64_t)-1 : (int64_t)x->valid_s,
                x->preferred_s == UINT32_MAX ? (int64_t)-1 : (int64_t)x->preferred_s);
        }
        inet_ntop(AF_INET6, v6.router, g, sizeof(g));
        OUT("], \"router\": \"%s\", \"router_lifetime\": %u, \"dns\": [", v6.has_router ? g : "",
            (unsigned)v6.router_lifetime_s);
        for (int i = 0; i < v6.dns_count; i++) {
            inet_ntop(AF_INET6, v6.dns[i], a, sizeof(a));
            OUT("%s\"%s\"", i ? ", " : "", a);
        }
        OUT("]}");
    }
    esp_smoltcp_endpoint_t dns[ESP_SMOLTCP_DNS_MAX_SERVERS];
    size_t nd = esp_smoltcp_dns_get_servers(dns, ESP_SMOLTCP_DNS_MAX_SERVERS);
    OUT(", \"dns_servers\": [");
    for (size_t i = 0; i < nd; i++) {
        inet_ntop(dns[i].family == ESP_SMOLTCP_AF_INET ? AF_INET : AF_INET6, dns[i].addr, a, sizeof(a));
        OUT("%s\"%s\"", i ? ", " : "", a);
    }
    OUT("]");
#undef OUT
    return (int)n;
}

/* ", \"mdns\": {...}" while the responder runs, else nothing; 0 when it does not fit in len. */
static size_t mdns_json(char *buf, size_t len)
{
    esp_smoltcp_mdns_info_t info;
    if (esp_smoltcp_mdns_get_info(&info) != ESP_OK || !info.running) {
        return 0;
    }
    int k = snprintf(buf, len,
                     ", \"mdns\": {\"hostname\": \"%s\", \"host_ready\": %s, \"services_ready\": %u, \"renames\": %" PRIu32
                     ", \"conflicts\": %" PRIu32 ", \"rx_packets\": %" PRIu64 ", \"rx_malformed\": %" PRIu64
                     ", \"rx_dropped\": %" PRIu64 ", \"queries\": %" PRIu64 ", \"legacy_queries\": %" PRIu64
                     ", \"known_answer_suppressed\": %" PRIu64 ", \"rate_limited\": %" PRIu64 ", \"tx_packets\": %" PRIu64
                     ", \"tx_failures\": %" PRIu64 "}",
                     info.hostname, info.host_ready ? "true" : "false", (unsigned)info.services_ready, info.renames,
                     info.conflicts, info.rx_packets, info.rx_malformed, info.rx_dropped, info.queries,
                     info.legacy_queries, info.known_answer_suppressed, info.rate_limited, info.tx_packets,
                     info.tx_failures);
    if (k < 0 || (size_t)k >= len) {
        if (len) {
            buf[0] = 0;
        }
        return 0;
    }
    return (size_t)k;
}

static size_t stats_json(char *buf, size_t len)
{
    esp_smoltcp_stats_t s;
    if (esp_smoltcp_get_stats(ESP_SMOLTCP_IFACE_ETH, &s) != ESP_OK) {
        return (size_t)snprintf(buf, len, "{}");
    }
    int n = snprintf(
        buf, len,
        "{\"rx_frames\": %" PRIu64 ", \"tx_frames\": %" PRIu64 ", \"rx_bytes\": %" PRIu64 ", \"tx_bytes\": %" PRIu64
        ", \"rx_drops\": {\"pool_empty\": %" PRIu64 ", \"queue_full\": %" PRIu64 ", \"runt\": %" PRIu64
        ", \"bad_ip_header\": %" PRIu64 ", \"bad_ip_checksum\": %" PRIu64 ", \"bad_l4_header\": %" PRIu64
        ", \"bad_l4_checksum\": %" PRIu64 ", \"martian\": %" PRIu64 "}, \"loopback_frames\": %" PRIu64
        ", \"loopback_drops\": %" PRIu64 ", \"tx_failures\": %" PRIu64 ", \"rx_pool_capacity\": %" PRIu32
        ", \"rx_pool_in_use\": %" PRIu32 ", \"rx_pool_high_water\": %" PRIu32 ", \"rx_queue_high_water\": %" PRIu32
        ", \"sockets_open\": %" PRIu32 ", \"sockets_high_water\": %" PRIu32 ", \"sockets_lingering\": %" PRIu32
        ", \"socket_alloc_failures\": %" PRIu64 ", \"tcp_syn_backlog_drops\": %" PRIu64 ", \"tcp_syn_on_connection_drops\": %" PRIu64 ", \"tcp_open\": %" PRIu32 ", \"tcp_opened\": %" PRIu64
        ", \"tcp_closed_by_peer\": %" PRIu64 ", \"tcp_aborted\": %" PRIu64 ", \"tcp_linger_aborts\": %" PRIu64
        ", \"polls\": %" PRIu64 ", \"poll_wakeups\": %" PRIu64 ", \"inline_polls\": %" PRIu64
        ", \"rx_inline_polls\": %" PRIu64 ", \"tcp_rexmits_sacked\": %" PRIu64 ", \"tcp_dupack_windows_kept\": %" PRIu64 ", \"tcp_dsack_acks_held\": %" PRIu64 ", \"link_up\": %s, \"link_changes\": %" PRIu32,
        s.rx_frames, s.tx_frames, s.rx_bytes, s.tx_bytes, s.rx_drop_pool_empty, s.rx_drop_queue_full, s.rx_drop_runt,
        s.rx_drop_bad_ip_header, s.rx_drop_bad_ip_checksum, s.rx_drop_bad_l4_header, s.rx_drop_bad_l4_checksum,
        s.rx_drop_martian, s.loopback_frames, s.loopback_drops, s.tx_failures, s.rx_pool_capacity, s.rx_pool_in_use, s.rx_pool_high_water, s.rx_queue_high_water,
        s.sockets_open, s.sockets_high_water, s.sockets_lingering, s.socket_alloc_failures, s.tcp_syn_backlog_drops, s.tcp_syn_on_connection_drops,
        s.sockets_open,
        s.tcp_opened, s.tcp_closed_by_peer, s.tcp_aborted, s.tcp_linger_aborts, s.polls, s.poll_wakeups,
        s.inline_polls, s.rx_inline_polls, s.tcp_rexmits_sacked, s.tcp_dupack_windows_kept, s.tcp_dsack_acks_held, s.link_up ? "true" : "false", s.link_changes);
    if (n < 0 || (size_t)n >= len) {
        return n < 0 ? 0 : len - 1;
    }
    n += addrs_json(buf + n, len - (size_t)n);
    int k = (size_t)n < len ? snprintf(buf + n, len - (size_t)n, ", \"ptp\": ") : 0;
    size_t m = (size_t)n + (k > 0 ? (size_t)k : 0);
    if (m + 2 >= len) {
        return (size_t)snprintf(buf, len, "{}");
    }
    m += ptp_monitor_json(buf + m, len - m - 1);
    if (m + 2 >= len) {
        return (size_t)snprintf(buf, len, "{}");
    }
    m += mdns_json(buf + m, len - m - 1);
    buf[m++] = '}';
    buf[m] = 0;
    return m;
}

/* Every interface address, one line each ("addr: 198.18.0.2", "addr: fe80::..."). */
static void print_addrs(void)
{
    esp_smoltcp_ip_addr_t a[8];
    size_t n = 0;
    if (esp_smoltcp_get_ip_addrs(ESP_SMOLTCP_IFACE_ETH, ESP_SMOLTCP_AF_UNSPEC, a, 8, &n) != ESP_OK) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (a[i].family == ESP_SMOLTCP_AF_INET) {
            printf("addr: %u.%u.%u.%u\n", a[i].addr[0], a[i].addr[1], a[i].addr[2], a[i].addr[3]);
        } else {
            printf("addr: ");
            for (int w = 0; w < 8; w++) {
                printf("%s%x", w ? ":" : "", (unsigned)(a[i].addr[2 * w] << 8 | a[i].addr[2 * w + 1]));
            }
            printf("\n");
        }
    }
}

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

static void usage(void)
{
    fprintf(stderr, "usage: eth_basic --tap IFNAME [--port N] [--mac MAC] [--static ADDR/LEN [--gw GW] [--dns DNS]]\n"
                    "                 [--ipv6 on|off] [--dhcp6 on|off] [--wait v4|v6|either|both] [--listen6 on|off]\n"
                    "                 [--ptp l2|udp4 [--ptp-domain N] [--ptp-report-ms MS]] [--mdns NAME]\n");
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *tap = NULL;
    int port = 80;
    uint8_t mac[6];
    bool have_mac = false;
    bool listen6 = true;
    esp_smoltcp_ip_wait_t wait = ESP_SMOLTCP_WAIT_IPV4;
    const char *mdns_name = NULL;
    esp_smoltcp_config_t cfg = ESP_SMOLTCP_DEFAULT_CONFIG();
    const char *ptp = NULL;
    int ptp_domain = 0, ptp_report_ms = 1000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            usage();
            return 2;
        }
        i++;
        if (strcmp(a, "--tap") == 0) {
            tap = v;
        } else if (strcmp(a, "--port") == 0) {
            port = atoi(v);
        } else if (strcmp(a, "--mac") == 0) {
            if (parse_mac(v, mac) != 0) {
                fprintf(stderr, "bad MAC '%s'\n", v);
                return 2;
            }
            have_mac = true;
        } else if (strcmp(a, "--static") == 0) {
            cfg.ipv4_mode = ESP_SMOLTCP_IPV4_STATIC;
            cfg.static_ip = v;
        } else if (strcmp(a, "--gw") == 0) {
            cfg.static_gateway = v;
        } else if (strcmp(a, "--dns") == 0) {
            cfg.static_dns = v;
        } else if (strcmp(a, "--ptp") == 0) {
            ptp = v;
        } else if (strcmp(a, "--ptp-domain") == 0) {
            ptp_domain = atoi(v);
        } else if (strcmp(a, "--ptp-report-ms") == 0) {
            ptp_report_ms = atoi(v);
        } else if (strcmp(a, "--ipv6") == 0 || strcmp(a, "--dhcp6") == 0 || strcmp(a, "--listen6") == 0) {
            bool on = strcmp(v, "on") == 0;
            if (!on && strcmp(v, "off") != 0) {
                usage();
                return 2;
            }
            *(a[2] == 'i' ? &cfg.ipv6_slaac : a[2] == 'd' ? &cfg.ipv6_dhcp6 : &listen6) = on;
        } else if (strcmp(a, "--wait") == 0) {
            wait = strcmp(v, "v4") == 0       ? ESP_SMOLTCP_WAIT_IPV4
                   : strcmp(v, "v6") == 0     ? ESP_SMOLTCP_WAIT_IPV6_GLOBAL
                   : strcmp(v, "either") == 0 ? ESP_SMOLTCP_WAIT_EITHER
                   : strcmp(v, "both") == 0   ? ESP_SMOLTCP_WAIT_BOTH
                                              : (esp_smoltcp_ip_wait_t)0;
            if (wait == 0) {
                usage();
                return 2;
            }
        } else if (strcmp(a, "--mdns") == 0) {
            mdns_name = v;
        } else {
            usage();
            return 2;
        }
    }
    if (!tap || port <= 0 || port > 65535 || ptp_domain < 0 || ptp_domain > 255 || ptp_report_ms <= 0) {
        usage();
        return 2;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);

    esp_smoltcp_netdev_t *dev = NULL;
    esp_err_t err = esp_smoltcp_init_with_config(&cfg);
    if (err == ESP_OK) {
        err = esp_smoltcp_tap_create(tap, have_mac ? mac : NULL, &dev);
    }
    if (err == ESP_OK) {
        err = esp_smoltcp_attach_netdev(dev);
    }
    if (err != ESP_OK) {
        fprintf(stderr, "eth_basic: start failed: %s\n", esp_err_to_name(err));
        return 1;
    }
    /* PTP starts with the interface; over UDP its Delay_Reqs wait for the address (the static one is at once). */
    if (ptp && ptp_monitor_start(ptp, (uint8_t)ptp_domain, (uint32_t)ptp_report_ms) != 0) {
        esp_smoltcp_deinit();
        return 1;
    }
    while (!stop_requested && esp_smoltcp_wait_for_ip_kind(ESP_SMOLTCP_IFACE_ETH, wait, 500) != ESP_OK) {
    }
    if (!stop_requested) {
        esp_smoltcp_ip4_info_t ip;
        esp_smoltcp_get_ip4_info(ESP_SMOLTCP_IFACE_ETH, &ip);
        printf("ip: %u.%u.%u.%u/%u gw %u.%u.%u.%u\n", ip.addr[0], ip.addr[1], ip.addr[2], ip.addr[3], ip.prefix_len,
               ip.gateway[0], ip.gateway[1], ip.gateway[2], ip.gateway[3]);
        esp_smoltcp_ip6_info_t ip6;
        esp_smoltcp_get_ip6_info(ESP_SMOLTCP_IFACE_ETH, &ip6);
        for (int i = 0; i < ip6.addr_count; i++) {
            char a[INET6_ADDRSTRLEN];
            printf("ip6: %s/%u %s\n", inet_ntop(AF_INET6, ip6.addrs[i].addr, a, sizeof(a)), ip6.addrs[i].prefix_len,
                   ip6_state_name(ip6.addrs[i].state));
        }
        print_addrs();
        if (mdns_name) {
            static const esp_smoltcp_mdns_txt_item_t txt[] = {{"path", "/dl"}};
            err = esp_smoltcp_mdns_init(mdns_name);
            if (err == ESP_OK) {
                err = esp_smoltcp_mdns_service_add("eth_basic", "_http", "_tcp", (uint16_t)port, txt, 1);
            }
            if (err != ESP_OK) {
                fprintf(stderr, "eth_basic: mdns: %s\n", esp_err_to_name(err));
                esp_smoltcp_deinit();
                return 1;
            }
            printf("mdns: %s.local, service eth_basic._http._tcp port %d\n", mdns_name, port);
        }
        http_server_config_t hcfg = {.port = port, .max_clients = 8, .stats_json = stats_json,
                                     .dual_stack = listen6 && cfg.ipv6_slaac};
        if (http_server_run(&hcfg, &stop_requested) != 0) {
            esp_smoltcp_deinit();
            return 1;
        }
    }
    char json[4096];
    stats_json(json, sizeof(json));
    if (mdns_name) {
        esp_smoltcp_mdns_free(); /* goodbye packets before the process goes */
    }
    printf("stats: %s\n", json);
    fflush(stdout);
    /* Connection threads may still be blocked in the stack: exit without tearing it down under them. */
    _Exit(0);
}
