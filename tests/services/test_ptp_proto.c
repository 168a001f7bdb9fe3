/*
 * PTP's pure parts without a network: message parsing and building (every
 * type, one- and two-step, malformed and truncated input refused with a
 * reason), the dataset comparison and foreign master qualification, the
 * clock and PI servo, and the slave port engine against a simulated master
 * (offset, drift, path delay, jitter): LISTENING -> UNCALIBRATED -> SLAVE,
 * convergence, master loss, a better master, and the rejection counters.
 */
#include <stdlib.h>

#include "ptp_bmc.h"
#include "ptp_msg.h"
#include "ptp_port.h"
#include "ptp_servo.h"
#include "unit_test.h"

#define NS 1000000000LL

static const uint8_t GM_A[8] = {0x5a, 0x5e, 0xe5, 0xff, 0xfe, 0x52, 0xa5, 0x04};
static const uint8_t GM_B[8] = {0x02, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x09};
static const uint8_t SELF[8] = {0x02, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x02};

static ptp_msg_t announce(const uint8_t gm[8], uint8_t p1, uint8_t cls, uint16_t seq)
{
    ptp_msg_t m = {.hdr = {.type = PTP_MSG_ANNOUNCE, .source = {.port = 1}, .seq = seq, .log_interval = -2},
                   .utc_offset = 37, .priority1 = p1, .priority2 = 128,
                   .quality = {.clock_class = cls, .accuracy = 0xFE, .variance = 0xFFFF}, .time_source = 0xA0};
    memcpy(m.hdr.source.clock_id, gm, 8);
    memcpy(m.gm_id, gm, 8);
    return m;
}

static void test_round_trip(void)
{
    uint8_t buf[128];
    ptp_msg_t in = announce(GM_A, 100, 6, 77), out;
    in.hdr.flags = PTP_FLAG_PTP_TIMESCALE | PTP_FLAG_UTC_OFFSET_VALID;
    in.hdr.correction = -123456789;
    in.ts = (ptp_ts_t){.sec = 0x123456789ull, .ns = 999999999};
    CHECK_EQ(ptp_build(buf, sizeof(buf), &in), PTP_ANNOUNCE_LEN);
    CHECK_EQ(ptp_parse(buf, PTP_ANNOUNCE_LEN, &out), PTP_PARSE_OK);
    CHECK_EQ(out.hdr.type, PTP_MSG_ANNOUNCE);
    CHECK_EQ(out.hdr.length, 64);
    CHECK_EQ(out.hdr.correction, -123456789);
    CHECK_EQ(out.hdr.log_interval, -2);
    CHECK_EQ(out.hdr.seq, 77);
    CHECK_EQ(out.hdr.flags, in.hdr.flags);
    CHECK_EQ(out.ts.sec, 0x123456789ull);
    CHECK_EQ(out.ts.ns, 999999999);
    CHECK_EQ(out.utc_offset, 37);
    CHECK_EQ(out.priority1, 100);
    CHECK_EQ(out.quality.clock_class, 6);
    CHECK_EQ(out.quality.variance, 0xFFFF);
    CHECK_MEM(out.gm_id, GM_A, 8);
    CHECK(ptp_port_id_equal(&out.hdr.source, &in.hdr.source));
    /* Byte layout of the header (clause 13.3): type, version, length, domain, flags. */
    CHECK_EQ(buf[0], 0x0B);
    CHECK_EQ(buf[1], 2);
    CHECK_EQ(buf[3], 64);
    CHECK_EQ(buf[7], 0x0C);
    CHECK_EQ(buf[32], 5);

    ptp_msg_t dr = {.hdr = {.type = PTP_MSG_DELAY_RESP, .domain = 3, .seq = 9, .log_interval = -4},
                    .ts = {.sec = 5, .ns = 6}, .requesting = {.clock_id = {1, 2, 3, 4, 5, 6, 7, 8}, .port = 1}};
    CHECK_EQ(ptp_build(buf, sizeof(buf), &dr), PTP_DELAY_RESP_LEN);
    CHECK_EQ(ptp_parse(buf, PTP_DELAY_RESP_LEN, &out), PTP_PARSE_OK);
    CHECK(ptp_port_id_equal(&out.requesting, &dr.requesting));
    CHECK_EQ(out.hdr.domain, 3);

    ptp_msg_t sy = {.hdr = {.type = PTP_MSG_SYNC, .flags = PTP_FLAG_TWO_STEP}, .ts = {.sec = 1, .ns = 2}};
    CHECK_EQ(ptp_build(buf, sizeof(buf), &sy), PTP_SYNC_LEN);
    CHECK_EQ(buf[6], 0x02); /* twoStepFlag is octet 0 bit 1 */
    CHECK_EQ(ptp_parse(buf, PTP_SYNC_LEN, &out), PTP_PARSE_OK);
    CHECK(out.hdr.flags & PTP_FLAG_TWO_STEP);

    ptp_port_id_t self = {.port = 1};
    memcpy(self.clock_id, SELF, 8);
    CHECK_EQ(ptp_build_delay_req(buf, sizeof(buf), 0, &self, 42), PTP_DELAY_REQ_LEN);
    CHECK_EQ(ptp_parse(buf, PTP_DELAY_REQ_LEN, &out), PTP_PARSE_OK);
    CHECK_EQ(out.hdr.type, PTP_MSG_DELAY_REQ);
    CHECK_EQ(out.hdr.seq, 42);
    CHECK_EQ(buf[32], 1);
    CHECK_EQ(ptp_build_delay_req(buf, 43, 0, &self, 42), 0); /* too small: nothing written */

    /* Longer messages (TLVs, 1588-2019 minorVersion 1) parse; the tail is ignored. */
    CHECK_EQ(ptp_build(buf, sizeof(buf), &sy), PTP_SYNC_LEN);
    buf[1] = 0x12;
    buf[3] = 60;
    CHECK_EQ(ptp_parse(buf, 60, &out), PTP_PARSE_OK);

    uint8_t mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
    uint8_t id[8];
    ptp_clock_id_from_mac(mac, id);
    CHECK_MEM(id, SELF, 8);
    ptp_ts_t t = ptp_ts_from_ns(1700000000LL * NS + 5);
    CHECK_EQ(ptp_ts_to_ns(&t), 1700000000LL * NS + 5);
    CHECK_EQ(ptp_correction_ns(-65536 * 3), -3);
}

