/*
 * The device interface a network driver implements for esp_smoltcp.
 *
 * A driver embeds esp_smoltcp_netdev_t as the first member of its own state,
 * fills the function table and calls esp_smoltcp_attach_netdev(). Received
 * frames go in through esp_smoltcp_netdev_input*(), from any thread or task
 * (not from an ISR). Transmit is called from the poll task.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct esp_smoltcp_netdev esp_smoltcp_netdev_t;

struct esp_smoltcp_netdev {
    const char *name;
    /** Begin delivering received frames. */
    esp_err_t (*start)(esp_smoltcp_netdev_t *dev);
    /** Stop delivering frames; no input call after it returns. */
    void (*stop)(esp_smoltcp_netdev_t *dev);
    /** Send one Ethernet frame (no FCS). The buffer is only valid during the call. */
    esp_err_t (*transmit)(esp_smoltcp_netdev_t *dev, const uint8_t *frame, size_t len);
    esp_err_t (*get_mac)(esp_smoltcp_netdev_t *dev, uint8_t mac[6]);
    /** Release the driver (after stop). */
    void (*destroy)(esp_smoltcp_netdev_t *dev);
    uint16_t mtu;                /* IP MTU, normally 1500 */
    bool rx_checksums_verified;  /* the MAC verified IP/TCP/UDP/ICMP checksums and drops bad frames */
    bool rx_bursts;              /* the driver calls esp_smoltcp_netdev_rx_burst_end() after each batch of input */
};

/**
 * A buffer from the RX frame pool (the software image of a DMA ring) of at
 * least *size bytes, or NULL when all are in use. A driver that then has to
 * discard a received frame reports it with esp_smoltcp_netdev_rx_dropped().
 */
uint8_t *esp_smoltcp_rx_buffer_alloc(size_t *size);

/** Count a received frame the driver discarded for want of a pool buffer (rx_drop_pool_empty). */
void esp_smoltcp_netdev_rx_dropped(void);
/** Return a pool buffer that will not be passed to input. */
void esp_smoltcp_rx_buffer_free(uint8_t *buf);

/** Hand a received frame in a pool buffer to the stack (ownership passes). */
void esp_smoltcp_netdev_input_pool(uint8_t *buf, size_t len);

/**
 * Hand a received frame in a driver-owned buffer to the stack; release(ctx,
 * buf) is called when the stack is done with it, also when it is dropped.
 */
void esp_smoltcp_netdev_input(uint8_t *buf, size_t len, void (*release)(void *ctx, uint8_t *buf),
                              void *release_ctx);

/**
 * End of a batch of input (drivers with rx_bursts set): every frame the driver had ready has
 * been handed over. The runtime processes them now in the calling thread when the core is free
 * and rx_poll_inline is set, else wakes its poll task. Drivers without rx_bursts need not call
 * it: each input wakes the poll task.
 */
void esp_smoltcp_netdev_rx_burst_end(void);

/** Report link up/down (Ethernet cable, Wi-Fi association). */
void esp_smoltcp_netdev_link_changed(bool up);

#ifdef __cplusplus
}
#endif
