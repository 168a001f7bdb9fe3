#include "netdev_mem.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

const uint8_t NETDEV_MEM_MAC[6] = {0x02, 0, 0, 0, 0, 0x02};

typedef struct {
    esp_smoltcp_netdev_t base; /* first: the runtime sees only this */
    int mode;
    atomic_bool started;
    atomic_ulong tx;
} mem_dev_t;

static esp_err_t mem_start(esp_smoltcp_netdev_t *dev)
{
    atomic_store(&((mem_dev_t *)dev)->started, true);
    return ESP_OK;
}

static void mem_stop(esp_smoltcp_netdev_t *dev)
{
    atomic_store(&((mem_dev_t *)dev)->started, false);
}

/* Called by the poll task inside esg_poll(). */
static esp_err_t mem_transmit(esp_smoltcp_netdev_t *dev, const uint8_t *frame, size_t len)
{
    mem_dev_t *m = (mem_dev_t *)dev;
    atomic_fetch_add(&m->tx, 1);
    if (m->mode != NETDEV_MEM_LOOP || !atomic_load(&m->started)) {
        return ESP_OK;
    }
    size_t size = 0;
    uint8_t *buf = esp_smoltcp_rx_buffer_alloc(&size);
    if (!buf) {
        esp_smoltcp_netdev_rx_dropped(); /* pool empty: the frame is lost on the wire */
        return ESP_OK;
    }
    if (len > size) {
        esp_smoltcp_rx_buffer_free(buf);
        return ESP_FAIL;
    }
    memcpy(buf, frame, len);
    esp_smoltcp_netdev_input_pool(buf, len);
    return ESP_OK;
}

static esp_err_t mem_get_mac(esp_smoltcp_netdev_t *dev, uint8_t mac[6])
{
    (void)dev;
    memcpy(mac, NETDEV_MEM_MAC, 6);
    return ESP_OK;
}

static void mem_destroy(esp_smoltcp_netdev_t *dev)
{
    free(dev);
}

esp_err_t netdev_mem_create(int mode, esp_smoltcp_netdev_t **out)
{
    mem_dev_t *m = calloc(1, sizeof(*m));
    if (!m) {
        return ESP_ERR_NO_MEM;
    }
    m->mode = mode;
    m->base = (esp_smoltcp_netdev_t){
        .name = "mem",
        .start = mem_start,
        .stop = mem_stop,
        .transmit = mem_transmit,
        .get_mac = mem_get_mac,
        .destroy = mem_destroy,
        .mtu = 1500,
        .rx_checksums_verified = false,
    };
    *out = &m->base;
    return ESP_OK;
}

unsigned long netdev_mem_tx_count(esp_smoltcp_netdev_t *dev)
{
    return atomic_load(&((mem_dev_t *)dev)->tx);
}
