/*
 * Slave port engine (ptp_port.h): BMC on Announce, state machine, offset and
 * delay measurement, servo.
 */
#include "ptp_port.h"

#include <string.h>

#define NS_PER_S 1000000000LL
#define HOUSEKEEPING_US 100000u /* ptp_port_poll at least this often (timeouts) */

static void set_state(ptp_port_t *p, esp_smoltcp_ptp_state_t s)
{
    p->state = s;
    p->st.state = s;
}

static void id_out(esp_smoltcp_ptp_port_id_t *o, const ptp_port_id_t *i)
{
    memcpy(o->clock_id, i->clock_id, 8);
    o->port = i->port;
}

void ptp_port_init(ptp_port_t *p, const esp_smoltcp_ptp_config_t *cfg, const uint8_t clock_id[8], uint64_t seed)
{
    memset(p, 0, sizeof(*p));
    p->cfg = *cfg;
    memcpy(p->self.clock_id, clock_id, 8);
    p->self.port = 1;
    p->rng = seed | 1;
    ptp_servo_init(&p->servo, cfg->kp, cfg->ki, cfg->max_freq_ppb, cfg->first_step_threshold_ns,
                   cfg->step_threshold_ns);
    p->st.running = true;
    id_out(&p->st.self, &p->self);
    set_state(p, ESP_SMOLTCP_PTP_STATE_LISTENING);
}

int64_t ptp_port_time(const ptp_port_t *p, int64_t local_ns)
{
    return ptp_clock_read(&p->clock, local_ns);
}

/* Master time in UTC: a PTP-timescale master's TAI less its announced UTC offset. */
static int64_t master_utc(const ptp_port_t *p, int64_t ns)
{
    return ns - (int64_t)p->st.utc_offset_s * NS_PER_S;
}

/* Forget the measurement state of the old master (the clock and the drift estimate stay). */
static void reset_measurement(ptp_port_t *p)
{
    p->sync_pending = false;
    p->have_t12 = false;
    p->dreq_sent = false;
    p->dreq_pending = false;
    p->have_delay = false;
    p->delay_count = 0;
    p->delay_next = 0;
    p->locked_samples = 0;
    p->filt_count = 0;
    p->next_dreq_us = 0;
    p->st.mean_path_delay_ns = 0;
    ptp_servo_reset(&p->servo);
}

/* The BMC's outcome: follow the best qualified master, or listen. */
static void select_master(ptp_port_t *p, uint64_t now_us)
{
    int b = ptp_foreign_best(&p->foreign, now_us);
    if (b < 0) {
        if (p->have_parent) {
            p->have_parent = false;
            p->st.have_master = false;
            reset_measurement(p);
        }
        if (p->state != ESP_SMOLTCP_PTP_STATE_LISTENING) {
            set_state(p, ESP_SMOLTCP_PTP_STATE_LISTENING);
        }
        return;
    }
    const ptp_msg_t *a = &p->foreign.fm[b].announce;
    bool same = p->have_parent && ptp_port_id_equal(&p->parent.hdr.source, &a->hdr.source);
    p->parent = *a;
    p->have_parent = true;
    /* Time properties (clause 8.2.4): only a PTP-timescale master with a valid offset is shifted. */
    bool ptp_ts = (a->hdr.flags & PTP_FLAG_PTP_TIMESCALE) && (a->hdr.flags & PTP_FLAG_UTC_OFFSET_VALID);
    p->st.utc_offset_s = ptp_ts ? a->utc_offset : 0;
    p->st.have_master = true;
    id_out(&p->st.master, &a->hdr.source);
    memcpy(p->st.gm_id, a->gm_id, 8);
    p->st.gm_priority1 = a->priority1;
    p->st.gm_priority2 = a->priority2;
    p->st.gm_clock_class = a->quality.clock_class;
    p->st.steps_removed = a->steps_removed;
    if (!same) {
        p->st.counters.master_changes++;
        reset_measurement(p);
        set_state(p, ESP_SMOLTCP_PTP_STATE_UNCALIBRATED);
    }
}