static void test_malformed(void)
{
    uint8_t buf[128];
    ptp_msg_t m, out;
    const uint8_t types[] = {PTP_MSG_SYNC, PTP_MSG_FOLLOW_UP, PTP_MSG_DELAY_RESP, PTP_MSG_ANNOUNCE, PTP_MSG_DELAY_REQ};
    for (size_t k = 0; k < sizeof(types); k++) {
        m = announce(GM_A, 1, 1, 1);
        m.hdr.type = types[k];
        size_t n = ptp_build(buf, sizeof(buf), &m);
        CHECK(n >= PTP_SYNC_LEN);
        /* Every truncation is refused, and parsing reads nothing past len (ASan build checks). */
        for (size_t len = 0; len < n; len++) {
            uint8_t *copy = malloc(len ? len : 1);
            memcpy(copy, buf, len);
            ptp_parse_result_t r = ptp_parse(len ? copy : NULL, len, &out);
            if (r != PTP_PARSE_TRUNCATED) {
                FAILF("type %u len %zu: %s", types[k], len, ptp_parse_result_name(r));
            }
            free(copy);
        }
        /* messageLength shorter than the type's body. */
        buf[2] = 0;
        buf[3] = (uint8_t)(n - 1);
        CHECK_EQ(ptp_parse(buf, n, &out), PTP_PARSE_BAD_LENGTH);
        buf[3] = (uint8_t)n;
    }
    m = (ptp_msg_t){.hdr = {.type = PTP_MSG_SYNC}};
    size_t n = ptp_build(buf, sizeof(buf), &m);
    buf[1] = 1; /* PTPv1 */
    CHECK_EQ(ptp_parse(buf, n, &out), PTP_PARSE_BAD_VERSION);
    buf[1] = 2;
    buf[PTP_HDR_LEN + 6] = 0x3B; /* ns = 0x3B9ACA00 = 1e9 */
    buf[PTP_HDR_LEN + 7] = 0x9A;
    buf[PTP_HDR_LEN + 8] = 0xCA;
    CHECK_EQ(ptp_parse(buf, n, &out), PTP_PARSE_BAD_TIMESTAMP);
    memset(buf + PTP_HDR_LEN, 0, 10);
    buf[PTP_HDR_LEN + 1] = 0x02; /* seconds 2^33: past PTP_TS_MAX_SEC */
    CHECK_EQ(ptp_parse(buf, n, &out), PTP_PARSE_BAD_TIMESTAMP);
    buf[PTP_HDR_LEN + 1] = 0;
    buf[3] = 200; /* claims more than the frame holds */
    CHECK_EQ(ptp_parse(buf, n, &out), PTP_PARSE_TRUNCATED);
    buf[3] = (uint8_t)n;
    for (uint8_t t = 0; t < 16; t++) {
        if (t == 0 || t == 1 || t == 8 || t == 9 || t == 0xB) {
            continue;
        }
        buf[0] = t;
        if (ptp_parse(buf, n, &out) != PTP_PARSE_UNSUPPORTED) {
            FAILF("type %u accepted", t);
        }
    }
    /* Random bytes never crash and are never accepted with a bad version. */
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 20000; i++) {
        size_t len = (size_t)(x % 80);
        for (size_t j = 0; j < sizeof(buf); j++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[j] = (uint8_t)x;
        }
        if (i % 2) {
            buf[1] = 2;
        }
        uint8_t *copy = malloc(len ? len : 1);
        memcpy(copy, buf, len);
        ptp_parse_result_t r = ptp_parse(copy, len, &out);
        if (r == PTP_PARSE_OK && (out.hdr.version != 2 || out.hdr.length > len || out.ts.ns >= NS)) {
            FAILF("bad message accepted");
        }
        free(copy);
    }
    CHECK(true);
}

