/*
 * L2 frame tap (esp_smoltcp_l2tap.h): per-tap bounded queues filled in the
 * netdev's RX context, drained by application threads.
 *
 * Locking: one tap lock guards the tap table, the queues and the hooks. The
 * RX context takes only this lock, never the core lock (architecture.md:
 * "the netdev's RX context never takes the core lock"); send takes the core
 * lock to transmit, never both at once. The tap lock is created on the first
 * open and kept for the life of the process, so taps do not depend on the
 * engine's lifetime.
 *
 * The RX fast path, with no tap of the frame's type, is one atomic load: a
 * 32-bit mask with bit (type & 31) set for every tapped type. A hit on the
 * mask (a tapped type, or a collision) takes the lock and matches exactly.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "esp_smoltcp_l2tap.h"
#include "l2tap.h"
#include "runtime.h"

#define ETH_HLEN 14u
#define ETH_MIN_FRAME 60u /* 64 on the wire with the FCS (IEEE 802.3 §4.4.2) */
#define DEFAULT_QUEUE_FRAMES 16u
#define ETHERTYPE_MIN 0x0600u /* below: an 802.3 length field, not a type (IEEE 802.3 §3.2.6) */

typedef struct {
    uint16_t len;       /* bytes stored */
    uint16_t frame_len; /* bytes on the wire */
    esp_smoltcp_l2tap_ts_t ts;
} slot_hdr_t;

typedef struct {
    bool used;
    uint32_t generation; /* bumped on close: blocked readers notice */
    uint16_t types[ESP_SMOLTCP_L2TAP_MAX_TYPES];
    uint8_t type_count;
    uint16_t cap, snaplen;
    uint16_t head, count;
    slot_hdr_t *hdr;     /* cap headers */
    uint8_t *data;       /* cap * snaplen bytes */
    waitq_t waiters;
    esp_smoltcp_l2tap_stats_t st;
} tap_t;

static struct {
    _Atomic(os_mutex_t *) lock; /* created once (under the core lock), never freed */
    atomic_uint_least32_t type_mask;
    tap_t taps[ESP_SMOLTCP_L2TAP_MAX_TAPS];
    esp_smoltcp_l2tap_ts_hooks_t hooks;
} s;

static uint32_t type_bit(uint16_t type)
{
    return 1u << (type & 31u);
}

/* Tap lock held. */
static void update_mask(void)
{
    uint32_t mask = 0;
    for (size_t i = 0; i < ESP_SMOLTCP_L2TAP_MAX_TAPS; i++) {
        for (uint8_t k = 0; s.taps[i].used && k < s.taps[i].type_count; k++) {
            mask |= type_bit(s.taps[i].types[k]);
        }
    }
    atomic_store_explicit(&s.type_mask, mask, memory_order_release);
}

/* Tap lock held. */
static tap_t *tap_get(int h)
{
    if (h < 0 || h >= ESP_SMOLTCP_L2TAP_MAX_TAPS || !s.taps[h].used) {
        return NULL;
    }
    return &s.taps[h];
}

static bool tap_matches(const tap_t *t, uint16_t type)
{
    for (uint8_t k = 0; k < t->type_count; k++) {
        if (t->types[k] == type) {
            return true;
        }
    }
    return false;
}

static esp_smoltcp_l2tap_ts_t sw_stamp(void)
{
    return (esp_smoltcp_l2tap_ts_t){.ns = os_now_us() * 1000u, .source = ESP_SMOLTCP_TS_SOFTWARE};
}

/* The tap lock, or NULL before the first open / set_ts_hooks (then no tap exists). */
static os_mutex_t *tap_lock(void)
{
    return atomic_load_explicit(&s.lock, memory_order_acquire);
}

/* The lock exists once a tap was opened or hooks were set; false only without memory. */
static bool ensure_lock(void)
{
    rt_lock();
    if (!tap_lock()) {
        os_mutex_t *m = NULL;
        if (os_mutex_create(&m) == ESP_OK) {
            atomic_store_explicit(&s.lock, m, memory_order_release);
        }
    }
    bool ok = tap_lock() != NULL;
    rt_unlock();
    if (ok) {
        rt_hook_l2tap(l2tap_input); /* from now on the frame path offers every frame */
    }
    return ok;
}

