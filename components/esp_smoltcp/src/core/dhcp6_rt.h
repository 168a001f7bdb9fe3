/*
 * RFC 8415 §15 retransmission timeout of the DHCPv6 Information-Request,
 * kept pure (the random number is passed in) so the rule is unit-tested.
 */
#pragma once

#include <stdint.h>

#define DHCP6_INF_TIMEOUT_US 1000000ull           /* §7.6 INF_TIMEOUT */
#define DHCP6_INF_MAX_RT_US (3600ull * 1000000ull) /* §7.6 INF_MAX_RT */

/** base + RAND x unit, RAND in [-0.1, 0.1] taken from the random number r. */
static inline uint64_t dhcp6_rand_add(uint64_t base, uint64_t unit, uint64_t r)
{
    uint64_t tenth = unit / 10;
    return base - tenth + r % (2 * tenth + 1);
}

/**
 * RT after a transmission: IRT +- 10 % first (rt_prev 0), then
 * 2 RTprev + RAND x RTprev (each RT 1.9..2.1 times the previous), and
 * MRT +- 10 % once that passes INF_MAX_RT. No MRC: it retries for ever.
 */
static inline uint64_t dhcp6_next_rt(uint64_t rt_prev, uint64_t r)
{
    if (rt_prev == 0) {
        return dhcp6_rand_add(DHCP6_INF_TIMEOUT_US, DHCP6_INF_TIMEOUT_US, r);
    }
    uint64_t rt = dhcp6_rand_add(2 * rt_prev, rt_prev, r);
    return rt > DHCP6_INF_MAX_RT_US ? dhcp6_rand_add(DHCP6_INF_MAX_RT_US, DHCP6_INF_MAX_RT_US, r) : rt;
}