static void test_bmc(void)
{
    ptp_msg_t a = announce(GM_A, 128, 248, 0), b = announce(GM_B, 128, 248, 0);
    /* Every field decides in its order; the identity only breaks a tie. */
    CHECK(ptp_bmc_compare(&a, &b) > 0); /* GM_B's identity is lower */
    a.priority1 = 127;
    CHECK(ptp_bmc_compare(&a, &b) < 0);
    a.priority1 = 128;
    a.quality.clock_class = 6;
    CHECK(ptp_bmc_compare(&a, &b) < 0);
    b.quality.clock_class = 6;
    b.quality.accuracy = 0x21;
    CHECK(ptp_bmc_compare(&a, &b) > 0);
    a.quality.accuracy = 0x21;
    a.quality.variance = 0x4000;
    CHECK(ptp_bmc_compare(&a, &b) < 0);
    b.quality.variance = 0x4000;
    b.priority2 = 10;
    CHECK(ptp_bmc_compare(&a, &b) > 0);
    b.priority1 = 129; /* priority1 outranks all of the above */
    CHECK(ptp_bmc_compare(&a, &b) < 0);
    /* One grandmaster, two paths: fewer steps, then the sender. */
    ptp_msg_t c = a, d = a;
    d.steps_removed = 1;
    CHECK(ptp_bmc_compare(&c, &d) < 0);
    d.steps_removed = 0;
    d.hdr.source.port = 2;
    CHECK(ptp_bmc_compare(&c, &d) < 0);
    CHECK_EQ(ptp_bmc_compare(&c, &c), 0);

    ptp_foreign_table_t t = {0};
    uint64_t iv = ptp_interval_us(-2);
    CHECK_EQ(iv, 250000);
    CHECK_EQ(ptp_foreign_update(&t, &a, 1000000), 0);
    CHECK_EQ(ptp_foreign_best(&t, 1000000), -1); /* one Announce: not qualified yet */
    CHECK_EQ(ptp_foreign_update(&t, &a, 1000000 + iv), 0);
    CHECK_EQ(ptp_foreign_best(&t, 1000000 + iv), 0);
    CHECK(!ptp_foreign_qualified(&t.fm[0], 1000000 + 6 * iv)); /* the window has passed */
    CHECK_EQ(ptp_foreign_expire(&t, 1000000 + 3 * iv, 3), 0);
    CHECK_EQ(ptp_foreign_expire(&t, 1000000 + 5 * iv, 3), 1);
    CHECK_EQ(ptp_foreign_best(&t, 1000000 + 5 * iv), -1);
    for (int i = 0; i < PTP_FOREIGN_MAX; i++) {
        ptp_msg_t m = announce(GM_A, 1, 1, 0);
        m.hdr.source.port = (uint16_t)(i + 1);
        CHECK_EQ(ptp_foreign_update(&t, &m, 0), i);
    }
    ptp_msg_t extra = announce(GM_B, 1, 1, 0);
    CHECK_EQ(ptp_foreign_update(&t, &extra, 0), -1);
}

