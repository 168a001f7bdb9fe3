/*
 * The runtime: owns the engine, runs the poll task, takes frames from the
 * netdev, applies DHCP leases and keeps the counters.
 *
 * One poll task calls esg_poll(); it sleeps until the engine's next deadline
 * or a kick (RX frame, socket call), never on a fixed tick.
 */
#include <stdlib.h>
#include <string.h>

#include "esp_log.h"
#include "ip6_dhcp6.h"
#include "ip6_slaac.h"
#include "ip_config.h"
#include "link_announce.h"
#include "tcp_recovery.h"
#include "loopback.h"
#include "tx_checksum.h"
#include "runtime.h"
#include "tcp_rx_gate.h"
#include "mcast_tx.h"

static const char *TAG = "esp_smoltcp";

/* Largest DHCP payload on a 1500-byte MTU (1500 - IP - UDP headers): a bigger reply is not kept. */
#define DHCP_RX_LEN 1472

runtime_t rt;

/* Outside rt: the services' state outlives esp_smoltcp_deinit(), so do their hooks. */
static struct {
    _Atomic(rt_rx_tap_hook_t) l2tap;
    _Atomic(rt_rx_stamp_hook_t) stamp_rx;
    _Atomic(rt_tx_stamp_hook_t) stamp_tx;
} hooks;

void rt_hook_l2tap(rt_rx_tap_hook_t rx)
{
    atomic_store_explicit(&hooks.l2tap, rx, memory_order_release);
}

void rt_hook_udp_stamp(rt_rx_stamp_hook_t rx, rt_tx_stamp_hook_t tx)
{
    atomic_store_explicit(&hooks.stamp_rx, rx, memory_order_release);
    atomic_store_explicit(&hooks.stamp_tx, tx, memory_order_release);
}

void rt_lock(void)
{
    os_mutex_lock(rt.core_lock);
}

void rt_unlock(void)
{
    os_mutex_unlock(rt.core_lock);
}

void rt_kick(void)
{
    os_event_set(rt.poll_event);
}

void rt_count_socket(int delta)
{
    rt.c.sockets_open += delta;
    if (rt.c.sockets_open > rt.c.sockets_high_water) {
        rt.c.sockets_high_water = rt.c.sockets_open;
    }
}

/* Called by the glue's wakers (inside a glue call, core lock held). */
static void on_socket_wake(uintptr_t token)
{
    if (token < rt.cfg.max_sockets) {
        waitq_wake_all(&rt.socks[token].waiters);
    } else {
        waitq_wake_all(&rt.dns_waiters); /* tokens past the sockets are DNS queries */
    }
}

/* The glue's panic hook: nothing sensible is left to do. */
void esg_panic(const uint8_t *msg, size_t len)
{
    ESP_LOGE(TAG, "%.*s", (int)len, (const char *)msg);
    abort();
}

/* ---- netdev → engine ------------------------------------------------------ */

static void count_drop(frame_check_result_t reason)
{
    atomic_fetch_add_explicit(&rt.c.rx_drop_reason[reason], 1, memory_order_relaxed);
}

/* What a received frame is to the sockets, read from its transport header (frame_check_l4()). */
typedef enum {
    RX_OTHER,       /* not TCP/UDP: may leave work the engine's poll delay does not show */
    RX_TCP_CONTROL, /* TCP without payload (an ACK): its follow-up is egress, which the delay shows */
    RX_DATA,        /* TCP payload or a UDP datagram: wakes a reader */
    RX_ECHO,        /* an ICMP echo request: the engine answers it during ingress */
} rx_class_t;

static rx_class_t classify_rx(const uint8_t *b, const frame_l4_t *where)
{
    const uint8_t *l4 = b + where->l4;
    switch (where->proto) {
    case FRAME_L4_UDP:
        return RX_DATA;
    case FRAME_L4_ICMP:
        return l4[0] == 8 ? RX_ECHO : RX_OTHER;
    case FRAME_L4_ICMPV6:
        return l4[0] == 128 ? RX_ECHO : RX_OTHER;
    case FRAME_L4_TCP:
        return where->l4_len > (size_t)(l4[12] >> 4) * 4 ? RX_DATA : RX_TCP_CONTROL;
    default:
        return RX_OTHER;
    }
}

