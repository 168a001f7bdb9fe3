/*
 * esp_eth netdev: an installed ESP-IDF Ethernet driver as the runtime's
 * device. ESP-IDF headers stay in this file.
 *
 * RX: esp_eth calls eth_input() from its RX task with a buffer it malloc'ed;
 * ownership passes to us, so every path — accepted, dropped by the runtime,
 * or arriving after stop — ends in free(). The frame goes to the runtime
 * as a driver-owned buffer (no copy into the RX pool).
 *
 * TX: esp_eth_transmit() copies the frame into a DMA descriptor (or the SPI
 * MAC's buffer) before returning. When the MAC has no free descriptor we wait
 * about one frame time and try again, a bounded number of times; that is the
 * back-pressure the poll task feels. The last failure is reported to the
 * runtime (counted as tx_failures) and TCP retransmits.
 *
 * Checksum offload: only the internal EMAC verifies RX checksums (IDF sets
 * ETH_CHECKSUM_HW and drops frames with IP/TCP/UDP checksum errors); TX
 * checksum insertion is not enabled by IDF's descriptors, so the engine
 * always computes TX checksums.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "esp_eth_driver.h"
#include "esp_event.h"
#include "esp_log.h"
#include "esp_rom_sys.h"
#include "esp_smoltcp.h"
#include "esp_smoltcp_eth.h"
#include "sdkconfig.h"

static const char *TAG = "netdev_eth";

/* esp_smoltcp_attach_eth()'s configuration, from Kconfig. */
#if CONFIG_ESP_SMOLTCP_ETH_RX_CSUM_OFFLOAD
#define ETH_KCONFIG_CONFIG() ESP_SMOLTCP_ETH_INTERNAL_EMAC_CONFIG()
#else
#define ETH_KCONFIG_CONFIG() ESP_SMOLTCP_ETH_DEFAULT_CONFIG()
#endif

typedef struct {
    esp_smoltcp_netdev_t base; /* first: the runtime sees only this */
    esp_eth_handle_t eth;
    esp_smoltcp_eth_config_t cfg;
    esp_event_handler_instance_t link_handler;
    atomic_uint_least32_t tx_retries, tx_errors, rx_after_stop, link_changes;
} eth_dev_t;

/* The attached device, for esp_smoltcp_eth_get_stats(). One interface today. */
static eth_dev_t *s_dev;

static void release_malloced(void *ctx, uint8_t *buf)
{
    (void)ctx;
    free(buf);
}

static esp_err_t eth_input(esp_eth_handle_t hdl, uint8_t *buffer, uint32_t length, void *priv)
{
    (void)hdl;
    (void)priv;
    esp_smoltcp_netdev_input(buffer, length, release_malloced, NULL);
    return ESP_OK;
}

/* Input path after stop: the driver may still deliver; the buffer is ours to free. */
static esp_err_t eth_input_stopped(esp_eth_handle_t hdl, uint8_t *buffer, uint32_t length, void *priv)
{
    (void)hdl;
    (void)length;
    eth_dev_t *d = priv;
    free(buffer);
    if (d) {
        atomic_fetch_add_explicit(&d->rx_after_stop, 1, memory_order_relaxed);
    }
    return ESP_OK;
}

static void on_eth_event(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)base;
    eth_dev_t *d = arg;
    /* Events of every esp_eth driver arrive here: keep ours. */
    if (!data || *(esp_eth_handle_t *)data != d->eth) {
        return;
    }
    if (id == ETHERNET_EVENT_CONNECTED || id == ETHERNET_EVENT_DISCONNECTED) {
        atomic_fetch_add_explicit(&d->link_changes, 1, memory_order_relaxed);
        esp_smoltcp_netdev_link_changed(id == ETHERNET_EVENT_CONNECTED);
    }
}

static esp_err_t eth_start(esp_smoltcp_netdev_t *dev)
{
    eth_dev_t *d = (eth_dev_t *)dev;
    esp_err_t err = esp_eth_update_input_path(d->eth, eth_input, d);
    if (err != ESP_OK) {
        return err;
    }
    /* Without the default event loop the link is simply taken as up. */
    if (esp_event_handler_instance_register(ETH_EVENT, ESP_EVENT_ANY_ID, on_eth_event, d, &d->link_handler) !=
        ESP_OK) {
        d->link_handler = NULL;
        ESP_LOGW(TAG, "no default event loop: link changes not followed");
    }
    return ESP_OK;
}

