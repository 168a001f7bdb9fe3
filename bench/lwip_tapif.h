/* A minimal TAP netif for Debian's lwIP 2.1.3 (bench only). */
#pragma once

#include <stdint.h>

#include "lwip/netif.h"

typedef struct {
    char ifname[16];
    uint8_t mac[6];
    int fd;
    /* counters (written by the RX thread / the TX path) */
    volatile uint64_t rx_frames, rx_bytes, rx_drops_alloc, rx_drops_input, tx_frames, tx_bytes, tx_failures;
} bench_tapif_t;

/** netif init callback for netif_add(); netif->state must point at a bench_tapif_t. */
err_t bench_tapif_init(struct netif *netif);
/** Start the RX thread (after the netif is added and up). */
int bench_tapif_start(struct netif *netif);