static void input_frame(const frame_t *f)
{
    rt_rx_tap_hook_t tap = atomic_load_explicit(&hooks.l2tap, memory_order_acquire);
    if (tap && tap(f)) {
        return; /* a tapped EtherType (never IP): copied to its taps and released */
    }
    rt_rx_stamp_hook_t stamp = atomic_load_explicit(&hooks.stamp_rx, memory_order_acquire);
    if (stamp) {
        stamp(f); /* PTP over UDP: stamps of watched datagrams (one atomic load otherwise) */
    }
    frame_t checked = *f;
    frame_check_result_t r = frame_check_l4(f->buf, f->len, !rt.dev->rx_checksums_verified, &checked.l4);
    if (r != FRAME_OK) {
        count_drop(r);
        f->release(f->release_ctx, f->buf);
        return;
    }
    if (loopback_is_martian(f->buf, f->len)) {
        atomic_fetch_add_explicit(&rt.c.rx_drop_martian, 1, memory_order_relaxed);
        f->release(f->release_ctx, f->buf);
        return;
    }
    /* Read before the push: from then on the frame is the poll task's. */
    rx_class_t cls = classify_rx(f->buf, &checked.l4);
    uint16_t len = f->len;
    if (!frame_queue_push(rt.rx_queue, &checked)) {
        return; /* released and counted by the queue */
    }
    atomic_fetch_add_explicit(&rt.c.rx_frames, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&rt.c.rx_bytes, len, memory_order_relaxed);
    if (!rt.dev->rx_bursts) {
        rt_kick(); /* otherwise at the burst's end */
        return;
    }
    rt.rx_burst_frames++;
    rt.rx_burst_data += cls == RX_DATA || cls == RX_ECHO;
    if (cls == RX_OTHER) {
        atomic_store_explicit(&rt.rx_other_frames, true, memory_order_relaxed);
    }
}

void esp_smoltcp_netdev_rx_burst_end(void)
{
    /* One frame for a reader (a request) or an echo request, and a free core: this thread takes
     * it to its socket (or answers it), one hand-off less. Longer bursts and ACKs stay with the
     * poll task, which then transmits while this thread reads on: measured, running those here
     * cost 10-15 % of a download's rate. */
    bool one_for_a_reader = rt.rx_burst_frames == 1 && rt.rx_burst_data == 1;
    rt.rx_burst_frames = rt.rx_burst_data = 0;
    if (rt.cfg.rx_poll_inline && one_for_a_reader && os_mutex_trylock(rt.core_lock)) {
        rt_poll_ingress_inline();
        rt_unlock();
        return;
    }
    rt_kick(); /* the core is busy: the poll task takes the frames */
}

uint8_t *esp_smoltcp_rx_buffer_alloc(size_t *size)
{
    if (!rt.rx_pool) {
        return NULL;
    }
    if (size) {
        *size = frame_pool_frame_size(rt.rx_pool);
    }
    return frame_pool_alloc(rt.rx_pool);
}

void esp_smoltcp_netdev_rx_dropped(void)
{
    atomic_fetch_add_explicit(&rt.c.rx_drop_no_buffer, 1, memory_order_relaxed);
}

void esp_smoltcp_rx_buffer_free(uint8_t *buf)
{
    frame_pool_free(rt.rx_pool, buf);
}

void esp_smoltcp_netdev_input_pool(uint8_t *buf, size_t len)
{
    frame_t f = {.buf = buf, .len = (uint16_t)len, .release = frame_pool_free, .release_ctx = rt.rx_pool};
    if (len > UINT16_MAX) {
        f.len = 0; /* a runt, counted below */
    }
    input_frame(&f);
}

void esp_smoltcp_netdev_input(uint8_t *buf, size_t len, void (*release)(void *ctx, uint8_t *buf),
                              void *release_ctx)
{
    frame_t f = {.buf = buf, .len = (uint16_t)(len > UINT16_MAX ? 0 : len), .release = release,
                 .release_ctx = release_ctx};
    input_frame(&f);
}

void esp_smoltcp_netdev_link_changed(bool up)
{
    ESP_LOGI(TAG, "link %s", up ? "up" : "down");
    atomic_fetch_add_explicit(&rt.c.link_changes, 1, memory_order_relaxed);
    atomic_store(&rt.link_down, !up);
    if (up) {
        atomic_fetch_add(&rt.link_ups, 1); /* counted, so a quick down-up is not missed */
    }
    rt_kick();
}

/* The link came (back) up: the cable may now be in another network. As lwIP does, ask again at
 * once instead of waiting for lease or router timers: DHCP restarts discovery (a bound lease is
 * dropped and re-acquired), IPv6 solicits routers again. Addresses from a static configuration and
 * sockets stay. Core lock held. */
static void follow_link(uint64_t now)
{
    uint32_t ups = (uint32_t)atomic_load(&rt.link_ups);
    if (ups == rt.link_ups_done) {
        return;
    }
    rt.link_ups_done = ups;
    if (rt.cfg.ipv4_mode == ESP_SMOLTCP_IPV4_DHCP) {
        esg_dhcp_reset(rt.eng); /* the new lease is announced when it is applied */
    } else {
        rt.ip4_announce_due = true;
    }
    link_announce_ip4_groups();
    ip6_link_up(now);
}