static bool engine_type(uint16_t type)
{
    return type == 0x0800u || type == 0x0806u || type == 0x86DDu;
}

/* ---- RX (netdev context) ----------------------------------------------------- */

/* Tap lock held. */
static void tap_enqueue(tap_t *t, const frame_t *f, const esp_smoltcp_l2tap_ts_t *ts)
{
    if (t->count == t->cap) {
        t->st.drops_queue_full++;
        return;
    }
    uint16_t idx = (uint16_t)((t->head + t->count) % t->cap);
    uint16_t n = f->len < t->snaplen ? f->len : t->snaplen;
    memcpy(t->data + (size_t)idx * t->snaplen, f->buf, n);
    t->hdr[idx] = (slot_hdr_t){.len = n, .frame_len = f->len, .ts = *ts};
    t->count++;
    t->st.rx_frames++;
    t->st.rx_bytes += f->len;
    t->st.truncated += n < f->len;
    if (t->count > t->st.queue_high_water) {
        t->st.queue_high_water = t->count;
    }
    waitq_wake_all(&t->waiters);
}

bool l2tap_input(const frame_t *f)
{
    uint32_t mask = atomic_load_explicit(&s.type_mask, memory_order_acquire);
    if (mask == 0 || f->len < ETH_HLEN) {
        return false;
    }
    uint16_t type = (uint16_t)((f->buf[12] << 8) | f->buf[13]);
    if (!(mask & type_bit(type))) {
        return false;
    }
    /* Read the clock first: the stamp should be as near the wire as this layer gets. */
    esp_smoltcp_l2tap_ts_t ts = sw_stamp();
    bool taken = false;
    os_mutex_lock(tap_lock());
    for (size_t i = 0; i < ESP_SMOLTCP_L2TAP_MAX_TAPS; i++) {
        tap_t *t = &s.taps[i];
        if (!t->used || !tap_matches(t, type)) {
            continue;
        }
        if (!taken && s.hooks.rx_timestamp) {
            esp_smoltcp_l2tap_ts_t hw;
            if (s.hooks.rx_timestamp(s.hooks.ctx, f->buf, f->len, &hw)) {
                ts = hw;
            }
        }
        taken = true;
        tap_enqueue(t, f, &ts);
    }
    os_mutex_unlock(tap_lock());
    if (taken) {
        f->release(f->release_ctx, f->buf);
    }
    return taken;
}

/* ---- API ------------------------------------------------------------------------ */

int esp_smoltcp_l2tap_open(const esp_smoltcp_l2tap_config_t *cfg)
{
    if (!cfg || cfg->iface != ESP_SMOLTCP_IFACE_ETH || cfg->type_count == 0 ||
        cfg->type_count > ESP_SMOLTCP_L2TAP_MAX_TYPES || cfg->snaplen > ESP_SMOLTCP_L2TAP_FRAME_MAX ||
        (cfg->snaplen != 0 && cfg->snaplen < ETH_HLEN)) {
        return -EINVAL;
    }
    for (uint8_t k = 0; k < cfg->type_count; k++) {
        if (cfg->ethertypes[k] < ETHERTYPE_MIN || engine_type(cfg->ethertypes[k])) {
            return -EINVAL;
        }
    }
    if (!rt.initialised) {
        return -ENETDOWN;
    }
    if (!ensure_lock()) {
        return -ENOMEM;
    }
    uint16_t cap = cfg->queue_frames ? cfg->queue_frames : DEFAULT_QUEUE_FRAMES;
    uint16_t snaplen = cfg->snaplen ? cfg->snaplen : ESP_SMOLTCP_L2TAP_FRAME_MAX;
    slot_hdr_t *hdr = calloc(cap, sizeof(*hdr));
    uint8_t *data = malloc((size_t)cap * snaplen);
    int h = -ENFILE;
    if (!hdr || !data) {
        h = -ENOMEM;
        goto out;
    }
    os_mutex_lock(tap_lock());
    for (int i = 0; i < ESP_SMOLTCP_L2TAP_MAX_TAPS; i++) {
        tap_t *t = &s.taps[i];
        if (t->used) {
            continue;
        }
        uint32_t gen = t->generation;
        *t = (tap_t){.used = true, .generation = gen, .type_count = cfg->type_count, .cap = cap,
                     .snaplen = snaplen, .hdr = hdr, .data = data};
        memcpy(t->types, cfg->ethertypes, sizeof(t->types));
        t->st.queue_capacity = cap;
        hdr = NULL;
        data = NULL;
        h = i;
        update_mask();
        break;
    }
    os_mutex_unlock(tap_lock());
out:
    free(hdr);
    free(data);
    return h;
}

