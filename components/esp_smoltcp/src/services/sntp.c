/*
 * SNTP client task (esp_smoltcp_sntp.h) over the native UDP socket API.
 *
 * One task: at each sync it walks the server list in order (the first that
 * answers well wins, so a failing primary falls back to the next), asks
 * `burst` times, keeps the exchange with the least round-trip delay (the
 * NTP clock filter's rule: the least delayed sample has the least error,
 * RFC 5905 §10), and steps or slews the software clock. Nothing here holds
 * a lock across network I/O; the lock guards the configuration, the
 * per-server outcomes and the clock.
 *
 * server_from_dhcp: the task compares the lease's NTP servers
 * (esp_smoltcp_get_ip4_info) every second and rebuilds the list (lease
 * servers, then the configured ones) when they change. It never holds its
 * lock while asking: the IPv4 callback runs under the stack lock and may call
 * esp_smoltcp_sntp_set_servers(), so the order is stack lock -> ours.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "esp_log.h"
#include "esp_smoltcp.h"
#include "esp_smoltcp_dns.h"
#include "esp_smoltcp_sntp.h"
#include "os.h"
#include "sntp_proto.h"
#include "swclock.h"
#include "waitq.h"

static const char *TAG = "esp_smoltcp_sntp";

#define RECV_SLICE_US 100000u /* the task looks at `stopping` this often while waiting for a reply */
#define DNS_MIN_TIMEOUT_MS 2000u
#define MAX_BURST 8
#define DHCP_CHECK_US 1000000u /* server_from_dhcp: how often the lease's NTP servers are compared */
#define DHCP_MAX_NTP 3         /* esp_smoltcp_ip4_info_t.ntp */

typedef struct {
    char spec[ESP_SMOLTCP_SNTP_SERVER_NAME_MAX]; /* as given */
    char host[ESP_SMOLTCP_SNTP_SERVER_NAME_MAX]; /* name part, "" for a literal */
    uint16_t port;
    esp_smoltcp_endpoint_t literal;              /* family 0 for a name */
    bool dead;                                   /* KoD DENY/RSTR: never asked again (RFC 4330 §8) */
    uint64_t skip_until_us;                      /* KoD RATE: set aside until then */
    esp_smoltcp_sntp_server_info_t info;
} server_t;

typedef struct {
    esp_smoltcp_sntp_status_t status;
    char kiss[5];
    uint8_t stratum;
    esp_smoltcp_endpoint_t addr;
    int64_t offset_us, delay_us;
} attempt_t;

static struct {
    _Atomic(os_mutex_t *) lock; /* created at the first init, kept for the process */
    bool running, kick;
    atomic_bool stopping; /* also read by the task between receive slices, without the lock */
    os_event_t *wake; /* the task sleeps on it: restart, new servers, stop */
    os_thread_t *thread;
    esp_smoltcp_sntp_config_t cfg;
    server_t servers[ESP_SMOLTCP_SNTP_MAX_SERVERS];
    size_t server_count;
    atomic_uint servers_gen; /* bumped (under the lock) when the list is replaced: a round in progress stops */
    swclock_t clock;
    bool synced;
    uint32_t sync_count;
    uint32_t notified_count; /* syncs whose callback has run: what wait_sync waits for */
    esp_smoltcp_sntp_sync_status_t sync_status;
    int last_server;
    int64_t last_offset_us, last_delay_us;
    esp_smoltcp_sntp_status_t round_status;
    waitq_t sync_waiters;
    /* The list is rebuilt from these two when either changes. */
    char static_specs[ESP_SMOLTCP_SNTP_MAX_SERVERS][ESP_SMOLTCP_SNTP_SERVER_NAME_MAX]; /* as configured */
    size_t static_count;
    uint8_t dhcp_ntp[DHCP_MAX_NTP][4]; /* the lease's servers in the list now */
    uint8_t dhcp_count;
} sn; /* zero: in .bss; last_server is set to -1 at init */

