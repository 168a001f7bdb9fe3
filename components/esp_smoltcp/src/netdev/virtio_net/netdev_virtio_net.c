/*
 * virtio-net (virtio-mmio, modern) netdev for esp_smoltcp. See
 * esp_smoltcp_virtio_net.h. Register layout and rings: virtio 1.1 §4.2.2
 * (MMIO), §2.6 (split virtqueues), §5.1 (network device).
 */
#include "esp_smoltcp_virtio_net.h"

#include <stdlib.h>
#include <string.h>

#include "esp_log.h"
#include "os_baremetal.h"

static const char *TAG = "virtio_net";

/* MMIO registers */
#define VM_MAGIC 0x000
#define VM_VERSION 0x004
#define VM_DEVICE_ID 0x008
#define VM_DEV_FEATURES 0x010
#define VM_DEV_FEATURES_SEL 0x014
#define VM_DRV_FEATURES 0x020
#define VM_DRV_FEATURES_SEL 0x024
#define VM_QUEUE_SEL 0x030
#define VM_QUEUE_NUM_MAX 0x034
#define VM_QUEUE_NUM 0x038
#define VM_QUEUE_READY 0x044
#define VM_QUEUE_NOTIFY 0x050
#define VM_INT_STATUS 0x060
#define VM_INT_ACK 0x064
#define VM_STATUS 0x070
#define VM_QUEUE_DESC_LO 0x080
#define VM_QUEUE_DESC_HI 0x084
#define VM_QUEUE_AVAIL_LO 0x090
#define VM_QUEUE_AVAIL_HI 0x094
#define VM_QUEUE_USED_LO 0x0a0
#define VM_QUEUE_USED_HI 0x0a4
#define VM_CONFIG 0x100

#define ST_ACK 1
#define ST_DRIVER 2
#define ST_DRIVER_OK 4
#define ST_FEATURES_OK 8

#define F_NET_MAC 5         /* bit in word 0 */
#define F_VERSION_1 (32 - 32) /* bit 0 of word 1 */

#define DESC_F_WRITE 2
#define AVAIL_F_NO_INTERRUPT 1
#define USED_F_NO_NOTIFY 1

#define NET_HDR_LEN 12 /* virtio_net_hdr with num_buffers (VERSION_1) */
#define BUF_SIZE 1536  /* header + 1514-byte frame, rounded */

typedef struct {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
} vq_desc_t;

typedef struct {
    uint32_t id;
    uint32_t len;
} vq_used_elem_t;

typedef struct {
    uint16_t n;
    vq_desc_t *desc;
    volatile uint16_t *avail; /* flags, idx, ring[n], used_event */
    volatile uint16_t *used;  /* flags, idx, then elems */
    uint16_t avail_idx;       /* our copy of avail->idx */
    uint16_t last_used;
    uint8_t *bufs;            /* n * BUF_SIZE */
} vq_t;

typedef struct {
    esp_smoltcp_netdev_t base; /* first: the runtime sees only this */
    uintptr_t mmio;
    uint8_t mac[6];
    vq_t rx, tx;
    uint16_t *tx_free;         /* stack of free TX descriptor ids */
    uint16_t tx_free_count;
    volatile bool running;
    esp_smoltcp_virtio_net_stats_t st;
} vnet_t;

static inline uint32_t rd(vnet_t *v, uint32_t off) { return *(volatile uint32_t *)(v->mmio + off); }
static inline void wr(vnet_t *v, uint32_t off, uint32_t val) { *(volatile uint32_t *)(v->mmio + off) = val; }
static inline void mb(void) { __sync_synchronize(); }

#define AVAIL_FLAGS(q) ((q)->avail[0])
#define AVAIL_IDX(q) ((q)->avail[1])
#define AVAIL_RING(q, i) ((q)->avail[2 + (i)])
#define USED_FLAGS(q) ((q)->used[0])
#define USED_IDX(q) ((q)->used[1])
#define USED_ELEM(q, i) (((volatile vq_used_elem_t *)((q)->used + 2))[i])