ssize_t esp_smoltcp_l2tap_recv(int h, void *buf, size_t len, esp_smoltcp_l2tap_rx_info_t *info,
                               uint32_t timeout_ms)
{
    if (!buf) {
        return -EINVAL;
    }
    if (!tap_lock()) {
        return -EBADF;
    }
    uint64_t deadline =
        timeout_ms == ESP_SMOLTCP_WAIT_FOREVER ? UINT64_MAX : os_now_us() + (uint64_t)timeout_ms * 1000u;
    os_event_t *ev = NULL;
    ssize_t rc;
    os_mutex_lock(tap_lock());
    tap_t *t = tap_get(h);
    if (!t) {
        os_mutex_unlock(tap_lock());
        return -EBADF;
    }
    uint32_t gen = t->generation;
    for (;;) {
        if (!t->used || t->generation != gen) {
            rc = -EBADF; /* closed while we slept */
            break;
        }
        if (t->count > 0) {
            const slot_hdr_t *hd = &t->hdr[t->head];
            size_t n = hd->len < len ? hd->len : len;
            const uint8_t *src = t->data + (size_t)t->head * t->snaplen;
            memcpy(buf, src, n);
            if (info) {
                info->frame_len = hd->frame_len;
                info->ethertype = (uint16_t)((src[12] << 8) | src[13]);
                info->ts = hd->ts;
            }
            t->head = (uint16_t)((t->head + 1) % t->cap);
            t->count--;
            rc = (ssize_t)n;
            break;
        }
        uint64_t now = os_now_us();
        if (timeout_ms == 0 || now >= deadline) {
            rc = -EAGAIN;
            break;
        }
        if (!ev && !(ev = os_thread_event())) {
            rc = -ENOMEM;
            break;
        }
        waiter_t w = {.event = ev};
        waitq_add(&t->waiters, &w);
        os_mutex_unlock(tap_lock());
        os_event_wait(ev, deadline == UINT64_MAX ? OS_WAIT_FOREVER : deadline - now);
        os_mutex_lock(tap_lock());
        waitq_remove(&t->waiters, &w); /* no-op when close emptied the queue */
    }
    os_mutex_unlock(tap_lock());
    return rc;
}

ssize_t esp_smoltcp_l2tap_send(int h, const void *frame, size_t len, esp_smoltcp_l2tap_ts_t *tx_ts)
{
    if (!frame || len < ETH_HLEN || len > ESP_SMOLTCP_L2TAP_FRAME_MAX) {
        return -EINVAL;
    }
    if (!tap_lock()) {
        return -EBADF;
    }
    os_mutex_lock(tap_lock());
    tap_t *t = tap_get(h);
    uint32_t gen = t ? t->generation : 0;
    esp_smoltcp_l2tap_ts_hooks_t hooks = s.hooks;
    os_mutex_unlock(tap_lock());
    if (!t) {
        return -EBADF;
    }
    /* A MAC pads runts itself; a TAP does not, so pad here to look the same on every wire. */
    uint8_t padded[ETH_MIN_FRAME];
    const uint8_t *out = frame;
    size_t out_len = len;
    if (len < ETH_MIN_FRAME) {
        memcpy(padded, frame, len);
        memset(padded + len, 0, ETH_MIN_FRAME - len);
        out = padded;
        out_len = ETH_MIN_FRAME;
    }
    if (!rt.initialised) {
        return -ENETDOWN;
    }
    esp_smoltcp_l2tap_ts_t ts = {0};
    esp_err_t err;
    rt_lock(); /* the poll task transmits under this lock too: one transmit at a time */
    if (!rt.attached || !rt.dev) {
        rt_unlock();
        return -ENETDOWN;
    }
    if (tx_ts && hooks.transmit_ts) {
        err = hooks.transmit_ts(hooks.ctx, out, out_len, &ts);
    } else {
        ts = sw_stamp();
        err = rt.dev->transmit(rt.dev, out, out_len);
    }
    rt_unlock();
    if (err == ESP_OK) {
        atomic_fetch_add_explicit(&rt.c.tx_frames, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&rt.c.tx_bytes, out_len, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&rt.c.tx_failures, 1, memory_order_relaxed);
    }
    os_mutex_lock(tap_lock());
    if (s.taps[h].used && s.taps[h].generation == gen) {
        if (err == ESP_OK) {
            s.taps[h].st.tx_frames++;
            s.taps[h].st.tx_bytes += out_len;
        } else {
            s.taps[h].st.tx_failures++;
        }
    }
    os_mutex_unlock(tap_lock());
    if (err != ESP_OK) {
        return -EIO;
    }
    if (tx_ts) {
        *tx_ts = ts;
    }
    return (ssize_t)len;
}