static void test_clock_servo(void)
{
    ptp_clock_t c = {0};
    CHECK_EQ(ptp_clock_read(&c, 5 * NS), 5 * NS);
    ptp_clock_step(&c, 5 * NS, 1000 * NS);
    CHECK_EQ(ptp_clock_read(&c, 6 * NS), 1006 * NS);
    ptp_clock_set_freq(&c, 6 * NS, 100000); /* +100 ppm */
    CHECK_EQ(ptp_clock_read(&c, 6 * NS), 1006 * NS);
    CHECK_EQ(ptp_clock_read(&c, 16 * NS), 1016 * NS + 1000000);
    ptp_clock_set_freq(&c, 16 * NS, -50000);
    CHECK_EQ(ptp_clock_read(&c, 16 * NS), 1016 * NS + 1000000); /* continuous */
    CHECK_EQ(ptp_clock_read(&c, 26 * NS), 1026 * NS + 500000);
    /* Long holdover without overflow: 100 days at 500 ppm. */
    ptp_clock_set_freq(&c, 26 * NS, 500000);
    int64_t later = ptp_clock_read(&c, 26 * NS + 8640000LL * NS);
    CHECK_EQ(later - ptp_clock_read(&c, 26 * NS), 8640000LL * NS + 8640000LL * NS / 2000);

    /* The servo against a local clock running 40 ppm fast, 3 ms off, at 8 samples/s. */
    ptp_servo_t s;
    ptp_servo_init(&s, 0, 0, 500000, 20000, 1000000);
    ptp_clock_t lc = {0};
    int64_t master = 1700000000LL * NS;
    int steps = 0;
    int64_t off = 0;
    for (int i = 0; i < 400; i++) {
        int64_t local = master + master / 25000 + 3000000; /* local oscillator: +40 ppm, +3 ms */
        off = ptp_clock_read(&lc, local) - master;
        float ppb;
        ptp_servo_state_t st = ptp_servo_sample(&s, off, local, -3, &ppb);
        if (st == PTP_SERVO_JUMP) {
            ptp_clock_step(&lc, local, -off);
            steps++;
        }
        if (st != PTP_SERVO_UNLOCKED) {
            ptp_clock_set_freq(&lc, local, (int32_t)-ppb);
        }
        master += NS / 8;
    }
    CHECK_EQ(steps, 1);
    CHECK(llabs(off) < 100);
    CHECK(llabs(lc.freq_ppb + 39998) < 50); /* slowed by the oscillator's error: 40 ppm / 1.00004 */
    /* A jump beyond the step threshold unlocks; two samples later it steps again. */
    float ppb;
    int64_t local = master + master / 25000 + 3000000;
    CHECK_EQ(ptp_servo_sample(&s, 5000000, local, -3, &ppb), PTP_SERVO_UNLOCKED);
    CHECK_EQ(ptp_servo_sample(&s, 5000000, local + NS / 8, -3, &ppb), PTP_SERVO_UNLOCKED);
    CHECK_EQ(ptp_servo_sample(&s, 5000000, local + NS / 4, -3, &ppb), PTP_SERVO_JUMP);
}

/* ---- the port engine against a simulated master ----------------------------------- */

typedef struct {
    uint8_t gm[8];
    uint8_t priority1;
    bool two_step, ptp_timescale;
    uint16_t seq;
    bool on;
} sim_master_t;

typedef struct {
    ptp_port_t port;
    int64_t t;          /* true (master) time, ns; TAI when ptp_timescale */
    int64_t t0;         /* at the start */
    int64_t drift_ppb;  /* local oscillator error */
    int64_t local0;
    int64_t delay;      /* one-way path delay */
    int64_t jitter;     /* +- on each stamp */
    int64_t spike;      /* every third Sync is received this much late (a busy RX task) */
    unsigned rx_count;
    uint64_t x;
    uint8_t domain;
    int changes;
    esp_smoltcp_ptp_state_t seen[16];
} sim_t;

static int64_t sim_local(sim_t *s, int64_t t)
{
    int64_t e = t - s->t0; /* drift accumulates from the start (no overflow) */
    return s->local0 + t + e / 1000 * s->drift_ppb / 1000000;
}

static int64_t sim_jit(sim_t *s)
{
    s->x ^= s->x << 13;
    s->x ^= s->x >> 7;
    s->x ^= s->x << 17;
    return s->jitter ? (int64_t)(s->x % (uint64_t)(2 * s->jitter + 1)) - s->jitter : 0;
}

static void sim_rx(sim_t *s, const uint8_t *buf, size_t n, int64_t at)
{
    esp_smoltcp_ptp_state_t before = s->port.state;
    int64_t l = sim_local(s, at);
    ptp_port_rx(&s->port, buf, n, l + sim_jit(s), (uint64_t)(l / 1000));
    if (s->port.state != before && s->changes < 16) {
        s->seen[s->changes++] = s->port.state;
    }
}

static void sim_master_send(sim_t *s, sim_master_t *m, uint8_t type)
{
    uint8_t buf[128];
    ptp_msg_t msg = {.hdr = {.type = type, .domain = s->domain, .seq = m->seq, .log_interval = -4, .source = {.port = 1}}};
    memcpy(msg.hdr.source.clock_id, m->gm, 8);
    if (type == PTP_MSG_ANNOUNCE) {
        msg = announce(m->gm, m->priority1, 248, m->seq);
        msg.hdr.domain = s->domain;
        if (m->ptp_timescale) {
            msg.hdr.flags = PTP_FLAG_PTP_TIMESCALE | PTP_FLAG_UTC_OFFSET_VALID;
        }
    } else if (type == PTP_MSG_SYNC) {
        msg.hdr.flags = m->two_step ? PTP_FLAG_TWO_STEP : 0;
        /* one-step: the origin has whole microseconds, the rest in correctionField */
        int64_t t = s->t;
        msg.ts = ptp_ts_from_ns(m->two_step ? 0 : t - t % 1000);
        msg.hdr.correction = m->two_step ? 0 : (t % 1000) * 65536;
    } else if (type == PTP_MSG_FOLLOW_UP) {
        msg.ts = ptp_ts_from_ns(s->t);
        msg.hdr.log_interval = 0x7F;
    }
    size_t n = ptp_build(buf, sizeof(buf), &msg);
    int64_t late = type == PTP_MSG_SYNC && s->rx_count++ % 3 == 0 ? s->spike : 0;
    sim_rx(s, buf, n, s->t + s->delay + late);
}

