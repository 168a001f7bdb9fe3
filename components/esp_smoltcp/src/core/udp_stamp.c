/* UDP datagram timestamps at the netdev (udp_stamp.h). */
#include "udp_stamp.h"

#include <stdatomic.h>
#include <string.h>

#include "os.h"
#include "runtime.h"

#define RX_SLOTS 16
#define TX_SLOTS 4

typedef struct {
    bool used;
    uint8_t key_len;
    uint8_t key[UDP_STAMP_KEY_LEN];
    uint64_t ns;
} slot_t;

static struct {
    atomic_uint port; /* 0: nothing watched (the RX fast path reads only this) */
    _Atomic(os_mutex_t *) lock; /* created at the first watch, kept */
    slot_t rx[RX_SLOTS], tx[TX_SLOTS];
    unsigned rx_next, tx_next;
} us;

esp_err_t udp_stamp_watch(uint16_t port)
{
    if (!atomic_load(&us.lock)) {
        os_mutex_t *m = NULL;
        if (os_mutex_create(&m) != ESP_OK) {
            return ESP_ERR_NO_MEM;
        }
        os_mutex_t *expected = NULL;
        if (!atomic_compare_exchange_strong(&us.lock, &expected, m)) {
            os_mutex_destroy(m);
        }
    }
    rt_hook_udp_stamp(udp_stamp_rx, udp_stamp_tx); /* from now on the frame path shows every frame */
    os_mutex_lock(atomic_load(&us.lock));
    esp_err_t err = ESP_OK;
    if (port != 0 && atomic_load(&us.port) != 0 && atomic_load(&us.port) != port) {
        err = ESP_ERR_INVALID_STATE;
    } else {
        memset(us.rx, 0, sizeof(us.rx));
        memset(us.tx, 0, sizeof(us.tx));
        atomic_store(&us.port, port);
    }
    os_mutex_unlock(atomic_load(&us.lock));
    return err;
}

/*
 * The UDP payload of an unfragmented IPv4 datagram whose src (tx) or dst
 * (rx) port is port; NULL otherwise. *n: payload bytes present.
 */
static const uint8_t *udp_payload(const uint8_t *f, size_t len, uint16_t port, bool src, size_t *n)
{
    if (len < 14 + 20 + 8 || f[12] != 0x08 || f[13] != 0x00) {
        return NULL;
    }
    const uint8_t *ip = f + 14;
    size_t ihl = (size_t)(ip[0] & 0x0F) * 4u;
    if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != 17 || (((ip[6] & 0x3F) << 8) | ip[7]) != 0 ||
        14 + ihl + 8 > len) {
        return NULL; /* not IPv4/UDP, or a fragment (only a first fragment holds the header: skipped) */
    }
    const uint8_t *udp = ip + ihl;
    uint16_t p = (uint16_t)((src ? udp[0] << 8 | udp[1] : udp[2] << 8 | udp[3]));
    if (p != port) {
        return NULL;
    }
    *n = len - 14 - ihl - 8;
    return udp + 8;
}

static void record(slot_t *ring, unsigned cap, unsigned *next, const uint8_t *payload, size_t n, uint64_t ns)
{
    slot_t *s = &ring[*next % cap];
    (*next)++;
    s->used = true;
    s->key_len = (uint8_t)(n < UDP_STAMP_KEY_LEN ? n : UDP_STAMP_KEY_LEN);
    memcpy(s->key, payload, s->key_len);
    s->ns = ns;
}

static void observe(const uint8_t *frame, size_t len, bool tx)
{
    unsigned port = atomic_load_explicit(&us.port, memory_order_acquire);
    if (port == 0) {
        return;
    }
    uint64_t ns = os_now_us() * 1000u; /* first: as near the wire as this layer gets */
    size_t n;
    const uint8_t *pl = udp_payload(frame, len, (uint16_t)port, tx, &n);
    if (!pl) {
        return;
    }
    os_mutex_lock(atomic_load(&us.lock));
    if (tx) {
        record(us.tx, TX_SLOTS, &us.tx_next, pl, n, ns);
    } else {
        record(us.rx, RX_SLOTS, &us.rx_next, pl, n, ns);
    }
    os_mutex_unlock(atomic_load(&us.lock));
}

void udp_stamp_rx(const frame_t *f)
{
    observe(f->buf, f->len, false);
}

void udp_stamp_tx(const uint8_t *frame, size_t len)
{
    observe(frame, len, true);
}

bool udp_stamp_take(bool tx, const uint8_t *payload, size_t len, uint64_t *ns)
{
    os_mutex_t *m = atomic_load(&us.lock);
    if (!m || !payload) {
        return false;
    }
    size_t k = len < UDP_STAMP_KEY_LEN ? len : UDP_STAMP_KEY_LEN;
    slot_t *ring = tx ? us.tx : us.rx;
    unsigned cap = tx ? TX_SLOTS : RX_SLOTS;
    bool found = false;
    os_mutex_lock(m);
    for (unsigned i = 0; i < cap && !found; i++) {
        slot_t *s = &ring[i];
        if (s->used && s->key_len == k && memcmp(s->key, payload, k) == 0) {
            *ns = s->ns;
            s->used = false;
            found = true;
        }
    }
    os_mutex_unlock(m);
    return found;
}