/* NULL until the first init; the API checks it before anything else. */
static os_mutex_t *sn_lock(void)
{
    return atomic_load_explicit(&sn.lock, memory_order_acquire);
}

static void lock(void)
{
    os_mutex_lock(sn_lock());
}

static void unlock(void)
{
    os_mutex_unlock(sn_lock());
}

/* Clock now, UTC microseconds; lock held (or no writer yet). */
static int64_t clock_now_locked(void)
{
    return swclock_read(&sn.clock, os_now_us());
}

static int64_t clock_now(void)
{
    lock();
    int64_t t = clock_now_locked();
    unlock();
    return t;
}

/* Lock held. Install specs[0..count) (may be empty); the first n_dhcp came from the lease. */
static esp_err_t load_servers(const char *const *specs, size_t count, size_t n_dhcp)
{
    server_t tmp[ESP_SMOLTCP_SNTP_MAX_SERVERS];
    if (count > ESP_SMOLTCP_SNTP_MAX_SERVERS || (count > 0 && !specs)) {
        return ESP_ERR_INVALID_ARG;
    }
    memset(tmp, 0, sizeof(tmp));
    for (size_t i = 0; i < count; i++) {
        server_t *s = &tmp[i];
        if (!specs[i] || strlen(specs[i]) >= sizeof(s->spec) ||
            sntp_parse_server(specs[i], s->host, sizeof(s->host), &s->port, &s->literal) != 0) {
            return ESP_ERR_INVALID_ARG;
        }
        snprintf(s->spec, sizeof(s->spec), "%s", specs[i]);
        snprintf(s->info.name, sizeof(s->info.name), "%s", specs[i]);
        s->info.from_dhcp = i < n_dhcp;
    }
    memcpy(sn.servers, tmp, sizeof(tmp));
    sn.server_count = count;
    sn.servers_gen++;
    return ESP_OK;
}

/*
 * Lock held. New configured servers (statics may point into sn.static_specs):
 * the list is the lease's servers (sn.dhcp_ntp) then these, cut at the
 * maximum. Every static one is checked, also those cut off.
 */