/* Run for sec seconds: Sync every 1/16 s, Announce every 1/4 s from each master that is on. */
static void sim_run(sim_t *s, sim_master_t *ms, int nm, double sec)
{
    int ticks = (int)(sec * 16);
    for (int k = 0; k < ticks; k++) {
        for (int i = 0; i < nm; i++) {
            sim_master_t *m = &ms[i];
            if (!m->on) {
                continue;
            }
            if (m->seq % 4 == 0) {
                sim_master_send(s, m, PTP_MSG_ANNOUNCE);
            }
            sim_master_send(s, m, PTP_MSG_SYNC);
            if (m->two_step) {
                sim_master_send(s, m, PTP_MSG_FOLLOW_UP);
            }
            m->seq++;
        }
        /* Timers, and a Delay_Req answered by the master that is the parent. */
        uint8_t req[64];
        uint64_t next;
        int64_t l = sim_local(s, s->t + NS / 32);
        esp_smoltcp_ptp_state_t before = s->port.state;
        size_t n = ptp_port_poll(&s->port, (uint64_t)(l / 1000), l, req, sizeof(req), &next);
        if (s->port.state != before && s->changes < 16) {
            s->seen[s->changes++] = s->port.state;
        }
        if (n) {
            int64_t t3 = s->t + NS / 32;
            ptp_port_tx_done(&s->port, true, sim_local(s, t3) + sim_jit(s));
            ptp_msg_t rq;
            CHECK_EQ(ptp_parse(req, n, &rq), PTP_PARSE_OK);
            for (int i = 0; i < nm; i++) {
                if (ms[i].on && s->port.have_parent && memcmp(s->port.parent.gm_id, ms[i].gm, 8) == 0) {
                    ptp_msg_t resp = {.hdr = {.type = PTP_MSG_DELAY_RESP, .domain = s->domain, .seq = rq.hdr.seq,
                                              .log_interval = -4, .source = {.port = 1}},
                                      .ts = ptp_ts_from_ns(t3 + s->delay), .requesting = rq.hdr.source};
                    memcpy(resp.hdr.source.clock_id, ms[i].gm, 8);
                    uint8_t buf[64];
                    size_t rn = ptp_build(buf, sizeof(buf), &resp);
                    sim_rx(s, buf, rn, t3 + 2 * s->delay);
                }
            }
        }
        s->t += NS / 16;
    }
}

static void sim_init_filter(sim_t *s, int64_t drift_ppb, int64_t delay, int64_t jitter, uint8_t filter)
{
    memset(s, 0, sizeof(*s));
    esp_smoltcp_ptp_config_t cfg = ESP_SMOLTCP_PTP_DEFAULT_CONFIG();
    cfg.sync_filter = filter;
    ptp_port_init(&s->port, &cfg, SELF, 1);
    s->t = 1800000000LL * NS;
    s->t0 = s->t;
    s->local0 = -s->t + 12345 * NS; /* the local clock is the monotonic time since boot */
    s->drift_ppb = drift_ppb;
    s->delay = delay;
    s->jitter = jitter;
    s->x = 0x1234567;
}

static void sim_init(sim_t *s, int64_t drift_ppb, int64_t delay, int64_t jitter)
{
    sim_init_filter(s, drift_ppb, delay, jitter, 4);
}

/* Our clock minus the master's, now. */
static int64_t sim_error(sim_t *s, bool tai)
{
    return ptp_port_time(&s->port, sim_local(s, s->t)) - (s->t - (tai ? 37 * NS : 0));
}