static void on_announce(ptp_port_t *p, const ptp_msg_t *m, uint64_t now_us)
{
    p->st.counters.rx_announce++;
    if (m->steps_removed >= 255 || memcmp(m->gm_id, p->self.clock_id, 8) == 0) {
        p->st.counters.rx_announce_rejected++; /* clause 9.3.2.5: too far, or our own time coming back */
        return;
    }
    if (ptp_foreign_update(&p->foreign, m, now_us) < 0) {
        p->st.counters.rx_announce_rejected++;
        return;
    }
    select_master(p, now_us);
}

static int64_t median_delay(const ptp_port_t *p)
{
    int64_t v[PTP_DELAY_FILTER];
    uint8_t n = p->delay_count;
    memcpy(v, p->delays, sizeof(v));
    for (uint8_t i = 1; i < n; i++) { /* insertion sort of at most 8 */
        int64_t x = v[i];
        int j = i;
        for (; j > 0 && v[j - 1] > x; j--) {
            v[j] = v[j - 1];
        }
        v[j] = x;
    }
    return n % 2 ? v[n / 2] : v[n / 2 - 1] / 2 + v[n / 2] / 2;
}

/* A complete master -> slave pair: t1 (master UTC ns), t2 (local ns). Feeds the servo. */
static void on_pair(ptp_port_t *p, int64_t t1, int64_t t2_local, int8_t log_interval)
{
    p->st.log_sync_interval = log_interval;
    int64_t delay = p->st.mean_path_delay_ns; /* 0 until measured */
    int64_t offset = ptp_clock_read(&p->clock, t2_local) - t1 - delay;
    p->st.counters.samples++;
    /* The filter: keep the least delayed sample of the group (late stamps only ever add). */
    if (p->filt_count == 0 || offset < p->filt_offset) {
        p->filt_offset = offset;
        p->filt_t1 = t1;
        p->filt_t2_local = t2_local;
    }
    if (++p->filt_count < p->cfg.sync_filter) {
        return;
    }
    p->filt_count = 0;
    /*
     * Corrections take effect from the newest stamp (the latest local time
     * known here): re-basing the clock at an older one would move its
     * present reading retroactively.
     */
    int64_t now_local = t2_local;
    offset = p->filt_offset;
    t2_local = p->filt_t2_local;
    /* The Delay_Req's delay sample pairs with this one too: a late Sync would skew the delay as well. */
    p->t1 = p->filt_t1;
    p->t2_local = t2_local;
    p->have_t12 = true;
    for (uint8_t w = p->cfg.sync_filter; w > 1; w >>= 1) {
        log_interval++; /* the servo runs once per group */
    }
    p->st.offset_ns = offset;
    if (!p->have_delay) {
        /*
         * No servo before the first delay measurement: the delay appearing
         * between its first two samples would read as a frequency error.
         */
        return;
    }
    float ppb;
    ptp_servo_state_t s = ptp_servo_sample(&p->servo, offset, t2_local, log_interval, &ppb);
    int32_t freq = (int32_t)(-ppb);
    switch (s) {
    case PTP_SERVO_JUMP:
        ptp_clock_step(&p->clock, now_local, -offset);
        ptp_clock_set_freq(&p->clock, now_local, freq);
        p->clock_set = true;
        p->st.clock_set = true;
        p->st.counters.steps++;
        p->locked_samples = 0;
        break;
    case PTP_SERVO_LOCKED:
        ptp_clock_set_freq(&p->clock, now_local, freq);
        if (!p->clock_set) {
            p->clock_set = true; /* within the first step threshold already: no step needed */
            p->st.clock_set = true;
        }
        p->locked_samples++;
        break;
    case PTP_SERVO_UNLOCKED:
        p->locked_samples = 0;
        if (p->state == ESP_SMOLTCP_PTP_STATE_SLAVE) {
            set_state(p, ESP_SMOLTCP_PTP_STATE_UNCALIBRATED); /* synchronisation fault (clause 9.2.6.12) */
        }
        break;
    }
    p->st.freq_ppb = p->clock.freq_ppb;
    if (p->state == ESP_SMOLTCP_PTP_STATE_UNCALIBRATED && p->locked_samples >= p->cfg.lock_samples) {
        set_state(p, ESP_SMOLTCP_PTP_STATE_SLAVE);
    }
}

