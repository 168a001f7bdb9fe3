#include "tx_checksum.h"

#include "frame_check.h"

#define ETH_HDR 14
#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ICMPV6 58

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Offset of the checksum field in an L4 header, or -1 when the protocol has none we fill. */
static int l4_checksum_offset(uint8_t proto, size_t l4_len)
{
    int off = proto == PROTO_TCP ? 16 : proto == PROTO_UDP ? 6 : (proto == PROTO_ICMP || proto == PROTO_ICMPV6) ? 2 : -1;
    return off >= 0 && l4_len >= (size_t)off + 2 ? off : -1;
}

static void fill_l4(uint8_t *frame, uint8_t *ip, uint8_t *l4, size_t l4_len, uint8_t proto, uint32_t pseudo,
                    frame_l4_t *where)
{
    int off = l4_checksum_offset(proto, l4_len);
    if (off < 0) {
        return;
    }
    *where = frame_l4_at(frame, ip, l4, l4_len, proto);
    wr16(l4 + off, 0);
    uint16_t sum = (uint16_t)~inet_sum16(l4, l4_len, pseudo);
    if (proto == PROTO_UDP && sum == 0) {
        sum = 0xffff; /* RFC 768: a computed zero is sent as all ones */
    }
    wr16(l4 + off, sum);
}

void tx_checksum_fill(uint8_t *f, size_t len, frame_l4_t *where)
{
    *where = (frame_l4_t){0};
    if (len < ETH_HDR + 20) {
        return;
    }
    uint16_t type = rd16(f + 12);
    uint8_t *ip = f + ETH_HDR;
    size_t avail = len - ETH_HDR;
    if (type == 0x0800 && (ip[0] >> 4) == 4) {
        size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
        size_t total = rd16(ip + 2);
        if (ihl < 20 || total < ihl || total > avail) {
            return;
        }
        wr16(ip + 10, 0);
        wr16(ip + 10, (uint16_t)~inet_sum16(ip, ihl, 0));
        if (rd16(ip + 6) & 0x3fff) {
            return; /* a fragment: its L4 checksum covers the whole datagram */
        }
        uint8_t proto = ip[9];
        uint32_t pseudo = proto == PROTO_ICMP ? 0 : (uint32_t)inet_sum16(ip + 12, 8, proto) + (uint32_t)(total - ihl);
        fill_l4(f, ip, ip + ihl, total - ihl, proto, pseudo, where);
    } else if (type == 0x86dd && (ip[0] >> 4) == 6 && avail >= 40) {
        size_t payload = rd16(ip + 4);
        if (payload > avail - 40) {
            return;
        }
        uint8_t *l4 = ip + 40;
        uint8_t next = ip[6];
        /* Skip hop-by-hop / routing / destination options (smoltcp's MLD reports carry a
         * hop-by-hop header): the checksum belongs to the upper layer behind them. */
        while ((next == 0 || next == 43 || next == 60) && payload >= 8) {
            size_t ext = ((size_t)l4[1] + 1) * 8;
            if (ext > payload) {
                return;
            }
            next = l4[0];
            l4 += ext;
            payload -= ext;
        }
        uint32_t pseudo = (uint32_t)inet_sum16(ip + 8, 32, next) + (uint32_t)payload;
        fill_l4(f, ip, l4, payload, next, pseudo, where);
    }
}