static void test_port_two_step(void)
{
    sim_t s;
    sim_init(&s, 30000, 40000, 2000); /* +30 ppm, 40 us each way, +-2 us stamps */
    sim_master_t m = {.priority1 = 128, .two_step = true, .on = true};
    memcpy(m.gm, GM_A, 8);
    CHECK_EQ(s.port.state, ESP_SMOLTCP_PTP_STATE_LISTENING);
    sim_run(&s, &m, 1, 20);
    CHECK_EQ(s.port.state, ESP_SMOLTCP_PTP_STATE_SLAVE);
    CHECK(s.changes >= 2 && s.seen[0] == ESP_SMOLTCP_PTP_STATE_UNCALIBRATED && s.seen[1] == ESP_SMOLTCP_PTP_STATE_SLAVE);
    int64_t err = sim_error(&s, false);
    printf("  two-step: error %lld ns, delay %lld ns, freq %d ppb, offset %lld ns\n", (long long)err,
           (long long)s.port.st.mean_path_delay_ns, (int)s.port.st.freq_ppb, (long long)s.port.st.offset_ns);
    CHECK(llabs(err) < 5000);
    CHECK(llabs(s.port.st.mean_path_delay_ns - 40000) < 3000);
    CHECK(llabs(s.port.st.freq_ppb + 30000) < 2000);
    CHECK_EQ(s.port.st.counters.steps, 1);
    CHECK(s.port.st.counters.tx_delay_req > 100);
    CHECK_EQ(s.port.st.counters.rx_unmatched, 0);
    /* Syncs and Follow_Ups before the second Announce qualified the master (4 + 4), none after. */
    CHECK_EQ(s.port.st.counters.rx_not_from_master, 8);
    CHECK_EQ(s.port.st.log_delay_req_interval, -4);
    CHECK_MEM(s.port.st.gm_id, GM_A, 8);

    /* Master loss: silent for 3 announce intervals (0.75 s) -> LISTENING; the clock keeps its rate. */
    m.on = false;
    sim_run(&s, &m, 1, 0.5);
    CHECK_EQ(s.port.state, ESP_SMOLTCP_PTP_STATE_SLAVE);
    sim_run(&s, &m, 1, 0.5);
    CHECK_EQ(s.port.state, ESP_SMOLTCP_PTP_STATE_LISTENING);
    CHECK_EQ(s.port.st.counters.announce_timeouts, 1);
    CHECK(!s.port.st.have_master);
    sim_run(&s, &m, 1, 10);
    int64_t hold = sim_error(&s, false);
    printf("  holdover: error %lld ns after 10 s\n", (long long)hold);
    CHECK(llabs(hold) < 20000); /* 10 s at the learnt rate (the integral term): < 2 ppm off */
}

static void test_port_one_step_tai_and_better_master(void)
{
    sim_t s;
    sim_init(&s, -80000, 10000, 0);
    sim_master_t ms[2] = {{.priority1 = 128, .two_step = false, .ptp_timescale = true, .on = true},
                          {.priority1 = 100, .two_step = true, .ptp_timescale = true, .on = false}};
    memcpy(ms[0].gm, GM_A, 8);
    memcpy(ms[1].gm, GM_B, 8);
    sim_run(&s, ms, 2, 15);
    CHECK_EQ(s.port.state, ESP_SMOLTCP_PTP_STATE_SLAVE);
    CHECK_EQ(s.port.st.utc_offset_s, 37);
    int64_t err = sim_error(&s, true);
    printf("  one-step, TAI master: error %lld ns, delay %lld ns\n", (long long)err,
           (long long)s.port.st.mean_path_delay_ns);
    CHECK(llabs(err) < 1000);
    CHECK(llabs(s.port.st.mean_path_delay_ns - 10000) < 500);
    /* A better master (priority1 100) appears: selected after its second Announce. */
    ms[1].on = true;
    sim_run(&s, ms, 2, 0.2);
    CHECK_MEM(s.port.st.gm_id, GM_A, 8); /* not qualified yet */
    sim_run(&s, ms, 2, 0.5);
    CHECK_MEM(s.port.st.gm_id, GM_B, 8);
    CHECK_EQ(s.port.st.counters.master_changes, 2);
    CHECK(s.port.st.counters.rx_not_from_master > 0); /* GM_A's Syncs now */
    sim_run(&s, ms, 2, 10);
    CHECK_EQ(s.port.state, ESP_SMOLTCP_PTP_STATE_SLAVE);
    CHECK(llabs(sim_error(&s, true)) < 1000);
    /* The better master leaves: back to the first after the receipt timeout. */
    ms[1].on = false;
    sim_run(&s, ms, 2, 1.5);
    CHECK_MEM(s.port.st.gm_id, GM_A, 8);
    sim_run(&s, ms, 2, 10);
    CHECK_EQ(s.port.state, ESP_SMOLTCP_PTP_STATE_SLAVE);
}

