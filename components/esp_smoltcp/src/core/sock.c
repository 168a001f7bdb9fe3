/*
 * Native socket API (esp_smoltcp_sock.h) over the engine's sockets.
 *
 * Every call takes the core lock, works on the engine, and — if it must
 * block — arms the socket's wakers, sleeps on the calling thread's event and
 * re-checks. Negative errno values inside; errno is the BSD layer's business.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "esp_log.h"
#include "runtime.h"
#include "tcp_recovery.h"
#include "wake_marks.h"

static const char *TAG = "esp_smoltcp_sock";

_Static_assert(sizeof(esp_smoltcp_endpoint_t) == sizeof(esg_endpoint_t), "endpoint layouts differ");

#define EPHEMERAL_FIRST 49152u
#define EPHEMERAL_COUNT 16384u
/* A connect() the engine has not completed by then fails with ETIMEDOUT (Linux: ~127 s). */
#define DGRAM_CLOSE_DRAIN_MS 1000 /* close() of a UDP socket waits this long for queued datagrams */
#define CONNECT_TIMEOUT_MS 75000u

/* ---- helpers ---------------------------------------------------------------- */

int sock_errno_from_glue(int e)
{
    if (e >= 0) {
        return e;
    }
    switch (e) {
    case ESG_ERR_INVAL: return -EINVAL;
    case ESG_ERR_NOSLOT: return -ENFILE;
    case ESG_ERR_STATE: return -ENOTCONN;
    case ESG_ERR_AGAIN: return -EAGAIN;
    case ESG_ERR_UNADDR: return -ENETUNREACH;
    case ESG_ERR_BADID: return -EBADF;
    case ESG_ERR_FINISHED: return 0;
    case ESG_ERR_TOOBIG: return -EMSGSIZE;
    case ESG_ERR_NOMEM: return -ENOMEM;
    default: return -EIO;
    }
}

static const esg_endpoint_t *to_esg(const esp_smoltcp_endpoint_t *ep)
{
    return (const esg_endpoint_t *)ep;
}

static sock_rec_t *rec_of(int h)
{
    if (!rt.attached || h < 0 || h >= rt.cfg.max_sockets) {
        return NULL;
    }
    sock_rec_t *r = &rt.socks[h];
    return (r->used && !r->orphan) ? r : NULL;
}

/*
 * The record behind h for an option of type-t sockets; core lock held.
 * NULL with *rc = -EBADF (no such socket) or -ENOPROTOOPT (a socket of
 * another type), else *rc = 0.
 */
static sock_rec_t *rec_for_option(int h, esp_smoltcp_sock_type_t t, int *rc)
{
    sock_rec_t *r = rec_of(h);
    *rc = !r ? -EBADF : r->type != t ? -ENOPROTOOPT : 0;
    return *rc == 0 ? r : NULL;
}

static uint64_t deadline_of(uint32_t timeout_ms)
{
    return timeout_ms == ESP_SMOLTCP_WAIT_FOREVER ? UINT64_MAX : os_now_us() + (uint64_t)timeout_ms * 1000;
}

/* How long a connect may take: TCP_USER_TIMEOUT when set (Linux honours it for SYNs too). */
static uint32_t connect_timeout_of(const sock_rec_t *r)
{
    return r->user_timeout_ms ? r->user_timeout_ms : CONNECT_TIMEOUT_MS;
}

/* Peer silence that ends an established connection: the shorter of the user
 * timeout and the keep-alive abort (smoltcp's one timeout counts from the
 * peer's last packet). 0 = never. */
static uint32_t established_timeout_of(const sock_rec_t *r)
{
    uint32_t a = r->user_timeout_ms, b = r->keepalive_abort_ms;
    return !a ? b : !b ? a : a < b ? a : b;
}

/* A socket without an engine socket (a listener) reads as CLOSED, never as stack garbage. */
static bool tcp_info(const sock_rec_t *r, esg_tcp_info_t *info)
{
    if (r->eng_id >= 0 && esg_tcp_get_info(rt.eng, r->eng_id, info) == ESG_OK) {
        return true;
    }
    memset(info, 0, sizeof(*info));
    return false;
}

/* Arm wakers for the engine sockets behind h in direction dir. */
static void arm(int h, int dir)
{
    sock_rec_t *r = &rt.socks[h];
    if (r->backlog > 0) {
        for (int i = 0; i < r->backlog; i++) {
            if (r->listen_ids[i] >= 0) {
                esg_socket_register_wake(rt.eng, r->listen_ids[i], ESG_WAKE_RECV, sock_token(h));
            }
        }
    } else if (r->eng_id >= 0) {
        esg_socket_register_wake(rt.eng, r->eng_id, dir, sock_token(h));
    }
}

/*
 * Sleep until h changes or the deadline passes; core lock held on entry and
 * exit. Returns -EBADF if h was closed meanwhile, -EAGAIN at the deadline,
 * 0 to re-check.
 */
static int wait_on(int h, uint32_t gen, int dir, uint64_t deadline)
{
    uint64_t now = os_now_us();
    if (now >= deadline) { /* also a zero timeout (non-blocking): deadline_of(0) is "now" */
        return -EAGAIN;
    }
    os_event_t *ev = os_thread_event();
    if (!ev) {
        return -ENOMEM;
    }
    arm(h, dir);
    waiter_t w = {.event = ev};
    waitq_add(&rt.socks[h].waiters, &w);
    rt_unlock();
    os_event_wait(ev, deadline == UINT64_MAX ? OS_WAIT_FOREVER : deadline - now);
    rt_lock();
    sock_rec_t *r = &rt.socks[h];
    if (!r->used || r->orphan || r->generation != gen) {
        return -EBADF; /* closed under us; the record (and its queue) may be new */
    }
    waitq_remove(&r->waiters, &w);
    return 0;
}

/*
 * Wait on h's send wakers while still(r) holds, in steps of at most step_us:
 * the step notices an end that wakes no sender (the last datagram leaving, an
 * ACK of our FIN alone). Core lock held on entry and exit. Returns 0 once
 * still(r) is false, -EAGAIN at the deadline, -EBADF if h was closed meanwhile.
 */
static int wait_send_in_steps(int h, uint64_t deadline, uint32_t step_us, bool (*still)(const sock_rec_t *r))
{
    uint32_t gen = rt.socks[h].generation;
    while (still(&rt.socks[h])) {
        uint64_t now = os_now_us();
        if (now >= deadline) {
            return -EAGAIN;
        }
        uint64_t step = now + step_us;
        if (wait_on(h, gen, ESG_WAKE_SEND, step < deadline ? step : deadline) == -EBADF) {
            return -EBADF;
        }
    }
    return 0;
}

/* The address families a binding covers: bit 0 IPv4, bit 1 IPv6. */
static unsigned family_mask(const esp_smoltcp_endpoint_t *ep, uint8_t only_family)
{
    uint8_t f = ep->family != ESP_SMOLTCP_AF_UNSPEC ? ep->family : only_family;
    return f == ESP_SMOLTCP_AF_INET ? 1u : f == ESP_SMOLTCP_AF_INET6 ? 2u : 3u;
}

static bool port_in_use(esp_smoltcp_sock_type_t type, uint16_t port, const esp_smoltcp_endpoint_t *addr,
                        bool reuse, int self)
{
    for (int i = 0; i < rt.socks_end; i++) {
        const sock_rec_t *o = &rt.socks[i];
        if (i == self || !o->used || !o->bound || o->type != type || o->local.port != port) {
            continue;
        }
        bool overlap = !addr || addr->family == ESP_SMOLTCP_AF_UNSPEC || o->local.family == ESP_SMOLTCP_AF_UNSPEC ||
                       (addr->family == o->local.family && memcmp(addr->addr, o->local.addr, 16) == 0);
        /* An any-address binding covers its family only when restricted (AF_INET socket, IPV6_V6ONLY). */
        if (addr && self >= 0 &&
            !(family_mask(addr, rt.socks[self].only_family) & family_mask(&o->local, o->only_family))) {
            overlap = false;
        }
        if (!overlap) {
            continue;
        }
        /* SO_REUSEADDR lets a new socket share a port left by closed or connected ones, not a listener. */
        if (reuse && o->reuse_addr && o->backlog == 0) {
            continue;
        }
        if (reuse && o->orphan) {
            continue;
        }
        return true;
    }
    return false;
}

