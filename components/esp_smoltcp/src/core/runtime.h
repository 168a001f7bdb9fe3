/*
 * Internal state of the runtime shared by runtime.c (engine owner, poll task,
 * netdev input, DHCP, stats) and sock.c (socket API). Everything below is
 * guarded by rt.core_lock unless marked otherwise.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "esp_smoltcp.h"
#include "esp_smoltcp_glue.h"
#include "esp_smoltcp_mcast.h"
#include "esp_smoltcp_sock.h"
#include "frame_check.h"
#include "frame_queue.h"
#include "os.h"
#include "waitq.h"

typedef struct {
    bool used;
    bool orphan;           /* closed by the application, engine socket lingering */
    esp_smoltcp_sock_type_t type;
    uint32_t generation;   /* bumped on close: blocked callers notice */
    int eng_id;            /* engine socket, -1 when none (listener, unbound UDP) */
    void *rx_mem, *tx_mem; /* buffers of eng_id, owned here */
    uint32_t rx_len, tx_len;
    waitq_t waiters;       /* threads blocked on this handle */

    bool bound;
    bool reuse_addr;
    esp_smoltcp_endpoint_t local;
    bool has_default_remote;  /* UDP connect() */
    esp_smoltcp_endpoint_t default_remote;

    /* TCP */
    int backlog;           /* listening: number of engine sockets in listen_ids */
    int *listen_ids;
    void **listen_rx, **listen_tx;
    bool connecting;
    bool established_once;
    bool shut_rd, shut_wr;
    bool peer_fin_seen;
    bool rst_seen;         /* a RST arrived for this connection (tcp_rx_gate.c) */
    bool nodelay;          /* TCP_NODELAY (a listener's passes to what it accepts) */
    bool nagle_lifted;     /* Nagle socket, engine's Nagle off: no small segment in flight */
    int error;             /* pending error, positive errno */
    uint8_t last_state;    /* ESG_TCP_* seen at the last scan */
    uint64_t linger_deadline_us;
    uint32_t user_timeout_ms; /* TCP_USER_TIMEOUT, 0 = default */
    uint32_t keepalive_abort_ms; /* keep-alive: abort after this much peer silence, 0 = never */
    uint8_t hop_limit;        /* raw: IP TTL / hop limit of sent packets, 0 = default */
    uint8_t mcast_hops[2];    /* UDP to multicast groups, [0] IPv4 [1] IPv6 (mcast_tx.c) */
    bool mcast_no_loop[2];    /* not delivered to our own members of the group */
    uint8_t only_family;      /* any-address binding of one family (AF_INET, v6-only), 0 = both */
    uint64_t connect_started_us;
} sock_rec_t;

typedef struct {
    atomic_uint_fast64_t rx_frames, rx_bytes, tx_frames, tx_bytes, tx_failures;
    atomic_uint_fast64_t rx_drop_reason[FRAME_CHECK_REASONS];
    atomic_uint_fast64_t rx_drop_martian;
    atomic_uint_fast64_t rx_drop_no_buffer; /* reported by drivers: no pool buffer for a frame */
    atomic_uint_fast64_t loopback_frames, loopback_drops;
    uint64_t socket_alloc_failures;
    uint64_t dgram_close_drops;        /* datagram sockets closed with datagrams still unsent after the drain wait */
    uint64_t rx_drop_backlog_full;     /* SYNs a full listen backlog could not take (tcp_rx_gate.c) */
    uint64_t rx_drop_syn_on_connection; /* SYNs for an existing connection's 4-tuple (tcp_rx_gate.c) */
    uint64_t tcp_opened, tcp_closed_by_peer, tcp_aborted, tcp_linger_aborts;
    uint64_t polls, poll_wakeups, inline_polls, rx_inline_polls;
    uint32_t sockets_open, sockets_high_water;
    atomic_uint_fast32_t link_changes; /* link up/down reports from the netdev */
} rt_counters_t;

/* One multicast group and how many users want it (mcast.c). */
typedef struct {
    uint8_t family;
    uint8_t addr[16];
    uint16_t users; /* 0: free entry */
} rt_mcast_group_t;

