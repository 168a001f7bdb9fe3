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

static const char *TAG = "esp_smoltcp_ptp";

#define ETH_HLEN 14u

static const uint8_t PTP_L2_DST[6] = {0x01, 0x1B, 0x19, 0x00, 0x00, 0x00}; /* Annex F: all except peer delay */

static struct {
    _Atomic(os_mutex_t *) lock; /* created at the first init, kept for the process */
    bool running;
    atomic_bool stopping;
    os_thread_t *thread;
    int tap;
    uint8_t mac[6];
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

static int64_t local_now_ns(esp_smoltcp_iface_t iface)
{
    esp_smoltcp_l2tap_ts_t t;
    esp_smoltcp_l2tap_clock_now(iface, &t);
    return (int64_t)t.ns;
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

static void send_delay_req(const uint8_t *msg, size_t n, esp_smoltcp_iface_t iface)
{
    uint8_t frame[ETH_HLEN + PTP_DELAY_REQ_LEN];
    memcpy(frame, PTP_L2_DST, 6);
    memcpy(frame + 6, pc.mac, 6);
    frame[12] = ESP_SMOLTCP_ETHERTYPE_PTP >> 8;
    frame[13] = ESP_SMOLTCP_ETHERTYPE_PTP & 0xFF;
    memcpy(frame + ETH_HLEN, msg, n);
    esp_smoltcp_l2tap_ts_t ts = {0};
    ssize_t rc = esp_smoltcp_l2tap_send(pc.tap, frame, ETH_HLEN + n, &ts);
    (void)iface;
    lock();
    ptp_port_tx_done(&pc.port, rc > 0, (int64_t)ts.ns);
    unlock();
}

static void ptp_task(void *arg)
{
    (void)arg;
    uint8_t buf[ESP_SMOLTCP_L2TAP_FRAME_MAX];
    esp_smoltcp_iface_t iface = pc.port.cfg.iface;
    while (!atomic_load(&pc.stopping)) {
        uint8_t dreq[PTP_DELAY_REQ_LEN];
        uint64_t next_us;
        lock();
        esp_smoltcp_ptp_state_t before = pc.port.state;
        size_t n = ptp_port_poll(&pc.port, os_now_us(), local_now_ns(iface), dreq, sizeof(dreq), &next_us);
        esp_smoltcp_ptp_state_t after = pc.port.state;
        esp_smoltcp_ptp_status_t st = pc.port.st;
        esp_smoltcp_ptp_config_t cfg = pc.port.cfg;
        unlock();
        if (before != after) {
            report(before, after, &cfg, &st);
        }
        if (n) {
            send_delay_req(dreq, n, iface);
        }
        uint64_t now = os_now_us();
        uint32_t wait_ms = next_us > now ? (uint32_t)((next_us - now + 999u) / 1000u) : 0;
        esp_smoltcp_l2tap_rx_info_t info;
        ssize_t got = esp_smoltcp_l2tap_recv(pc.tap, buf, sizeof(buf), &info, wait_ms);
        if (got == -EAGAIN) {
            continue;
        }
        if (got < 0) {
            ESP_LOGE(TAG, "tap read failed (%d): stopping", (int)got);
            break;
        }
        if ((size_t)got <= ETH_HLEN) {
            lock();
            pc.port.st.counters.rx_malformed++;
            unlock();
            continue;
        }
        lock();
        before = pc.port.state;
        ptp_port_rx(&pc.port, buf + ETH_HLEN, (size_t)got - ETH_HLEN, (int64_t)info.ts.ns, os_now_us());
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
    return c->transport == ESP_SMOLTCP_PTP_TRANSPORT_L2 && c->iface == ESP_SMOLTCP_IFACE_ETH &&
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
    if (esp_smoltcp_l2tap_get_mac(cfg->iface, pc.mac) != ESP_OK) {
        err = ESP_ERR_INVALID_STATE; /* no interface: no MAC for the clockIdentity */
        goto out;
    }
    esp_smoltcp_l2tap_config_t tc = ESP_SMOLTCP_L2TAP_DEFAULT_CONFIG(ESP_SMOLTCP_ETHERTYPE_PTP);
    tc.iface = cfg->iface;
    tc.queue_frames = 32;
    tc.snaplen = 256; /* PTP messages with a few TLVs; longer ones are truncated and their TLVs ignored */
    int h = esp_smoltcp_l2tap_open(&tc);
    if (h < 0) {
        err = h == -ENOMEM ? ESP_ERR_NO_MEM : ESP_FAIL;
        goto out;
    }
    uint8_t id[8];
    ptp_clock_id_from_mac(pc.mac, id);
    ptp_port_t keep = pc.port; /* a clock set before a deinit keeps its time across init */
    ptp_port_init(&pc.port, cfg, id, os_random_u64());
    if (keep.clock_set) {
        pc.port.clock = keep.clock;
        pc.port.clock_set = true;
        pc.port.st.clock_set = true;
    }
    pc.tap = h;
    atomic_store(&pc.stopping, false);
    os_thread_config_t tcfg = {.name = "ptp", .stack_size = cfg->task_stack, .priority = cfg->task_priority,
                               .core = -1};
    err = os_thread_create(&tcfg, ptp_task, NULL, &pc.thread);
    if (err != ESP_OK) {
        esp_smoltcp_l2tap_close(h);
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
    esp_smoltcp_l2tap_close(pc.tap);
    pc.tap = -1;
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
    if (!pc_lock()) {
        *utc_ns = local_now_ns(ESP_SMOLTCP_IFACE_ETH);
        return ESP_ERR_INVALID_STATE;
    }
    lock();
    /* Read the stamp clock under the lock so a correction cannot fall between the two reads. */
    *utc_ns = ptp_port_time(&pc.port, local_now_ns(ESP_SMOLTCP_IFACE_ETH));
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
