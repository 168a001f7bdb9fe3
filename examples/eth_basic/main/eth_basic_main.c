/*
 * eth_basic: the ESP32-P4's internal EMAC + an IP101/generic 802.3 PHY (pins
 * from Kconfig), esp-smoltcp as the TCP/IP stack, and the unchanged
 * esp_http_server serving
 *   GET /dl/N   N bytes of a fixed pattern, rate logged in Mbit/s
 *   GET /stats  the stack's counters
 * and, with CONFIG_EXAMPLE_MDNS_HOSTNAME, <name>.local and the DNS-SD service
 * "eth_basic" (_http._tcp) over mDNS.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp_event.h"
#include "esp_http_server.h"
#include "esp_log.h"
#include "esp_smoltcp.h"
#include "esp_smoltcp_mdns.h"
#include "esp_timer.h"
#include "sdkconfig.h"
#if CONFIG_IDF_TARGET_LINUX
#include "esp_smoltcp_tap.h"
#else
#include "esp_eth.h"
#include "esp_smoltcp_eth.h"
#endif

static const char *TAG = "eth_basic";

#define CHUNK 4096

static esp_err_t dl_handler(httpd_req_t *req)
{
    const char *n_str = req->uri + strlen("/dl/");
    char *end = NULL;
    unsigned long long total = strtoull(n_str, &end, 10);
    if (end == n_str) {
        return httpd_resp_send_err(req, HTTPD_400_BAD_REQUEST, "usage: /dl/<bytes>");
    }
    static char chunk[CHUNK];
    for (size_t i = 0; i < sizeof(chunk); i++) {
        chunk[i] = (char)('a' + i % 26);
    }
    httpd_resp_set_type(req, "application/octet-stream");
    int64_t t0 = esp_timer_get_time();
    unsigned long long left = total;
    while (left > 0) {
        size_t n = left < CHUNK ? (size_t)left : CHUNK;
        if (httpd_resp_send_chunk(req, chunk, n) != ESP_OK) {
            ESP_LOGW(TAG, "dl: client went away after %llu bytes", total - left);
            return ESP_FAIL;
        }
        left -= n;
    }
    httpd_resp_send_chunk(req, NULL, 0);
    int64_t us = esp_timer_get_time() - t0;
    ESP_LOGI(TAG, "dl: %llu bytes in %" PRId64 " us = %.2f Mbit/s", total, us,
             us > 0 ? (double)total * 8.0 / (double)us : 0.0);
    return ESP_OK;
}

static esp_err_t stats_handler(httpd_req_t *req)
{
    esp_smoltcp_stats_t s;
    char body[384];
    if (esp_smoltcp_get_stats(ESP_SMOLTCP_IFACE_ETH, &s) != ESP_OK) {
        return httpd_resp_send_err(req, HTTPD_500_INTERNAL_SERVER_ERROR, "no stats");
    }
    snprintf(body, sizeof(body),
             "rx_frames %llu\ntx_frames %llu\ntx_failures %llu\nrx_drop_pool_empty %llu\n"
             "rx_drop_queue_full %llu\nrx_pool_high_water %" PRIu32 "\nsockets_high_water %" PRIu32 "\n",
             (unsigned long long)s.rx_frames, (unsigned long long)s.tx_frames, (unsigned long long)s.tx_failures,
             (unsigned long long)s.rx_drop_pool_empty, (unsigned long long)s.rx_drop_queue_full,
             s.rx_pool_high_water, s.sockets_high_water);
    httpd_resp_set_type(req, "text/plain");
    return httpd_resp_sendstr(req, body);
}

#if CONFIG_IDF_TARGET_LINUX
/* IDF's linux target: no EMAC; the TAP named by Kconfig (or $ETH_BASIC_TAP)
 * is the wire, opened by the component's TAP netdev. */
