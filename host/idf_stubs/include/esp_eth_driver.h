/* esp_eth_driver.h stand-in (+ the event ids of esp_eth_com.h, which the real header includes). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "esp_event_base.h"

typedef void *esp_eth_handle_t;

typedef enum {
    ETH_CMD_G_MAC_ADDR,
} esp_eth_io_cmd_t;

typedef enum {
    ETHERNET_EVENT_START,
    ETHERNET_EVENT_STOP,
    ETHERNET_EVENT_CONNECTED,
    ETHERNET_EVENT_DISCONNECTED,
} eth_event_t;

ESP_EVENT_DECLARE_BASE(ETH_EVENT);

esp_err_t esp_eth_update_input_path(esp_eth_handle_t hdl,
                                    esp_err_t (*stack_input)(esp_eth_handle_t hdl, uint8_t *buffer, uint32_t length,
                                                             void *priv),
                                    void *priv);
esp_err_t esp_eth_transmit(esp_eth_handle_t hdl, void *buf, size_t length);
esp_err_t esp_eth_ioctl(esp_eth_handle_t hdl, esp_eth_io_cmd_t cmd, void *data);