static void eth_stop(esp_smoltcp_netdev_t *dev)
{
    eth_dev_t *d = (eth_dev_t *)dev;
    (void)esp_eth_update_input_path(d->eth, eth_input_stopped, d);
    if (d->link_handler) {
        (void)esp_event_handler_instance_unregister(ETH_EVENT, ESP_EVENT_ANY_ID, d->link_handler);
        d->link_handler = NULL;
    }
}

static esp_err_t eth_transmit(esp_smoltcp_netdev_t *dev, const uint8_t *frame, size_t len)
{
    eth_dev_t *d = (eth_dev_t *)dev;
    esp_err_t err = ESP_FAIL;
    for (uint8_t attempt = 0; attempt < d->cfg.tx_attempts; attempt++) {
        if (attempt > 0) {
            atomic_fetch_add_explicit(&d->tx_retries, 1, memory_order_relaxed);
            esp_rom_delay_us(d->cfg.tx_retry_delay_us);
        }
        /* esp_eth_transmit takes a non-const pointer but only reads the frame. */
        err = esp_eth_transmit(d->eth, (void *)frame, len);
        if (err != ESP_ERR_NO_MEM && err != ESP_ERR_TIMEOUT) {
            break; /* sent, or an error that waiting does not cure */
        }
    }
    if (err != ESP_OK) {
        atomic_fetch_add_explicit(&d->tx_errors, 1, memory_order_relaxed);
    }
    return err;
}

static esp_err_t eth_get_mac(esp_smoltcp_netdev_t *dev, uint8_t mac[6])
{
    return esp_eth_ioctl(((eth_dev_t *)dev)->eth, ETH_CMD_G_MAC_ADDR, mac);
}

static void eth_destroy(esp_smoltcp_netdev_t *dev)
{
    eth_dev_t *d = (eth_dev_t *)dev;
    eth_stop(dev);
    /* The input path still names d: leave one that needs no state. */
    (void)esp_eth_update_input_path(d->eth, eth_input_stopped, NULL);
    if (s_dev == d) {
        s_dev = NULL;
    }
    free(d);
}

esp_err_t esp_smoltcp_attach_eth_with_config(esp_eth_handle_t eth, const esp_smoltcp_eth_config_t *cfg)
{
    if (!eth || !cfg) {
        return ESP_ERR_INVALID_ARG;
    }
    eth_dev_t *d = calloc(1, sizeof(*d));
    if (!d) {
        return ESP_ERR_NO_MEM;
    }
    d->eth = eth;
    d->cfg = *cfg;
    if (d->cfg.tx_attempts == 0) {
        d->cfg.tx_attempts = 1;
    }
    d->base = (esp_smoltcp_netdev_t){
        .name = "eth",
        .start = eth_start,
        .stop = eth_stop,
        .transmit = eth_transmit,
        .get_mac = eth_get_mac,
        .destroy = eth_destroy,
        .mtu = 1500,
        .rx_checksums_verified = cfg->rx_checksums_verified,
    };
    esp_err_t err = esp_smoltcp_attach_netdev(&d->base);
    if (err != ESP_OK) {
        free(d);
        return err;
    }
    s_dev = d;
    return ESP_OK;
}

esp_err_t esp_smoltcp_attach_eth(esp_eth_handle_t eth)
{
    esp_smoltcp_eth_config_t cfg = ETH_KCONFIG_CONFIG();
    return esp_smoltcp_attach_eth_with_config(eth, &cfg);
}

esp_err_t esp_smoltcp_eth_get_stats(esp_smoltcp_eth_stats_t *out)
{
    if (!out) {
        return ESP_ERR_INVALID_ARG;
    }
    eth_dev_t *d = s_dev;
    if (!d) {
        return ESP_ERR_INVALID_STATE;
    }
    out->tx_retries = atomic_load_explicit(&d->tx_retries, memory_order_relaxed);
    out->tx_errors = atomic_load_explicit(&d->tx_errors, memory_order_relaxed);
    out->rx_after_stop = atomic_load_explicit(&d->rx_after_stop, memory_order_relaxed);
    out->link_changes = atomic_load_explicit(&d->link_changes, memory_order_relaxed);
    return ESP_OK;
}
