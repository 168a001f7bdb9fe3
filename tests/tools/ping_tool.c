/*
 * esp_smoltcp_ping() from the dut namespace, for tests/e2e/test_ipv6_ping_helper.py:
 *   ping_tool --tap tap0 [--static A/LEN --gw G] [--wait v4|v6|both] [--count N]
 *             [--interval MS] [--timeout MS] [--size N] TARGET
 * Prints ping's lines, then one JSON line with the result and the esp_err_t name.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp_smoltcp.h"
#include "esp_smoltcp_ping.h"
#include "esp_smoltcp_tap.h"

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    esp_smoltcp_config_t cfg = ESP_SMOLTCP_DEFAULT_CONFIG();
    esp_smoltcp_ping_config_t pc = ESP_SMOLTCP_PING_DEFAULT_CONFIG();
    esp_smoltcp_ip_wait_t wait = ESP_SMOLTCP_WAIT_IPV4;
    const char *tap = NULL;
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (strcmp(a, "--tap") == 0) {
            tap = v;
        } else if (strcmp(a, "--static") == 0) {
            cfg.ipv4_mode = ESP_SMOLTCP_IPV4_STATIC;
            cfg.static_ip = v;
        } else if (strcmp(a, "--gw") == 0) {
            cfg.static_gateway = v;
        } else if (strcmp(a, "--wait") == 0) {
            wait = strcmp(v, "v6") == 0 ? ESP_SMOLTCP_WAIT_IPV6_GLOBAL
                   : strcmp(v, "both") == 0 ? ESP_SMOLTCP_WAIT_BOTH : ESP_SMOLTCP_WAIT_IPV4;
        } else if (strcmp(a, "--count") == 0) {
            pc.count = (uint32_t)atoi(v);
        } else if (strcmp(a, "--interval") == 0) {
            pc.interval_ms = (uint32_t)atoi(v);
        } else if (strcmp(a, "--timeout") == 0) {
            pc.timeout_ms = (uint32_t)atoi(v);
        } else if (strcmp(a, "--size") == 0) {
            pc.data_size = (uint16_t)atoi(v);
        }
    }
    if (i >= argc || !tap) {
        fprintf(stderr, "usage: ping_tool --tap IF [options] TARGET\n");
        return 2;
    }
    if (inet_pton(AF_INET, argv[i], pc.target.addr) == 1) {
        pc.target.family = ESP_SMOLTCP_AF_INET;
    } else if (inet_pton(AF_INET6, argv[i], pc.target.addr) == 1) {
        pc.target.family = ESP_SMOLTCP_AF_INET6;
    }
    esp_smoltcp_netdev_t *dev;
    if (esp_smoltcp_init_with_config(&cfg) != ESP_OK || esp_smoltcp_tap_create(tap, NULL, &dev) != ESP_OK ||
        esp_smoltcp_attach_netdev(dev) != ESP_OK ||
        esp_smoltcp_wait_for_ip_kind(ESP_SMOLTCP_IFACE_ETH, wait, 20000) != ESP_OK) {
        fprintf(stderr, "ping_tool: stack did not come up\n");
        return 1;
    }
    esp_smoltcp_ping_result_t r = {0};
    esp_err_t err = esp_smoltcp_ping(&pc, &r);
    printf("{\"err\": \"%s\", \"transmitted\": %u, \"received\": %u, \"duplicates\": %u, \"min_us\": %u, "
           "\"avg_us\": %u, \"max_us\": %u, \"mdev_us\": %u, \"total_ms\": %u}\n",
           esp_err_to_name(err), (unsigned)r.transmitted, (unsigned)r.received, (unsigned)r.duplicates,
           (unsigned)r.rtt_min_us, (unsigned)r.rtt_avg_us, (unsigned)r.rtt_max_us, (unsigned)r.rtt_mdev_us,
           (unsigned)r.total_ms);
    esp_smoltcp_deinit();
    return 0;
}
