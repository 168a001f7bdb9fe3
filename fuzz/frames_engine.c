/*
 * See frames_engine.h. Engine A is configured as the runtime configures it
 * (components/esp_smoltcp/src/core/runtime.c: frame_check() before the
 * engine, RX checksums then trusted, DHCP leases applied the same way).
 */
#include "frames_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame_check.h"
#include "pkt.h"
#include "tx_checksum.h"


const uint8_t FE_MAC_A[6] = {0x02, 0, 0, 0, 0, 0x02};
const uint8_t FE_MAC_B[6] = {0x02, 0, 0, 0, 0, 0x01};
const uint8_t FE_IP4_A[4] = {198, 18, 0, 2};
const uint8_t FE_IP4_B[4] = {198, 18, 0, 1};
const uint8_t FE_IP6_A[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
const uint8_t FE_IP6_B[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
/* fe80:: + modified EUI-64 of FE_MAC_A (RFC 4291 appendix A), as the glue forms it. */
const uint8_t FE_LL_A[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x00, 0, 0, 0xff, 0xfe, 0, 0, 0x02};
static const uint8_t LL_B[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x00, 0, 0, 0xff, 0xfe, 0, 0, 0x01};
static const uint8_t BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

#define FE_MAX_OPS 400
#define BIG_RX 70000 /* > 64 KiB: the SYN-ACK carries a window scale (RFC 7323 §2.2) */
#define SMALL_BUF 4096
#define DGRAM_PKTS 4
#define DGRAM_PAYLOAD 2048

static void fatal(const char *what)
{
    fprintf(stderr, "frames fuzzer: invariant broken: %s\n", what);
    abort();
}

/* ---- the in-memory netdev ------------------------------------------------------------ */

#define INFLIGHT 8

struct fe_port {
    fe_t *fe;
    bool is_a;
    uint8_t *q[FE_RXQ];
    size_t qlen[FE_RXQ];
    unsigned head, count;
    uint8_t *inflight[INFLIGHT];
    unsigned long taken, released;
};

static fe_port_t port_a, port_b;
static fe_b_tx_hook_t b_hook;
static void *b_hook_ctx;
static bool drop_a_to_b;

static void port_reset(fe_port_t *p)
{
    while (p->count) {
        free(p->q[p->head]);
        p->head = (p->head + 1) % FE_RXQ;
        p->count--;
    }
    for (int i = 0; i < INFLIGHT; i++) {
        if (p->inflight[i]) {
            fatal("frame never released by rx_done");
        }
    }
    if (p->taken != p->released) {
        fatal("rx_next/rx_done mismatch");
    }
    memset(p, 0, sizeof(*p));
}

/* Exactly-sized heap copy: ASan catches any read past the frame. */
static void port_push(fe_port_t *p, const uint8_t *f, size_t len)
{
    if (p->count == FE_RXQ) {
        return; /* a full RX queue drops, as the runtime's does */
    }
    uint8_t *c = malloc(len ? len : 1);
    if (!c) {
        abort();
    }
    memcpy(c, f, len);
    unsigned tail = (p->head + p->count) % FE_RXQ;
    p->q[tail] = c;
    p->qlen[tail] = len;
    p->count++;
}

static bool nd_rx_next(void *ctx, const uint8_t **frame, size_t *len, uintptr_t *cookie)
{
    fe_port_t *p = ctx;
    if (!p->count) {
        return false;
    }
    int slot = -1;
    for (int i = 0; i < INFLIGHT && slot < 0; i++) {
        slot = p->inflight[i] ? -1 : i;
    }
    if (slot < 0) {
        fatal("more than 8 frames held by the engine at once");
    }
    p->inflight[slot] = p->q[p->head];
    *frame = p->q[p->head];
    *len = p->qlen[p->head];
    *cookie = (uintptr_t)slot + 1;
    p->head = (p->head + 1) % FE_RXQ;
    p->count--;
    p->taken++;
    return true;
}

static void nd_rx_done(void *ctx, uintptr_t cookie)
{
    fe_port_t *p = ctx;
    if (cookie == 0 || cookie > INFLIGHT || !p->inflight[cookie - 1]) {
        fatal("rx_done with an unknown or already released cookie");
    }
    free(p->inflight[cookie - 1]);
    p->inflight[cookie - 1] = NULL;
    p->released++;
}

/* A frame for A, through the runtime's input path. */
static void deliver_to_a(fe_t *fe, const uint8_t *f, size_t len)
{
    int mode = fe->cfg & FE_CFG_CHECK_MASK;
    if (mode <= 1 && frame_check(f, len, mode == 0) != FRAME_OK) {
        return; /* counted and released by the runtime */
    }
    port_push(fe->pa, f, len);
}

static void track_tx(fe_t *fe, const uint8_t *f, size_t len);

static int nd_tx(void *ctx, uint8_t *frame, size_t len)
{
    fe_port_t *p = ctx;
    fe_t *fe = p->fe;
    if (p->is_a) {
        /* Oracle: what the stack sends must pass the checks it applies to what it receives. */
        if (len > 14u + ((fe->cfg & FE_CFG_MTU576) ? 576u : 1500u)) {
            fatal("transmitted frame longer than the MTU");
        }
        if ((fe->cfg & FE_CFG_CHECK_MASK) <= 1) {
            frame_l4_t where;
            tx_checksum_fill(frame, len, &where); /* as the runtime's dev_tx() */
        }
        frame_check_result_t r = frame_check(frame, len, true);
        if (r != FRAME_OK) {
            fprintf(stderr, "frame_check of a transmitted frame: %s\n", frame_check_result_name(r));
            fatal("transmitted frame fails frame_check");
        }
        track_tx(fe, frame, len);
        if (fe->b && !drop_a_to_b) {
            port_push(fe->pb, frame, len);
        }
    } else if (b_hook && fe->setup_done) {
        b_hook(b_hook_ctx, frame, len); /* seed generator: recorded, delivered as FRAME ops */
    } else {
        deliver_to_a(fe, frame, len);
    }
    return 0;
}

void fe_set_b_tx_hook(fe_t *fe, fe_b_tx_hook_t hook, void *ctx)
{
    (void)fe;
    b_hook = hook;
    b_hook_ctx = ctx;
}

void fe_set_drop_a_to_b(fe_t *fe, bool drop)
{
    (void)fe;
    drop_a_to_b = drop;
}

/* ---- memory ------------------------------------------------------------------------------ */

static _Alignas(64) uint8_t mem_a[1 << 16], mem_b[1 << 16];
static uint8_t big_rx[BIG_RX];
static uint8_t tcp_rx[FE_MAX_SOCK][SMALL_BUF], tcp_tx[FE_MAX_SOCK][SMALL_BUF];
static _Alignas(16) uint8_t dg_rx[FE_MAX_SOCK][8192], dg_tx[FE_MAX_SOCK][8192];
static uint8_t b_rx[4][SMALL_BUF], b_tx[4][SMALL_BUF];
static _Alignas(16) uint8_t b_dg[2][8192];

static unsigned wakes;
static bool udp_bound_v6[FE_MAX_SOCK]; /* A's UDP socket is bound to an IPv6 address */

/* FUZZ_NO_WORKAROUNDS=1: do not steer around known, unfixed bugs (fuzz/known). */
static bool fe_no_workarounds;

static void on_wake(uintptr_t token)
{
    (void)token;
    wakes++;
}

static esg_engine_t *engine_new(fe_t *fe, fe_port_t *p, uint8_t *mem, const uint8_t mac[6], bool is_a)
{
    p->fe = fe;
    p->is_a = is_a;
    esg_config_t cfg = {
        .mtu = (fe->cfg & FE_CFG_MTU576) && is_a ? 576 : 1500,
        .max_sockets = FE_MAX_SOCK,
        .rx_checksums_verified = is_a && (fe->cfg & FE_CFG_CHECK_MASK) <= 1,
        .tx_checksums_by_runtime = is_a && (fe->cfg & FE_CFG_CHECK_MASK) <= 1,
        .ipv6_slaac = is_a && (fe->cfg & FE_CFG_SLAAC),
        .random_seed = is_a ? 0x5eed0001 : 0x5eed0002,
    };
    memcpy(cfg.mac, mac, 6);
    esg_netdev_ops_t ops = {.ctx = p, .rx_next = nd_rx_next, .rx_done = nd_rx_done, .tx = nd_tx};
    size_t size = esg_engine_mem_size(FE_MAX_SOCK);
    if (size > sizeof(mem_a) || esg_engine_mem_align() > 64) {
        fatal("engine block too small");
    }
    esg_engine_t *e = NULL;
    if (esg_engine_init(mem, size, &cfg, &ops, fe->now, &e) != ESG_OK) {
        fatal("esg_engine_init");
    }
    return e;
}

/* ---- A's sockets -------------------------------------------------------------------------- */

static esg_endpoint_t ep4(const uint8_t a[4], uint16_t port)
{
    esg_endpoint_t e = {.family = ESG_AF_INET, .port = port};
    memcpy(e.addr, a, 4);
    return e;
}

static esg_endpoint_t ep6(const uint8_t a[16], uint16_t port)
{
    esg_endpoint_t e = {.family = ESG_AF_INET6, .port = port};
    memcpy(e.addr, a, 16);
    return e;
}

static esg_endpoint_t any_ep(uint16_t port)
{
    esg_endpoint_t e = {.family = ESG_AF_UNSPEC, .port = port};
    return e;
}

static bool room(const fe_t *fe)
{
    return fe->open_count < FE_MAX_SOCK;
}

static int open_tcp(fe_t *fe, bool big)
{
    if (!room(fe)) {
        return -1;
    }
    int id = -1;
    for (int i = 0; i < FE_MAX_SOCK && id < 0; i++) {
        id = fe->kind[i] ? -1 : i;
    }
    if (id < 0) {
        return -1;
    }
    int r = esg_tcp_open(fe->a, big ? big_rx : tcp_rx[id], big ? BIG_RX : SMALL_BUF, tcp_tx[id], SMALL_BUF);
    if (r < 0) {
        return -1;
    }
    if (r != id) {
        fatal("glue picked another slot than the first free one");
    }
    fe->kind[r] = 1;
    fe->open_count++;
    return r;
}

static int open_dgram(fe_t *fe, bool icmp)
{
    if (!room(fe)) {
        return -1;
    }
    int id = -1;
    for (int i = 0; i < FE_MAX_SOCK && id < 0; i++) {
        id = fe->kind[i] ? -1 : i;
    }
    size_t n = esg_dgram_buffer_mem_size(DGRAM_PKTS, DGRAM_PAYLOAD);
    if (id < 0 || n > sizeof(dg_rx[0])) {
        return -1;
    }
    int r = (icmp ? esg_icmp_open : esg_udp_open)(fe->a, dg_rx[id], n, DGRAM_PKTS, dg_tx[id], n, DGRAM_PKTS);
    if (r < 0) {
        return -1;
    }
    fe->kind[r] = icmp ? 3 : 2;
    udp_bound_v6[r] = false;
    fe->open_count++;
    return r;
}

static void remove_sock(fe_t *fe, int id)
{
    int r = esg_socket_remove(fe->a, id);
    bool known = id >= 0 && id < FE_MAX_SOCK && fe->kind[id];
    if ((r == ESG_OK) != known) {
        fatal("esg_socket_remove disagrees with the socket table");
    }
    if (known) {
        fe->kind[id] = 0;
        fe->open_count--;
    }
}

static void check_invariants(fe_t *fe)
{
    for (int i = 0; i < FE_MAX_SOCK; i++) {
        if (fe->kind[i] == 1) {
            esg_tcp_info_t t;
            if (esg_tcp_get_info(fe->a, i, &t) != ESG_OK || t.state > ESG_TCP_TIME_WAIT ||
                t.recv_queue > t.recv_capacity || t.send_queue > t.send_capacity) {
                fatal("tcp info inconsistent");
            }
        } else if (fe->kind[i]) {
            esg_dgram_info_t d;
            int r = fe->kind[i] == 2 ? esg_udp_get_info(fe->a, i, &d) : esg_icmp_get_info(fe->a, i, &d);
            if (r != ESG_OK) {
                fatal("dgram info");
            }
        }
    }
}

static void dhcp_events(fe_t *fe)
{
    if (!(fe->cfg & FE_CFG_DHCP)) {
        return;
    }
    esg_dhcp_lease_t l;
    int ev = esg_dhcp_poll(fe->a, &l);
    if (ev == ESG_DHCP_EVENT_CONFIGURED) {
        /* As runtime.c apply_ip4(). */
        esg_iface_clear_addrs(fe->a, ESG_AF_INET);
        esg_iface_add_addr(fe->a, ESG_AF_INET, l.addr, l.prefix);
        esg_iface_set_default_route(fe->a, ESG_AF_INET, l.has_router ? l.router : NULL);
        if (l.prefix > 32 || l.dns_count > ESG_DHCP_MAX_DNS) {
            fatal("dhcp lease out of range");
        }
    } else if (ev == ESG_DHCP_EVENT_DECONFIGURED) {
        esg_iface_clear_addrs(fe->a, ESG_AF_INET);
        esg_iface_set_default_route(fe->a, ESG_AF_INET, NULL);
    }
}

/* Poll until both queues are empty; returns A's next-poll delay. */
static uint64_t poll_quiet(fe_t *fe)
{
    uint64_t d = ESG_POLL_NEVER;
    for (int i = 0; i < 32; i++) {
        d = esg_poll(fe->a, fe->now);
        dhcp_events(fe);
        if (fe->b) {
            uint64_t db = esg_poll(fe->b, fe->now);
            d = db < d ? db : d;
        }
        if (!fe->pa->count && (!fe->b || !fe->pb->count) && d > 0) {
            break;
        }
    }
    check_invariants(fe);
    return d;
}

void fe_poll(fe_t *fe)
{
    poll_quiet(fe);
}

/* Walk time forward in the engine's own steps, as the poll task would. */
static void advance(fe_t *fe, uint64_t us)
{
    uint64_t target = fe->now + us;
    for (int i = 0; i < 64 && fe->now < target; i++) {
        uint64_t d = poll_quiet(fe);
        if (d < 1000) {
            d = 1000;
        }
        fe->now = (target - fe->now < d) ? target : fe->now + d;
    }
    fe->now = target;
    poll_quiet(fe);
}

/* ---- setup ------------------------------------------------------------------------------------ */

static int b_tcp(fe_t *fe, int i)
{
    int id = esg_tcp_open(fe->b, b_rx[i], SMALL_BUF, b_tx[i], SMALL_BUF);
    if (id < 0) {
        fatal("B tcp_open");
    }
    return id;
}

void fe_setup(fe_t *fe, uint8_t cfg, bool keep_b)
{
    memset(fe, 0, sizeof(*fe));
    fe->cfg = cfg;
    const char *nw = getenv("FUZZ_NO_WORKAROUNDS");
    fe_no_workarounds = nw && *nw == '1';
    fe->now = 1000000;
    fe->pa = &port_a;
    fe->pb = &port_b;
    esg_set_wake_handler(on_wake);
    fe->a = engine_new(fe, fe->pa, mem_a, FE_MAC_A, true);
    fe->b = engine_new(fe, fe->pb, mem_b, FE_MAC_B, false);
    esg_iface_add_addr(fe->a, ESG_AF_INET, FE_IP4_A, 24);
    esg_iface_add_addr(fe->a, ESG_AF_INET6, FE_IP6_A, 64);
    esg_iface_set_default_route(fe->a, ESG_AF_INET, FE_IP4_B);
    esg_iface_add_addr(fe->b, ESG_AF_INET, FE_IP4_B, 24);
    esg_iface_add_addr(fe->b, ESG_AF_INET6, FE_IP6_B, 64);

    /* A: 0 listens :80 (big window), 1 listens :80, 2 listens :443, 3 connects to B:8080. */
    int l0 = open_tcp(fe, true), l1 = open_tcp(fe, false), l2 = open_tcp(fe, false), c3 = open_tcp(fe, false);
    esg_endpoint_t e80 = any_ep(80), e443 = any_ep(443);
    esg_tcp_listen(fe->a, l0, &e80);
    esg_tcp_listen(fe->a, l1, &e80);
    esg_tcp_listen(fe->a, l2, &e443);
    int bl = b_tcp(fe, 0), b1 = b_tcp(fe, 1), b2 = b_tcp(fe, 2);
    esg_endpoint_t e8080 = any_ep(8080);
    esg_tcp_listen(fe->b, bl, &e8080);
    esg_endpoint_t to80 = ep4(FE_IP4_A, 80), from1 = any_ep(40000);
    esg_endpoint_t to443 = ep6(FE_IP6_A, 443), from2 = any_ep(40001);
    esg_endpoint_t to8080 = ep4(FE_IP4_B, 8080), from3 = any_ep(49152);
    esg_tcp_connect(fe->b, b1, &to80, &from1);
    esg_tcp_connect(fe->b, b2, &to443, &from2);
    esg_tcp_connect(fe->a, c3, &to8080, &from3);
    bool up = false;
    for (int i = 0; i < 200 && !up; i++) {
        uint64_t d = poll_quiet(fe);
        esg_tcp_info_t t0, t2, t3;
        esg_tcp_get_info(fe->a, l0, &t0);
        esg_tcp_get_info(fe->a, l2, &t2);
        esg_tcp_get_info(fe->a, c3, &t3);
        up = t0.state == ESG_TCP_ESTABLISHED && t2.state == ESG_TCP_ESTABLISHED && t3.state == ESG_TCP_ESTABLISHED;
        fe->now += d < 100000 ? (d ? d : 1) : 100000;
    }
    if (!up) {
        fatal("setup: connections did not establish");
    }
    fe->setup_done = true;

    /* 4: UDP on :7, 5: ICMP echo ident 0x1234, DNS socket with a query to B, DHCP client. */
    int u = open_dgram(fe, false), ic = open_dgram(fe, true);
    esg_endpoint_t e7 = any_ep(7);
    esg_udp_bind(fe->a, u, &e7);
    esg_icmp_bind_ident(fe->a, ic, 0x1234);
    esg_endpoint_t dns_server = ep4(FE_IP4_B, 53);
    esg_dns_set_servers(fe->a, &dns_server, 1);
    static const char name[] = "peer.esst.test";
    if (esg_dns_query(fe->a, name, sizeof(name) - 1, ESG_DNS_TYPE_A) < 0) {
        fatal("dns query");
    }
    if (cfg & FE_CFG_DHCP) {
        /* with a kept-reply buffer, as the runtime starts it: fuzzed ACKs reach the option 42 parser */
        static uint8_t dhcp_rx[1472];
        esg_dhcp_start(fe->a, dhcp_rx, sizeof(dhcp_rx));
    }
    if (keep_b) {
        fe->b_ids[0] = bl;
        fe->b_ids[1] = b1;
        fe->b_ids[2] = b2;
        int bu = esg_udp_open(fe->b, b_dg[0], esg_dgram_buffer_mem_size(2, 2048), 2, b_dg[1],
                              esg_dgram_buffer_mem_size(2, 2048), 2);
        esg_endpoint_t e9 = any_ep(9);
        esg_udp_bind(fe->b, bu, &e9);
        fe->b_ids[3] = bu;
    } else {
        esg_engine_deinit(fe->b);
        fe->b = NULL;
        port_reset(fe->pb);
    }
    poll_quiet(fe);
}

void fe_teardown(fe_t *fe)
{
    if (fe->cfg & FE_CFG_DHCP) {
        esg_dhcp_stop(fe->a);
    }
    esg_engine_deinit(fe->a);
    if (fe->b) {
        esg_engine_deinit(fe->b);
        fe->b = NULL;
        port_reset(fe->pb);
    }
    port_reset(fe->pa);
    b_hook = NULL;
    drop_a_to_b = false;
}

/* ---- what A sends ------------------------------------------------------------------------------ */

static int seq_after(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) > 0;
}

static void track_tx(fe_t *fe, const uint8_t *f, size_t len)
{
    if (len < 14) {
        return;
    }
    uint16_t type = pkt_rd16(f + 12);
    const uint8_t *ip = f + 14;
    size_t avail = len - 14;
    bool v6 = type == ETH_P_IPV6;
    size_t hl;
    uint8_t proto;
    const uint8_t *src, *dst;
    size_t l4_len;
    if (type == ETH_P_IPV4 && avail >= 20) {
        hl = (size_t)(ip[0] & 0xF) * 4;
        size_t total = pkt_rd16(ip + 2);
        if (hl < 20 || total < hl || total > avail) {
            return;
        }
        proto = ip[9];
        src = ip + 12;
        dst = ip + 16;
        l4_len = total - hl;
    } else if (v6 && avail >= 40) {
        hl = 40;
        proto = ip[6];
        src = ip + 8;
        dst = ip + 24;
        l4_len = pkt_rd16(ip + 4);
        if (l4_len > avail - 40) {
            return;
        }
    } else {
        return;
    }
    (void)src;
    const uint8_t *l4 = ip + hl;
    if (proto == PROTO_TCP && l4_len >= 20) {
        uint16_t lport = pkt_rd16(l4), rport = pkt_rd16(l4 + 2);
        uint32_t seq = pkt_rd32(l4 + 4), ack = pkt_rd32(l4 + 8);
        size_t doff = (size_t)(l4[12] >> 4) * 4;
        uint8_t flags = l4[13];
        uint32_t seg = (uint32_t)(l4_len > doff ? l4_len - doff : 0) + ((flags & 0x02) ? 1 : 0) + ((flags & 0x01) ? 1 : 0);
        fe_conn_t *c = NULL;
        for (int i = 0; i < FE_MAX_CONNS && !c; i++) {
            fe_conn_t *k = &fe->conns[i];
            if (k->used && k->v6 == v6 && k->lport == lport && k->rport == rport && !memcmp(k->raddr, dst, v6 ? 16 : 4)) {
                c = k;
            }
        }
        if (!c) {
            c = &fe->conns[fe->conn_next++ % FE_MAX_CONNS];
            memset(c, 0, sizeof(*c));
            c->used = true;
            c->v6 = v6;
            memcpy(c->raddr, dst, v6 ? 16 : 4);
            c->lport = lport;
            c->rport = rport;
            c->a_snd_nxt = seq + seg;
        } else if (seq_after(seq + seg, c->a_snd_nxt)) {
            c->a_snd_nxt = seq + seg;
        }
        if (flags & 0x10) {
            c->a_rcv_nxt = ack;
        }
    } else if (proto == PROTO_UDP && l4_len >= 8) {
        const uint8_t *u = l4 + 8;
        size_t ul = l4_len - 8;
        if (pkt_rd16(l4) == 68 && ul >= 8) {
            fe->have_dhcp = true;
            fe->dhcp_xid = pkt_rd32(u + 4);
        } else if (pkt_rd16(l4 + 2) == 53 && ul > 12) {
            fe->have_dns = true;
            fe->dns_id = pkt_rd16(u);
            fe->dns_port = pkt_rd16(l4);
            size_t q = 12;
            while (q < ul && u[q] != 0 && q - 12 < 250) {
                q += (size_t)u[q] + 1;
            }
            q += 5; /* terminator, type, class */
            if (q <= ul && q - 12 <= sizeof(fe->dns_question)) {
                fe->dns_qlen = q - 12;
                memcpy(fe->dns_question, u + 12, fe->dns_qlen);
            }
        }
    } else if (proto == PROTO_ICMP && l4_len >= 8 && l4[0] == 8) {
        fe->echo_ident = pkt_rd16(l4 + 4);
        fe->echo_seq = pkt_rd16(l4 + 6);
    }
}

/* ---- ops ---------------------------------------------------------------------------------------- */

static uint8_t frame_buf[PKT_MAX + 64];

static size_t frame_cap(const fe_t *fe)
{
    return (fe->cfg & FE_CFG_MTU576) ? 14 + 576 : PKT_MAX;
}

static void op_frame(fe_t *fe, fuzz_input_t *in, uint8_t flags)
{
    size_t want = fuzz_u16(in) % (PKT_MAX + 1), got;
    const uint8_t *p = fuzz_bytes(in, want, &got);
    memcpy(frame_buf, p, got);
    if (flags & 3) {
        pkt_fixup(frame_buf, got, flags & 2);
    }
    deliver_to_a(fe, frame_buf, got);
}

static void send_ip(fe_t *fe, const pkt_ips_t *ips, uint8_t proto, size_t l4_len, const uint8_t *dmac, uint8_t ttl)
{
    pkt_eth(frame_buf, dmac ? dmac : FE_MAC_A, FE_MAC_B, 0);
    size_t n = pkt_ip_finish(frame_buf, ips, proto, l4_len, ttl);
    if (n <= frame_cap(fe)) {
        deliver_to_a(fe, frame_buf, n);
    }
}

static void a_addr(const fe_t *fe, bool v6, uint8_t out[16])
{
    if (v6) {
        memcpy(out, FE_IP6_A, 16);
        return;
    }
    uint8_t p;
    if (esg_iface_get_addr(fe->a, ESG_AF_INET, 0, out, &p) != ESG_OK) {
        memcpy(out, FE_IP4_A, 4);
    }
}

static void op_tcp(fe_t *fe, fuzz_input_t *in)
{
    uint8_t ci = fuzz_u8(in), flags = fuzz_u8(in);
    int16_t dseq = (int16_t)fuzz_u16(in), dack = (int16_t)fuzz_u16(in);
    uint16_t win = fuzz_u16(in);
    size_t optlen = fuzz_u8(in) % 41, got;
    const uint8_t *opts = fuzz_bytes(in, optlen, &got);
    optlen = got;
    size_t padded = (optlen + 3) & ~(size_t)3;
    size_t maxpay = frame_cap(fe) - 14 - 40 - 20 - padded;
    size_t paylen = fuzz_u16(in) % (maxpay + 1);
    const uint8_t *pay = fuzz_bytes(in, paylen, &paylen);

    fe_conn_t def = {.used = true, .lport = 80, .rport = 40000};
    memcpy(def.raddr, FE_IP4_B, 4);
    fe_conn_t *c = &def;
    int n = 0;
    for (int i = 0; i < FE_MAX_CONNS; i++) {
        n += fe->conns[i].used;
    }
    if (n) {
        int k = ci % n;
        for (int i = 0; i < FE_MAX_CONNS; i++) {
            if (fe->conns[i].used && k-- == 0) {
                c = &fe->conns[i];
                break;
            }
        }
    }
    pkt_ips_t ips = {.v6 = c->v6};
    memcpy(ips.src, c->raddr, 16);
    a_addr(fe, c->v6, ips.dst);
    uint8_t *t = frame_buf + pkt_l4_off(c->v6);
    pkt_wr16(t, c->rport);
    pkt_wr16(t + 2, c->lport);
    pkt_wr32(t + 4, c->a_rcv_nxt + (uint32_t)(int32_t)dseq);
    pkt_wr32(t + 8, c->a_snd_nxt + (uint32_t)(int32_t)dack);
    t[12] = (uint8_t)(((20 + padded) / 4) << 4);
    t[13] = flags;
    pkt_wr16(t + 14, win);
    pkt_wr16(t + 16, 0);
    pkt_wr16(t + 18, 0);
    memset(t + 20, 0, padded);
    memcpy(t + 20, opts, optlen);
    memcpy(t + 20 + padded, pay, paylen);
    send_ip(fe, &ips, PROTO_TCP, 20 + padded + paylen, NULL, 0);
}

static void op_dhcp(fe_t *fe, fuzz_input_t *in)
{
    static const uint8_t types[8] = {2, 5, 6, 2, 5, 5, 6, 0};
    uint8_t ty = fuzz_u8(in), yi = fuzz_u8(in), sid = fuzz_u8(in), fl = fuzz_u8(in);
    uint32_t lease = fuzz_u32(in);
    size_t optlen = fuzz_u8(in), got;
    const uint8_t *opts = fuzz_bytes(in, optlen, &got);
    uint8_t mtype = types[ty & 7] ? types[ty & 7] : ty >> 3;

    pkt_ips_t ips = {.v6 = false};
    uint8_t server[4] = {198, 18, 0, sid ? sid : 1};
    memcpy(ips.src, server, 4);
    uint8_t *u = frame_buf + pkt_l4_off(false);
    uint8_t *b = u + 8;
    memset(b, 0, 240);
    b[0] = 2; /* BOOTREPLY */
    b[1] = 1;
    b[2] = 6;
    pkt_wr32(b + 4, fe->dhcp_xid ^ ((fl & 0x08) ? 1u : 0u));
    uint8_t yiaddr[4] = {198, 18, 0, yi};
    if (mtype != 6) {
        memcpy(b + 16, yiaddr, 4);
    }
    memcpy(b + 28, FE_MAC_A, 6);
    b[236] = 99, b[237] = 130, b[238] = 83, b[239] = 99; /* magic cookie, RFC 2131 §3 */
    uint8_t *o = b + 240;
    *o++ = 53, *o++ = 1, *o++ = mtype;
    if (!(fl & 0x20)) {
        *o++ = 54, *o++ = 4;
        memcpy(o, server, 4), o += 4;
    }
    if (mtype != 6) {
        *o++ = 51, *o++ = 4;
        pkt_wr32(o, lease), o += 4;
        if (fl & 0x02) {
            *o++ = 1, *o++ = 4, *o++ = 255, *o++ = 255, *o++ = 255, *o++ = 0;
        }
        if (fl & 0x01) {
            *o++ = 3, *o++ = 4;
            memcpy(o, server, 4), o += 4;
        }
        if (fl & 0x04) {
            *o++ = 6, *o++ = 8;
            memcpy(o, server, 4), o += 4;
            memcpy(o, FE_IP4_B, 4), o += 4;
        }
        if (fl & 0x40) {
            *o++ = 58, *o++ = 4;
            pkt_wr32(o, lease / 2), o += 4;
            *o++ = 59, *o++ = 4;
            pkt_wr32(o, lease / 8 * 7), o += 4;
        }
    }
    memcpy(o, opts, got);
    o += got;
    *o++ = 255;
    size_t blen = (size_t)(o - b);
    pkt_wr16(u, 67);
    pkt_wr16(u + 2, 68);
    pkt_wr16(u + 4, (uint16_t)(8 + blen));
    if (fl & 0x10) {
        memset(ips.dst, 255, 4);
    } else {
        memcpy(ips.dst, yiaddr, 4);
    }
    send_ip(fe, &ips, PROTO_UDP, 8 + blen, (fl & 0x10) ? BCAST : FE_MAC_A, 0);
}

static void op_dns(fe_t *fe, fuzz_input_t *in)
{
    uint16_t flags = fuzz_u16(in);
    uint8_t mode = fuzz_u8(in);
    pkt_ips_t ips = {.v6 = false};
    memcpy(ips.src, FE_IP4_B, 4);
    a_addr(fe, false, ips.dst);
    uint8_t *u = frame_buf + pkt_l4_off(false);
    uint8_t *d = u + 8;
    size_t cap = frame_cap(fe) - pkt_l4_off(false) - 8, n;
    pkt_wr16(d, fe->dns_id ^ ((mode & 2) ? 0x100 : 0));
    pkt_wr16(d + 2, flags ? flags : 0x8180);
    if (mode & 1) {
        /* Raw: counts and body straight from the input. */
        for (int i = 0; i < 4; i++) {
            pkt_wr16(d + 4 + 2 * i, fuzz_u16(in));
        }
        size_t want = fuzz_u16(in) % (cap - 12 + 1), got;
        const uint8_t *p = fuzz_bytes(in, want, &got);
        memcpy(d + 12, p, got);
        n = 12 + got;
    } else {
        uint8_t an = fuzz_u8(in) % 6;
        pkt_wr16(d + 4, 1);
        pkt_wr16(d + 6, an);
        pkt_wr16(d + 8, 0);
        pkt_wr16(d + 10, 0);
        memcpy(d + 12, fe->dns_question, fe->dns_qlen);
        n = 12 + fe->dns_qlen;
        for (int i = 0; i < an && n + 64 < cap; i++) {
            uint8_t nk = fuzz_u8(in);
            if ((nk & 3) == 0) {
                pkt_wr16(d + n, 0xC00C), n += 2; /* pointer to the question name (RFC 1035 §4.1.4) */
            } else if ((nk & 3) == 1) {
                pkt_wr16(d + n, (uint16_t)(0xC000 | n)), n += 2; /* pointer to itself */
            } else {
                size_t ll = (nk >> 2) % 24, got;
                const uint8_t *p = fuzz_bytes(in, ll, &got);
                memcpy(d + n, p, got);
                n += got;
                d[n++] = 0;
            }
            static const uint16_t types[4] = {1, 28, 5, 0};
            uint8_t tsel = fuzz_u8(in);
            uint16_t type = types[tsel & 3] ? types[tsel & 3] : (uint16_t)(tsel >> 2);
            pkt_wr16(d + n, type);
            pkt_wr16(d + n + 2, 1);
            pkt_wr32(d + n + 4, fuzz_u32(in));
            size_t rdlen = type == 1 ? 4 : type == 28 ? 16 : fuzz_u8(in) % 40, got;
            const uint8_t *p = fuzz_bytes(in, rdlen, &got);
            memset(d + n + 10, 0, rdlen);
            memcpy(d + n + 10, p, got);
            pkt_wr16(d + n + 8, (uint16_t)rdlen);
            n += 10 + rdlen;
        }
    }
    pkt_wr16(u, 53);
    pkt_wr16(u + 2, fe->dns_port);
    pkt_wr16(u + 4, (uint16_t)(8 + n));
    send_ip(fe, &ips, PROTO_UDP, 8 + n, NULL, 0);
}

static void op_misc(fe_t *fe, fuzz_input_t *in)
{
    uint8_t sub = fuzz_u8(in) % FE_MISC_COUNT, x = fuzz_u8(in), y = fuzz_u8(in);
    uint8_t *f = frame_buf;
    switch (sub) {
    case FE_MISC_ARP_REPLY:
    case FE_MISC_ARP_REQUEST: {
        bool req = sub == FE_MISC_ARP_REQUEST;
        uint8_t smac[6] = {0x02, 0, 0, 0, 1, y};
        pkt_eth(f, req ? BCAST : FE_MAC_A, smac, ETH_P_ARP);
        uint8_t *a = f + 14;
        pkt_wr16(a, 1), pkt_wr16(a + 2, ETH_P_IPV4), a[4] = 6, a[5] = 4, pkt_wr16(a + 6, req ? 1 : 2);
        memcpy(a + 8, smac, 6);
        uint8_t sip[4] = {198, 18, 0, x};
        memcpy(a + 14, sip, 4);
        memcpy(a + 18, req ? (const uint8_t *)"\0\0\0\0\0\0" : FE_MAC_A, 6);
        uint8_t tip[4];
        a_addr(fe, false, tip);
        if (req && (y & 1)) {
            memcpy(tip, sip, 4); /* gratuitous (RFC 5227 §3) */
        }
        memcpy(a + 24, tip, 4);
        memset(f + 42, 0, 18);
        deliver_to_a(fe, f, 60);
        break;
    }
    case FE_MISC_ECHO:
    case FE_MISC_ECHO_REPLY: {
        bool v6 = x & 1, ll = x & 2;
        pkt_ips_t ips = {.v6 = v6};
        memcpy(ips.src, v6 ? (ll ? LL_B : FE_IP6_B) : FE_IP4_B, v6 ? 16 : 4);
        if (v6) {
            memcpy(ips.dst, ll ? FE_LL_A : FE_IP6_A, 16);
        } else {
            a_addr(fe, false, ips.dst);
        }
        size_t size = (size_t)fuzz_u16(in) % (frame_cap(fe) - 14 - 48 + 1);
        uint8_t *ic = f + pkt_l4_off(v6);
        bool reply = sub == FE_MISC_ECHO_REPLY;
        ic[0] = v6 ? (reply ? 129 : 128) : (reply ? 0 : 8);
        ic[1] = 0;
        pkt_wr16(ic + 4, reply ? fe->echo_ident : (uint16_t)(y << 8 | x));
        pkt_wr16(ic + 6, reply ? fe->echo_seq : y);
        for (size_t i = 0; i < size; i++) {
            ic[8 + i] = (uint8_t)(i * 7 + y);
        }
        send_ip(fe, &ips, v6 ? PROTO_ICMPV6 : PROTO_ICMP, 8 + size, NULL, (x & 4) ? 1 : 0);
        break;
    }
    case FE_MISC_NS: {
        /* RFC 4861 §4.3; DAD form (unspecified source, no option) when x & 1. */
        pkt_ips_t ips = {.v6 = true};
        const uint8_t *target = (x & 2) ? FE_IP6_A : FE_LL_A;
        memcpy(ips.src, (x & 1) ? (const uint8_t[16]){0} : LL_B, 16);
        uint8_t mac[6] = {0x33, 0x33, 0xff, target[13], target[14], target[15]};
        if (x & 4) {
            memcpy(ips.dst, target, 16);
            memcpy(mac, FE_MAC_A, 6);
        } else {
            static const uint8_t snm[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};
            memcpy(ips.dst, snm, 13);
            memcpy(ips.dst + 13, target + 13, 3);
        }
        uint8_t *ic = f + pkt_l4_off(true);
        ic[0] = 135, ic[1] = 0;
        memset(ic + 4, 0, 4);
        memcpy(ic + 8, target, 16);
        size_t len = 24;
        if (!(x & 1)) {
            ic[24] = 1, ic[25] = 1;
            memcpy(ic + 26, FE_MAC_B, 6);
            len += 8;
        }
        send_ip(fe, &ips, PROTO_ICMPV6, len, mac, (y & 1) ? 64 : 255);
        break;
    }
    case FE_MISC_RA: {
        /* RFC 4861 §4.2 with a Prefix Information option (§4.6.2) for SLAAC. */
        pkt_ips_t ips = {.v6 = true};
        static const uint8_t all_nodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        memcpy(ips.src, LL_B, 16);
        memcpy(ips.dst, all_nodes, 16);
        uint8_t mac[6] = {0x33, 0x33, 0, 0, 0, 1};
        uint8_t *ic = f + pkt_l4_off(true);
        ic[0] = 134, ic[1] = 0;
        ic[4] = 64, ic[5] = 0;
        pkt_wr16(ic + 6, fuzz_u16(in));
        pkt_wr32(ic + 8, 0), pkt_wr32(ic + 12, 0);
        uint8_t *o = ic + 16;
        o[0] = 3, o[1] = 4, o[2] = (uint8_t)(x & 0x7f), o[3] = y;
        pkt_wr32(o + 4, fuzz_u32(in));
        pkt_wr32(o + 8, fuzz_u32(in));
        pkt_wr32(o + 12, 0);
        static const uint8_t prefix[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 2};
        memcpy(o + 16, prefix, 16);
        o += 32;
        o[0] = 1, o[1] = 1;
        memcpy(o + 2, FE_MAC_B, 6);
        o += 8;
        size_t extra = fuzz_u8(in) % 64, got;
        const uint8_t *p = fuzz_bytes(in, extra, &got);
        memcpy(o, p, got);
        o += got;
        send_ip(fe, &ips, PROTO_ICMPV6, (size_t)(o - ic), mac, 255);
        break;
    }
    default:
        break;
    }
}

/* A socket id from the input: mostly live ones, sometimes -1 or past the table. */
static int pick_id(uint8_t k)
{
    return (int)(k % (FE_MAX_SOCK + 2)) - 1;
}

static uint8_t app_buf[SMALL_BUF];

static void op_app(fe_t *fe, fuzz_input_t *in)
{
    uint8_t sub = fuzz_u8(in) % FE_APP_COUNT;
    int id = pick_id(fuzz_u8(in));
    uint16_t arg = fuzz_u16(in);
    esg_engine_t *a = fe->a;
    switch (sub) {
    case FE_APP_SEND:
        for (size_t i = 0; i < sizeof(app_buf); i++) {
            app_buf[i] = (uint8_t)(i * 13 + arg);
        }
        esg_tcp_send(a, id, app_buf, arg % (sizeof(app_buf) + 1));
        break;
    case FE_APP_RECV: {
        int r = esg_tcp_recv(a, id, app_buf, arg % (sizeof(app_buf) + 1), arg & 0x8000);
        if (r > (int)sizeof(app_buf)) {
            fatal("tcp_recv returned more than asked");
        }
        break;
    }
    case FE_APP_CLOSE:
        esg_tcp_close(a, id);
        break;
    case FE_APP_ABORT:
        esg_tcp_abort(a, id);
        break;
    case FE_APP_CONNECT: {
        int s = open_tcp(fe, false);
        if (s >= 0) {
            static const uint8_t fe80_1[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
            uint16_t port = fuzz_u16(in);
            esg_endpoint_t to = (arg % 3) == 0 ? ep4(FE_IP4_B, port) : (arg % 3) == 1 ? ep6(FE_IP6_B, port)
                                                                                  : ep6(fe80_1, port);
            esg_endpoint_t from = any_ep((uint16_t)(arg | 1));
            esg_tcp_connect(a, s, &to, &from);
        }
        break;
    }
    case FE_APP_LISTEN: {
        int s = open_tcp(fe, false);
        if (s >= 0) {
            esg_endpoint_t e = (arg & 1) ? ep4(FE_IP4_A, arg) : any_ep(arg);
            esg_tcp_listen(a, s, &e);
        }
        break;
    }
    case FE_APP_UDP_OPEN: {
        int s = open_dgram(fe, false);
        if (s >= 0) {
            esg_endpoint_t e = (arg & 1) ? ep6(FE_IP6_A, arg) : any_ep(arg);
            esg_udp_bind(a, s, &e);
            udp_bound_v6[s] = arg & 1;
        }
        break;
    }
    case FE_APP_UDP_SEND: {
        esg_endpoint_t to = (arg & 1) ? ep6(FE_IP6_B, fuzz_u16(in)) : ep4(FE_IP4_B, fuzz_u16(in));
        size_t len = fuzz_u16(in) % 1600;
        memset(app_buf, 'u', len);
        esg_udp_send(a, id, app_buf, len, &to, NULL);
        break;
    }
    case FE_APP_UDP_RECV: {
        size_t full = 0;
        esg_endpoint_t from, to;
        int r = esg_udp_recv(a, id, app_buf, arg % sizeof(app_buf), arg & 0x8000, &full, &from, &to);
        if (r >= 0 && ((size_t)r > full || (size_t)r > arg % sizeof(app_buf))) {
            fatal("udp_recv lengths");
        }
        break;
    }
    case FE_APP_ICMP_SEND: {
        size_t len = 8 + arg % 1400;
        memset(app_buf, 0, len);
        app_buf[0] = (arg & 1) ? 128 : 8; /* echo request, ICMPv6 or ICMP */
        pkt_wr16(app_buf + 4, 0x1234);
        pkt_wr16(app_buf + 6, arg);
        esg_icmp_send(a, id, app_buf, len, (arg & 1) ? ESG_AF_INET6 : ESG_AF_INET, (arg & 1) ? FE_IP6_B : FE_IP4_B);
        break;
    }
    case FE_APP_ICMP_RECV: {
        size_t full = 0;
        esg_endpoint_t from;
        esg_icmp_recv(a, id, app_buf, arg % sizeof(app_buf), &full, &from);
        break;
    }
    case FE_APP_REMOVE:
        remove_sock(fe, id);
        break;
    case FE_APP_OPTION: {
        uint32_t v = fuzz_u32(in);
        switch (arg % 6) {
        case 0: esg_tcp_set_nodelay(a, id, v & 1); break;
        case 1: esg_tcp_set_keepalive(a, id, v % 600000); break;
        case 2: esg_tcp_set_timeout(a, id, v % 600000); break;
        case 3: esg_tcp_set_ack_delay(a, id, v % 1000); break;
        case 4: esg_tcp_set_hop_limit(a, id, (uint8_t)v); break;
        default: esg_udp_set_hop_limit(a, id, (uint8_t)v); break;
        }
        break;
    }
    case FE_APP_DNS: {
        int qid = (int)((arg >> 2) % (ESG_DNS_MAX_QUERIES + 2)) - 1;
        switch (arg & 3) {
        case 0: {
            size_t len = (arg >> 2) % 80, got;
            const uint8_t *p = fuzz_bytes(in, len, &got);
            int q = esg_dns_query(a, (const char *)p, got, (arg & 0x8000) ? ESG_DNS_TYPE_AAAA : ESG_DNS_TYPE_A);
            if (q >= ESG_DNS_MAX_QUERIES) {
                fatal("dns query id out of range");
            }
            break;
        }
        case 1: {
            esg_endpoint_t addrs[4];
            int r = esg_dns_result(a, qid, addrs, (arg >> 8) % 5);
            if (r > (int)((arg >> 8) % 5)) {
                fatal("dns result count");
            }
            break;
        }
        case 2: esg_dns_cancel(a, qid); break;
        default: {
            esg_endpoint_t s[2] = {ep4(FE_IP4_B, 53), ep6(FE_IP6_B, 53)};
            esg_dns_set_servers(a, s, (arg >> 2) % 3);
            break;
        }
        }
        break;
    }
    case FE_APP_IFACE: {
        uint8_t addr[16] = {198, 18, (uint8_t)(arg >> 8), (uint8_t)arg};
        switch (arg % 4) {
        case 0: esg_iface_add_addr(a, ESG_AF_INET, addr, (uint8_t)(arg >> 10)); break;
        case 1:
            esg_iface_clear_addrs(a, (arg & 4) ? ESG_AF_INET6 : ESG_AF_INET);
            break;
        case 2: esg_iface_set_default_route(a, ESG_AF_INET, (arg & 4) ? NULL : addr); break;
        default: {
            uint8_t p;
            esg_iface_get_addr(a, (arg & 4) ? ESG_AF_INET6 : ESG_AF_INET, arg >> 8, addr, &p);
            break;
        }
        }
        break;
    }
    default:
        esg_socket_register_wake(a, id, arg & 1, (uintptr_t)arg);
        break;
    }
}

void fe_exec_one(fe_t *fe, fuzz_input_t *in)
{
    uint8_t op = fuzz_u8(in);
    fe->ops++;
    switch (op & 7) {
    case FE_OP_FRAME:
    case FE_OP_FRAME2:
        op_frame(fe, in, op >> 3);
        break;
    case FE_OP_ADVANCE: {
        uint64_t v = fuzz_u16(in);
        advance(fe, (op & 0x80) ? v * 1000000u : v * 1000u);
        return;
    }
    case FE_OP_APP:
        op_app(fe, in);
        break;
    case FE_OP_TCP:
        op_tcp(fe, in);
        break;
    case FE_OP_DHCP:
        op_dhcp(fe, in);
        break;
    case FE_OP_DNS:
        op_dns(fe, in);
        break;
    default:
        op_misc(fe, in);
        break;
    }
    poll_quiet(fe);
}

/* Used by the fuzz target. */
void fe_run_input(const uint8_t *data, size_t size);
void fe_run_input(const uint8_t *data, size_t size)
{
    static fe_t fe;
    fuzz_input_t in = {.data = data, .len = size};
    fe_setup(&fe, fuzz_u8(&in), false);
    while (!fuzz_input_done(&in) && fe.ops < FE_MAX_OPS) {
        fe_exec_one(&fe, &in);
    }
    fe_teardown(&fe);
}