static void attach_link(void)
{
    const char *tap = getenv("ETH_BASIC_TAP");
    if (!tap || !tap[0]) {
        tap = CONFIG_EXAMPLE_LINUX_TAP;
    }
    esp_smoltcp_netdev_t *dev = NULL;
    ESP_ERROR_CHECK(esp_smoltcp_init());
    ESP_ERROR_CHECK(esp_smoltcp_tap_create(tap, NULL, &dev));
    ESP_ERROR_CHECK(esp_smoltcp_attach_netdev(dev));
    ESP_LOGI(TAG, "TAP %s attached", tap);
}
#else
static esp_eth_handle_t install_emac(void)
{
    eth_mac_config_t mac_config = ETH_MAC_DEFAULT_CONFIG();
    eth_phy_config_t phy_config = ETH_PHY_DEFAULT_CONFIG();
    phy_config.phy_addr = CONFIG_EXAMPLE_ETH_PHY_ADDR;
    phy_config.reset_gpio_num = CONFIG_EXAMPLE_ETH_PHY_RST_GPIO;
    eth_esp32_emac_config_t emac_config = ETH_ESP32_EMAC_DEFAULT_CONFIG();
    emac_config.smi_gpio.mdc_num = CONFIG_EXAMPLE_ETH_MDC_GPIO;
    emac_config.smi_gpio.mdio_num = CONFIG_EXAMPLE_ETH_MDIO_GPIO;
    esp_eth_mac_t *mac = esp_eth_mac_new_esp32(&emac_config, &mac_config);
    esp_eth_phy_t *phy = esp_eth_phy_new_generic(&phy_config);
    esp_eth_config_t config = ETH_DEFAULT_CONFIG(mac, phy);
    esp_eth_handle_t eth = NULL;
    ESP_ERROR_CHECK(esp_eth_driver_install(&config, &eth));
    return eth;
}

static void attach_link(void)
{
    esp_eth_handle_t eth = install_emac();
    ESP_ERROR_CHECK(esp_smoltcp_init());
    /* The internal EMAC verifies RX checksums in hardware. */
    esp_smoltcp_eth_config_t ecfg = ESP_SMOLTCP_ETH_INTERNAL_EMAC_CONFIG();
    ESP_ERROR_CHECK(esp_smoltcp_attach_eth_with_config(eth, &ecfg));
    ESP_ERROR_CHECK(esp_eth_start(eth));
}
#endif

void app_main(void)
{
    ESP_ERROR_CHECK(esp_event_loop_create_default()); /* link events for the netdev */
    attach_link();
    while (esp_smoltcp_wait_for_ip(ESP_SMOLTCP_IFACE_ETH, 15000) != ESP_OK) {
        ESP_LOGW(TAG, "no IPv4 address yet (cable? DHCP server?)");
    }
    esp_smoltcp_ip4_info_t ip;
    ESP_ERROR_CHECK(esp_smoltcp_get_ip4_info(ESP_SMOLTCP_IFACE_ETH, &ip));
    ESP_LOGI(TAG, "up: %u.%u.%u.%u/%u", ip.addr[0], ip.addr[1], ip.addr[2], ip.addr[3], ip.prefix_len);

    httpd_config_t hc = HTTPD_DEFAULT_CONFIG();
    hc.server_port = CONFIG_EXAMPLE_HTTP_PORT;
    hc.uri_match_fn = httpd_uri_match_wildcard;
    httpd_handle_t server = NULL;
    ESP_ERROR_CHECK(httpd_start(&server, &hc));
    static const httpd_uri_t dl = {.uri = "/dl/*", .method = HTTP_GET, .handler = dl_handler};
    static const httpd_uri_t stats = {.uri = "/stats", .method = HTTP_GET, .handler = stats_handler};
    httpd_register_uri_handler(server, &dl);
    httpd_register_uri_handler(server, &stats);
    ESP_LOGI(TAG, "http://%u.%u.%u.%u:%d/dl/N", ip.addr[0], ip.addr[1], ip.addr[2], ip.addr[3],
             CONFIG_EXAMPLE_HTTP_PORT);
#if CONFIG_ESP_SMOLTCP_MDNS
    if (CONFIG_EXAMPLE_MDNS_HOSTNAME[0]) {
        static const esp_smoltcp_mdns_txt_item_t txt[] = {{"path", "/dl"}};
        ESP_ERROR_CHECK(esp_smoltcp_mdns_init(CONFIG_EXAMPLE_MDNS_HOSTNAME));
        ESP_ERROR_CHECK(esp_smoltcp_mdns_service_add("eth_basic", "_http", "_tcp", CONFIG_EXAMPLE_HTTP_PORT, txt, 1));
        ESP_LOGI(TAG, "mDNS: http://%s.local:%d/dl/N", CONFIG_EXAMPLE_MDNS_HOSTNAME, CONFIG_EXAMPLE_HTTP_PORT);
    }
#endif
}