/* RFC 6056 §3.3.1-style: random start, walk the range, skip ports in use. */
static int pick_ephemeral(esp_smoltcp_sock_type_t type, int self)
{
    uint32_t start = (uint32_t)(os_random_u64() % EPHEMERAL_COUNT);
    for (uint32_t i = 0; i < EPHEMERAL_COUNT; i++) {
        uint16_t port = (uint16_t)(EPHEMERAL_FIRST + (start + i) % EPHEMERAL_COUNT);
        if (!port_in_use(type, port, NULL, false, self)) {
            return port;
        }
    }
    return -EADDRINUSE;
}

static int alloc_record(void)
{
    for (int i = 0; i < rt.cfg.max_sockets; i++) {
        if (!rt.socks[i].used) {
            uint32_t gen = rt.socks[i].generation;
            memset(&rt.socks[i], 0, sizeof(rt.socks[i]));
            rt.socks[i].generation = gen + 1;
            rt.socks[i].used = true;
            rt.socks[i].eng_id = -1;
            if (i >= rt.socks_end) {
                rt.socks_end = i + 1;
            }
            return i;
        }
    }
    rt.c.socket_alloc_failures++;
    return -ENFILE;
}

/*
 * Datagram rings (UDP, ICMP, raw) for r: the sizes in bufs or the configured
 * ones, each with room for the configured packet count. false when memory ran
 * out; what was allocated stays in r for the caller to free.
 */
static bool alloc_dgram_rings(sock_rec_t *r, const esp_smoltcp_sock_buffers_t *bufs)
{
    uint32_t rxb = bufs && bufs->rx_bytes ? bufs->rx_bytes : rt.cfg.udp_rx_buffer;
    uint32_t txb = bufs && bufs->tx_bytes ? bufs->tx_bytes : rt.cfg.udp_tx_buffer;
    r->rx_len = esg_dgram_buffer_mem_size(rt.cfg.udp_rx_packets, rxb);
    r->tx_len = esg_dgram_buffer_mem_size(rt.cfg.udp_tx_packets, txb);
    r->rx_mem = malloc(r->rx_len);
    r->tx_mem = malloc(r->tx_len);
    return r->rx_mem && r->tx_mem;
}

/* Engine TCP socket with fresh buffers. Returns the engine id or -errno. */
static int open_engine_tcp(uint32_t rx_len, uint32_t tx_len, void **rx, void **tx)
{
    *rx = malloc(rx_len);
    *tx = malloc(tx_len);
    int id = -ENOMEM;
    if (*rx && *tx) {
        id = esg_tcp_open(rt.eng, *rx, rx_len, *tx, tx_len);
        id = id >= 0 ? id : sock_errno_from_glue(id);
    }
    if (id < 0) {
        free(*rx);
        free(*tx);
        *rx = *tx = NULL;
        rt.c.socket_alloc_failures++;
        return id;
    }
    rt_count_socket(+1);
    return id;
}

/*
 * Put a backlog socket into LISTEN. Its timeout bounds a handshake that never
 * completes (a spoofed SYN, a peer gone after SYN): without it smoltcp keeps the
 * socket in SYN-RECEIVED for ever and the backlog slot is lost (lwIP: 20 s,
 * Linux: ~63 s of SYN-ACK retries). tcp_observe() clears it once established.
 */
#define HANDSHAKE_TIMEOUT_MS 30000u
static int listen_engine(int id, const esp_smoltcp_endpoint_t *local)
{
    int e = esg_tcp_listen(rt.eng, id, to_esg(local));
    if (e == ESG_OK) {
        esg_tcp_set_timeout(rt.eng, id, HANDSHAKE_TIMEOUT_MS);
    }
    return e;
}

static void remove_engine(int id, void *rx, void *tx)
{
    if (id >= 0) {
        esg_socket_remove(rt.eng, id);
        rt_count_socket(-1);
    }
    free(rx);
    free(tx);
}

static void release_record(int h)
{
    sock_rec_t *r = &rt.socks[h];
    remove_engine(r->eng_id, r->rx_mem, r->tx_mem);
    for (int i = 0; i < r->backlog; i++) {
        remove_engine(r->listen_ids[i], r->listen_rx[i], r->listen_tx[i]);
    }
    free(r->listen_ids);
    free(r->listen_rx);
    free(r->listen_tx);
    waitq_wake_all(&r->waiters);
    uint32_t gen = r->generation;
    memset(r, 0, sizeof(*r));
    r->generation = gen + 1;
    r->eng_id = -1;
    while (rt.socks_end > 0 && !rt.socks[rt.socks_end - 1].used) {
        rt.socks_end--;
    }
}

/* A connect that ended in CLOSED: refused by a RST, or out of time (smoltcp closes at the timeout). */
static int connect_error(const sock_rec_t *r)
{
    return os_now_us() - r->connect_started_us + 100000 >= (uint64_t)connect_timeout_of(r) * 1000 ? ETIMEDOUT
                                                                                                 : ECONNREFUSED;
}

/*
 * Fold what the engine did to a TCP socket into the record: counters, the
 * pending error a caller will see, the end of a connect, from the engine
 * socket's state and whether the peer may still send (no FIN yet).
 */
static void tcp_observe(sock_rec_t *r, uint8_t st, bool may_recv)
{
    if (st == r->last_state && (may_recv || r->peer_fin_seen)) {
        return;
    }
    bool synchronised = st >= ESG_TCP_ESTABLISHED;
    if (synchronised && !r->established_once) {
        r->established_once = true;
        r->connecting = false;
        rt.c.tcp_opened++;
        esg_tcp_set_timeout(rt.eng, r->eng_id, established_timeout_of(r));
    }
    if (r->established_once && !may_recv && st != ESG_TCP_CLOSED && !r->peer_fin_seen &&
        (st == ESG_TCP_CLOSE_WAIT || st == ESG_TCP_LAST_ACK || st == ESG_TCP_CLOSING || st == ESG_TCP_TIME_WAIT)) {
        r->peer_fin_seen = true;
        rt.c.tcp_closed_by_peer++;
    }
    if (st == ESG_TCP_CLOSED && r->last_state != ESG_TCP_CLOSED) {
        if (r->connecting) {
            r->connecting = false;
            r->error = r->error ? r->error : connect_error(r);
        } else if (r->established_once && !(r->peer_fin_seen && r->shut_wr) && !r->orphan) {
            /* smoltcp closes on a RST or when its timeout (keep-alive, user timeout) runs out */
            r->error = r->rst_seen || !established_timeout_of(r) ? ECONNRESET : ETIMEDOUT;
            rt.c.tcp_aborted++;
        }
    }
    r->last_state = st;
}

/*
 * Minshall's Nagle (tcp_recovery.h): a socket with Nagle on has the engine's Nagle lifted while
 * no segment below the segment size of its connection is in flight, so a reply's partial last
 * segment leaves with the full ones. Returns true when it lifted it now.
 */
static bool nagle_follow(int h, sock_rec_t *r, const esg_tcp_info_t *info)
{
    if (r->nodelay || info->remote.family == ESG_AF_UNSPEC) {
        return false;
    }
    tcp_flow_id_t id = {.local = info->local.addr, .remote = info->remote.addr,
                        .addr_len = info->local.family == ESG_AF_INET ? 4 : 16,
                        .local_port = info->local.port, .remote_port = info->remote.port};
    bool lift = tcp_recovery_small_in_flight(&id, h) == 0;
    if (lift == r->nagle_lifted || esg_tcp_set_nodelay(rt.eng, r->eng_id, lift) != ESG_OK) {
        return false;
    }
    r->nagle_lifted = lift;
    return lift;
}

/*
 * After a read the window is larger: the engine may want to announce it. A TCP_NODELAY socket
 * wakes the poll task only if it does (a request/response turn then costs no extra wake-up). A
 * Nagle socket always wakes it: the poll task is then running when the reply's pieces are sent,
 * and sends them as one segment; woken by the reply's first send() instead, it sends the head
 * alone and Nagle holds the rest until the peer's delayed ACK (wrk GET /dl/64, 64 connections:
 * 20 k req/s against 2-5 k).
 */
static void read_done_kick(const sock_rec_t *r)
{
    if (r->nodelay) {
        rt_kick_if_due();
    } else {
        rt_kick();
    }
}

/* A connect that ended in CLOSED: refused (RST) or timed out. */
static int connect_failure(sock_rec_t *r, uint64_t started_us)
{
    int err = r->error ? r->error : ECONNREFUSED;
    if (err == ECONNREFUSED && os_now_us() - started_us + 100000 >= (uint64_t)connect_timeout_of(r) * 1000) {
        err = ETIMEDOUT;
    }
    r->error = 0;
    return -err;
}

/* ---- open / bind / listen / accept / connect -------------------------------- */