static bool from_parent(const ptp_port_t *p, const ptp_msg_t *m)
{
    return p->have_parent && ptp_port_id_equal(&m->hdr.source, &p->parent.hdr.source);
}

static void on_sync(ptp_port_t *p, const ptp_msg_t *m, int64_t rx_local_ns)
{
    p->st.counters.rx_sync++;
    if (!from_parent(p, m)) {
        p->st.counters.rx_not_from_master++;
        return;
    }
    if (rx_local_ns == PTP_NO_STAMP) {
        p->st.counters.rx_no_timestamp++;
        p->sync_pending = false;
        return;
    }
    int64_t corr = ptp_correction_ns(m->hdr.correction);
    if (m->hdr.flags & PTP_FLAG_TWO_STEP) {
        p->sync_pending = true;
        p->sync_seq = m->hdr.seq;
        p->sync_rx_local = rx_local_ns;
        p->sync_corr_ns = corr;
        return;
    }
    p->sync_pending = false;
    on_pair(p, master_utc(p, ptp_ts_to_ns(&m->ts)) + corr, rx_local_ns, m->hdr.log_interval);
}

static void on_follow_up(ptp_port_t *p, const ptp_msg_t *m)
{
    p->st.counters.rx_follow_up++;
    if (!from_parent(p, m)) {
        p->st.counters.rx_not_from_master++;
        return;
    }
    if (!p->sync_pending || m->hdr.seq != p->sync_seq) {
        p->st.counters.rx_unmatched++; /* its Sync was lost, or came from a one-step path */
        return;
    }
    p->sync_pending = false;
    int64_t t1 = master_utc(p, ptp_ts_to_ns(&m->ts)) + p->sync_corr_ns + ptp_correction_ns(m->hdr.correction);
    /* Follow_Up's logMessageInterval is 0x7F in 1588-2008; the Sync's interval is the parent's. */
    int8_t li = m->hdr.log_interval == 0x7F ? p->st.log_sync_interval : m->hdr.log_interval;
    on_pair(p, t1, p->sync_rx_local, li);
}

static void on_delay_resp(ptp_port_t *p, const ptp_msg_t *m)
{
    p->st.counters.rx_delay_resp++;
    if (!from_parent(p, m)) {
        p->st.counters.rx_not_from_master++;
        return;
    }
    if (!ptp_port_id_equal(&m->requesting, &p->self)) {
        return; /* another slave's answer (multicast): not ours, not an error */
    }
    if (!p->dreq_pending || m->hdr.seq != p->dreq_seq) {
        p->st.counters.rx_unmatched++;
        return;
    }
    p->dreq_pending = false;
    if (m->hdr.log_interval != 0x7F) {
        p->st.log_delay_req_interval = m->hdr.log_interval; /* logMinDelayReqInterval (clause 9.5.11.2) */
    }
    int64_t t4 = master_utc(p, ptp_ts_to_ns(&m->ts)) - ptp_correction_ns(m->hdr.correction);
    /* Both directions in one clock each: halves first, so no sum of two stamps can overflow. */
    int64_t ms = ptp_clock_read(&p->clock, p->t2_local_at_dreq) - p->t1_at_dreq;
    int64_t sm = t4 - ptp_clock_read(&p->clock, p->t3_local);
    int64_t d = ms / 2 + sm / 2;
    p->delays[p->delay_next] = d;
    p->delay_next = (uint8_t)((p->delay_next + 1) % PTP_DELAY_FILTER);
    if (p->delay_count < PTP_DELAY_FILTER) {
        p->delay_count++;
    }
    int64_t med = median_delay(p);
    /*
     * Software stamps can make it negative: no negative delay. Above 1 s it
     * is no path but a master's nonsense; the bound also keeps every offset
     * computed from it within int64.
     */
    p->st.mean_path_delay_ns = med < 0 ? 0 : med > NS_PER_S ? NS_PER_S : med;
    p->have_delay = true;
}

