/*
 * How the PTP task moves messages: one implementation per transport
 * (ptp_l2.c: Ethernet through the L2 tap; ptp_udp.c: UDP/IPv4 319/320).
 * Stamps are in the transport's local clock (ns), which the PTP clock maps
 * to UTC; now_local reads that same clock.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "esp_err.h"
#include "esp_smoltcp.h"

typedef struct {
    const char *name;
    esp_err_t (*open)(esp_smoltcp_iface_t iface);
    void (*close)(void);
    /**
     * The next message's PTP payload into buf, within timeout_ms.
     * @return its length; 0 when nothing came (or a frame was not a message:
     *         *bad set); < 0 when the transport failed for good.
     */
    ssize_t (*recv)(uint8_t *buf, size_t cap, int64_t *rx_local_ns, bool *bad, uint32_t timeout_ms);
    /** Send an event message (Delay_Req) and return its transmit stamp. */
    bool (*send_event)(const uint8_t *msg, size_t len, int64_t *tx_local_ns);
    int64_t (*now_local)(void);
} ptp_transport_t;

extern const ptp_transport_t ptp_transport_l2;
extern const ptp_transport_t ptp_transport_udp4;