int esp_smoltcp_sock_open(esp_smoltcp_sock_type_t type, const esp_smoltcp_sock_buffers_t *bufs)
{
    if (type != ESP_SMOLTCP_SOCK_TCP && type != ESP_SMOLTCP_SOCK_UDP && type != ESP_SMOLTCP_SOCK_ICMP) {
        return -EINVAL;
    }
    if (!rt.attached) {
        return -ENETDOWN;
    }
    rt_lock();
    int h = alloc_record();
    if (h < 0) {
        rt_unlock();
        return h;
    }
    sock_rec_t *r = &rt.socks[h];
    r->type = type;
    r->mcast_hops[0] = r->mcast_hops[1] = 1; /* Linux: IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS */
    int id;
    if (type == ESP_SMOLTCP_SOCK_TCP) {
        r->rx_len = bufs && bufs->rx_bytes ? bufs->rx_bytes : rt.cfg.tcp_rx_buffer;
        r->tx_len = bufs && bufs->tx_bytes ? bufs->tx_bytes : rt.cfg.tcp_tx_buffer;
        id = open_engine_tcp(r->rx_len, r->tx_len, &r->rx_mem, &r->tx_mem);
    } else {
        id = -ENOMEM;
        if (alloc_dgram_rings(r, bufs)) {
            id = (type == ESP_SMOLTCP_SOCK_UDP ? esg_udp_open : esg_icmp_open)(
                rt.eng, r->rx_mem, r->rx_len, rt.cfg.udp_rx_packets, r->tx_mem, r->tx_len, rt.cfg.udp_tx_packets);
            id = id >= 0 ? id : sock_errno_from_glue(id);
        }
        if (id >= 0) {
            rt_count_socket(+1);
        } else {
            free(r->rx_mem);
            free(r->tx_mem);
            r->rx_mem = r->tx_mem = NULL;
            rt.c.socket_alloc_failures++;
        }
    }
    if (id < 0) {
        release_record(h);
        rt_unlock();
        return id;
    }
    r->eng_id = id;
    r->last_state = ESG_TCP_CLOSED;
    rt_unlock();
    return h;
}

static int bind_locked(int h, sock_rec_t *r, const esp_smoltcp_endpoint_t *local, bool reuse)
{
    if (r->bound) {
        return -EINVAL;
    }
    esp_smoltcp_endpoint_t ep = *local;
    if (ep.family != ESP_SMOLTCP_AF_UNSPEC && !esg_iface_has_addr(rt.eng, ep.family, ep.addr)) {
        /* Linux: EADDRNOTAVAIL for an address that is not ours (any-address aside). */
        bool any = true;
        for (int i = 0; i < 16; i++) {
            any = any && ep.addr[i] == 0;
        }
        if (!any) {
            return -EADDRNOTAVAIL;
        }
        ep.family = ESP_SMOLTCP_AF_UNSPEC;
    }
    if (ep.port == 0) {
        int p = pick_ephemeral(r->type, h);
        if (p < 0) {
            return p;
        }
        ep.port = (uint16_t)p;
    } else if (port_in_use(r->type, ep.port, &ep, reuse, h)) {
        return -EADDRINUSE;
    }
    if (r->type == ESP_SMOLTCP_SOCK_UDP) {
        int rc = esg_udp_bind(rt.eng, r->eng_id, to_esg(&ep));
        if (rc < 0) {
            return sock_errno_from_glue(rc);
        }
    }
    r->local = ep;
    r->bound = true;
    r->reuse_addr = reuse;
    return 0;
}

int esp_smoltcp_sock_bind(int h, const esp_smoltcp_endpoint_t *local, bool reuse_addr)
{
    if (!local) {
        return -EINVAL;
    }
    if (!rt.attached) {
        return -ENETDOWN;
    }
    rt_lock();
    sock_rec_t *r = rec_of(h);
    int rc = r ? bind_locked(h, r, local, reuse_addr) : -EBADF;
    rt_unlock();
    return rc;
}

int esp_smoltcp_sock_listen(int h, int backlog)
{
    if (!rt.attached) {
        return -ENETDOWN;
    }
    rt_lock();
    sock_rec_t *r = rec_of(h);
    int rc = 0;
    if (!r) {
        rc = -EBADF;
    } else if (r->type != ESP_SMOLTCP_SOCK_TCP || r->connecting || r->established_once) {
        rc = -EINVAL;
    } else if (r->backlog > 0) {
        rc = 0; /* already listening: Linux only adjusts the backlog */
    } else {
        if (!r->bound) {
            esp_smoltcp_endpoint_t any = {0};
            rc = bind_locked(h, r, &any, false);
        }
        int n = backlog < 1 ? 1 : backlog;
        if (n > rt.cfg.max_sockets) {
            n = rt.cfg.max_sockets;
        }
        if (rc == 0) {
            r->listen_ids = malloc(sizeof(int) * n);
            r->listen_rx = calloc(n, sizeof(void *));
            r->listen_tx = calloc(n, sizeof(void *));
            rc = (r->listen_ids && r->listen_rx && r->listen_tx) ? 0 : -ENOMEM;
        }
        if (rc == 0) {
            /* The socket's own engine socket is the first listener. */
            r->listen_ids[0] = r->eng_id;
            r->listen_rx[0] = r->rx_mem;
            r->listen_tx[0] = r->tx_mem;
            r->eng_id = -1;
            r->rx_mem = r->tx_mem = NULL;
            r->backlog = 1;
            for (int i = 1; i < n && rc == 0; i++) {
                int id = open_engine_tcp(r->rx_len, r->tx_len, &r->listen_rx[i], &r->listen_tx[i]);
                if (id < 0) {
                    rc = id;
                    break;
                }
                r->listen_ids[i] = id;
                r->backlog++;
            }
            for (int i = 0; i < r->backlog && rc == 0; i++) {
                int e = listen_engine(r->listen_ids[i], &r->local);
                rc = e < 0 ? sock_errno_from_glue(e) : 0;
            }
        }
        if (rc != 0) {
            ESP_LOGW(TAG, "listen on port %u failed: %d", r->local.port, rc);
        }
    }
    rt_unlock();
    return rc;
}

/* Is engine socket id a TCP connection (any state but LISTEN/CLOSED, and TIME-WAIT unless
 * with_time_wait) from local->port to remote? */
static bool engine_tcp_is(int id, const esp_smoltcp_endpoint_t *local, const esp_smoltcp_endpoint_t *remote,
                          bool with_time_wait)
{
    esg_tcp_info_t info;
    if (id < 0 || esg_tcp_get_info(rt.eng, id, &info) != ESG_OK || info.state == ESG_TCP_LISTEN ||
        info.state == ESG_TCP_CLOSED || (info.state == ESG_TCP_TIME_WAIT && !with_time_wait)) {
        return false;
    }
    size_t alen = local->family == ESP_SMOLTCP_AF_INET ? 4 : 16;
    return info.local.port == local->port && info.remote.port == remote->port &&
           info.remote.family == remote->family && memcmp(info.remote.addr, remote->addr, alen) == 0;
}

void sock_note_rst(const esp_smoltcp_endpoint_t *local, const esp_smoltcp_endpoint_t *remote)
{
    for (int h = 0; h < rt.socks_end; h++) {
        sock_rec_t *r = &rt.socks[h];
        if (r->used && r->type == ESP_SMOLTCP_SOCK_TCP && r->local.port == local->port &&
            engine_tcp_is(r->eng_id, local, remote, true)) {
            r->rst_seen = true;
            return;
        }
    }
}

bool sock_tcp_connection_exists(const esp_smoltcp_endpoint_t *local, const esp_smoltcp_endpoint_t *remote)
{
    for (int h = 0; h < rt.socks_end; h++) {
        const sock_rec_t *r = &rt.socks[h];
        if (!r->used || r->type != ESP_SMOLTCP_SOCK_TCP) {
            continue;
        }
        if (engine_tcp_is(r->eng_id, local, remote, false)) {
            return true;
        }
        for (int i = 0; i < r->backlog; i++) { /* handshaking or waiting for accept() */
            if (engine_tcp_is(r->listen_ids[i], local, remote, false)) {
                return true;
            }
        }
    }
    return false;
}

bool sock_listener_full(const esp_smoltcp_endpoint_t *local)
{
    for (int h = 0; h < rt.socks_end; h++) {
        const sock_rec_t *r = &rt.socks[h];
        if (!r->used || r->orphan || r->backlog == 0 || r->local.port != local->port) {
            continue;
        }
        bool any = r->local.family == ESP_SMOLTCP_AF_UNSPEC;
        if (!(any ? (!r->only_family || r->only_family == local->family)
                  : (r->local.family == local->family && memcmp(r->local.addr, local->addr, 16) == 0))) {
            continue;
        }
        for (int i = 0; i < r->backlog; i++) {
            esg_tcp_info_t info;
            if (r->listen_ids[i] >= 0 && esg_tcp_get_info(rt.eng, r->listen_ids[i], &info) == ESG_OK &&
                info.state == ESG_TCP_LISTEN) {
                return false;
            }
        }
        return true;
    }
    return false;
}