/* Late RX stamps (every third Sync 300 us late): the filter keeps the clock on the punctual ones. */
static void test_port_sync_filter(void)
{
    int64_t worst[2] = {0, 0};
    const uint8_t filters[2] = {1, 4};
    for (int k = 0; k < 2; k++) {
        sim_t s;
        sim_init_filter(&s, 20000, 30000, 0, filters[k]);
        s.spike = 300000;
        sim_master_t m = {.priority1 = 128, .two_step = true, .on = true};
        memcpy(m.gm, GM_A, 8);
        sim_run(&s, &m, 1, 20);
        CHECK_EQ(s.port.state, ESP_SMOLTCP_PTP_STATE_SLAVE);
        for (int i = 0; i < 40; i++) {
            sim_run(&s, &m, 1, 0.25);
            int64_t e = llabs(sim_error(&s, false));
            worst[k] = e > worst[k] ? e : worst[k];
        }
    }
    printf("  late spikes: worst error %lld ns unfiltered, %lld ns with the filter of 4\n", (long long)worst[0],
           (long long)worst[1]);
    CHECK(worst[1] < 2000);
    CHECK(worst[0] > 10 * worst[1]);
}

static void test_port_rejections(void)
{
    sim_t s;
    sim_init(&s, 0, 1000, 0);
    uint8_t buf[128];
    ptp_msg_t m = announce(GM_A, 128, 248, 0);
    m.hdr.domain = 4;
    size_t n = ptp_build(buf, sizeof(buf), &m);
    sim_rx(&s, buf, n, s.t);
    CHECK_EQ(s.port.st.counters.rx_wrong_domain, 1);
    sim_rx(&s, buf, 20, s.t);
    CHECK_EQ(s.port.st.counters.rx_malformed, 1);
    buf[1] = 1;
    sim_rx(&s, buf, n, s.t);
    CHECK_EQ(s.port.st.counters.rx_bad_version, 1);
    buf[1] = 2;
    buf[0] = PTP_MSG_PDELAY_REQ;
    sim_rx(&s, buf, n, s.t);
    CHECK_EQ(s.port.st.counters.rx_unsupported, 1);
    m.hdr.domain = 0;
    m.steps_removed = 255;
    n = ptp_build(buf, sizeof(buf), &m);
    sim_rx(&s, buf, n, s.t);
    CHECK_EQ(s.port.st.counters.rx_announce_rejected, 1);
    /* Sync before any master: not from the master. A Follow_Up without its Sync: unmatched. */
    ptp_msg_t sy = {.hdr = {.type = PTP_MSG_SYNC, .source = {.port = 1}}};
    memcpy(sy.hdr.source.clock_id, GM_A, 8);
    n = ptp_build(buf, sizeof(buf), &sy);
    sim_rx(&s, buf, n, s.t);
    CHECK_EQ(s.port.st.counters.rx_not_from_master, 1);
    sim_master_t ma = {.priority1 = 128, .two_step = true, .on = true};
    memcpy(ma.gm, GM_A, 8);
    sim_run(&s, &ma, 1, 1);
    CHECK(s.port.st.have_master);
    ma.seq = 999;
    sim_master_send(&s, &ma, PTP_MSG_FOLLOW_UP);
    CHECK_EQ(s.port.st.counters.rx_unmatched, 1);
    /* A Delay_Resp for another slave is ignored; one for us with a stale sequence is unmatched. */
    ptp_msg_t dr = {.hdr = {.type = PTP_MSG_DELAY_RESP, .seq = 60000, .source = sy.hdr.source},
                    .requesting = {.clock_id = {9, 9, 9, 9, 9, 9, 9, 9}, .port = 1}};
    n = ptp_build(buf, sizeof(buf), &dr);
    sim_rx(&s, buf, n, s.t);
    CHECK_EQ(s.port.st.counters.rx_unmatched, 1);
    memcpy(dr.requesting.clock_id, SELF, 8);
    n = ptp_build(buf, sizeof(buf), &dr);
    sim_rx(&s, buf, n, s.t);
    CHECK_EQ(s.port.st.counters.rx_unmatched, 2);
    /* Garbage in every length never moves the state machine. */
    for (size_t len = 0; len < 70; len++) {
        memset(buf, 0xFF, sizeof(buf));
        sim_rx(&s, buf, len, s.t);
    }
    CHECK(s.port.state == ESP_SMOLTCP_PTP_STATE_UNCALIBRATED || s.port.state == ESP_SMOLTCP_PTP_STATE_SLAVE);
}

