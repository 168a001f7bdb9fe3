/*
 * esp_eth as an esp_smoltcp network device: frames from an installed
 * Ethernet driver (internal EMAC + PHY, or an SPI MAC such as W5500) go to
 * the stack, the stack's frames go out through esp_eth_transmit().
 *
 *     esp_smoltcp_init();
 *     esp_smoltcp_attach_eth(eth_handle);   // before or after esp_eth_start()
 *     esp_smoltcp_wait_for_ip(ESP_SMOLTCP_IFACE_ETH, 15000);
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "esp_err.h"
#include "esp_eth_driver.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    /*
     * The MAC verifies IPv4/TCP/UDP/ICMP checksums of received frames and
     * drops bad ones, so the stack can skip them. True only for the chip's
     * internal EMAC (IDF sets ETH_CHECKSUM_HW in emac_hal_init); false for
     * SPI MACs, which deliver frames unchecked.
     */
    bool rx_checksums_verified;
    /* esp_eth_transmit() attempts per frame while the MAC has no free TX
     * descriptor (ESP_ERR_NO_MEM / ESP_ERR_TIMEOUT); the last failure is
     * counted as a TX failure and TCP retransmits. */
    uint8_t tx_attempts;
    /* Busy-wait between attempts, µs: about one 1500-byte frame at 100 Mbit/s. */
    uint16_t tx_retry_delay_us;
} esp_smoltcp_eth_config_t;

/** Any MAC: checksums verified in software. */
#define ESP_SMOLTCP_ETH_DEFAULT_CONFIG() \
    { .rx_checksums_verified = false, .tx_attempts = 4, .tx_retry_delay_us = 125 }

/** The chip's internal EMAC (ESP32, ESP32-P4): RX checksums verified in hardware. */
#define ESP_SMOLTCP_ETH_INTERNAL_EMAC_CONFIG() \
    { .rx_checksums_verified = true, .tx_attempts = 4, .tx_retry_delay_us = 125 }

/**
 * Attach an installed esp_eth driver as the stack's Ethernet interface, with
 * ESP_SMOLTCP_ETH_DEFAULT_CONFIG() (or the internal-EMAC configuration when
 * CONFIG_ESP_SMOLTCP_ETH_RX_CSUM_OFFLOAD is set).
 * @return ESP_OK; ESP_ERR_INVALID_ARG (NULL handle); ESP_ERR_INVALID_STATE
 *         (esp_smoltcp_init() not called, or an interface already attached);
 *         ESP_ERR_NO_MEM; an esp_eth error from reading the MAC address or
 *         from esp_eth_update_input_path().
 */
esp_err_t esp_smoltcp_attach_eth(esp_eth_handle_t eth);

/** esp_smoltcp_attach_eth() with an explicit configuration. Same return codes. */
esp_err_t esp_smoltcp_attach_eth_with_config(esp_eth_handle_t eth, const esp_smoltcp_eth_config_t *cfg);

/** Counters of the esp_eth device (beyond esp_smoltcp_get_stats()). */
typedef struct {
    uint32_t tx_retries;     /* esp_eth_transmit() attempts repeated for want of a descriptor */
    uint32_t tx_errors;      /* frames given up after tx_attempts */
    uint32_t rx_after_stop;  /* frames freed because they arrived after detach */
    uint32_t link_changes;
} esp_smoltcp_eth_stats_t;

/** @return ESP_OK; ESP_ERR_INVALID_ARG (NULL); ESP_ERR_INVALID_STATE (not attached). */
esp_err_t esp_smoltcp_eth_get_stats(esp_smoltcp_eth_stats_t *out);

#ifdef __cplusplus
}
#endif
