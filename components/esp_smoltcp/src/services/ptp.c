/*
 * PTP ordinary clock task (esp_smoltcp_ptp.h): moves frames between the L2
 * tap and the port engine (ptp_port.c) and runs its timers.
 *
 * One task, one lock. The lock guards the engine (its clock and status);
 * it is never held across I/O. The task reads the tap with a timeout of at
 * most the engine's next timer (<= 100 ms), which also bounds deinit.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "esp_log.h"
#include "esp_smoltcp_l2tap.h"
#include "esp_smoltcp_ptp.h"
#include "os.h"
#include "ptp_port.h"
#include "ptp_transport.h"

static const char *TAG = "esp_smoltcp_ptp";

static struct {
    _Atomic(os_mutex_t *) lock; /* created at the first init, kept for the process */
    bool running;
    atomic_bool stopping;
    os_thread_t *thread;
    const ptp_transport_t *tr;
    ptp_port_t port;
} pc;

static os_mutex_t *pc_lock(void)
{
    return atomic_load_explicit(&pc.lock, memory_order_acquire);
}

static void lock(void)
{
    os_mutex_lock(pc_lock());
}

static void unlock(void)
{
    os_mutex_unlock(pc_lock());
}

/* State change: log and tell the application (no lock held). */
static void report(esp_smoltcp_ptp_state_t from, esp_smoltcp_ptp_state_t to, const esp_smoltcp_ptp_config_t *cfg,
                   const esp_smoltcp_ptp_status_t *st)
{
    const uint8_t *m = st->master.clock_id;
    ESP_LOGI(TAG, "%s -> %s (master %02x%02x%02x.%02x%02x.%02x%02x%02x-%u, offset %lld ns, delay %lld ns)",
             esp_smoltcp_ptp_state_name(from), esp_smoltcp_ptp_state_name(to), m[0], m[1], m[2], m[3], m[4], m[5],
             m[6], m[7], st->master.port, (long long)st->offset_ns, (long long)st->mean_path_delay_ns);
    if (cfg->state_cb) {
        cfg->state_cb(from, to, cfg->state_cb_arg);
    }
}

static void ptp_task(void *arg)
{
    (void)arg;
    const ptp_transport_t *tr = pc.tr;
    uint8_t buf[256];
    while (!atomic_load(&pc.stopping)) {
        uint8_t dreq[PTP_DELAY_REQ_LEN];
        uint64_t next_us;
        lock();
        esp_smoltcp_ptp_state_t before = pc.port.state;
        size_t n = ptp_port_poll(&pc.port, os_now_us(), tr->now_local(), dreq, sizeof(dreq), &next_us);
        esp_smoltcp_ptp_state_t after = pc.port.state;
        esp_smoltcp_ptp_status_t st = pc.port.st;
        esp_smoltcp_ptp_config_t cfg = pc.port.cfg;
        unlock();
        if (before != after) {
            report(before, after, &cfg, &st);
        }
        if (n) {
            int64_t t3 = 0;
            bool ok = tr->send_event(dreq, n, &t3);
            lock();
            ptp_port_tx_done(&pc.port, ok, t3);
            unlock();
        }
        uint64_t now = os_now_us();
        uint32_t wait_ms = next_us > now ? (uint32_t)((next_us - now + 999u) / 1000u) : 0;
        int64_t rx_local = 0;
        bool bad = false;
        ssize_t got = tr->recv(buf, sizeof(buf), &rx_local, &bad, wait_ms);
        if (got < 0) {
            ESP_LOGE(TAG, "%s transport failed (%d): stopping", tr->name, (int)got);
            break;
        }
        if (got == 0) {
            if (bad) {
                lock();
                pc.port.st.counters.rx_malformed++;
                unlock();
            }
            continue;
        }
        lock();
        before = pc.port.state;
        ptp_port_rx(&pc.port, buf, (size_t)got, rx_local, os_now_us());
        after = pc.port.state;
        st = pc.port.st;
        unlock();
        if (before != after) {
            report(before, after, &cfg, &st);
        }
    }
}

static bool config_ok(const esp_smoltcp_ptp_config_t *c)
{
    return (c->transport == ESP_SMOLTCP_PTP_TRANSPORT_L2 || c->transport == ESP_SMOLTCP_PTP_TRANSPORT_UDP4) &&
           c->iface == ESP_SMOLTCP_IFACE_ETH &&
           c->announce_receipt_timeout >= 2 && c->first_step_threshold_ns >= 0 && c->step_threshold_ns >= 0 &&
           c->max_freq_ppb > 0 && c->max_freq_ppb <= 100000000u && c->kp >= 0 && c->ki >= 0 &&
           c->lock_samples >= 1 &&
           (c->sync_filter == 1 || c->sync_filter == 2 || c->sync_filter == 4 || c->sync_filter == 8);
}