uintptr_t esp_smoltcp_virtio_net_probe(uintptr_t first, uintptr_t stride, unsigned count, unsigned *slot)
{
    for (unsigned i = 0; i < count; i++) {
        uintptr_t b = first + i * stride;
        if (*(volatile uint32_t *)(b + VM_MAGIC) == 0x74726976 && *(volatile uint32_t *)(b + VM_DEVICE_ID) == 1) {
            if (slot) {
                *slot = i;
            }
            return b;
        }
    }
    return 0;
}

static esp_err_t vq_setup(vnet_t *v, unsigned index, vq_t *q, uint16_t n)
{
    wr(v, VM_QUEUE_SEL, index);
    uint32_t max = rd(v, VM_QUEUE_NUM_MAX);
    if (max == 0 || n > max || (n & (n - 1))) {
        ESP_LOGE(TAG, "queue %u: %u descriptors not possible (max %u)", index, n, (unsigned)max);
        return ESP_ERR_INVALID_ARG;
    }
    q->n = n;
    q->desc = aligned_alloc(16, sizeof(vq_desc_t) * n);
    q->avail = aligned_alloc(4, ((6 + 2u * n) + 3) & ~3u);
    q->used = aligned_alloc(4, ((6 + 8u * n) + 3) & ~3u);
    q->bufs = aligned_alloc(64, (size_t)BUF_SIZE * n);
    if (!q->desc || !q->avail || !q->used || !q->bufs) {
        return ESP_ERR_NO_MEM;
    }
    memset(q->desc, 0, sizeof(vq_desc_t) * n);
    memset((void *)q->avail, 0, 6 + 2u * n);
    memset((void *)q->used, 0, 6 + 8u * n);
    for (uint16_t i = 0; i < n; i++) {
        q->desc[i].addr = (uintptr_t)(q->bufs + (size_t)i * BUF_SIZE);
        q->desc[i].len = BUF_SIZE;
    }
    wr(v, VM_QUEUE_NUM, n);
    wr(v, VM_QUEUE_DESC_LO, (uintptr_t)q->desc);
    wr(v, VM_QUEUE_DESC_HI, 0);
    wr(v, VM_QUEUE_AVAIL_LO, (uintptr_t)q->avail);
    wr(v, VM_QUEUE_AVAIL_HI, 0);
    wr(v, VM_QUEUE_USED_LO, (uintptr_t)q->used);
    wr(v, VM_QUEUE_USED_HI, 0);
    wr(v, VM_QUEUE_READY, 1);
    return ESP_OK;
}

/* Idle hook: move received frames into the runtime's pool (the one RX copy), re-post buffers. */
static void rx_poll(void *arg)
{
    vnet_t *v = arg;
    vq_t *q = &v->rx;
    if (!v->running) {
        return;
    }
    uint16_t used_idx = USED_IDX(q);
    if (used_idx == q->last_used) {
        return;
    }
    mb(); /* read the elements after the index */
    uint16_t waiting = (uint16_t)(used_idx - q->last_used);
    if (waiting > v->st.rx_ring_high_water) {
        v->st.rx_ring_high_water = waiting;
    }
    while (q->last_used != used_idx) {
        volatile vq_used_elem_t *e = &USED_ELEM(q, q->last_used % q->n);
        uint32_t id = e->id, len = e->len;
        q->last_used++;
        if (id >= q->n) {
            continue;
        }
        if (len <= NET_HDR_LEN || len > BUF_SIZE) {
            v->st.rx_bad_len++;
        } else {
            size_t size = 0;
            uint8_t *p = esp_smoltcp_rx_buffer_alloc(&size);
            size_t flen = len - NET_HDR_LEN;
            if (!p || flen > size) {
                if (p) {
                    esp_smoltcp_rx_buffer_free(p);
                }
                v->st.rx_drops_no_pool++;
                esp_smoltcp_netdev_rx_dropped();
            } else {
                memcpy(p, q->bufs + id * BUF_SIZE + NET_HDR_LEN, flen);
                v->st.rx_frames++;
                esp_smoltcp_netdev_input_pool(p, flen);
            }
        }
        /* the buffer goes straight back to the device */
        q->desc[id].len = BUF_SIZE;
        q->desc[id].flags = DESC_F_WRITE;
        AVAIL_RING(q, q->avail_idx % q->n) = (uint16_t)id;
        q->avail_idx++;
    }
    mb();
    AVAIL_IDX(q) = q->avail_idx;
    mb();
    if (!(USED_FLAGS(q) & USED_F_NO_NOTIFY)) {
        v->st.rx_notifies++;
        wr(v, VM_QUEUE_NOTIFY, 0);
    }
}