/* The listener slot i holds an accepted connection: replace it with a fresh listener. */
static void refill_listener(sock_rec_t *r, int i)
{
    int id = open_engine_tcp(r->rx_len, r->tx_len, &r->listen_rx[i], &r->listen_tx[i]);
    if (id >= 0 && listen_engine(id, &r->local) < 0) {
        remove_engine(id, r->listen_rx[i], r->listen_tx[i]);
        id = -ENOMEM;
    }
    if (id < 0) {
        r->listen_rx[i] = r->listen_tx[i] = NULL;
        ESP_LOGW(TAG, "backlog of port %u shrinks: no socket for a new listener", r->local.port);
    }
    r->listen_ids[i] = id < 0 ? -1 : id;
}

int esp_smoltcp_sock_accept(int h, esp_smoltcp_endpoint_t *peer, uint32_t timeout_ms)
{
    if (!rt.attached) {
        return -ENETDOWN;
    }
    uint64_t deadline = deadline_of(timeout_ms);
    rt_lock();
    sock_rec_t *r = rec_of(h);
    int rc;
    if (!r) {
        rc = -EBADF;
        goto out;
    }
    if (r->backlog == 0) {
        rc = -EINVAL;
        goto out;
    }
    uint32_t gen = r->generation;
    for (;;) {
        int ready = -1;
        for (int i = 0; i < r->backlog && ready < 0; i++) {
            if (r->listen_ids[i] < 0) {
                refill_listener(r, i); /* memory may have come back */
                continue;
            }
            esg_tcp_info_t info;
            esg_tcp_get_info(rt.eng, r->listen_ids[i], &info);
            if (info.state == ESG_TCP_CLOSED) {
                listen_engine(r->listen_ids[i], &r->local); /* reset before accept */
            } else if (info.state != ESG_TCP_LISTEN && info.state != ESG_TCP_SYN_RECEIVED) {
                ready = i;
            }
        }
        if (ready >= 0) {
            int nh = alloc_record();
            if (nh < 0) {
                rc = -ENFILE; /* the connection stays queued, as on Linux */
                goto out;
            }
            sock_rec_t *n = &rt.socks[nh];
            n->type = ESP_SMOLTCP_SOCK_TCP;
            n->eng_id = r->listen_ids[ready];
            n->rx_mem = r->listen_rx[ready];
            n->tx_mem = r->listen_tx[ready];
            n->rx_len = r->rx_len;
            n->tx_len = r->tx_len;
            n->bound = true;
            n->last_state = ESG_TCP_SYN_RECEIVED;
            n->nodelay = r->nodelay;
            esg_tcp_set_nodelay(rt.eng, n->eng_id, n->nodelay); /* a refilled backlog slot lacks it */
            esg_tcp_info_t info;
            esg_tcp_get_info(rt.eng, n->eng_id, &info);
            memcpy(&n->local, &info.local, sizeof(n->local));
            tcp_observe(n, info.state, info.may_recv);
            if (peer) {
                memcpy(peer, &info.remote, sizeof(*peer));
            }
            refill_listener(r, ready);
            rt_kick();
            rc = nh;
            goto out;
        }
        rc = wait_on(h, gen, ESG_WAKE_RECV, deadline);
        if (rc < 0) {
            goto out;
        }
    }
out:
    rt_unlock();
    return rc;
}

static int tcp_connect_locked(int h, sock_rec_t *r, const esp_smoltcp_endpoint_t *remote, uint32_t timeout_ms)
{
    if (r->backlog > 0) {
        return -EISCONN;
    }
    if (r->connecting) {
        return -EALREADY;
    }
    if (r->established_once) {
        return -EISCONN;
    }
    if (remote->family == ESP_SMOLTCP_AF_UNSPEC || remote->port == 0) {
        return remote->family == ESP_SMOLTCP_AF_UNSPEC ? -EAFNOSUPPORT : -ECONNREFUSED;
    }
    if (!esg_iface_has_route(rt.eng, remote->family, remote->addr)) {
        return -ENETUNREACH; /* smoltcp would send SYNs nowhere until the timeout */
    }
    if (!r->bound) {
        esp_smoltcp_endpoint_t any = {0};
        int rc = bind_locked(h, r, &any, false);
        if (rc < 0) {
            return rc;
        }
    }
    int e = esg_tcp_connect(rt.eng, r->eng_id, to_esg(remote), to_esg(&r->local));
    if (e < 0) {
        return e == ESG_ERR_UNADDR ? -ENETUNREACH : sock_errno_from_glue(e);
    }
    esg_tcp_set_timeout(rt.eng, r->eng_id, connect_timeout_of(r));
    r->connecting = true;
    r->connect_started_us = os_now_us();
    r->error = 0;
    r->last_state = ESG_TCP_SYN_SENT;
    rt_kick();
    uint64_t started = os_now_us();
    uint64_t deadline = deadline_of(timeout_ms);
    uint32_t gen = r->generation;
    for (;;) {
        esg_tcp_info_t info;
        tcp_info(r, &info);
        tcp_observe(r, info.state, info.may_recv);
        if (r->established_once) {
            return 0;
        }
        if (!r->connecting) {
            return connect_failure(r, started);
        }
        if (timeout_ms == 0) {
            return -EINPROGRESS;
        }
        int rc = wait_on(h, gen, ESG_WAKE_SEND, deadline);
        if (rc == -EAGAIN) {
            return -EINPROGRESS; /* SO_SNDTIMEO ran out: Linux reports EINPROGRESS too */
        }
        if (rc < 0) {
            return rc;
        }
    }
}

int esp_smoltcp_sock_connect(int h, const esp_smoltcp_endpoint_t *remote, uint32_t timeout_ms)
{
    if (!remote) {
        return -EINVAL;
    }
    if (!rt.attached) {
        return -ENETDOWN;
    }
    rt_lock();
    sock_rec_t *r = rec_of(h);
    int rc;
    if (!r) {
        rc = -EBADF;
    } else if (r->type == ESP_SMOLTCP_SOCK_TCP) {
        rc = tcp_connect_locked(h, r, remote, timeout_ms);
    } else {
        r->default_remote = *remote;
        r->has_default_remote = remote->family != ESP_SMOLTCP_AF_UNSPEC;
        rc = 0;
    }
    rt_unlock();
    return rc;
}

/* ---- TCP data ------------------------------------------------------------------ */

ssize_t esp_smoltcp_sock_send(int h, const void *buf, size_t len, int flags, uint32_t timeout_ms)
{
    (void)flags;
    if (!buf && len) {
        return -EFAULT;
    }
    if (!rt.attached) {
        return -ENETDOWN;
    }
    uint64_t deadline = deadline_of(timeout_ms);
    size_t done = 0;
    ssize_t rc = 0;
    rt_lock();
    sock_rec_t *r = rec_of(h);
    if (!r) {
        rc = -EBADF;
        goto out;
    }
    if (r->type != ESP_SMOLTCP_SOCK_TCP) {
        rt_unlock();
        return esp_smoltcp_sock_sendto(h, buf, len, flags, NULL, timeout_ms);
    }
    uint32_t gen = r->generation;
    /* TCP_NODELAY and nothing unacknowledged (a request/response turn): this thread polls the
     * engine so the segment leaves now, not after the poll task is scheduled. Not for Nagle
     * sockets: a head sent alone would hold the body back until the peer's delayed ACK. */
    bool send_inline = false;
    esg_tcp_info_t info;
    if (r->nodelay && rt.cfg.send_poll_inline) {
        send_inline = esg_tcp_get_info(rt.eng, r->eng_id, &info) == ESG_OK && info.send_queue == 0;
    } else if (!r->nodelay && esg_tcp_get_info(rt.eng, r->eng_id, &info) == ESG_OK) {
        nagle_follow(h, r, &info);
    }
    for (;;) {
        if (r->shut_wr) {
            rc = -EPIPE;
            break;
        }
        /* No arithmetic on a NULL buffer: send(fd, NULL, 0) is legal (found by fuzz_bsd). */
        int n = esg_tcp_send(rt.eng, r->eng_id, buf ? (const uint8_t *)buf + done : NULL, len - done);
        if (n > 0) {
            done += (size_t)n;
            if (send_inline) {
                rt_poll_inline();
                rt.c.inline_polls++;
                send_inline = false;
            } else {
                rt_kick();
            }
            if (done == len) {
                break;
            }
            continue;
        }
        if (n == 0 && len == 0) {
            break;
        }
        esg_tcp_info_t info;
        tcp_info(r, &info);
        tcp_observe(r, info.state, info.may_recv);
        if (n < 0 && !r->connecting) {
            if (r->error) {
                rc = -r->error;
                r->error = 0;
            } else {
                rc = r->established_once ? -EPIPE : -ENOTCONN;
            }
            break;
        }
        rc = wait_on(h, gen, ESG_WAKE_SEND, deadline);
        if (rc < 0) {
            break;
        }
    }
out:
    rt_unlock();
    /* Partial progress wins over a later timeout or error, as on Linux. */
    return done > 0 ? (ssize_t)done : rc;
}

