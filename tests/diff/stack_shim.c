/*
 * Shim build: start esp_smoltcp on a TAP, as examples/eth_basic/host does —
 * static 198.18.0.2/24, no gateway, IPv6 by SLAAC from the peer's adverts.
 *   --tap NAME  --mac 02:00:00:00:00:02
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp_smoltcp.h"
#include "esp_smoltcp_tap.h"
#include "diff_stack.h"

int diff_stack_start(int argc, char **argv)
{
    const char *tap = "tap0";
    uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x02};
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--tap") == 0) {
            tap = argv[++i];
        } else if (strcmp(argv[i], "--mac") == 0) {
            unsigned v[6];
            if (sscanf(argv[++i], "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) {
                fprintf(stderr, "bad --mac\n");
                return -1;
            }
            for (int k = 0; k < 6; k++) {
                mac[k] = (uint8_t)v[k];
            }
        }
    }
    esp_smoltcp_config_t cfg = ESP_SMOLTCP_DEFAULT_CONFIG();
    cfg.ipv4_mode = ESP_SMOLTCP_IPV4_STATIC;
    cfg.static_ip = "198.18.0.2/24";
    cfg.max_sockets = 96;
    cfg.ipv6_slaac = true;
    esp_smoltcp_netdev_t *dev = NULL;
    esp_err_t err = esp_smoltcp_init_with_config(&cfg);
    if (err == ESP_OK) {
        err = esp_smoltcp_tap_create(tap, mac, &dev);
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
    return 0;
}
