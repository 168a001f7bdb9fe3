/*
 * The netdev of in-process tests: no wire. Frames the stack transmits are
 * counted and handed to an optional observer; nothing ever arrives (the tests
 * talk over the loopback path or feed frames in themselves).
 *
 *     CHECK_EQ(esp_smoltcp_attach_netdev(test_netdev(mac, NULL)), ESP_OK);
 */
#pragma once

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "esp_smoltcp_netdev.h"

typedef void (*test_netdev_tx_fn)(const uint8_t *frame, size_t len);

/* Frames the stack handed to the test netdev so far. */
static atomic_int test_netdev_tx_frames;
static test_netdev_tx_fn test_netdev_on_tx;
static uint8_t test_netdev_mac[6];

static esp_err_t test_netdev_start(esp_smoltcp_netdev_t *d)
{
    (void)d;
    return ESP_OK;
}

static void test_netdev_stop(esp_smoltcp_netdev_t *d)
{
    (void)d;
}

static esp_err_t test_netdev_transmit(esp_smoltcp_netdev_t *d, const uint8_t *frame, size_t len)
{
    (void)d;
    atomic_fetch_add(&test_netdev_tx_frames, 1);
    if (test_netdev_on_tx) {
        test_netdev_on_tx(frame, len);
    }
    return ESP_OK;
}

static esp_err_t test_netdev_get_mac(esp_smoltcp_netdev_t *d, uint8_t mac[6])
{
    (void)d;
    memcpy(mac, test_netdev_mac, 6);
    return ESP_OK;
}

/** The test netdev with this MAC (a locally administered unicast one) and tx observer (or NULL). */
static inline esp_smoltcp_netdev_t *test_netdev(const uint8_t mac[6], test_netdev_tx_fn on_tx)
{
    static esp_smoltcp_netdev_t dev = {
        .name = "null", .start = test_netdev_start, .stop = test_netdev_stop,
        .transmit = test_netdev_transmit, .get_mac = test_netdev_get_mac, .mtu = 1500,
    };
    memcpy(test_netdev_mac, mac, 6);
    test_netdev_on_tx = on_tx;
    return &dev;
}