ssize_t esp_smoltcp_sock_recv(int h, void *buf, size_t len, int flags, uint32_t timeout_ms)
{
    if (!buf && len) {
        return -EFAULT;
    }
    if (!rt.attached) {
        return -ENETDOWN;
    }
    uint64_t deadline = deadline_of(timeout_ms);
    bool peek = flags & ESP_SMOLTCP_MSG_PEEK;
    bool waitall = (flags & ESP_SMOLTCP_MSG_WAITALL) && !peek;
    size_t done = 0;
    ssize_t rc = 0;
    rt_lock();
    sock_rec_t *r = rec_of(h);
    if (!r) {
        rc = -EBADF;
        goto out;
    }
    if (r->type != ESP_SMOLTCP_SOCK_TCP) {
        rt_unlock();
        return esp_smoltcp_sock_recvfrom(h, buf, len, flags, NULL, NULL, timeout_ms);
    }
    if (r->backlog > 0) {
        rc = -ENOTCONN;
        goto out;
    }
    uint32_t gen = r->generation;
    while (len > 0) {
        if (r->shut_rd) {
            break; /* EOF */
        }
        int n = esg_tcp_recv(rt.eng, r->eng_id, buf ? (uint8_t *)buf + done : NULL, len - done, peek);
        if (n > 0) {
            done += (size_t)n;
            if (!peek) {
                read_done_kick(r);
            }
            if (!waitall || done == len) {
                break;
            }
            continue;
        }
        if (n == ESG_ERR_FINISHED) {
            break;
        }
        esg_tcp_info_t info;
        tcp_info(r, &info);
        tcp_observe(r, info.state, info.may_recv);
        if (n < 0 && !r->connecting) {
            if (r->error) {
                rc = -r->error;
                r->error = 0;
            } else if (!r->established_once) {
                rc = -ENOTCONN;
            }
            break; /* closed after a clean exchange: EOF */
        }
        if (done > 0 && !waitall) {
            break;
        }
        rc = wait_on(h, gen, ESG_WAKE_RECV, deadline);
        if (rc < 0) {
            break;
        }
    }
out:
    rt_unlock();
    return done > 0 ? (ssize_t)done : rc;
}

/* ---- datagrams ------------------------------------------------------------------ */

static int ensure_bound(int h, sock_rec_t *r)
{
    if (r->bound) {
        return 0;
    }
    esp_smoltcp_endpoint_t any = {0};
    return bind_locked(h, r, &any, false);
}

/* The engine calls of the three datagram types. */
static int dgram_send(const sock_rec_t *r, const void *buf, size_t len, const esp_smoltcp_endpoint_t *to)
{
    switch (r->type) {
    case ESP_SMOLTCP_SOCK_UDP:
        return esg_udp_send(rt.eng, r->eng_id, buf, len, to_esg(to), NULL);
    case ESP_SMOLTCP_SOCK_RAW:
        return esg_raw_send(rt.eng, r->eng_id, buf, len, to->family, to->addr, r->hop_limit);
    default:
        return esg_icmp_send(rt.eng, r->eng_id, buf, len, to->family, to->addr);
    }
}

static int dgram_recv(const sock_rec_t *r, void *buf, size_t len, bool peek, size_t *full, esp_smoltcp_endpoint_t *from)
{
    switch (r->type) {
    case ESP_SMOLTCP_SOCK_UDP:
        return esg_udp_recv(rt.eng, r->eng_id, buf, len, peek, full, (esg_endpoint_t *)from, NULL);
    case ESP_SMOLTCP_SOCK_RAW:
        return esg_raw_recv(rt.eng, r->eng_id, buf, len, peek, full, (esg_endpoint_t *)from);
    default:
        return esg_icmp_recv(rt.eng, r->eng_id, buf, len, full, (esg_endpoint_t *)from);
    }
}

static int dgram_info(const sock_rec_t *r, esg_dgram_info_t *d)
{
    switch (r->type) {
    case ESP_SMOLTCP_SOCK_UDP:
        return esg_udp_get_info(rt.eng, r->eng_id, d);
    case ESP_SMOLTCP_SOCK_RAW:
        return esg_raw_get_info(rt.eng, r->eng_id, d);
    default:
        return esg_icmp_get_info(rt.eng, r->eng_id, d);
    }
}

ssize_t esp_smoltcp_sock_sendto(int h, const void *buf, size_t len, int flags, const esp_smoltcp_endpoint_t *to,
                                uint32_t timeout_ms)
{
    (void)flags;
    if (!buf && len) {
        return -EFAULT;
    }
    if (!rt.attached) {
        return -ENETDOWN;
    }
    uint64_t deadline = deadline_of(timeout_ms);
    rt_lock();
    sock_rec_t *r = rec_of(h);
    ssize_t rc;
    if (!r) {
        rc = -EBADF;
        goto out;
    }
    if (r->type == ESP_SMOLTCP_SOCK_TCP) {
        rt_unlock();
        return esp_smoltcp_sock_send(h, buf, len, flags, timeout_ms);
    }
    if (!to) {
        if (!r->has_default_remote) {
            rc = -EDESTADDRREQ;
            goto out;
        }
        to = &r->default_remote;
    }
    if (r->type == ESP_SMOLTCP_SOCK_ICMP && !r->bound && len >= 8) {
        /* Echo replies come back to the identifier of the request (RFC 792). */
        const uint8_t *m = buf;
        esg_icmp_bind_ident(rt.eng, r->eng_id, (uint16_t)(m[4] << 8 | m[5]));
        r->bound = true;
    }
    if (to->family != ESP_SMOLTCP_AF_UNSPEC && !esg_iface_has_route(rt.eng, to->family, to->addr)) {
        rc = -ENETUNREACH; /* smoltcp would drop it silently */
        goto out;
    }
    rc = r->type == ESP_SMOLTCP_SOCK_UDP ? ensure_bound(h, r) : 0;
    uint32_t gen = r->generation;
    while (rc == 0) {
        int n = dgram_send(r, buf, len, to);
        if (n >= 0) {
            rc = n;
            rt_kick();
            break;
        }
        if (n != ESG_ERR_AGAIN || timeout_ms == 0) {
            rc = n == ESG_ERR_UNADDR ? -ENETUNREACH : sock_errno_from_glue(n);
            break;
        }
        rc = wait_on(h, gen, ESG_WAKE_SEND, deadline);
    }
out:
    rt_unlock();
    return rc;
}

ssize_t esp_smoltcp_sock_recvfrom(int h, void *buf, size_t len, int flags, size_t *full_len,
                                  esp_smoltcp_endpoint_t *from, uint32_t timeout_ms)
{
    if (!buf && len) {
        return -EFAULT;
    }
    if (!rt.attached) {
        return -ENETDOWN;
    }
    uint64_t deadline = deadline_of(timeout_ms);
    bool peek = flags & ESP_SMOLTCP_MSG_PEEK;
    rt_lock();
    sock_rec_t *r = rec_of(h);
    ssize_t rc;
    if (!r) {
        rc = -EBADF;
        goto out;
    }
    if (r->type == ESP_SMOLTCP_SOCK_TCP) {
        rt_unlock();
        rc = esp_smoltcp_sock_recv(h, buf, len, flags, timeout_ms);
        if (rc >= 0 && full_len) {
            *full_len = (size_t)rc;
        }
        if (rc >= 0 && from) {
            esp_smoltcp_sock_getpeername(h, from);
        }
        return rc;
    }
    rc = r->type == ESP_SMOLTCP_SOCK_UDP ? ensure_bound(h, r) : 0;
    uint32_t gen = r->generation;
    while (rc == 0) {
        size_t full = 0;
        int n = dgram_recv(r, buf, len, peek, &full, from);
        if (n >= 0) {
            if (full_len) {
                *full_len = full;
            }
            rc = n;
            break;
        }
        if (n != ESG_ERR_AGAIN || timeout_ms == 0) {
            rc = sock_errno_from_glue(n);
            break;
        }
        if (r->shut_rd) {
            rc = 0; /* a blocking reader of a shut down socket: end of data (Linux) */
            break;
        }
        rc = wait_on(h, gen, ESG_WAKE_RECV, deadline);
    }
out:
    rt_unlock();
    return rc;
}

