/* MLDv2 report of all groups; see ip6_mld.h. */
#include "ip6_mld.h"

#include <string.h>

#include "ip6_nd.h"
#include "runtime.h"

#define RECORDS_PER_REPORT 16 /* more groups than this go out in several reports */
#define HDRS (14 + 40 + 8 + 8) /* Ethernet, IPv6, hop-by-hop, ICMPv6 report header */
#define RECORD_LEN 20
#define CHANGE_TO_EXCLUDE 4   /* "listening, no source filter" as a state change (§5.2.12) */

typedef struct {
    uint8_t frame[HDRS + RECORDS_PER_REPORT * RECORD_LEN];
    const uint8_t *src;
    unsigned records;
} report_t;

static void flush(report_t *r)
{
    if (r->records == 0) {
        return;
    }
    static const uint8_t all_mld2_routers[16] = {0xff, 0x02, [15] = 0x16};
    size_t payload = 8 + 8 + (size_t)r->records * RECORD_LEN;
    uint8_t *f = r->frame;
    /* next header 0: hop-by-hop options; hop limit 1 (RFC 3810 §5) */
    uint8_t *hbh = f + ip6_mcast_frame_header(f, rt.mac, r->src, all_mld2_routers, 0, 1, payload);
    memset(hbh, 0, 16);
    hbh[0] = 58;
    hbh[2] = 5; /* Router Alert, value 0: MLD (RFC 2711), then PadN */
    hbh[3] = 2;
    hbh[6] = 1;
    uint8_t *icmp = hbh + 8;
    icmp[0] = 143; /* checksum filled by rt_transmit */
    icmp[6] = (uint8_t)(r->records >> 8);
    icmp[7] = (uint8_t)r->records;
    rt_transmit(f, HDRS + (size_t)r->records * RECORD_LEN);
    r->records = 0;
}

static void add(report_t *r, const uint8_t group[16])
{
    uint8_t *rec = r->frame + HDRS;
    for (unsigned i = 0; i < r->records; i++) {
        if (memcmp(rec + i * RECORD_LEN + 4, group, 16) == 0) {
            return; /* two addresses can share a solicited-node group */
        }
    }
    if (r->records == RECORDS_PER_REPORT) {
        flush(r);
    }
    uint8_t *at = rec + r->records++ * RECORD_LEN;
    memset(at, 0, 4);
    at[0] = CHANGE_TO_EXCLUDE;
    memcpy(at + 4, group, 16);
}

void ip6_mld_report_all(const uint8_t src[16])
{
    report_t r = {.src = src};
    uint8_t addr[16], prefix;
    for (unsigned i = 0; esg_iface_get_addr(rt.eng, ESG_AF_INET6, i, addr, &prefix) == ESG_OK; i++) {
        uint8_t snm[16];
        ip6_solicited_node(addr, snm);
        add(&r, snm);
    }
    for (int i = 0; i < ESP_SMOLTCP_MCAST_MAX_GROUPS; i++) {
        const rt_mcast_group_t *g = &rt.mcast[i];
        /* ff02::1 (all nodes) is never reported (RFC 3810 §6) */
        static const uint8_t all_nodes[16] = {0xff, 0x02, [15] = 0x01};
        if (g->users && g->family == ESP_SMOLTCP_AF_INET6 && memcmp(g->addr, all_nodes, 16) != 0) {
            add(&r, g->addr);
        }
    }
    flush(&r);
}
