/* RFC 8415 §15 retransmission timeouts of the DHCPv6 Information-Request. */
#include <stdlib.h>

#include "dhcp6_rt.h"
#include "unit_test.h"

#define SEC 1000000ull

/* The largest random offset: r = 2 x (unit / 10). */
static uint64_t r_max(uint64_t unit)
{
    return 2 * (unit / 10);
}

/* First RT: IRT 1 s +- 10 %, both ends reachable. */
static void test_first_rt(void)
{
    CHECK_EQ(dhcp6_next_rt(0, 0), 900000);
    CHECK_EQ(dhcp6_next_rt(0, r_max(SEC)), 1100000);
    CHECK_EQ(dhcp6_next_rt(0, r_max(SEC) / 2), SEC);
}

/* RAND scales RTprev, not 2 RTprev: each RT is 1.9..2.1 times the previous one. */
static void test_doubling_bounds(void)
{
    const uint64_t prev = 2288000;
    CHECK_EQ(dhcp6_next_rt(prev, 0), 2 * prev - prev / 10);
    CHECK_EQ(dhcp6_next_rt(prev, r_max(prev)), 2 * prev + prev / 10);
    srand(8415);
    unsigned out_of_range = 0;
    uint64_t rt = 0;
    for (int i = 0; i < 100000; i++) {
        uint64_t r = (uint64_t)rand() << 31 ^ (uint64_t)rand();
        uint64_t next = dhcp6_next_rt(rt, r);
        if (rt != 0 && next <= DHCP6_INF_MAX_RT_US * 9 / 10 &&
            (10 * next < 19 * rt || 10 * next > 21 * rt)) {
            out_of_range++;
        }
        rt = next >= DHCP6_INF_MAX_RT_US * 9 / 10 ? 0 : next; /* restart the sequence near the cap */
    }
    CHECK_EQ(out_of_range, 0);
}

/* Past INF_MAX_RT the RT is MRT +- 10 % and stays there. */
static void test_cap(void)
{
    const uint64_t mrt = DHCP6_INF_MAX_RT_US;
    CHECK_EQ(dhcp6_next_rt(mrt / 10 * 6, 0), mrt - mrt / 10); /* 1.14 MRT: capped */
    CHECK_EQ(dhcp6_next_rt(mrt, r_max(mrt)), mrt + mrt / 10);
    uint64_t rt = mrt + mrt / 10;
    for (int i = 0; i < 20; i++) {
        rt = dhcp6_next_rt(rt, (uint64_t)i * 7919 * SEC);
        CHECK(rt >= mrt - mrt / 10 && rt <= mrt + mrt / 10);
    }
    /* just below the cap, doubling is not cut short */
    CHECK_EQ(dhcp6_next_rt(mrt / 2 - SEC, r_max(mrt / 2 - SEC) / 2), mrt - 2 * SEC);
}

int main(void)
{
    RUN(test_first_rt);
    RUN(test_doubling_bounds);
    RUN(test_cap);
    return UNIT_TEST_END();
}
