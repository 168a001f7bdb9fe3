/* IPv4 announcements on link up; see link_announce.h. */
#include "link_announce.h"

#include <string.h>

#include "frame_check.h"
#include "runtime.h"

#define ETH_HDR 14

static void eth_header(uint8_t *f, const uint8_t dst[6], uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, rt.mac, 6);
    f[12] = (uint8_t)(type >> 8);
    f[13] = (uint8_t)type;
}

/* Request with sender = target = our address: peers update their cache, nobody answers. It goes
 * round the loopback divert, which would take it for the engine resolving its own address. */
static void send_arp_announcement(const uint8_t ip[4])
{
    static const uint8_t broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    uint8_t f[ETH_HDR + 28] = {0};
    eth_header(f, broadcast, 0x0806);
    uint8_t *a = f + ETH_HDR;
    a[1] = 1;    /* Ethernet */
    a[2] = 0x08; /* IPv4 */
    a[4] = 6;
    a[5] = 4;
    a[7] = 1; /* request */
    memcpy(a + 8, rt.mac, 6);
    memcpy(a + 14, ip, 4);
    memcpy(a + 24, ip, 4);
    rt_transmit_wire(f, sizeof(f));
}

/* IGMPv2 membership report: TTL 1 and the Router Alert option (RFC 2236 §2), IP checksum
 * filled by rt_transmit, the IGMP one here (rt_transmit fills only TCP/UDP/ICMP). */
static void send_igmp_report(const uint8_t group[4])
{
    const uint8_t dst[6] = {0x01, 0x00, 0x5e, (uint8_t)(group[1] & 0x7f), group[2], group[3]};
    uint8_t f[ETH_HDR + 24 + 8] = {0};
    eth_header(f, dst, 0x0800);
    uint8_t *ip = f + ETH_HDR;
    ip[0] = 0x46; /* IHL 6: the option */
    ip[1] = 0xc0; /* internetwork control, as other stacks send it */
    ip[3] = 24 + 8;
    ip[8] = 1;
    ip[9] = 2; /* IGMP */
    if (rt.ip4.has_addr) {
        memcpy(ip + 12, rt.ip4.addr, 4);
    }
    memcpy(ip + 16, group, 4);
    ip[20] = 0x94; /* Router Alert, length 4, value 0 */
    ip[21] = 4;
    uint8_t *igmp = ip + 24;
    igmp[0] = 0x16; /* v2 membership report */
    memcpy(igmp + 4, group, 4);
    uint16_t sum = (uint16_t)~inet_sum16(igmp, 8, 0);
    igmp[2] = (uint8_t)(sum >> 8);
    igmp[3] = (uint8_t)sum;
    rt_transmit(f, sizeof(f));
}

void announce_ip4_address(void)
{
    if (rt.ip4.has_addr) {
        send_arp_announcement(rt.ip4.addr);
    }
}

void link_announce_ip4_groups(void)
{
    for (int i = 0; i < ESP_SMOLTCP_MCAST_MAX_GROUPS; i++) {
        const rt_mcast_group_t *g = &rt.mcast[i];
        /* 224.0.0.1, all hosts, is never reported (RFC 2236 §6) */
        static const uint8_t all_hosts[4] = {224, 0, 0, 1};
        if (g->users && g->family == ESP_SMOLTCP_AF_INET && memcmp(g->addr, all_hosts, 4) != 0) {
            send_igmp_report(g->addr);
        }
    }
}