/* The selected master sending extreme values (any seconds, any correction): no overflow, no crash (UBSan build). */
static void test_port_hostile_master(void)
{
    sim_t s;
    sim_init(&s, 0, 1000, 0);
    sim_master_t m = {.priority1 = 128, .two_step = true, .on = true};
    memcpy(m.gm, GM_A, 8);
    sim_run(&s, &m, 1, 5);
    CHECK_EQ(s.port.state, ESP_SMOLTCP_PTP_STATE_SLAVE);
    uint64_t x = 42;
    uint8_t buf[128];
    const uint8_t types[] = {PTP_MSG_SYNC, PTP_MSG_FOLLOW_UP, PTP_MSG_DELAY_RESP};
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ptp_msg_t msg = {.hdr = {.type = types[x % 3], .seq = (uint16_t)(x >> 8), .source = {.port = 1},
                                 .flags = (x & 8) ? PTP_FLAG_TWO_STEP : 0, .correction = (int64_t)(x * 0x9E3779B97F4A7C15ull)},
                         .ts = {.sec = (x >> 16) % (PTP_TS_MAX_SEC + 1), .ns = (uint32_t)(x % 1000000000u)},
                         .requesting = s.port.self};
        memcpy(msg.hdr.source.clock_id, GM_A, 8);
        if (x & 16) {
            msg.hdr.seq = msg.hdr.type == PTP_MSG_DELAY_RESP ? s.port.dreq_seq : s.port.sync_seq;
        }
        size_t n = ptp_build(buf, sizeof(buf), &msg);
        sim_rx(&s, buf, n, s.t);
        if (i % 50 == 0) {
            sim_run(&s, &m, 1, 0.0625); /* timers, Delay_Req, a good Sync now and then */
        }
    }
    CHECK(s.port.st.mean_path_delay_ns >= 0 && s.port.st.mean_path_delay_ns <= NS);
    CHECK(s.port.have_parent);
}

/* The API before anything runs: argument checks, DISABLED, no clock. */
static void test_api_without_stack(void)
{
    esp_smoltcp_ptp_status_t st;
    CHECK_EQ(esp_smoltcp_ptp_get_status(&st), ESP_OK);
    CHECK_EQ(st.state, ESP_SMOLTCP_PTP_STATE_DISABLED);
    CHECK(!st.running);
    CHECK_EQ(esp_smoltcp_ptp_get_status(NULL), ESP_ERR_INVALID_ARG);
    int64_t t;
    CHECK_EQ(esp_smoltcp_ptp_get_time(&t), ESP_ERR_INVALID_STATE);
    CHECK_EQ(esp_smoltcp_ptp_get_time(NULL), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_smoltcp_ptp_deinit(), ESP_ERR_INVALID_STATE);
    CHECK_EQ(esp_smoltcp_ptp_init(NULL), ESP_ERR_INVALID_ARG);
    esp_smoltcp_ptp_config_t c = ESP_SMOLTCP_PTP_DEFAULT_CONFIG();
    c.sync_filter = 3;
    CHECK_EQ(esp_smoltcp_ptp_init(&c), ESP_ERR_INVALID_ARG);
    c = (esp_smoltcp_ptp_config_t)ESP_SMOLTCP_PTP_DEFAULT_CONFIG();
    c.announce_receipt_timeout = 1;
    CHECK_EQ(esp_smoltcp_ptp_init(&c), ESP_ERR_INVALID_ARG);
    c = (esp_smoltcp_ptp_config_t)ESP_SMOLTCP_PTP_DEFAULT_CONFIG();
    c.transport = (esp_smoltcp_ptp_transport_t)7;
    CHECK_EQ(esp_smoltcp_ptp_init(&c), ESP_ERR_INVALID_ARG);
    c = (esp_smoltcp_ptp_config_t)ESP_SMOLTCP_PTP_DEFAULT_CONFIG();
    c.lock_samples = 0;
    CHECK_EQ(esp_smoltcp_ptp_init(&c), ESP_ERR_INVALID_ARG);
    c = (esp_smoltcp_ptp_config_t)ESP_SMOLTCP_PTP_DEFAULT_CONFIG();
    CHECK_EQ(esp_smoltcp_ptp_init(&c), ESP_ERR_INVALID_STATE); /* no stack, no interface: no MAC */
    CHECK_EQ(esp_smoltcp_ptp_get_status(&st), ESP_OK);
    CHECK_EQ(st.state, ESP_SMOLTCP_PTP_STATE_DISABLED);
    CHECK(strcmp(esp_smoltcp_ptp_state_name(ESP_SMOLTCP_PTP_STATE_SLAVE), "SLAVE") == 0);
    CHECK(strcmp(esp_smoltcp_ptp_state_name((esp_smoltcp_ptp_state_t)99), "UNKNOWN") == 0);
}

int main(void)
{
    RUN(test_round_trip);
    RUN(test_malformed);
    RUN(test_bmc);
    RUN(test_clock_servo);
    RUN(test_port_two_step);
    RUN(test_port_one_step_tai_and_better_master);
    RUN(test_port_sync_filter);
    RUN(test_port_rejections);
    RUN(test_port_hostile_master);
    RUN(test_api_without_stack);
    return UNIT_TEST_END();
}