static void tx_reclaim(vnet_t *v)
{
    vq_t *q = &v->tx;
    uint16_t used_idx = USED_IDX(q);
    if (used_idx == q->last_used) {
        return;
    }
    mb();
    while (q->last_used != used_idx) {
        uint32_t id = USED_ELEM(q, q->last_used % q->n).id;
        q->last_used++;
        if (id < q->n) {
            v->tx_free[v->tx_free_count++] = (uint16_t)id;
        }
    }
}

static esp_err_t vnet_transmit(esp_smoltcp_netdev_t *dev, const uint8_t *frame, size_t len)
{
    vnet_t *v = (vnet_t *)dev;
    vq_t *q = &v->tx;
    if (len + NET_HDR_LEN > BUF_SIZE) {
        return ESP_ERR_INVALID_SIZE;
    }
    if (v->tx_free_count == 0) {
        tx_reclaim(v);
        if (v->tx_free_count == 0) {
            v->st.tx_ring_full++;
            return ESP_FAIL;
        }
    }
    uint16_t id = v->tx_free[--v->tx_free_count];
    uint8_t *b = q->bufs + (size_t)id * BUF_SIZE;
    memset(b, 0, NET_HDR_LEN);
    memcpy(b + NET_HDR_LEN, frame, len); /* the one TX copy */
    q->desc[id].len = (uint32_t)(len + NET_HDR_LEN);
    q->desc[id].flags = 0;
    AVAIL_RING(q, q->avail_idx % q->n) = id;
    q->avail_idx++;
    mb();
    AVAIL_IDX(q) = q->avail_idx;
    mb();
    if (!(USED_FLAGS(q) & USED_F_NO_NOTIFY)) {
        v->st.tx_notifies++;
        wr(v, VM_QUEUE_NOTIFY, 1);
    }
    v->st.tx_frames++;
    if (v->tx_free_count < q->n / 4) {
        tx_reclaim(v);
    }
    return ESP_OK;
}

static esp_err_t vnet_start(esp_smoltcp_netdev_t *dev)
{
    vnet_t *v = (vnet_t *)dev;
    v->running = true;
    esp_smoltcp_netdev_link_changed(true);
    return ESP_OK;
}

static void vnet_stop(esp_smoltcp_netdev_t *dev)
{
    ((vnet_t *)dev)->running = false;
}

static esp_err_t vnet_get_mac(esp_smoltcp_netdev_t *dev, uint8_t mac[6])
{
    memcpy(mac, ((vnet_t *)dev)->mac, 6);
    return ESP_OK;
}

static void vnet_destroy(esp_smoltcp_netdev_t *dev)
{
    vnet_t *v = (vnet_t *)dev;
    wr(v, VM_STATUS, 0); /* reset: the device lets go of every buffer */
    /* The idle hook stays registered but sees running == false; memory stays (no hook removal). */
}

void esp_smoltcp_virtio_net_isr(esp_smoltcp_netdev_t *dev)
{
    vnet_t *v = (vnet_t *)dev;
    wr(v, VM_INT_ACK, rd(v, VM_INT_STATUS));
}

void esp_smoltcp_virtio_net_get_stats(esp_smoltcp_netdev_t *dev, esp_smoltcp_virtio_net_stats_t *out)
{
    *out = ((vnet_t *)dev)->st;
}