static bool dev_rx_next(void *ctx, const uint8_t **frame, size_t *len, uintptr_t *cookie)
{
    (void)ctx;
    frame_t f;
    do {
        if (!frame_queue_pop(rt.rx_queue, &f)) {
            return false;
        }
        if (tcp_rx_gate_admit(f.buf, &f.l4) && tcp_recovery_admit_rx(f.buf, &f.l4)) {
            break;
        }
        f.release(f.release_ctx, f.buf); /* counted by the gate */
    } while (true);
    uint32_t slot = rt.rx_inflight_next++ % 4;
    rt.rx_inflight[slot] = f;
    *frame = f.buf;
    *len = f.len;
    *cookie = slot;
    ip6_rx_snoop(f.buf, f.len); /* records router adverts etc.; acted on after the poll */
    return true;
}

static void dev_rx_done(void *ctx, uintptr_t cookie)
{
    (void)ctx;
    frame_t *f = &rt.rx_inflight[cookie % 4];
    if (f->buf) {
        f->release(f->release_ctx, f->buf);
        f->buf = NULL;
    }
}

/* Onto the wire, whatever the frame is addressed to: stamp, transmit, count. */
static int wire_tx(uint8_t *frame, size_t len, const frame_l4_t *where)
{
    rt_tx_stamp_hook_t stamp = atomic_load_explicit(&hooks.stamp_tx, memory_order_acquire);
    if (stamp) {
        stamp(frame, len);
    }
    if (!tcp_recovery_tx_needed(frame, where)) {
        return 0; /* a retransmission of what the peer holds (SACK): as good as sent */
    }
    esp_err_t err = rt.dev->transmit(rt.dev, frame, len);
    if (err != ESP_OK) {
        atomic_fetch_add_explicit(&rt.c.tx_failures, 1, memory_order_relaxed);
        return -1;
    }
    atomic_fetch_add_explicit(&rt.c.tx_frames, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&rt.c.tx_bytes, len, memory_order_relaxed);
    return 0;
}

static int dev_tx(void *ctx, uint8_t *frame, size_t len)
{
    (void)ctx;
    bool mcast_loop = mcast_tx_prepare(frame, len);
    frame_l4_t where;
    tx_checksum_fill(frame, len, &where);
    if (loopback_divert(frame, len, &where)) {
        return 0;
    }
    if (mcast_loop) {
        loopback_copy(frame, len, &where); /* IP_MULTICAST_LOOP: our own members of the group get it too */
    }
    return wire_tx(frame, len, &where);
}

int rt_transmit(uint8_t *frame, size_t len)
{
    return dev_tx(NULL, frame, len);
}

int rt_transmit_wire(uint8_t *frame, size_t len)
{
    frame_l4_t where;
    tx_checksum_fill(frame, len, &where);
    return wire_tx(frame, len, &where);
}

/* ---- addresses ------------------------------------------------------------- */

/* The application's callback (slot 0), then the observers (core lock held). */
static void notify_ip4(bool got)
{
    for (size_t i = 0; i < 1 + ESP_SMOLTCP_IP4_OBSERVERS; i++) {
        if (rt.ip4_observers[i].cb) {
            rt.ip4_observers[i].cb(ESP_SMOLTCP_IFACE_ETH, got, &rt.ip4, rt.ip4_observers[i].arg);
        }
    }
}

static void apply_ip4(const uint8_t addr[4], uint8_t prefix, const uint8_t *gw, uint8_t dns_count,
                      const uint8_t dns[][4], uint8_t ntp_count, const uint8_t ntp[][4])
{
    esg_iface_clear_addrs(rt.eng, ESG_AF_INET);
    /* The wire address first: smoltcp takes the first IPv4 address as source off-subnet. */
    esg_iface_add_addr(rt.eng, ESG_AF_INET, addr, prefix);
    esg_iface_add_addr(rt.eng, ESG_AF_INET, loopback_addr, LOOPBACK_PREFIX);
    esg_iface_set_default_route(rt.eng, ESG_AF_INET, gw);
    if (!rt.ip4.has_addr || memcmp(rt.ip4.addr, addr, 4) != 0) {
        rt.ip4_announce_due = true; /* sent by the poll task, on a link that is up */
    }
    memset(&rt.ip4, 0, sizeof(rt.ip4));
    rt.ip4.has_addr = true;
    memcpy(rt.ip4.addr, addr, 4);
    rt.ip4.prefix_len = prefix;
    if (gw) {
        rt.ip4.has_gateway = true;
        memcpy(rt.ip4.gateway, gw, 4);
    }
    rt.ip4.dns_count = dns_count > 3 ? 3 : dns_count;
    memcpy(rt.ip4.dns, dns, (size_t)rt.ip4.dns_count * 4);
    rt.ip4.ntp_count = ntp_count > 3 ? 3 : ntp_count;
    if (rt.ip4.ntp_count > 0) {
        memcpy(rt.ip4.ntp, ntp, (size_t)rt.ip4.ntp_count * 4);
    }
    if (rt.ip4.dns_count > 0) {
        rt.dns_base_count = rt.ip4.dns_count;
        for (size_t i = 0; i < rt.dns_base_count; i++) {
            rt.dns_base[i] = (esp_smoltcp_endpoint_t){.family = ESP_SMOLTCP_AF_INET, .port = 53};
            memcpy(rt.dns_base[i].addr, dns[i], 4);
        }
        dns_rebuild_servers();
    }
    ESP_LOGI(TAG, "ipv4 %u.%u.%u.%u/%u gw %u.%u.%u.%u", addr[0], addr[1], addr[2], addr[3], prefix,
             gw ? gw[0] : 0, gw ? gw[1] : 0, gw ? gw[2] : 0, gw ? gw[3] : 0);
    waitq_wake_all(&rt.ip_waiters);
    notify_ip4(true);
}

