/*
 * Linux TAP netdev (host port): an esp_smoltcp_netdev_t over /dev/net/tun.
 * A reader thread reads frames straight into RX pool buffers (the image of a
 * MAC's DMA ring: one copy) and hands them to the stack.
 */
#pragma once

#include "esp_err.h"
#include "esp_smoltcp_netdev.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Open the TAP interface `ifname` (created beforehand, e.g. `ip tuntap add
 * mode tap`). mac: the stack's MAC, NULL = a random locally administered one.
 * @return ESP_OK; ESP_ERR_INVALID_ARG; ESP_ERR_NOT_FOUND (cannot open the
 *         TAP, errno logged); ESP_ERR_NO_MEM.
 */
esp_err_t esp_smoltcp_tap_create(const char *ifname, const uint8_t *mac, esp_smoltcp_netdev_t **out);

#ifdef __cplusplus
}
#endif