void ptp_port_rx(ptp_port_t *p, const uint8_t *msg, size_t len, int64_t rx_local_ns, uint64_t now_us)
{
    ptp_msg_t m;
    ptp_parse_result_t r = ptp_parse(msg, len, &m);
    switch (r) {
    case PTP_PARSE_OK:
        break;
    case PTP_PARSE_BAD_VERSION:
        p->st.counters.rx_bad_version++;
        return;
    case PTP_PARSE_UNSUPPORTED:
        p->st.counters.rx_unsupported++;
        return;
    default:
        p->st.counters.rx_malformed++;
        return;
    }
    if (m.hdr.domain != p->cfg.domain) {
        p->st.counters.rx_wrong_domain++;
        return;
    }
    if (memcmp(m.hdr.source.clock_id, p->self.clock_id, 8) == 0) {
        return; /* our own Delay_Req looped back */
    }
    switch (m.hdr.type) {
    case PTP_MSG_ANNOUNCE:
        on_announce(p, &m, now_us);
        break;
    case PTP_MSG_SYNC:
        on_sync(p, &m, rx_local_ns);
        break;
    case PTP_MSG_FOLLOW_UP:
        on_follow_up(p, &m);
        break;
    case PTP_MSG_DELAY_RESP:
        on_delay_resp(p, &m);
        break;
    default:
        break; /* Delay_Req of other slaves */
    }
}

static uint64_t rand_u64(ptp_port_t *p)
{
    p->rng ^= p->rng << 13;
    p->rng ^= p->rng >> 7;
    p->rng ^= p->rng << 17;
    return p->rng;
}

size_t ptp_port_poll(ptp_port_t *p, uint64_t now_us, int64_t now_local_ns, uint8_t *out, size_t cap,
                     uint64_t *next_us)
{
    *next_us = now_us + HOUSEKEEPING_US;
    int dropped = ptp_foreign_expire(&p->foreign, now_us, p->cfg.announce_receipt_timeout);
    if (dropped) {
        p->st.counters.announce_timeouts += (uint64_t)dropped;
        bool had = p->have_parent;
        select_master(p, now_us);
        if (had && !p->have_parent && p->clock_set) {
            /*
             * Holdover: run on at the servo's integral term, its estimate of
             * the oscillator's error; the proportional part only answered
             * the last offsets.
             */
            ptp_clock_set_freq(&p->clock, now_local_ns, (int32_t)-p->servo.drift);
            p->st.freq_ppb = p->clock.freq_ppb;
        }
    }
    if (!p->have_parent || !p->have_t12) {
        return 0; /* Delay_Req only once a Sync came: the delay needs a master -> slave pair */
    }
    if (now_us < p->next_dreq_us) {
        if (p->next_dreq_us < *next_us) {
            *next_us = p->next_dreq_us;
        }
        return 0;
    }
    /* Clause 9.5.11.2: random spacing, mean 2^logMinDelayReqInterval; here uniform in [0.5, 1.5] of it. */
    uint64_t iv = ptp_interval_us(p->st.log_delay_req_interval);
    p->next_dreq_us = now_us + iv / 2 + rand_u64(p) % (iv + 1);
    size_t n = ptp_build_delay_req(out, cap, p->cfg.domain, &p->self, ++p->dreq_seq);
    if (n) {
        p->dreq_sent = true;
        p->dreq_pending = false;
        p->t1_at_dreq = p->t1;
        p->t2_local_at_dreq = p->t2_local;
    }
    return n;
}

void ptp_port_tx_done(ptp_port_t *p, bool ok, int64_t tx_local_ns)
{
    if (!p->dreq_sent) {
        return;
    }
    p->dreq_sent = false;
    if (!ok) {
        p->st.counters.tx_failures++;
        return;
    }
    p->st.counters.tx_delay_req++;
    p->t3_local = tx_local_ns;
    p->dreq_pending = true;
}