static esp_err_t set_list_locked(const char *const *statics, size_t n_static)
{
    if (n_static > ESP_SMOLTCP_SNTP_MAX_SERVERS || (n_static > 0 && !statics)) {
        return ESP_ERR_INVALID_ARG;
    }
    char dhcp[DHCP_MAX_NTP][16];
    const char *specs[ESP_SMOLTCP_SNTP_MAX_SERVERS];
    size_t n = 0;
    for (size_t i = 0; i < sn.dhcp_count; i++) {
        const uint8_t *a = sn.dhcp_ntp[i];
        snprintf(dhcp[i], sizeof(dhcp[i]), "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
        specs[n++] = dhcp[i];
    }
    for (size_t i = 0; i < n_static; i++) {
        char host[ESP_SMOLTCP_SNTP_SERVER_NAME_MAX];
        uint16_t port;
        esp_smoltcp_endpoint_t lit;
        if (!statics[i] || strlen(statics[i]) >= ESP_SMOLTCP_SNTP_SERVER_NAME_MAX ||
            sntp_parse_server(statics[i], host, sizeof(host), &port, &lit) != 0) {
            return ESP_ERR_INVALID_ARG;
        }
        if (n < ESP_SMOLTCP_SNTP_MAX_SERVERS) {
            specs[n++] = statics[i];
        }
    }
    esp_err_t err = load_servers(specs, n, sn.dhcp_count);
    if (err != ESP_OK) {
        return err;
    }
    for (size_t i = 0; i < n_static; i++) {
        if (statics[i] != sn.static_specs[i]) {
            snprintf(sn.static_specs[i], sizeof(sn.static_specs[i]), "%s", statics[i]);
        }
    }
    sn.static_count = n_static;
    return ESP_OK;
}

/* server_from_dhcp: rebuild the list if the lease's NTP servers changed; true then. No lock held. */
static bool dhcp_refresh(void)
{
    esp_smoltcp_ip4_info_t ip;
    memset(&ip, 0, sizeof(ip));
    if (esp_smoltcp_get_ip4_info(ESP_SMOLTCP_IFACE_ETH, &ip) != ESP_OK) {
        ip.ntp_count = 0; /* nothing attached: no lease */
    }
    size_t n = ip.ntp_count > DHCP_MAX_NTP ? DHCP_MAX_NTP : ip.ntp_count;
    lock();
    bool changed = n != sn.dhcp_count || memcmp(ip.ntp, sn.dhcp_ntp, n * 4) != 0;
    if (changed) {
        sn.dhcp_count = (uint8_t)n;
        memcpy(sn.dhcp_ntp, ip.ntp, n * 4);
        const char *statics[ESP_SMOLTCP_SNTP_MAX_SERVERS];
        for (size_t i = 0; i < sn.static_count; i++) {
            statics[i] = sn.static_specs[i];
        }
        set_list_locked(statics, sn.static_count); /* cannot fail: the statics were checked when given */
    }
    unlock();
    if (changed) {
        ESP_LOGI(TAG, "%u NTP server(s) from DHCP", (unsigned)n);
    }
    return changed;
}

/* ---- one exchange ------------------------------------------------------------- */

static bool same_endpoint(const esp_smoltcp_endpoint_t *a, const esp_smoltcp_endpoint_t *b)
{
    size_t n = a->family == ESP_SMOLTCP_AF_INET ? 4 : 16;
    return a->family == b->family && a->port == b->port && memcmp(a->addr, b->addr, n) == 0;
}

/*
 * Send one request on sock to ep and wait up to timeout_ms for its answer.
 * Replies from elsewhere and bogus ones (short, wrong origin) are skipped
 * (RFC 4330 §5: the client SHOULD check the source); if no good reply comes,
 * the result is the last bogus reason, or a timeout.
 */
/* The round that started with list generation gen should stop: deinit, or new servers. */
static bool round_cancelled(unsigned gen)
{
    return atomic_load(&sn.stopping) || atomic_load(&sn.servers_gen) != gen;
}

static void exchange(int sock, const esp_smoltcp_endpoint_t *ep, uint32_t timeout_ms, unsigned gen, attempt_t *a)
{
    uint8_t pkt[128];
    /*
     * The transmit timestamp is a random nonce, not our clock: it only has to
     * come back as the origin, and our clock reading is kept here (T1). This is
     * what chrony does; it leaks nothing about the client's time and cannot be
     * predicted by an off-path sender.
     */
    ntp_ts_t nonce = os_random_u64();
    sntp_build_request(pkt, nonce);
    int64_t t1 = clock_now();
    if (esp_smoltcp_sock_sendto(sock, pkt, NTP_PACKET_LEN, 0, ep, 1000) != NTP_PACKET_LEN) {
        a->status = ESP_SMOLTCP_SNTP_ERR_SOCKET;
        return;
    }
    uint64_t deadline = os_now_us() + (uint64_t)timeout_ms * 1000u;
    esp_smoltcp_sntp_status_t bogus = ESP_SMOLTCP_SNTP_ERR_TIMEOUT;
    for (;;) {
        uint64_t now = os_now_us();
        if (now >= deadline || round_cancelled(gen)) {
            a->status = bogus;
            return;
        }
        uint64_t slice = deadline - now < RECV_SLICE_US ? deadline - now : RECV_SLICE_US;
        esp_smoltcp_endpoint_t from;
        size_t full = 0;
        ssize_t n = esp_smoltcp_sock_recvfrom(sock, pkt, sizeof(pkt), 0, &full, &from,
                                              (uint32_t)((slice + 999u) / 1000u));
        if (n == -EAGAIN) {
            continue;
        }
        if (n < 0) {
            a->status = ESP_SMOLTCP_SNTP_ERR_SOCKET;
            return;
        }
        int64_t t4 = clock_now();
        if (!same_endpoint(&from, ep)) {
            continue;
        }
        sntp_reply_t r;
        esp_smoltcp_sntp_status_t st = sntp_check_reply(pkt, (size_t)n, nonce, &r);
        if (sntp_status_is_bogus(st)) {
            bogus = st;
            continue;
        }
        a->status = st;
        a->stratum = r.stratum;
        memcpy(a->kiss, r.kiss, sizeof(a->kiss));
        if (st != ESP_SMOLTCP_SNTP_OK) {
            return;
        }
        int64_t t3 = ntp_to_unix_us(r.xmt);
        int64_t t2 = r.rec ? ntp_to_unix_us(r.rec) : t3; /* RFC 4330 §5: receive may be zero */
        sntp_offset_delay(t1, t2, t3, t4, &a->offset_us, &a->delay_us);
        return;
    }
}

/* Sleep up to ms unless the round is cancelled; false then. */
static bool pause_ms(uint32_t ms, unsigned gen)
{
    uint64_t until = os_now_us() + (uint64_t)ms * 1000u;
    for (;;) {
        bool stop = round_cancelled(gen);
        uint64_t now = os_now_us();
        if (stop || now >= until) {
            return !stop;
        }
        os_event_wait(sn.wake, until - now); /* a restart wake only shortens this pause */
    }
}

/* Resolve, then `burst` exchanges; the least delayed good one wins. No lock held. */
static void try_server(const server_t *srv, const esp_smoltcp_sntp_config_t *cfg, unsigned gen, attempt_t *out)
{
    memset(out, 0, sizeof(*out));
    esp_smoltcp_endpoint_t ep = srv->literal;
    if (ep.family == 0) {
        esp_smoltcp_endpoint_t found[2];
        uint32_t t = cfg->timeout_ms > DNS_MIN_TIMEOUT_MS ? cfg->timeout_ms : DNS_MIN_TIMEOUT_MS;
        int n = esp_smoltcp_dns_resolve(srv->host, ESP_SMOLTCP_AF_UNSPEC, found, 2, t);
        if (n <= 0) {
            out->status = ESP_SMOLTCP_SNTP_ERR_RESOLVE;
            return;
        }
        ep = found[0];
        ep.port = srv->port;
    }
    out->addr = ep;
    int sock = esp_smoltcp_sock_open(ESP_SMOLTCP_SOCK_UDP, NULL); /* a fresh ephemeral port per attempt */
    if (sock < 0) {
        out->status = ESP_SMOLTCP_SNTP_ERR_SOCKET;
        return;
    }
    bool have = false;
    for (uint8_t b = 0; b < cfg->burst; b++) {
        if (b > 0 && !pause_ms(cfg->burst_interval_ms, gen)) {
            break;
        }
        attempt_t a = {.addr = ep};
        exchange(sock, &ep, cfg->timeout_ms, gen, &a);
        if (a.status != ESP_SMOLTCP_SNTP_OK) {
            if (!have) {
                *out = a; /* the server failed: report why, and let the caller fall back */
            }
            break;        /* with a good sample already: use it, do not insist */
        }
        if (!have || a.delay_us < out->delay_us) {
            *out = a;
            have = true;
        }
    }
    esp_smoltcp_sock_close(sock);
}

/* ---- the task ------------------------------------------------------------------- */

/* Lock held. Applies a good attempt to the clock. */
static void apply(int idx, const attempt_t *a)
{
    uint64_t mono = os_now_us();
    int64_t off = a->offset_us;
    int64_t mag = off < 0 ? -off : off;
    if (!sn.synced || sn.cfg.sync_mode == ESP_SMOLTCP_SNTP_SYNC_MODE_IMMED ||
        mag > (int64_t)sn.cfg.step_threshold_ms * 1000) {
        swclock_step(&sn.clock, mono, off);
        sn.sync_status = ESP_SMOLTCP_SNTP_SYNC_STATUS_COMPLETED;
    } else {
        swclock_slew(&sn.clock, mono, off, sn.cfg.slew_ppm);
        sn.sync_status = ESP_SMOLTCP_SNTP_SYNC_STATUS_IN_PROGRESS;
    }
    sn.synced = true;
    sn.sync_count++;
    sn.last_server = idx;
    sn.last_offset_us = a->offset_us;
    sn.last_delay_us = a->delay_us;
}

/* Lock held. Records the outcome of an attempt on server idx (if the list is still the same). */
static void record(int idx, unsigned gen, const attempt_t *a)
{
    if (gen != sn.servers_gen) {
        return;
    }
    server_t *s = &sn.servers[idx];
    s->info.status = a->status;
    memcpy(s->info.kiss, a->kiss, sizeof(s->info.kiss));
    if (a->status == ESP_SMOLTCP_SNTP_ERR_SKIPPED) {
        return;
    }
    s->info.attempts++;
    s->info.addr = a->addr;
    s->info.stratum = a->stratum;
    if (a->status == ESP_SMOLTCP_SNTP_OK) {
        s->info.successes++;
        s->info.offset_us = a->offset_us;
        s->info.delay_us = a->delay_us;
    } else if (a->status == ESP_SMOLTCP_SNTP_ERR_KOD_DENY || a->status == ESP_SMOLTCP_SNTP_ERR_KOD_RSTR) {
        s->dead = true;
    } else if (a->status == ESP_SMOLTCP_SNTP_ERR_KOD_RATE) {
        /* RFC 5905 §7.4: reduce the rate; this client asks that server again only after a poll interval. */
        s->skip_until_us = os_now_us() + (uint64_t)sn.cfg.poll_interval_ms * 1000u;
    }
}

/* One round over the servers; true when one of them set the clock. */
static bool sync_round(void)
{
    lock();
    esp_smoltcp_sntp_config_t cfg = sn.cfg;
    server_t list[ESP_SMOLTCP_SNTP_MAX_SERVERS];
    size_t n = sn.server_count;
    unsigned gen = sn.servers_gen;
    memcpy(list, sn.servers, sizeof(list));
    bool was_empty = sn.round_status == ESP_SMOLTCP_SNTP_ERR_NO_SERVER;
    if (n == 0) {
        sn.round_status = ESP_SMOLTCP_SNTP_ERR_NO_SERVER;
    }
    unlock();
    if (n == 0) {
        if (!was_empty) {
            ESP_LOGW(TAG, "no NTP server: none configured and none in the DHCP lease");
        }
        return false;
    }
    esp_smoltcp_sntp_status_t last = ESP_SMOLTCP_SNTP_ERR_SKIPPED;
    for (size_t i = 0; i < n; i++) {
        attempt_t a = {0};
        if (list[i].dead || list[i].skip_until_us > os_now_us()) {
            a.status = ESP_SMOLTCP_SNTP_ERR_SKIPPED;
            memcpy(a.kiss, list[i].info.kiss, sizeof(a.kiss));
        } else {
            try_server(&list[i], &cfg, gen, &a);
        }
        lock();
        bool stop = sn.stopping;
        bool changed = gen != sn.servers_gen;
        record((int)i, gen, &a);
        bool ok = a.status == ESP_SMOLTCP_SNTP_OK && !changed && !stop;
        struct timeval tv = {0};
        if (a.status != ESP_SMOLTCP_SNTP_ERR_SKIPPED || last == ESP_SMOLTCP_SNTP_ERR_SKIPPED) {
            last = a.status;
        }
        if (!changed && !stop) {
            sn.round_status = last; /* final when this server answered or was the last one */
        }
        if (ok) {
            apply((int)i, &a);
            int64_t now = clock_now_locked();
            tv.tv_sec = (time_t)(now / 1000000);
            tv.tv_usec = (suseconds_t)(now % 1000000);
        }
        unlock();
        if (a.status != ESP_SMOLTCP_SNTP_ERR_SKIPPED && !stop && !changed) {
            ESP_LOGI(TAG, "server %s: %s%s%s offset %lld us delay %lld us", list[i].spec,
                     esp_smoltcp_sntp_status_name(a.status), a.kiss[0] ? " " : "", a.kiss,
                     (long long)a.offset_us, (long long)a.delay_us);
        }
        if (ok) {
            if (cfg.sync_cb) {
                cfg.sync_cb(&tv, cfg.sync_cb_arg);
            }
            /* Waiters return after the callback, as esp_netif_sntp_sync_wait() does. */
            lock();
            sn.notified_count++;
            waitq_wake_all(&sn.sync_waiters);
            unlock();
            return true;
        }
        if (stop || changed) {
            return false;
        }
    }
    return false;
}

static void sntp_task(void *arg)
{
    (void)arg;
    lock();
    uint64_t next = sn.cfg.start ? 0 : UINT64_MAX;
    uint64_t dhcp_check = 0; /* server_from_dhcp: next look at the lease */
    while (!sn.stopping) {
        uint64_t now = os_now_us();
        if (sn.cfg.server_from_dhcp && now >= dhcp_check) {
            unlock();
            bool changed = dhcp_refresh();
            lock();
            dhcp_check = now + DHCP_CHECK_US;
            if (changed && next != UINT64_MAX) {
                next = now; /* new servers: sync with them now (not before a first start) */
            }
            continue;
        }
        if (sn.kick) {
            sn.kick = false;
            next = now;
        }
        if (now < next) {
            uint64_t until = sn.cfg.server_from_dhcp && dhcp_check < next ? dhcp_check : next;
            unlock();
            os_event_wait(sn.wake, until == UINT64_MAX ? OS_WAIT_FOREVER : until - now);
            lock();
            continue;
        }
        unlock();
        bool ok = sync_round();
        lock();
        uint32_t wait_ms = ok ? sn.cfg.poll_interval_ms : sn.cfg.retry_interval_ms;
        next = os_now_us() + (uint64_t)wait_ms * 1000u;
    }
    unlock();
}

/* ---- API ------------------------------------------------------------------------- */

esp_err_t esp_smoltcp_sntp_init(const esp_smoltcp_sntp_config_t *cfg)
{
    if (!cfg) {
        return ESP_ERR_INVALID_ARG;
    }
    if (cfg->server_count == 0 && !cfg->server_from_dhcp) {
        return ESP_ERR_INVALID_ARG;
    }
    if (cfg->poll_interval_ms < ESP_SMOLTCP_SNTP_MIN_POLL_MS || cfg->retry_interval_ms < 1000u ||
        cfg->timeout_ms == 0 || cfg->burst == 0 || cfg->burst > MAX_BURST || cfg->slew_ppm == 0) {
        return ESP_ERR_INVALID_ARG;
    }
    if (!sn_lock()) {
        /* The first init: like esp_sntp_init, not meant to race with another init. */
        os_mutex_t *m = NULL;
        if (os_mutex_create(&m) != ESP_OK) {
            return ESP_ERR_NO_MEM;
        }
        atomic_store_explicit(&sn.lock, m, memory_order_release);
    }
    lock();
    esp_err_t err = ESP_OK;
    if (sn.running) {
        err = ESP_ERR_INVALID_STATE;
        goto out;
    }
    sn.dhcp_count = 0; /* the task reads the lease before its first round */
    err = set_list_locked(cfg->servers, cfg->server_count);
    if (err != ESP_OK) {
        goto out;
    }
    err = os_event_create(&sn.wake);
    if (err != ESP_OK) {
        goto out;
    }
    sn.cfg = *cfg;
    memset(sn.cfg.servers, 0, sizeof(sn.cfg.servers)); /* the caller's strings are not kept */
    sn.stopping = false;
    sn.kick = false;
    sn.sync_status = ESP_SMOLTCP_SNTP_SYNC_STATUS_RESET;
    sn.sync_count = 0; /* sn.synced stays: a clock set before a deinit is still set */
    sn.notified_count = 0;
    sn.last_server = -1;
    sn.last_offset_us = 0;
    sn.last_delay_us = 0;
    sn.round_status = ESP_SMOLTCP_SNTP_NOT_TRIED;
    os_thread_config_t tcfg = {.name = "sntp", .stack_size = cfg->task_stack, .priority = cfg->task_priority,
                               .core = -1};
    err = os_thread_create(&tcfg, sntp_task, NULL, &sn.thread);
    if (err != ESP_OK) {
        os_event_destroy(sn.wake);
        sn.wake = NULL;
        goto out;
    }
    sn.running = true;
out:
    unlock();
    return err;
}

esp_err_t esp_smoltcp_sntp_deinit(void)
{
    if (!sn_lock()) {
        return ESP_ERR_INVALID_STATE;
    }
    lock();
    if (!sn.running || sn.stopping) {
        unlock();
        return ESP_ERR_INVALID_STATE;
    }
    sn.stopping = true;
    waitq_wake_all(&sn.sync_waiters);
    unlock();
    os_event_set(sn.wake);
    os_thread_join(sn.thread);
    lock();
    os_event_destroy(sn.wake);
    sn.wake = NULL;
    sn.thread = NULL;
    sn.running = false;
    sn.server_count = 0;
    sn.static_count = 0;
    sn.dhcp_count = 0;
    sn.servers_gen++;
    unlock();
    return ESP_OK;
}

esp_err_t esp_smoltcp_sntp_restart(void)
{
    if (!sn_lock()) {
        return ESP_ERR_INVALID_STATE;
    }
    lock();
    bool running = sn.running && !sn.stopping;
    if (running) {
        sn.kick = true;
        os_event_set(sn.wake); /* under the lock: deinit destroys the event under it */
    }
    unlock();
    return running ? ESP_OK : ESP_ERR_INVALID_STATE;
}

esp_err_t esp_smoltcp_sntp_set_servers(const char *const *servers, size_t count)
{
    if (!sn_lock()) {
        return ESP_ERR_INVALID_STATE;
    }
    lock();
    esp_err_t err = ESP_ERR_INVALID_STATE;
    if (sn.running && !sn.stopping) {
        err = count == 0 && !sn.cfg.server_from_dhcp ? ESP_ERR_INVALID_ARG : set_list_locked(servers, count);
    }
    if (err == ESP_OK) {
        sn.kick = true;
        os_event_set(sn.wake);
    }
    unlock();
    return err;
}

esp_err_t esp_smoltcp_sntp_get_time(struct timeval *tv)
{
    if (!tv) {
        return ESP_ERR_INVALID_ARG;
    }
    int64_t now;
    bool synced;
    if (sn_lock()) {
        lock();
        now = clock_now_locked();
        synced = sn.synced;
        unlock();
    } else {
        now = (int64_t)os_now_us(); /* never initialised: nothing writes the clock */
        synced = false;
    }
    tv->tv_sec = (time_t)(now / 1000000);
    tv->tv_usec = (suseconds_t)(now % 1000000);
    return synced ? ESP_OK : ESP_ERR_INVALID_STATE;
}

esp_smoltcp_sntp_sync_status_t esp_smoltcp_sntp_get_sync_status(void)
{
    if (!sn_lock()) {
        return ESP_SMOLTCP_SNTP_SYNC_STATUS_RESET;
    }
    lock();
    if (sn.sync_status == ESP_SMOLTCP_SNTP_SYNC_STATUS_IN_PROGRESS &&
        swclock_slew_left(&sn.clock, os_now_us()) == 0) {
        sn.sync_status = ESP_SMOLTCP_SNTP_SYNC_STATUS_COMPLETED; /* the slew is done */
    }
    esp_smoltcp_sntp_sync_status_t st = sn.sync_status;
    if (st == ESP_SMOLTCP_SNTP_SYNC_STATUS_COMPLETED) {
        sn.sync_status = ESP_SMOLTCP_SNTP_SYNC_STATUS_RESET; /* esp_sntp: reported once */
    }
    unlock();
    return st;
}

esp_err_t esp_smoltcp_sntp_wait_sync(uint32_t timeout_ms)
{
    if (!sn_lock()) {
        return ESP_ERR_INVALID_STATE;
    }
    os_event_t *ev = os_thread_event();
    if (!ev) {
        return ESP_ERR_NO_MEM;
    }
    uint64_t deadline = timeout_ms == ESP_SMOLTCP_WAIT_FOREVER ? UINT64_MAX : os_now_us() + (uint64_t)timeout_ms * 1000u;
    esp_err_t err;
    lock();
    for (;;) {
        if (!sn.running || sn.stopping) {
            err = ESP_ERR_INVALID_STATE;
            break;
        }
        if (sn.notified_count > 0) {
            err = ESP_OK;
            break;
        }
        uint64_t now = os_now_us();
        if (now >= deadline) {
            err = ESP_ERR_TIMEOUT;
            break;
        }
        waiter_t w = {.event = ev};
        waitq_add(&sn.sync_waiters, &w);
        unlock();
        os_event_wait(ev, deadline == UINT64_MAX ? OS_WAIT_FOREVER : deadline - now);
        lock();
        waitq_remove(&sn.sync_waiters, &w);
    }
    unlock();
    return err;
}

esp_err_t esp_smoltcp_sntp_get_info(esp_smoltcp_sntp_info_t *out)
{
    if (!out) {
        return ESP_ERR_INVALID_ARG;
    }
    memset(out, 0, sizeof(*out));
    out->last_server = -1;
    if (!sn_lock()) {
        return ESP_OK;
    }
    lock();
    out->running = sn.running;
    out->synced = sn.synced;
    out->server_from_dhcp = sn.running && sn.cfg.server_from_dhcp;
    out->round_status = sn.round_status;
    out->sync_count = sn.sync_count;
    out->last_server = sn.last_server;
    out->last_offset_us = sn.last_offset_us;
    out->last_delay_us = sn.last_delay_us;
    out->slew_remaining_us = swclock_slew_left(&sn.clock, os_now_us());
    out->server_count = sn.server_count;
    for (size_t i = 0; i < sn.server_count; i++) {
        out->servers[i] = sn.servers[i].info;
    }
    unlock();
    return ESP_OK;
}

const char *esp_smoltcp_sntp_status_name(esp_smoltcp_sntp_status_t status)
{
    static const char *const names[] = {
        [ESP_SMOLTCP_SNTP_NOT_TRIED] = "not_tried",
        [ESP_SMOLTCP_SNTP_OK] = "ok",
        [ESP_SMOLTCP_SNTP_ERR_RESOLVE] = "resolve",
        [ESP_SMOLTCP_SNTP_ERR_SOCKET] = "socket",
        [ESP_SMOLTCP_SNTP_ERR_TIMEOUT] = "timeout",
        [ESP_SMOLTCP_SNTP_ERR_BAD_LENGTH] = "bad_length",
        [ESP_SMOLTCP_SNTP_ERR_BAD_ORIGIN] = "bad_origin",
        [ESP_SMOLTCP_SNTP_ERR_BAD_MODE] = "bad_mode",
        [ESP_SMOLTCP_SNTP_ERR_BAD_VERSION] = "bad_version",
        [ESP_SMOLTCP_SNTP_ERR_KOD_RATE] = "kod_rate",
        [ESP_SMOLTCP_SNTP_ERR_KOD_DENY] = "kod_deny",
        [ESP_SMOLTCP_SNTP_ERR_KOD_RSTR] = "kod_rstr",
        [ESP_SMOLTCP_SNTP_ERR_KOD_OTHER] = "kod_other",
        [ESP_SMOLTCP_SNTP_ERR_UNSYNCHRONISED] = "unsynchronised",
        [ESP_SMOLTCP_SNTP_ERR_ZERO_TRANSMIT] = "zero_transmit",
        [ESP_SMOLTCP_SNTP_ERR_SKIPPED] = "skipped",
        [ESP_SMOLTCP_SNTP_ERR_NO_SERVER] = "no_server",
    };
    if ((unsigned)status >= sizeof(names) / sizeof(names[0])) {
        return "unknown";
    }
    return names[status];
}