/* Is the lease what is applied already? With its rx buffer, smoltcp reports every renewal ACK. */
static bool lease_applied(const esg_dhcp_lease_t *l)
{
    const esp_smoltcp_ip4_info_t *c = &rt.ip4;
    return c->has_addr && memcmp(c->addr, l->addr, 4) == 0 && c->prefix_len == l->prefix &&
           c->has_gateway == l->has_router && (!l->has_router || memcmp(c->gateway, l->router, 4) == 0) &&
           c->dns_count == l->dns_count && memcmp(c->dns, l->dns, (size_t)l->dns_count * 4) == 0 &&
           c->ntp_count == l->ntp_count && memcmp(c->ntp, l->ntp, (size_t)l->ntp_count * 4) == 0;
}

static void poll_dhcp(void)
{
    esg_dhcp_lease_t lease;
    int ev = esg_dhcp_poll(rt.eng, &lease);
    if (ev == ESG_DHCP_EVENT_CONFIGURED && !lease_applied(&lease)) {
        apply_ip4(lease.addr, lease.prefix, lease.has_router ? lease.router : NULL, lease.dns_count,
                  lease.dns, lease.ntp_count, lease.ntp);
    } else if (ev == ESG_DHCP_EVENT_DECONFIGURED && rt.ip4.has_addr) {
        /* (smoltcp also says DECONFIGURED at its first poll, with no lease yet: nothing to undo) */
        ESP_LOGW(TAG, "dhcp lease lost");
        esg_iface_clear_addrs(rt.eng, ESG_AF_INET);
        esg_iface_add_addr(rt.eng, ESG_AF_INET, loopback_addr, LOOPBACK_PREFIX);
        esg_iface_set_default_route(rt.eng, ESG_AF_INET, NULL);
        memset(&rt.ip4, 0, sizeof(rt.ip4));
        notify_ip4(false);
    }
}

/* ---- poll task ------------------------------------------------------------- */

/* One engine poll (esg_poll, or esg_poll_ingress) and the hooks that follow it (core lock held);
 * returns the delay until the next one is due (ESG_POLL_NEVER, or 0 when frames are waiting). */
static uint64_t poll_once_with(uint64_t now, uint64_t (*engine_poll)(esg_engine_t *eng, uint64_t now_us))
{
    follow_link(now);
    if (rt.ip4_announce_due && !atomic_load(&rt.link_down)) {
        rt.ip4_announce_due = false;
        announce_ip4_address();
    }
    uint64_t delay = engine_poll(rt.eng, now);
    rt.c.polls++;
    poll_dhcp();
    uint64_t sock_delay = sock_after_poll(now);
    if (sock_delay < delay) {
        delay = sock_delay;
    }
    /* IPv6 autoconfiguration timers: each returns a future deadline or NEVER, never a past one. */
    uint64_t v6_delay = ip6_after_poll(now);
    if (v6_delay < delay) {
        delay = v6_delay;
    }
    v6_delay = dhcp6_after_poll(now);
    if (v6_delay < delay) {
        delay = v6_delay;
    }
    frame_queue_stats_t q;
    frame_queue_get_stats(rt.rx_queue, &q);
    if (q.depth > 0) {
        delay = 0; /* frames looped back during this poll: go round again */
    }
    return delay;
}

static uint64_t poll_once(uint64_t now)
{
    return poll_once_with(now, esg_poll);
}

static uint64_t wake_time(uint64_t now, uint64_t delay)
{
    return delay == ESG_POLL_NEVER || delay > UINT64_MAX - now ? UINT64_MAX : now + delay;
}

void rt_kick_if_due(void)
{
    uint64_t now = os_now_us();
    if (wake_time(now, esg_poll_delay(rt.eng, now)) < rt.poll_task_wake_us) {
        rt_kick();
    }
}

void rt_poll_inline(void)
{
    uint64_t now = os_now_us();
    uint64_t delay = poll_once(now);
    if (wake_time(now, delay) < rt.poll_task_wake_us) {
        rt_kick();
    }
}

void rt_poll_ingress_inline(void)
{
    /* The driver's thread delivers: the frames reach their sockets (a request wakes its reader)
     * without a hand-off to the poll task. What the sockets then want to send is the poll task's
     * (a download's next segments leave from there while this thread reads on). Frames other
     * than TCP and UDP may leave work the engine's delay does not show (a multicast query's
     * report): the poll task always goes round after them. */
    uint64_t now = os_now_us();
    uint64_t delay = poll_once_with(now, esg_poll_ingress);
    rt.c.rx_inline_polls++;
    if (atomic_exchange(&rt.rx_other_frames, false) || wake_time(now, delay) < rt.poll_task_wake_us) {
        rt_kick();
    }
}