esp_err_t esp_smoltcp_virtio_net_create(const esp_smoltcp_virtio_net_config_t *cfg, esp_smoltcp_netdev_t **out)
{
    if (!cfg || !cfg->base || !out) {
        return ESP_ERR_INVALID_ARG;
    }
    vnet_t *v = calloc(1, sizeof(*v));
    if (!v) {
        return ESP_ERR_NO_MEM;
    }
    v->mmio = cfg->base;
    if (rd(v, VM_MAGIC) != 0x74726976 || rd(v, VM_VERSION) != 2 || rd(v, VM_DEVICE_ID) != 1) {
        ESP_LOGE(TAG, "no modern virtio-net at 0x%lx (version %u; -global virtio-mmio.force-legacy=false)",
                 (unsigned long)cfg->base, (unsigned)rd(v, VM_VERSION));
        free(v);
        return ESP_ERR_NOT_FOUND;
    }
    wr(v, VM_STATUS, 0);
    wr(v, VM_STATUS, ST_ACK);
    wr(v, VM_STATUS, ST_ACK | ST_DRIVER);
    wr(v, VM_DEV_FEATURES_SEL, 0);
    uint32_t f0 = rd(v, VM_DEV_FEATURES);
    wr(v, VM_DEV_FEATURES_SEL, 1);
    uint32_t f1 = rd(v, VM_DEV_FEATURES);
    if (!(f1 & (1u << F_VERSION_1))) {
        free(v);
        return ESP_ERR_NOT_SUPPORTED;
    }
    uint32_t want0 = f0 & (1u << F_NET_MAC);
    wr(v, VM_DRV_FEATURES_SEL, 0);
    wr(v, VM_DRV_FEATURES, want0);
    wr(v, VM_DRV_FEATURES_SEL, 1);
    wr(v, VM_DRV_FEATURES, 1u << F_VERSION_1);
    wr(v, VM_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
    if (!(rd(v, VM_STATUS) & ST_FEATURES_OK)) {
        free(v);
        return ESP_ERR_NOT_SUPPORTED;
    }
    if (want0) {
        for (int i = 0; i < 6; i++) {
            v->mac[i] = *(volatile uint8_t *)(v->mmio + VM_CONFIG + i);
        }
    } else {
        static const uint8_t def[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
        memcpy(v->mac, def, 6);
    }
    esp_err_t err = vq_setup(v, 0, &v->rx, cfg->rx_ring ? cfg->rx_ring : 64);
    if (err == ESP_OK) {
        err = vq_setup(v, 1, &v->tx, cfg->tx_ring ? cfg->tx_ring : 64);
    }
    if (err == ESP_OK) {
        v->tx_free = calloc(v->tx.n, sizeof(uint16_t));
        err = v->tx_free ? ESP_OK : ESP_ERR_NO_MEM;
    }
    if (err != ESP_OK) {
        wr(v, VM_STATUS, 0);
        return err; /* rings leak: a failed boot-time probe */
    }
    for (uint16_t i = 0; i < v->tx.n; i++) {
        v->tx_free[i] = (uint16_t)(v->tx.n - 1 - i);
    }
    v->tx_free_count = v->tx.n;
    AVAIL_FLAGS(&v->tx) = AVAIL_F_NO_INTERRUPT; /* completions are reclaimed on transmit */
    for (uint16_t i = 0; i < v->rx.n; i++) {
        v->rx.desc[i].flags = DESC_F_WRITE;
        AVAIL_RING(&v->rx, i) = i;
    }
    v->rx.avail_idx = v->rx.n;
    mb();
    AVAIL_IDX(&v->rx) = v->rx.avail_idx;
    wr(v, VM_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
    wr(v, VM_QUEUE_NOTIFY, 0);

    v->base.name = "virtio-net";
    v->base.start = vnet_start;
    v->base.stop = vnet_stop;
    v->base.transmit = vnet_transmit;
    v->base.get_mac = vnet_get_mac;
    v->base.destroy = vnet_destroy;
    v->base.mtu = 1500;
    v->base.rx_checksums_verified = false;
    if (bm_add_idle_hook(rx_poll, v) != 0) {
        return ESP_ERR_NO_MEM;
    }
    ESP_LOGI(TAG, "at 0x%lx: mac %02x:%02x:%02x:%02x:%02x:%02x, rx %u tx %u buffers of %u B",
             (unsigned long)v->mmio, v->mac[0], v->mac[1], v->mac[2], v->mac[3], v->mac[4], v->mac[5], v->rx.n,
             v->tx.n, BUF_SIZE);
    *out = &v->base;
    return ESP_OK;
}
