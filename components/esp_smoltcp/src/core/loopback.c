#include "loopback.h"

#include <string.h>

#include "runtime.h"

const uint8_t loopback_addr[4] = {127, 0, 0, 1};

#define ETH_HDR 14
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP 0x0806

static uint16_t ethertype(const uint8_t *f)
{
    return (uint16_t)(f[12] << 8 | f[13]);
}

static bool is_own_ipv4(const uint8_t *a)
{
    /* rt.ip4 is read without the core lock: this runs inside esg_poll, which holds it. */
    return a[0] == 127 || (rt.ip4.has_addr && memcmp(a, rt.ip4.addr, 4) == 0);
}

static bool addressed_to_self(const uint8_t *f, size_t len)
{
    if (len < ETH_HDR) {
        return false;
    }
    if (memcmp(f, rt.mac, 6) == 0) {
        return true;
    }
    if (ethertype(f) == ETHERTYPE_ARP && len >= ETH_HDR + 28) {
        return is_own_ipv4(f + ETH_HDR + 24); /* target protocol address */
    }
    if (ethertype(f) == ETHERTYPE_IPV4 && len >= ETH_HDR + 20) {
        return f[ETH_HDR + 16] == 127;
    }
    return false;
}

bool loopback_divert(const uint8_t *frame, size_t len, const frame_l4_t *where)
{
    if (!addressed_to_self(frame, len)) {
        return false;
    }
    loopback_copy(frame, len, where);
    return true;
}

void loopback_copy(const uint8_t *frame, size_t len, const frame_l4_t *where)
{
    uint8_t *buf = frame_pool_alloc(rt.rx_pool); /* an empty pool is counted there */
    if (!buf || len > frame_pool_frame_size(rt.rx_pool)) {
        if (buf) {
            frame_pool_free(rt.rx_pool, buf);
        }
        atomic_fetch_add_explicit(&rt.c.loopback_drops, 1, memory_order_relaxed);
        return;
    }
    memcpy(buf, frame, len);
    frame_t f = {.buf = buf, .len = (uint16_t)len, .l4 = *where, .release = frame_pool_free, .release_ctx = rt.rx_pool};
    if (frame_queue_push(rt.rx_queue, &f)) {
        atomic_fetch_add_explicit(&rt.c.loopback_frames, 1, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&rt.c.loopback_drops, 1, memory_order_relaxed);
    }
}

bool loopback_is_martian(const uint8_t *f, size_t len)
{
    size_t off = ETH_HDR;
    if (len >= ETH_HDR + 4 && ethertype(f) == 0x8100) {
        off += 4; /* one VLAN tag, as frame_check accepts */
    }
    if (len < off + 20 || (uint16_t)(f[off - 2] << 8 | f[off - 1]) != ETHERTYPE_IPV4) {
        return false;
    }
    return f[off + 12] == 127 || f[off + 16] == 127;
}