static void poll_task(void *arg)
{
    (void)arg;
    rt_lock();
    while (!rt.stopping) {
        /* This full poll goes round after every frame queued so far: the flag is for frames an
         * inline poll may take after it (a stale flag cost an inline poll a needless kick). */
        atomic_store_explicit(&rt.rx_other_frames, false, memory_order_relaxed);
        uint64_t now = os_now_us();
        uint64_t delay = poll_once(now);
        rt.poll_task_wake_us = wake_time(now, delay);
        rt_unlock();
        /* Wait even when the engine asks to go round at once (delay 0): on a cooperative port that
         * wait is the scheduling point where drivers deliver frames; skipping it let the engine spin
         * on "poll now" while the ACKs it waited for sat in the NIC (issue 10: rv32 stall). */
        bool woken = os_event_wait(rt.poll_event, delay == ESG_POLL_NEVER ? OS_WAIT_FOREVER : delay);
        rt_lock();
        rt.c.poll_wakeups += woken;
    }
    rt_unlock();
}

/* ---- public API ------------------------------------------------------------ */

esp_err_t esp_smoltcp_init(void)
{
    esp_smoltcp_config_t cfg = ESP_SMOLTCP_DEFAULT_CONFIG();
    return esp_smoltcp_init_with_config(&cfg);
}

esp_err_t esp_smoltcp_init_with_config(const esp_smoltcp_config_t *cfg)
{
    if (!cfg || cfg->rx_pool_frames == 0 || cfg->max_sockets == 0 || cfg->tcp_rx_buffer == 0 ||
        cfg->tcp_tx_buffer == 0 || cfg->udp_rx_packets == 0 || cfg->udp_tx_packets == 0) {
        return ESP_ERR_INVALID_ARG;
    }
    if (rt.initialised) {
        return ESP_ERR_INVALID_STATE;
    }
    memset(&rt, 0, sizeof(rt));
    rt.cfg = *cfg;
    esp_err_t err = os_mutex_create(&rt.core_lock);
    if (err == ESP_OK) {
        err = os_event_create(&rt.poll_event);
    }
    if (err == ESP_OK) {
        /* 1536: a full frame plus room for a VLAN tag, as DMA buffers are sized. */
        err = frame_pool_create(cfg->rx_pool_frames, 1536, &rt.rx_pool);
    }
    if (err == ESP_OK) {
        err = frame_queue_create(cfg->rx_pool_frames, &rt.rx_queue);
    }
    if (err == ESP_OK) {
        rt.socks = calloc(cfg->max_sockets, sizeof(sock_rec_t));
        err = rt.socks ? ESP_OK : ESP_ERR_NO_MEM;
    }
    if (err == ESP_OK) {
        err = tcp_recovery_init(cfg->max_sockets);
    }
    if (err != ESP_OK) {
        goto fail;
    }
    rt.next_ephemeral = (uint16_t)(49152 + os_random_u64() % 16384);
    esg_set_wake_handler(on_socket_wake);
    rt.initialised = true;
    return ESP_OK;

fail:
    tcp_recovery_deinit();
    free(rt.socks);
    if (rt.rx_queue) {
        frame_queue_destroy(rt.rx_queue);
    }
    if (rt.rx_pool) {
        frame_pool_destroy(rt.rx_pool);
    }
    if (rt.poll_event) {
        os_event_destroy(rt.poll_event);
    }
    if (rt.core_lock) {
        os_mutex_destroy(rt.core_lock);
    }
    memset(&rt, 0, sizeof(rt));
    return err;
}

static esp_err_t configure_ipv4(void)
{
    if (rt.cfg.ipv4_mode == ESP_SMOLTCP_IPV4_DHCP) {
        /* smoltcp keeps each reply here so that the glue can read option 42 (NTP servers). */
        rt.dhcp_rx = malloc(DHCP_RX_LEN);
        if (!rt.dhcp_rx || esg_dhcp_start(rt.eng, rt.dhcp_rx, DHCP_RX_LEN) != ESG_OK) {
            return ESP_ERR_NO_MEM;
        }
        return ESP_OK;
    }
    ip4_config_t ip;
    esp_err_t err = ip4_config_parse(rt.cfg.static_ip, rt.cfg.static_netmask, rt.cfg.static_gateway,
                                     rt.cfg.static_dns, &ip);
    if (err != ESP_OK) {
        ESP_LOGE(TAG, "bad static IPv4 configuration (ip '%s' mask '%s' gw '%s' dns '%s')",
                 rt.cfg.static_ip ? rt.cfg.static_ip : "", rt.cfg.static_netmask ? rt.cfg.static_netmask : "",
                 rt.cfg.static_gateway ? rt.cfg.static_gateway : "", rt.cfg.static_dns ? rt.cfg.static_dns : "");
        return err;
    }
    apply_ip4(ip.addr, ip.prefix_len, ip.has_gateway ? ip.gateway : NULL, ip.dns_count,
              (const uint8_t(*)[4])ip.dns, 0, NULL);
    return ESP_OK;
}

