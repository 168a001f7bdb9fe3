/*
 * L2 frame tap, the runtime's side (public API: esp_smoltcp_l2tap.h).
 */
#pragma once

#include <stdbool.h>

#include "frame_queue.h"

/**
 * First step of netdev input, in the driver's RX context (never under the
 * core lock). When the frame's EtherType is tapped, copies it (with its
 * receive timestamp) to every tap of that type, releases the frame and
 * returns true: the engine never sees it. Otherwise returns false and the
 * frame goes on to the frame checks. One atomic load when no tap is open.
 * The frame path calls it through rt_hook_l2tap(), installed at the first
 * open (or set_ts_hooks): images without the L2 tap API do not link it.
 */
bool l2tap_input(const frame_t *f);