esp_err_t esp_smoltcp_ptp_init(const esp_smoltcp_ptp_config_t *cfg)
{
    if (!cfg || !config_ok(cfg)) {
        return ESP_ERR_INVALID_ARG;
    }
    if (!pc_lock()) {
        os_mutex_t *m = NULL;
        if (os_mutex_create(&m) != ESP_OK) {
            return ESP_ERR_NO_MEM;
        }
        atomic_store_explicit(&pc.lock, m, memory_order_release);
    }
    lock();
    esp_err_t err = ESP_OK;
    if (pc.running) {
        err = ESP_ERR_INVALID_STATE;
        goto out;
    }
    uint8_t mac[6];
    if (esp_smoltcp_l2tap_get_mac(cfg->iface, mac) != ESP_OK) {
        err = ESP_ERR_INVALID_STATE; /* no interface: no MAC for the clockIdentity */
        goto out;
    }
    pc.tr = cfg->transport == ESP_SMOLTCP_PTP_TRANSPORT_UDP4 ? &ptp_transport_udp4 : &ptp_transport_l2;
    err = pc.tr->open(cfg->iface);
    if (err != ESP_OK) {
        goto out;
    }
    uint8_t id[8];
    ptp_clock_id_from_mac(mac, id);
    ptp_port_t keep = pc.port; /* a clock set before a deinit keeps its time across init */
    ptp_port_init(&pc.port, cfg, id, os_random_u64());
    if (keep.clock_set && keep.cfg.transport == cfg->transport) {
        pc.port.clock = keep.clock; /* same stamp clock: the mapping still holds */
        pc.port.clock_set = true;
        pc.port.st.clock_set = true;
    }
    atomic_store(&pc.stopping, false);
    os_thread_config_t tcfg = {.name = "ptp", .stack_size = cfg->task_stack, .priority = cfg->task_priority,
                               .core = -1};
    err = os_thread_create(&tcfg, ptp_task, NULL, &pc.thread);
    if (err != ESP_OK) {
        pc.tr->close();
        goto out;
    }
    pc.running = true;
out:
    unlock();
    return err;
}

esp_err_t esp_smoltcp_ptp_deinit(void)
{
    if (!pc_lock()) {
        return ESP_ERR_INVALID_STATE;
    }
    lock();
    if (!pc.running || atomic_load(&pc.stopping)) {
        unlock();
        return ESP_ERR_INVALID_STATE;
    }
    atomic_store(&pc.stopping, true);
    unlock();
    os_thread_join(pc.thread);
    lock();
    pc.tr->close();
    pc.thread = NULL;
    pc.running = false;
    pc.port.st.running = false;
    pc.port.st.have_master = false;
    pc.port.state = ESP_SMOLTCP_PTP_STATE_DISABLED;
    pc.port.st.state = ESP_SMOLTCP_PTP_STATE_DISABLED;
    unlock();
    return ESP_OK;
}

esp_err_t esp_smoltcp_ptp_get_status(esp_smoltcp_ptp_status_t *out)
{
    if (!out) {
        return ESP_ERR_INVALID_ARG;
    }
    memset(out, 0, sizeof(*out));
    out->state = ESP_SMOLTCP_PTP_STATE_DISABLED;
    if (!pc_lock()) {
        return ESP_OK;
    }
    lock();
    if (pc.running || pc.port.st.clock_set) {
        *out = pc.port.st;
    }
    if (!pc.running) {
        out->state = ESP_SMOLTCP_PTP_STATE_DISABLED;
    }
    unlock();
    return ESP_OK;
}

esp_err_t esp_smoltcp_ptp_get_time(int64_t *utc_ns)
{
    if (!utc_ns) {
        return ESP_ERR_INVALID_ARG;
    }
    if (!pc_lock() || !pc.tr) {
        *utc_ns = ptp_transport_l2.now_local();
        return ESP_ERR_INVALID_STATE;
    }
    lock();
    /* Read the stamp clock under the lock so a correction cannot fall between the two reads. */
    *utc_ns = ptp_port_time(&pc.port, pc.tr->now_local());
    bool set = pc.port.clock_set && pc.running;
    unlock();
    return set ? ESP_OK : ESP_ERR_INVALID_STATE;
}

const char *esp_smoltcp_ptp_state_name(esp_smoltcp_ptp_state_t state)
{
    switch (state) {
    case ESP_SMOLTCP_PTP_STATE_DISABLED:
        return "DISABLED";
    case ESP_SMOLTCP_PTP_STATE_LISTENING:
        return "LISTENING";
    case ESP_SMOLTCP_PTP_STATE_UNCALIBRATED:
        return "UNCALIBRATED";
    case ESP_SMOLTCP_PTP_STATE_SLAVE:
        return "SLAVE";
    }
    return "UNKNOWN";
}