esp_err_t esp_smoltcp_attach_netdev(esp_smoltcp_netdev_t *dev)
{
    if (!rt.initialised || rt.attached) {
        return ESP_ERR_INVALID_STATE;
    }
    if (!dev || !dev->start || !dev->stop || !dev->transmit || !dev->get_mac) {
        return ESP_ERR_INVALID_ARG;
    }
    esg_config_t ecfg = {
        .mtu = dev->mtu ? dev->mtu : 1500,
        .max_sockets = rt.cfg.max_sockets,
        /* Checksums are verified in frame_check() (or by the MAC) before the engine sees a frame. */
        .rx_checksums_verified = true,
        /* ... and TX checksums are filled in dev_tx(), a word at a time. */
        .tx_checksums_by_runtime = true,
        /* smoltcp's own SLAAC spins the poll task (docs/architecture.md); ip6_slaac.c does it. */
        .ipv6_slaac = false,
        .random_seed = os_random_u64(),
    };
    esp_err_t err = dev->get_mac(dev, ecfg.mac);
    if (err != ESP_OK) {
        return err;
    }
    memcpy(rt.mac, ecfg.mac, 6);
    size_t align = esg_engine_mem_align();
    size_t size = esg_engine_mem_size(rt.cfg.max_sockets);
    rt.engine_mem = aligned_alloc(align, (size + align - 1) / align * align);
    if (!rt.engine_mem) {
        return ESP_ERR_NO_MEM;
    }
    esg_netdev_ops_t ops = {.ctx = NULL, .rx_next = dev_rx_next, .rx_done = dev_rx_done, .tx = dev_tx};
    rt.dev = dev;
    int rc = esg_engine_init(rt.engine_mem, size, &ecfg, &ops, os_now_us(), &rt.eng);
    if (rc != ESG_OK) {
        err = rc == ESG_ERR_NOMEM ? ESP_ERR_NO_MEM : ESP_ERR_INVALID_ARG;
        goto fail;
    }
    esg_iface_add_addr(rt.eng, ESG_AF_INET, loopback_addr, LOOPBACK_PREFIX);
    err = configure_ipv4();
    if (err != ESP_OK) {
        goto fail_engine;
    }
    if (rt.cfg.ipv6_slaac) {
        ip6_start(os_now_us());
    }
    rt.stopping = false;
    os_thread_config_t tcfg = {.name = "smoltcp_poll", .stack_size = rt.cfg.poll_task_stack,
                               .priority = rt.cfg.poll_task_priority, .core = rt.cfg.poll_task_core};
    err = os_thread_create(&tcfg, poll_task, NULL, &rt.poll_thread);
    if (err != ESP_OK) {
        goto fail_engine;
    }
    err = dev->start(dev);
    if (err != ESP_OK) {
        rt_lock();
        rt.stopping = true;
        rt_unlock();
        rt_kick();
        os_thread_join(rt.poll_thread);
        goto fail_engine;
    }
    rt.attached = true;
    uint8_t *m = ecfg.mac;
    ESP_LOGI(TAG, "attached %s mac %02x:%02x:%02x:%02x:%02x:%02x mtu %u", dev->name ? dev->name : "netdev",
             m[0], m[1], m[2], m[3], m[4], m[5], ecfg.mtu);
    return ESP_OK;

fail_engine:
    dhcp6_stop();
    ip6_stop();
    esg_dhcp_stop(rt.eng);
    esg_engine_deinit(rt.eng);
    rt.eng = NULL;
fail:
    free(rt.engine_mem);
    rt.engine_mem = NULL;
    free(rt.dhcp_rx); /* after esg_engine_deinit: the DHCP socket pointed into it */
    rt.dhcp_rx = NULL;
    rt.dev = NULL;
    return err;
}

esp_err_t esp_smoltcp_wait_for_ip(esp_smoltcp_iface_t iface, uint32_t timeout_ms)
{
    return esp_smoltcp_wait_for_ip_kind(iface, ESP_SMOLTCP_WAIT_IPV4, timeout_ms);
}

/* Is what the caller waits for there? Core lock held. */
static bool ip_ready(esp_smoltcp_ip_wait_t what)
{
    bool v4 = rt.ip4.has_addr, v6 = ip6_has_global();
    switch (what) {
    case ESP_SMOLTCP_WAIT_IPV4: return v4;
    case ESP_SMOLTCP_WAIT_IPV6_GLOBAL: return v6;
    case ESP_SMOLTCP_WAIT_EITHER: return v4 || v6;
    case ESP_SMOLTCP_WAIT_BOTH: return v4 && v6;
    }
    return false;
}

