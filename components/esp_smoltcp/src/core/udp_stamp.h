/*
 * Timestamps of UDP/IPv4 datagrams to or from one watched port, taken at the
 * netdev (RX: at input, in the driver's RX context; TX: just before the
 * driver's transmit) without taking the datagram from the engine. This is
 * how PTP over UDP gets event-message stamps through ordinary sockets: the
 * socket delivers the message, and the stamp is found here by its first
 * bytes (a PTP header holds type, source and sequenceId).
 *
 * Software stamps (os_now_us() * 1000, the L2 tap's software clock). One
 * watcher at a time; bounded rings, the oldest entry overwritten.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "frame_queue.h"

#define UDP_STAMP_KEY_LEN 34u /* bytes of UDP payload compared: a whole PTP header */

/**
 * Watch port (0: stop). The first call installs udp_stamp_rx/_tx as the frame
 * path's hooks (rt_hook_udp_stamp): images without PTP over UDP do not link them.
 * ESP_OK; ESP_ERR_NO_MEM; ESP_ERR_INVALID_STATE (another port is watched).
 */
esp_err_t udp_stamp_watch(uint16_t port);

/** RX context: stamp the frame when it is UDP/IPv4 to the watched port. One atomic load otherwise. */
void udp_stamp_rx(const frame_t *f);

/** Transmit path (core lock held): stamp the frame when it is UDP/IPv4 from the watched port. */
void udp_stamp_tx(const uint8_t *frame, size_t len);

/**
 * Take the stamp of a datagram whose payload starts with payload[0..len)
 * (compared up to UDP_STAMP_KEY_LEN bytes), received (tx false) or sent.
 * @return true and *ns when found (the entry is consumed).
 */
bool udp_stamp_take(bool tx, const uint8_t *payload, size_t len, uint64_t *ns);
