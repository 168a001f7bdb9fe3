/*
 * An in-memory esp_smoltcp netdev for the fuzzers: what the stack transmits
 * is either looped straight back into its own input (through the RX pool,
 * as a MAC's DMA ring would deliver it) or discarded.
 */
#pragma once

#include "esp_smoltcp_netdev.h"

#define NETDEV_MEM_LOOP 0    /* transmitted frames come back as received frames */
#define NETDEV_MEM_DISCARD 1 /* transmitted frames vanish */

/** MAC of the device: 02:00:00:00:00:02. */
extern const uint8_t NETDEV_MEM_MAC[6];

esp_err_t netdev_mem_create(int mode, esp_smoltcp_netdev_t **out);
/** Frames transmitted since creation. */
unsigned long netdev_mem_tx_count(esp_smoltcp_netdev_t *dev);