esp_err_t esp_smoltcp_wait_for_ip_kind(esp_smoltcp_iface_t iface, esp_smoltcp_ip_wait_t what, uint32_t timeout_ms)
{
    if (what < ESP_SMOLTCP_WAIT_IPV4 || what > ESP_SMOLTCP_WAIT_BOTH) {
        return ESP_ERR_INVALID_ARG;
    }
    if (iface != ESP_SMOLTCP_IFACE_ETH) {
        return ESP_ERR_INVALID_ARG;
    }
    if (!ip6_supported() && (what == ESP_SMOLTCP_WAIT_IPV6_GLOBAL || what == ESP_SMOLTCP_WAIT_BOTH)) {
        return ESP_ERR_NOT_SUPPORTED; /* IPv4-only build: it would only ever time out */
    }
    if (!rt.attached) {
        return ESP_ERR_INVALID_STATE;
    }
    os_event_t *ev = os_thread_event();
    if (!ev) {
        return ESP_ERR_NO_MEM;
    }
    uint64_t deadline = os_now_us() + (uint64_t)timeout_ms * 1000;
    waiter_t w = {.event = ev};
    esp_err_t err = ESP_ERR_TIMEOUT;
    rt_lock();
    waitq_add(&rt.ip_waiters, &w);
    for (;;) {
        if (ip_ready(what)) {
            err = ESP_OK;
            break;
        }
        uint64_t now = os_now_us();
        if (now >= deadline) {
            break;
        }
        rt_unlock();
        os_event_wait(ev, deadline - now);
        rt_lock();
    }
    waitq_remove(&rt.ip_waiters, &w);
    rt_unlock();
    return err;
}

esp_err_t esp_smoltcp_set_ip4_callback(esp_smoltcp_ip4_cb_t cb, void *arg)
{
    if (!rt.initialised) {
        return ESP_ERR_INVALID_STATE;
    }
    rt_lock();
    rt.ip4_observers[0].cb = cb;
    rt.ip4_observers[0].arg = arg;
    rt_unlock();
    return ESP_OK;
}

/* Puts (cb, arg) into the observer slot (past the application's) that holds (from_cb, from_arg):
 * an empty one to add, the same pair with NULLs to remove. Core lock held. */
static esp_err_t swap_ip4_observer(esp_smoltcp_ip4_cb_t from_cb, void *from_arg, esp_smoltcp_ip4_cb_t cb, void *arg)
{
    for (size_t i = 1; i < 1 + ESP_SMOLTCP_IP4_OBSERVERS; i++) {
        if (rt.ip4_observers[i].cb == from_cb && rt.ip4_observers[i].arg == from_arg) {
            rt.ip4_observers[i].cb = cb;
            rt.ip4_observers[i].arg = arg;
            return ESP_OK;
        }
    }
    return ESP_FAIL;
}

esp_err_t esp_smoltcp_add_ip4_observer(esp_smoltcp_ip4_cb_t cb, void *arg)
{
    if (!cb) {
        return ESP_ERR_INVALID_ARG;
    }
    if (!rt.initialised) {
        return ESP_ERR_INVALID_STATE;
    }
    rt_lock();
    esp_err_t err = swap_ip4_observer(NULL, NULL, cb, arg) == ESP_OK ? ESP_OK : ESP_ERR_NO_MEM;
    rt_unlock();
    return err;
}

esp_err_t esp_smoltcp_remove_ip4_observer(esp_smoltcp_ip4_cb_t cb, void *arg)
{
    if (!rt.initialised || !cb) {
        return ESP_ERR_NOT_FOUND;
    }
    rt_lock();
    esp_err_t err = swap_ip4_observer(cb, arg, NULL, NULL) == ESP_OK ? ESP_OK : ESP_ERR_NOT_FOUND;
    rt_unlock();
    return err;
}

esp_err_t esp_smoltcp_get_ip4_info(esp_smoltcp_iface_t iface, esp_smoltcp_ip4_info_t *out)
{
    if (iface != ESP_SMOLTCP_IFACE_ETH || !out) {
        return ESP_ERR_INVALID_ARG;
    }
    if (!rt.attached) {
        return ESP_ERR_INVALID_STATE;
    }
    rt_lock();
    *out = rt.ip4;
    rt_unlock();
    return ESP_OK;
}

esp_err_t esp_smoltcp_get_ip6_info(esp_smoltcp_iface_t iface, esp_smoltcp_ip6_info_t *out)
{
    if (iface != ESP_SMOLTCP_IFACE_ETH || !out) {
        return ESP_ERR_INVALID_ARG;
    }
    if (!ip6_supported()) {
        return ESP_ERR_NOT_SUPPORTED;
    }
    if (!rt.attached) {
        return ESP_ERR_INVALID_STATE;
    }
    rt_lock();
    ip6_get_info(os_now_us(), out);
    rt_unlock();
    return ESP_OK;
}