typedef struct {
    bool initialised;
    bool attached;
    bool stopping;
    esp_smoltcp_config_t cfg;
    os_mutex_t *core_lock;
    os_event_t *poll_event;        /* wakes the poll task; no lock needed */
    os_thread_t *poll_thread;
    uint64_t poll_task_wake_us;    /* when the waiting poll task wakes on its own (UINT64_MAX: never) */
    esp_smoltcp_netdev_t *dev;     /* not locked: set before the poll task starts */
    unsigned rx_burst_frames;      /* frames of the netdev's current RX burst (its thread's only) */
    unsigned rx_burst_data;        /* of which carry TCP payload, a UDP datagram or an echo request */
    atomic_bool rx_other_frames;   /* a frame other than TCP/UDP since the last ingress-only poll */
    atomic_bool link_down;         /* last report of the netdev (up until it says otherwise) */
    atomic_uint_fast32_t link_ups; /* up reports so far; the poll task acts on each new one */
    uint32_t link_ups_done;        /* up reports the poll task has acted on (core lock) */
    bool ip4_announce_due;         /* a new IPv4 address or the link's return: ARP announcement to send */
    uint8_t mac[6];
    frame_pool_t *rx_pool;         /* thread-safe on its own */
    frame_queue_t *rx_queue;       /* thread-safe on its own */
    frame_t rx_inflight[4];        /* frames handed to the engine, by cookie */
    uint32_t rx_inflight_next;

    void *engine_mem;
    uint8_t *dhcp_rx; /* DHCPv4 client's copy of each reply (options beyond 1/3/6), NULL when static */
    esg_engine_t *eng;

    sock_rec_t *socks;             /* cfg.max_sockets records */
    int socks_end;                 /* every used record lies below it: scans stop there */
    uint16_t next_ephemeral;

    esp_smoltcp_ip4_info_t ip4;
    waitq_t ip_waiters;
    struct {
        esp_smoltcp_ip4_cb_t cb;
        void *arg;
    } ip4_observers[1 + ESP_SMOLTCP_IP4_OBSERVERS]; /* [0]: the application's callback */

    esp_smoltcp_endpoint_t dns_servers[4]; /* ESP_SMOLTCP_DNS_MAX_SERVERS: the merged list in use */
    size_t dns_server_count;
    esp_smoltcp_endpoint_t dns_base[4];    /* static, DHCPv4 or esp_smoltcp_dns_set_servers() */
    size_t dns_base_count;
    waitq_t dns_waiters;                   /* threads in esp_smoltcp_dns_resolve */

    rt_mcast_group_t mcast[ESP_SMOLTCP_MCAST_MAX_GROUPS];

    rt_counters_t c;
} runtime_t;

extern runtime_t rt;

/** Take / release the core lock. */
void rt_lock(void);
void rt_unlock(void);
/** Ask the poll task to run now (data queued, window opened, close ...). */
void rt_kick(void);
/**
 * Ask it only when the engine now needs a poll before the poll task's own timer (core lock
 * held): a socket call that may or may not have made work (a read opens the window, but smoltcp
 * announces it only once the window has doubled) costs no wake-up when it made none.
 */
void rt_kick_if_due(void);
/**
 * Run one engine poll in the calling thread (core lock held), for a send or a burst of
 * received frames that must not wait for the poll task to be scheduled; kicks the poll
 * task only when its timer must now come earlier.
 */
void rt_poll_inline(void);
/**
 * The netdev thread's poll at the end of an RX burst (core lock held): ingress only, then kicks
 * the poll task when the sockets want to send or a frame other than TCP/UDP came in.
 */
void rt_poll_ingress_inline(void);
/** Engine sockets in use changed by delta (+1 / -1); keeps the high-water mark. */
void rt_count_socket(int delta);

/** Called by the poll task after every engine poll, under the lock (sock.c). */
uint64_t sock_after_poll(uint64_t now_us);
/** Is there a listener for local (address, port) with every backlog socket taken? Under the lock. */
bool sock_listener_full(const esp_smoltcp_endpoint_t *local);
/** A RST arrived for the connection local <- remote: remember it (ECONNRESET, not ETIMEDOUT). Under the lock. */
void sock_note_rst(const esp_smoltcp_endpoint_t *local, const esp_smoltcp_endpoint_t *remote);
/** Is there a TCP connection local <- remote (handshaking or synchronized, not TIME-WAIT)? Under the lock. */
bool sock_tcp_connection_exists(const esp_smoltcp_endpoint_t *local, const esp_smoltcp_endpoint_t *remote);
/** Multicast send options of the UDP socket bound to local_port (defaults when none). Under the lock. */
void sock_mcast_options(uint8_t family, uint16_t local_port, uint8_t *hops, bool *loop);
/** Users of a multicast group (mcast.c), under the lock. */
unsigned mcast_users_locked(uint8_t family, const uint8_t *group);
/** Release every record (deinit), under the lock. */
void sock_release_all(void);
/** Wake handler token for a record. */
static inline uintptr_t sock_token(int h) { return (uintptr_t)h; }

/** Push rt.dns_servers to the engine (dns.c), under the lock. */
void dns_apply_servers(void);
/**
 * Merge rt.dns_base, RDNSS and DHCPv6 servers into rt.dns_servers (that
 * order, duplicates dropped, at most 4) and apply them (dns.c), under the lock.
 */
void dns_rebuild_servers(void);

/** Send a whole Ethernet frame from the poll task (checksums filled here); 0 or -1. */
int rt_transmit(uint8_t *frame, size_t len);
/**
 * The same, but never looped back: for a frame about our own address that is meant for the
 * link (an ARP announcement looks like the engine resolving its own address).
 */
int rt_transmit_wire(uint8_t *frame, size_t len);

/*
 * Frame hooks of optional services, installed by the service at its first use
 * (any thread) and kept for the process, as the services' own state is. The
 * frame path calls them through these pointers, so an image that never opens
 * an L2 tap or watches PTP-over-UDP stamps does not link their frame code.
 */
typedef bool (*rt_rx_tap_hook_t)(const frame_t *f);        /* true: the frame was taken */
typedef void (*rt_rx_stamp_hook_t)(const frame_t *f);
typedef void (*rt_tx_stamp_hook_t)(const uint8_t *frame, size_t len);
/** L2 tap (l2tap.c): sees every received frame first. */
void rt_hook_l2tap(rt_rx_tap_hook_t rx);
/** UDP datagram stamps (udp_stamp.c): sees every received and sent frame. */
void rt_hook_udp_stamp(rt_rx_stamp_hook_t rx, rt_tx_stamp_hook_t tx);

/** Translate a glue error to a negative errno (sock.c). */
int sock_errno_from_glue(int esg_err);