/* ---- shutdown / close ------------------------------------------------------------ */

/* Never connected, or the connection is over (Linux: TCP_CLOSE, which TIME_WAIT also leaves behind). */
static bool tcp_gone(const sock_rec_t *r)
{
    esg_tcp_info_t info;
    return !r->established_once ||
           (tcp_info(r, &info) && (info.state == ESG_TCP_CLOSED || info.state == ESG_TCP_TIME_WAIT));
}

int esp_smoltcp_sock_shutdown(int h, int how)
{
    if (how < ESP_SMOLTCP_SHUT_RD || how > ESP_SMOLTCP_SHUT_RDWR) {
        return -EINVAL;
    }
    if (!rt.attached) {
        return -ENETDOWN;
    }
    rt_lock();
    sock_rec_t *r = rec_of(h);
    int rc = 0;
    if (!r) {
        rc = -EBADF;
    } else if (r->type == ESP_SMOLTCP_SOCK_TCP && !r->connecting && r->backlog == 0 && tcp_gone(r)) {
        rc = -ENOTCONN;
    } else {
        if (how != ESP_SMOLTCP_SHUT_WR) {
            r->shut_rd = true;
        }
        if (how != ESP_SMOLTCP_SHUT_RD && r->type == ESP_SMOLTCP_SOCK_TCP && r->eng_id >= 0 && !r->shut_wr) {
            r->shut_wr = true;
            esg_tcp_close(rt.eng, r->eng_id); /* FIN after queued data */
            rt_kick();
        }
        waitq_wake_all(&r->waiters); /* a blocked recv on another thread returns now */
    }
    rt_unlock();
    return rc;
}

static int close_locked(int h, bool abort_now)
{
    sock_rec_t *r = rec_of(h);
    if (!r) {
        return -EBADF;
    }
    esg_tcp_info_t info;
    if (r->type != ESP_SMOLTCP_SOCK_TCP || r->backlog > 0 || !tcp_info(r, &info) ||
        info.state == ESG_TCP_CLOSED || info.state == ESG_TCP_LISTEN || info.state == ESG_TCP_TIME_WAIT) {
        release_record(h);
        return 0;
    }
    /* Unread data at close means the peer's data is lost: RST, as Linux does (RFC 2525 §2.17). */
    if (abort_now || info.recv_queue > 0 || info.state == ESG_TCP_SYN_SENT) {
        esg_tcp_abort(rt.eng, r->eng_id);
    } else {
        esg_tcp_close(rt.eng, r->eng_id);
        esg_tcp_set_timeout(rt.eng, r->eng_id, rt.cfg.linger_timeout_ms);
    }
    /* The handle is gone for the application; the engine socket finishes in the background. */
    r->orphan = true;
    r->generation++;
    r->linger_deadline_us = os_now_us() + (uint64_t)rt.cfg.linger_timeout_ms * 1000;
    waitq_wake_all(&r->waiters);
    rt_kick();
    return 0;
}

static bool dgram_send_pending(const sock_rec_t *r)
{
    esg_dgram_info_t d;
    return dgram_info(r, &d) == ESG_OK && d.send_queue != 0;
}

/*
 * A datagram socket's queued datagrams still go out when it is closed (Linux
 * hands them to the device at sendto()): wait, bounded, until the engine has
 * sent them (a neighbour may still be resolving). Under the lock.
 */
static void dgram_drain_locked(int h)
{
    sock_rec_t *r = rec_of(h);
    if (!r || r->type == ESP_SMOLTCP_SOCK_TCP || !dgram_send_pending(r)) {
        return;
    }
    rt_kick();
    /* Sends wake senders; the 10 ms step covers the last one. -EBADF: closed by another thread meanwhile. */
    if (wait_send_in_steps(h, deadline_of(DGRAM_CLOSE_DRAIN_MS), 10000, dgram_send_pending) == -EAGAIN) {
        rt.c.dgram_close_drops++;
    }
}

int esp_smoltcp_sock_close(int h)
{
    if (!rt.attached) {
        return -ENETDOWN;
    }
    rt_lock();
    dgram_drain_locked(h);
    int rc = close_locked(h, false);
    rt_unlock();
    return rc;
}

/* Still sending: data unacknowledged, or our FIN not yet acknowledged. */
static bool linger_pending(const esg_tcp_info_t *info)
{
    return info->send_queue > 0 || info->state == ESG_TCP_ESTABLISHED || info->state == ESG_TCP_CLOSE_WAIT ||
           info->state == ESG_TCP_FIN_WAIT_1 || info->state == ESG_TCP_CLOSING || info->state == ESG_TCP_LAST_ACK;
}

static bool linger_sending(const sock_rec_t *r)
{
    esg_tcp_info_t info;
    return tcp_info(r, &info) && linger_pending(&info);
}

int esp_smoltcp_sock_close_linger(int h, uint32_t timeout_ms)
{
    if (!rt.attached) {
        return -ENETDOWN;
    }
    rt_lock();
    sock_rec_t *r = rec_of(h);
    esg_tcp_info_t info;
    if (r && r->type == ESP_SMOLTCP_SOCK_TCP && r->backlog == 0 && r->established_once && tcp_info(r, &info) &&
        info.recv_queue == 0 && linger_pending(&info)) {
        if (!r->shut_wr) {
            r->shut_wr = true;
            esg_tcp_close(rt.eng, r->eng_id); /* FIN after the queued data */
            rt_kick();
        }
        /* ACKs wake senders; the 20 ms step covers an ACK of the FIN alone */
        if (wait_send_in_steps(h, deadline_of(timeout_ms), 20000, linger_sending) == -EBADF) {
            rt_unlock();
            return -EBADF; /* closed by another thread meanwhile */
        }
    }
    int rc = close_locked(h, false);
    rt_unlock();
    return rc;
}

int esp_smoltcp_sock_abort(int h)
{
    if (!rt.attached) {
        return -ENETDOWN;
    }
    rt_lock();
    int rc = close_locked(h, true);
    rt_unlock();
    return rc;
}

/* Poll task, after each engine poll: counters, lingering sockets. Returns the next deadline delay. */
uint64_t sock_after_poll(uint64_t now_us)
{
    uint64_t delay = UINT64_MAX;
    /* A small segment went out (Nagle back on) or was acknowledged (a held partial segment may
     * go: poll again now). */
    for (int h; (h = tcp_recovery_nagle_changed()) >= 0;) {
        sock_rec_t *r = rec_of(h);
        esg_tcp_info_t info;
        if (r && r->type == ESP_SMOLTCP_SOCK_TCP && r->eng_id >= 0 &&
            esg_tcp_get_info(rt.eng, r->eng_id, &info) == ESG_OK && nagle_follow(h, r, &info) &&
            info.send_queue > 0) {
            delay = 0;
        }
    }
    for (int h = 0; h < rt.socks_end; h++) {
        sock_rec_t *r = &rt.socks[h];
        for (int i = 0; r->used && !r->orphan && i < r->backlog; i++) {
            int st = r->listen_ids[i] < 0 ? ESG_ERR_BADID : esg_tcp_get_state(rt.eng, r->listen_ids[i], NULL);
            if (st == ESG_TCP_CLOSED) {
                listen_engine(r->listen_ids[i], &r->local); /* a handshake timed out or was reset */
            } else if (st >= ESG_TCP_ESTABLISHED) {
                esg_tcp_set_timeout(rt.eng, r->listen_ids[i], 0); /* waits for accept(): no timeout */
            }
        }
        if (!r->used || r->type != ESP_SMOLTCP_SOCK_TCP || r->eng_id < 0) {
            continue;
        }
        /* the state alone, not esg_tcp_get_info(): this runs for every socket after every poll */
        bool may_recv = false;
        int st = esg_tcp_get_state(rt.eng, r->eng_id, &may_recv);
        if (st < 0) {
            continue;
        }
        tcp_observe(r, (uint8_t)st, may_recv);
        if (!r->orphan) {
            continue;
        }
        if (st == ESG_TCP_CLOSED || st == ESG_TCP_TIME_WAIT) {
            release_record(h);
        } else if (now_us >= r->linger_deadline_us) {
            esg_tcp_abort(rt.eng, r->eng_id);
            rt.c.tcp_linger_aborts++;
            delay = 0; /* send the RST, reap on the next pass */
        } else if (r->linger_deadline_us - now_us < delay) {
            delay = r->linger_deadline_us - now_us;
        }
    }
    return delay;
}