static uint64_t load(atomic_uint_fast64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

esp_err_t esp_smoltcp_get_stats(esp_smoltcp_iface_t iface, esp_smoltcp_stats_t *out)
{
    if (iface != ESP_SMOLTCP_IFACE_ETH || !out) {
        return ESP_ERR_INVALID_ARG;
    }
    if (!rt.initialised) {
        return ESP_ERR_INVALID_STATE;
    }
    memset(out, 0, sizeof(*out));
    out->rx_frames = load(&rt.c.rx_frames);
    out->rx_bytes = load(&rt.c.rx_bytes);
    out->tx_frames = load(&rt.c.tx_frames);
    out->tx_bytes = load(&rt.c.tx_bytes);
    out->tx_failures = load(&rt.c.tx_failures);
    out->rx_drop_runt = load(&rt.c.rx_drop_reason[FRAME_BAD_RUNT]);
    out->rx_drop_bad_ip_header = load(&rt.c.rx_drop_reason[FRAME_BAD_IP_HEADER]);
    out->rx_drop_bad_ip_checksum = load(&rt.c.rx_drop_reason[FRAME_BAD_IP_CHECKSUM]);
    out->rx_drop_bad_l4_header = load(&rt.c.rx_drop_reason[FRAME_BAD_L4_HEADER]);
    out->rx_drop_bad_l4_checksum = load(&rt.c.rx_drop_reason[FRAME_BAD_L4_CHECKSUM]);
    out->rx_drop_martian = load(&rt.c.rx_drop_martian);
    out->loopback_frames = load(&rt.c.loopback_frames);
    out->loopback_drops = load(&rt.c.loopback_drops);
    frame_pool_stats_t ps;
    frame_pool_get_stats(rt.rx_pool, &ps);
    /* Frames lost, as the drivers report them (a failed allocation with no frame waiting is not a drop). */
    out->rx_drop_pool_empty = load(&rt.c.rx_drop_no_buffer);
    out->rx_pool_capacity = ps.capacity;
    out->rx_pool_in_use = ps.in_use;
    out->rx_pool_high_water = ps.high_water;
    frame_queue_stats_t qs;
    frame_queue_get_stats(rt.rx_queue, &qs);
    out->rx_drop_queue_full = qs.drops_full;
    out->rx_queue_high_water = qs.high_water;
    rt_lock();
    out->sockets_open = rt.c.sockets_open;
    out->sockets_high_water = rt.c.sockets_high_water;
    for (uint16_t i = 0; i < rt.cfg.max_sockets; i++) {
        out->sockets_lingering += rt.socks[i].used && rt.socks[i].orphan;
    }
    out->socket_alloc_failures = rt.c.socket_alloc_failures;
    out->tcp_syn_backlog_drops = rt.c.rx_drop_backlog_full;
    out->tcp_syn_on_connection_drops = rt.c.rx_drop_syn_on_connection;
    tcp_recovery_counters_t tr = tcp_recovery_counters();
    out->tcp_rexmits_sacked = tr.rexmits_sacked;
    out->tcp_dupack_windows_kept = tr.dupack_windows_kept;
    out->tcp_dsack_acks_held = tr.dsack_acks_held;
    out->dgram_close_drops = rt.c.dgram_close_drops;
    out->tcp_opened = rt.c.tcp_opened;
    out->tcp_closed_by_peer = rt.c.tcp_closed_by_peer;
    out->tcp_aborted = rt.c.tcp_aborted;
    out->tcp_linger_aborts = rt.c.tcp_linger_aborts;
    out->polls = rt.c.polls;
    out->poll_wakeups = rt.c.poll_wakeups;
    out->inline_polls = rt.c.inline_polls;
    out->rx_inline_polls = rt.c.rx_inline_polls;
    out->link_changes = (uint32_t)atomic_load(&rt.c.link_changes);
    out->link_up = !atomic_load(&rt.link_down);
    rt_unlock();
    return ESP_OK;
}

esp_err_t esp_smoltcp_deinit(void)
{
    if (!rt.initialised) {
        return ESP_ERR_INVALID_STATE;
    }
    if (rt.attached) {
        rt.dev->stop(rt.dev);
        rt_lock();
        rt.stopping = true;
        rt_unlock();
        rt_kick();
        os_thread_join(rt.poll_thread);
        rt_lock();
        sock_release_all();
        dhcp6_stop();
        ip6_stop();
        esg_dhcp_stop(rt.eng);
        esg_engine_deinit(rt.eng);
        rt_unlock();
        free(rt.engine_mem);
        free(rt.dhcp_rx);
        if (rt.dev->destroy) {
            rt.dev->destroy(rt.dev);
        }
    }
    frame_queue_destroy(rt.rx_queue);
    frame_pool_destroy(rt.rx_pool);
    free(rt.socks);
    tcp_recovery_deinit();
    os_event_destroy(rt.poll_event);
    os_mutex_destroy(rt.core_lock);
    memset(&rt, 0, sizeof(rt));
    return ESP_OK;
}
