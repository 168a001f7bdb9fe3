/*
 * eth_basic --ptp: starts the PTP slave (esp_smoltcp_ptp.h) and reports it.
 * Log lines a test can read:
 *   ptp: state FROM -> TO                       on each state change
 *   ptp: {"state": ..., "err_ns": ...}          every period_ms: the status and
 *        the PTP clock minus this host's CLOCK_REALTIME, read back to back
 *        (on the host, a master in another namespace serves the same clock)
 * and a "ptp" object for /stats (ptp_monitor_json).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/** Start the PTP client over transport "l2" or "udp4" in domain. 0, or -1 (logged). */
int ptp_monitor_start(const char *transport, uint8_t domain, uint32_t period_ms);

/** The status as a JSON object ("null" when not started); returns its length. */
size_t ptp_monitor_json(char *buf, size_t len);