void sock_release_all(void)
{
    for (int h = 0; h < rt.cfg.max_sockets; h++) {
        if (rt.socks[h].used) {
            release_record(h);
        }
    }
}

/* ---- readiness --------------------------------------------------------------------- */

static uint16_t readiness(int h)
{
    sock_rec_t *r = rec_of(h);
    if (!r) {
        return ESP_SMOLTCP_POLLNVAL;
    }
    uint16_t ev = 0;
    if (r->type != ESP_SMOLTCP_SOCK_TCP) {
        esg_dgram_info_t d;
        int rc = dgram_info(r, &d);
        if (rc == ESG_OK) {
            ev |= d.can_recv ? ESP_SMOLTCP_POLLIN : 0;
            ev |= (d.can_send || !d.is_open) ? ESP_SMOLTCP_POLLOUT : 0;
        }
        return ev;
    }
    if (r->backlog > 0) {
        for (int i = 0; i < r->backlog; i++) {
            esg_tcp_info_t info;
            if (r->listen_ids[i] >= 0 && esg_tcp_get_info(rt.eng, r->listen_ids[i], &info) == ESG_OK &&
                info.state != ESG_TCP_LISTEN && info.state != ESG_TCP_SYN_RECEIVED && info.state != ESG_TCP_CLOSED) {
                return ESP_SMOLTCP_POLLIN;
            }
        }
        return 0;
    }
    esg_tcp_info_t info;
    if (!tcp_info(r, &info)) {
        return ESP_SMOLTCP_POLLERR;
    }
    tcp_observe(r, info.state, info.may_recv);
    if (r->error) {
        ev |= ESP_SMOLTCP_POLLERR | ESP_SMOLTCP_POLLIN | ESP_SMOLTCP_POLLOUT;
    }
    if (r->connecting) {
        return ev;
    }
    if (info.can_recv || r->shut_rd || (r->established_once && !info.may_recv)) {
        ev |= ESP_SMOLTCP_POLLIN;
    }
    if (info.can_send || (r->established_once && !info.may_send)) {
        ev |= ESP_SMOLTCP_POLLOUT; /* writable, or a write would fail at once (EPIPE) */
    }
    if ((r->established_once && !info.may_recv && !info.may_send) || (r->shut_rd && r->shut_wr)) {
        ev |= ESP_SMOLTCP_POLLHUP; /* Linux: both directions shut down (SHUTDOWN_MASK) is a hang-up too */
    }
    if ((r->established_once && !info.may_recv) || r->shut_rd || r->error) {
        ev |= ESP_SMOLTCP_POLLRDHUP; /* no more data will come (Linux: RCV_SHUTDOWN) */
    }
    if (!r->established_once) {
        ev |= ESP_SMOLTCP_POLLOUT | ESP_SMOLTCP_POLLHUP; /* never connected: Linux reports OUT|HUP */
    }
    return ev;
}

int esp_smoltcp_sock_poll(esp_smoltcp_pollfd_t *fds, size_t n, uint32_t timeout_ms)
{
    if (!fds && n) {
        return -EFAULT;
    }
    if (!rt.attached) {
        return -ENETDOWN;
    }
    uint64_t deadline = deadline_of(timeout_ms);
    waiter_t *ws = n ? calloc(n, sizeof(*ws)) : NULL;
    if (n && !ws) {
        return -ENOMEM;
    }
    os_event_t *ev = os_thread_event();
    if (!ev) {
        free(ws);
        return -ENOMEM;
    }
    int ready = 0;
    bool interrupted = false;
    rt_lock();
    for (;;) {
        ready = 0;
        for (size_t i = 0; i < n; i++) {
            uint16_t mask = fds[i].events | ESP_SMOLTCP_POLLERR | ESP_SMOLTCP_POLLHUP | ESP_SMOLTCP_POLLNVAL;
            fds[i].revents = readiness(fds[i].handle) & mask;
            ready += fds[i].revents != 0;
        }
        uint64_t now = os_now_us();
        if (ready || interrupted || timeout_ms == 0 || now >= deadline) {
            break;
        }
        for (size_t i = 0; i < n; i++) {
            int h = fds[i].handle;
            ws[i].event = ev;
            if (rec_of(h)) {
                if (fds[i].events & ESP_SMOLTCP_POLLIN) {
                    arm(h, ESG_WAKE_RECV);
                }
                if (fds[i].events & ESP_SMOLTCP_POLLOUT) {
                    arm(h, ESG_WAKE_SEND);
                }
                /* errors and hang-ups arrive through the receive side */
                arm(h, ESG_WAKE_RECV);
                waitq_add(&rt.socks[h].waiters, &ws[i]);
            }
        }
        rt_unlock();
        os_event_wait(ev, deadline == UINT64_MAX ? OS_WAIT_FOREVER : deadline - now);
        rt_lock();
        for (size_t i = 0; i < n; i++) {
            int h = fds[i].handle;
            if (h >= 0 && h < rt.cfg.max_sockets) {
                waitq_remove(&rt.socks[h].waiters, &ws[i]);
            }
        }
        if (wake_take_mark(ev)) {
            interrupted = true; /* another driver's fd is ready (VFS select): report what we have */
        }
    }
    rt_unlock();
    free(ws);
    return ready;
}

/* ---- names, options ------------------------------------------------------------------ */

int esp_smoltcp_sock_getsockname(int h, esp_smoltcp_endpoint_t *out)
{
    if (!out) {
        return -EFAULT;
    }
    rt_lock();
    sock_rec_t *r = rec_of(h);
    int rc = r ? 0 : -EBADF;
    if (r) {
        *out = r->local;
        esg_tcp_info_t info;
        if (r->type == ESP_SMOLTCP_SOCK_TCP && tcp_info(r, &info) && info.local.family != ESG_AF_UNSPEC) {
            memcpy(out, &info.local, sizeof(*out));
        }
        /* A connected datagram socket names the source address its packets get (BSD). */
        if (r->type != ESP_SMOLTCP_SOCK_TCP && r->has_default_remote && out->family == ESP_SMOLTCP_AF_UNSPEC &&
            esg_iface_source_addr(rt.eng, r->default_remote.family, r->default_remote.addr, out->addr) == ESG_OK) {
            out->family = r->default_remote.family;
        }
    }
    rt_unlock();
    return rc;
}

int esp_smoltcp_sock_getpeername(int h, esp_smoltcp_endpoint_t *out)
{
    if (!out) {
        return -EFAULT;
    }
    rt_lock();
    sock_rec_t *r = rec_of(h);
    int rc = r ? -ENOTCONN : -EBADF;
    esg_tcp_info_t info;
    if (r && r->type == ESP_SMOLTCP_SOCK_TCP && tcp_info(r, &info) && info.remote.family != ESG_AF_UNSPEC &&
        info.state != ESG_TCP_SYN_SENT) {
        memcpy(out, &info.remote, sizeof(*out));
        rc = 0;
    } else if (r && r->type != ESP_SMOLTCP_SOCK_TCP && r->has_default_remote) {
        *out = r->default_remote;
        rc = 0;
    }
    rt_unlock();
    return rc;
}

int esp_smoltcp_sock_take_error(int h)
{
    rt_lock();
    sock_rec_t *r = rec_of(h);
    int rc = -EBADF;
    if (r) {
        esg_tcp_info_t info;
        if (r->type == ESP_SMOLTCP_SOCK_TCP && tcp_info(r, &info)) {
            tcp_observe(r, info.state, info.may_recv);
        }
        rc = r->error;
        r->error = 0;
    }
    rt_unlock();
    return rc;
}

int esp_smoltcp_sock_pending(int h)
{
    rt_lock();
    sock_rec_t *r = rec_of(h);
    int rc = -EBADF;
    if (r && r->type == ESP_SMOLTCP_SOCK_TCP) {
        esg_tcp_info_t info;
        rc = tcp_info(r, &info) ? (int)info.recv_queue : 0;
    } else if (r) {
        esg_dgram_info_t d;
        rc = 0;
        if (r->type != ESP_SMOLTCP_SOCK_ICMP && dgram_info(r, &d) == ESG_OK) {
            rc = (int)d.next_len;
        }
    }
    rt_unlock();
    return rc;
}

