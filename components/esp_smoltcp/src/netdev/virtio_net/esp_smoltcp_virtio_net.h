/*
 * virtio-net over virtio-mmio (modern, VIRTIO_F_VERSION_1) for esp_smoltcp on
 * bare metal: QEMU's `virt` machines. One RX and one TX virtqueue with a fixed
 * pool of buffers each; one copy per direction, as a DMA MAC driver has (RX:
 * device buffer -> runtime pool buffer; TX: engine frame -> device buffer).
 * No offloads are negotiated: the runtime verifies and fills checksums.
 *
 * RX completion is signalled by the device's interrupt (the platform handler
 * calls esp_smoltcp_virtio_net_isr(), which only acknowledges it); frames are
 * taken off the used ring in the port's idle hook (os_baremetal.h). TX
 * completions are reclaimed lazily on transmit, without interrupts.
 */
#pragma once

#include <stdint.h>

#include "esp_err.h"
#include "esp_smoltcp_netdev.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uintptr_t base;   /* MMIO base of a virtio-mmio slot holding a net device */
    uint16_t rx_ring; /* RX descriptors = RX buffers (power of two, <= QueueNumMax) */
    uint16_t tx_ring; /* TX descriptors = TX buffers */
} esp_smoltcp_virtio_net_config_t;

typedef struct {
    uint64_t rx_frames, rx_drops_no_pool, rx_bad_len;
    uint64_t tx_frames, tx_ring_full, tx_notifies, rx_notifies;
    uint32_t rx_ring_high_water; /* most used RX buffers seen waiting at once */
} esp_smoltcp_virtio_net_stats_t;

/** Find the first virtio-mmio net device among `count` slots of `stride` bytes from `first`; 0 if none. */
uintptr_t esp_smoltcp_virtio_net_probe(uintptr_t first, uintptr_t stride, unsigned count, unsigned *slot);

/** Reset and configure the device; *out is what esp_smoltcp_attach_netdev() takes. */
esp_err_t esp_smoltcp_virtio_net_create(const esp_smoltcp_virtio_net_config_t *cfg, esp_smoltcp_netdev_t **out);

/** From the interrupt handler: acknowledge the device's interrupt (nothing else). */
void esp_smoltcp_virtio_net_isr(esp_smoltcp_netdev_t *dev);

void esp_smoltcp_virtio_net_get_stats(esp_smoltcp_netdev_t *dev, esp_smoltcp_virtio_net_stats_t *out);

#ifdef __cplusplus
}
#endif