int esp_smoltcp_l2tap_close(int h)
{
    if (!tap_lock()) {
        return -EBADF;
    }
    os_mutex_lock(tap_lock());
    tap_t *t = tap_get(h);
    if (!t) {
        os_mutex_unlock(tap_lock());
        return -EBADF;
    }
    slot_hdr_t *hdr = t->hdr;
    uint8_t *data = t->data;
    t->used = false;
    t->generation++;
    t->hdr = NULL;
    t->data = NULL;
    t->count = 0;
    waitq_wake_all(&t->waiters);
    t->waiters.head = NULL; /* the woken readers see the new generation and leave */
    update_mask();
    os_mutex_unlock(tap_lock());
    free(hdr);
    free(data);
    return 0;
}

int esp_smoltcp_l2tap_get_stats(int h, esp_smoltcp_l2tap_stats_t *out)
{
    if (!out) {
        return -EINVAL;
    }
    if (!tap_lock()) {
        return -EBADF;
    }
    os_mutex_lock(tap_lock());
    tap_t *t = tap_get(h);
    if (t) {
        *out = t->st;
        out->queued = t->count;
    }
    os_mutex_unlock(tap_lock());
    return t ? 0 : -EBADF;
}

esp_err_t esp_smoltcp_l2tap_get_mac(esp_smoltcp_iface_t iface, uint8_t mac[6])
{
    if (iface != ESP_SMOLTCP_IFACE_ETH || !mac) {
        return ESP_ERR_INVALID_ARG;
    }
    if (!rt.initialised) {
        return ESP_ERR_INVALID_STATE;
    }
    rt_lock();
    bool attached = rt.attached;
    memcpy(mac, rt.mac, 6);
    rt_unlock();
    return attached ? ESP_OK : ESP_ERR_INVALID_STATE;
}

esp_err_t esp_smoltcp_l2tap_set_ts_hooks(esp_smoltcp_iface_t iface, const esp_smoltcp_l2tap_ts_hooks_t *hooks)
{
    if (iface != ESP_SMOLTCP_IFACE_ETH) {
        return ESP_ERR_INVALID_ARG;
    }
    if (!rt.initialised) {
        return ESP_ERR_INVALID_STATE;
    }
    if (!ensure_lock()) {
        return ESP_ERR_NO_MEM;
    }
    os_mutex_lock(tap_lock());
    s.hooks = hooks ? *hooks : (esp_smoltcp_l2tap_ts_hooks_t){0};
    os_mutex_unlock(tap_lock());
    return ESP_OK;
}

esp_err_t esp_smoltcp_l2tap_clock_now(esp_smoltcp_iface_t iface, esp_smoltcp_l2tap_ts_t *now)
{
    if (iface != ESP_SMOLTCP_IFACE_ETH || !now) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_smoltcp_l2tap_ts_hooks_t hooks = {0};
    if (tap_lock()) {
        os_mutex_lock(tap_lock());
        hooks = s.hooks;
        os_mutex_unlock(tap_lock());
    }
    if (!hooks.clock_now || !hooks.clock_now(hooks.ctx, now)) {
        *now = sw_stamp();
    }
    return ESP_OK;
}