/* Applies a TCP option to the socket and, for a listener, to every backlog slot (core lock held). */
static void tcp_option_locked(const sock_rec_t *r, int (*set)(esg_engine_t *, int, uint32_t), uint32_t value)
{
    if (r->eng_id >= 0) {
        set(rt.eng, r->eng_id, value);
    }
    for (int i = 0; i < r->backlog; i++) {
        if (r->listen_ids[i] >= 0) {
            set(rt.eng, r->listen_ids[i], value);
        }
    }
}

static int tcp_option(int h, int (*set)(esg_engine_t *, int, uint32_t), uint32_t value)
{
    int rc;
    rt_lock();
    sock_rec_t *r = rec_for_option(h, ESP_SMOLTCP_SOCK_TCP, &rc);
    if (r) {
        tcp_option_locked(r, set, value);
    }
    rt_unlock();
    return rc;
}

static int set_nodelay(esg_engine_t *e, int id, uint32_t v)
{
    return esg_tcp_set_nodelay(e, id, v != 0);
}

static int set_hop(esg_engine_t *e, int id, uint32_t v)
{
    return esg_tcp_set_hop_limit(e, id, (uint8_t)v);
}

int esp_smoltcp_sock_set_nodelay(int h, bool nodelay)
{
    /* One lock for engine and record: concurrent setters cannot leave them disagreeing. */
    int rc;
    rt_lock();
    sock_rec_t *r = rec_for_option(h, ESP_SMOLTCP_SOCK_TCP, &rc);
    if (r) {
        tcp_option_locked(r, set_nodelay, nodelay);
        r->nodelay = nodelay;
        r->nagle_lifted = false; /* the engine's Nagle is now what the application asked */
    }
    rt_unlock();
    return rc;
}

int esp_smoltcp_sock_set_keepalive(int h, uint32_t interval_ms)
{
    return tcp_option(h, esg_tcp_set_keepalive, interval_ms);
}

int esp_smoltcp_sock_set_hop_limit(int h, uint8_t ttl)
{
    rt_lock();
    sock_rec_t *r = rec_of(h);
    if (r && r->type == ESP_SMOLTCP_SOCK_RAW) {
        r->hop_limit = ttl; /* the glue builds raw headers with it */
        rt_unlock();
        return 0;
    }
    int is_udp = r && r->type == ESP_SMOLTCP_SOCK_UDP;
    int id = r ? r->eng_id : -1;
    rt_unlock();
    if (is_udp) {
        rt_lock();
        int rc = sock_errno_from_glue(esg_udp_set_hop_limit(rt.eng, id, ttl));
        rt_unlock();
        return rc;
    }
    return tcp_option(h, set_hop, ttl);
}

int esp_smoltcp_sock_set_multicast(int h, uint8_t family, uint8_t hops, bool loop)
{
    if (family != ESP_SMOLTCP_AF_INET && family != ESP_SMOLTCP_AF_INET6) {
        return -EINVAL;
    }
    int rc;
    rt_lock();
    sock_rec_t *r = rec_for_option(h, ESP_SMOLTCP_SOCK_UDP, &rc);
    if (r) {
        int k = family == ESP_SMOLTCP_AF_INET6;
        r->mcast_hops[k] = hops;
        r->mcast_no_loop[k] = !loop;
    }
    rt_unlock();
    return rc;
}

void sock_mcast_options(uint8_t family, uint16_t local_port, uint8_t *hops, bool *loop)
{
    int k = family == ESP_SMOLTCP_AF_INET6;
    *hops = 1;
    *loop = true;
    for (int h = 0; h < rt.socks_end; h++) {
        const sock_rec_t *r = &rt.socks[h];
        if (r->used && r->type == ESP_SMOLTCP_SOCK_UDP && r->bound && r->local.port == local_port) {
            *hops = r->mcast_hops[k];
            *loop = !r->mcast_no_loop[k];
            return;
        }
    }
}

/* ---- raw sockets, buffer sizes, user timeout ---------------------------------------- */

int esp_smoltcp_sock_open_raw(uint8_t family, uint8_t protocol, const esp_smoltcp_sock_buffers_t *bufs)
{
    if (family != ESP_SMOLTCP_AF_INET && family != ESP_SMOLTCP_AF_INET6) {
        return -EINVAL;
    }
    if (!rt.attached) {
        return -ENETDOWN;
    }
    rt_lock();
    int h = alloc_record();
    if (h < 0) {
        rt_unlock();
        return h;
    }
    sock_rec_t *r = &rt.socks[h];
    r->type = ESP_SMOLTCP_SOCK_RAW;
    r->bound = true; /* no ports: nothing to bind */
    int id = -ENOMEM;
    if (alloc_dgram_rings(r, bufs)) {
        id = esg_raw_open(rt.eng, family, protocol, r->rx_mem, r->rx_len, rt.cfg.udp_rx_packets, r->tx_mem, r->tx_len,
                          rt.cfg.udp_tx_packets);
        id = id >= 0 ? id : sock_errno_from_glue(id);
    }
    if (id < 0) {
        rt.c.socket_alloc_failures++;
        release_record(h); /* frees the buffers */
        rt_unlock();
        return id;
    }
    rt_count_socket(+1);
    r->eng_id = id;
    rt_unlock();
    return h;
}

int esp_smoltcp_sock_set_buffers(int h, const esp_smoltcp_sock_buffers_t *bufs)
{
    if (!bufs) {
        return -EINVAL;
    }
    rt_lock();
    sock_rec_t *r = rec_of(h);
    int rc = r ? 0 : -EBADF;
    if (r && r->type == ESP_SMOLTCP_SOCK_TCP) {
        uint32_t rx = bufs->rx_bytes ? bufs->rx_bytes : r->rx_len;
        uint32_t tx = bufs->tx_bytes ? bufs->tx_bytes : r->tx_len;
        bool fresh = r->backlog == 0 && !r->connecting && !r->established_once && r->eng_id >= 0;
        if (fresh && (rx != r->rx_len || tx != r->tx_len)) {
            /* smoltcp cannot resize a socket's rings: a fresh socket gets a new engine socket. */
            void *nrx, *ntx;
            int id = open_engine_tcp(rx, tx, &nrx, &ntx);
            if (id < 0) {
                rc = id;
            } else {
                remove_engine(r->eng_id, r->rx_mem, r->tx_mem);
                r->eng_id = id;
                r->rx_mem = nrx;
                r->tx_mem = ntx;
            }
        }
        if (rc == 0 && (fresh || r->backlog > 0)) {
            r->rx_len = rx; /* a listener's next backlog sockets take these sizes */
            r->tx_len = tx;
        }
    }
    rt_unlock();
    return rc;
}

int esp_smoltcp_sock_get_buffers(int h, esp_smoltcp_sock_buffers_t *out)
{
    if (!out) {
        return -EINVAL;
    }
    rt_lock();
    sock_rec_t *r = rec_of(h);
    if (r) {
        out->rx_bytes = r->rx_len;
        out->tx_bytes = r->tx_len;
    }
    rt_unlock();
    return r ? 0 : -EBADF;
}

int esp_smoltcp_sock_set_user_timeout(int h, uint32_t timeout_ms)
{
    int rc;
    rt_lock();
    sock_rec_t *r = rec_for_option(h, ESP_SMOLTCP_SOCK_TCP, &rc);
    if (r) {
        r->user_timeout_ms = timeout_ms;
        if (r->eng_id >= 0 && (r->connecting || r->established_once)) {
            esg_tcp_set_timeout(rt.eng, r->eng_id, r->established_once ? established_timeout_of(r) : connect_timeout_of(r));
        }
    }
    rt_unlock();
    return rc;
}

int esp_smoltcp_sock_set_keepalive_abort(int h, uint32_t silence_ms)
{
    int rc;
    rt_lock();
    sock_rec_t *r = rec_for_option(h, ESP_SMOLTCP_SOCK_TCP, &rc);
    if (r) {
        r->keepalive_abort_ms = silence_ms;
        if (r->eng_id >= 0 && r->established_once) {
            esg_tcp_set_timeout(rt.eng, r->eng_id, established_timeout_of(r));
        }
    }
    rt_unlock();
    return rc;
}

int esp_smoltcp_sock_set_family(int h, uint8_t family)
{
    if (family != ESP_SMOLTCP_AF_UNSPEC && family != ESP_SMOLTCP_AF_INET && family != ESP_SMOLTCP_AF_INET6) {
        return -EINVAL;
    }
    rt_lock();
    sock_rec_t *r = rec_of(h);
    if (r) {
        r->only_family = family;
    }
    rt_unlock();
    return r ? 0 : -EBADF;
}
