/* MLDv2 reports the runtime sends itself (smoltcp reports only joins and queries). */
#pragma once

#include <stdint.h>

/**
 * One unsolicited MLDv2 report (RFC 3810 §6.1) from src (the link-local
 * address) listing every group the interface listens to: the solicited-node
 * group of each of its addresses and the groups joined through
 * esp_smoltcp_mcast_join. For the link's return (core lock held, poll task).
 */
void ip6_mld_report_all(const uint8_t src[16]);
