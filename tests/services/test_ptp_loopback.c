/*
 * The PTP task end to end in one process, no root: the runtime on a null
 * netdev, a master thread injecting Announce/Sync/Follow_Up frames (0x88F7)
 * stamped with this host's CLOCK_REALTIME, and answering the Delay_Reqs the
 * stack transmits. Checks the state sequence through the callback, the
 * clock against CLOCK_REALTIME, master loss, deinit/init, and the Delay_Req
 * frame on the wire (destination, EtherType, source, clockIdentity).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "esp_smoltcp.h"
#include "esp_smoltcp_netdev.h"
#include "esp_smoltcp_ptp.h"
#include "ptp_msg.h"
#include "test_netdev.h"
#include "unit_test.h"

#define NS 1000000000LL

static const uint8_t dev_mac[6] = {0x02, 0, 0, 0x12, 0x34, 0x58};
static const uint8_t gm_mac[6] = {0x02, 0, 0, 0, 0, 0x77};
static const uint8_t gm_id[8] = {0x02, 0, 0, 0xff, 0xfe, 0, 0, 0x77};

static int64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

/* ---- the wire: Delay_Reqs the stack sends -------------------------------------- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static bool dreq_waiting;
static ptp_msg_t dreq;
static int64_t dreq_t4;
static uint8_t dreq_frame[64];
static atomic_int dreq_count, bad_frames;

/* Observer of the test netdev: every frame the stack transmits. */
static void see_tx(const uint8_t *f, size_t n)
{
    int64_t t4 = realtime_ns(); /* the master's receive time: no wire delay here */
    if (n < 14 || f[12] != 0x88 || f[13] != 0xF7) {
        return; /* the engine's own frames (none expected on a static address) */
    }
    ptp_msg_t m;
    if (ptp_parse(f + 14, n - 14, &m) != PTP_PARSE_OK || m.hdr.type != PTP_MSG_DELAY_REQ) {
        atomic_fetch_add(&bad_frames, 1);
        return;
    }
    pthread_mutex_lock(&mu);
    dreq = m;
    dreq_t4 = t4;
    dreq_waiting = true;
    memcpy(dreq_frame, f, n < sizeof(dreq_frame) ? n : sizeof(dreq_frame));
    pthread_mutex_unlock(&mu);
    atomic_fetch_add(&dreq_count, 1);
}

/* ---- the master ------------------------------------------------------------------ */

static atomic_bool master_on, master_quit;

static void send_msg(const ptp_msg_t *m)
{
    size_t size;
    uint8_t *b = esp_smoltcp_rx_buffer_alloc(&size);
    if (!b) {
        return;
    }
    static const uint8_t dst[6] = {0x01, 0x1B, 0x19, 0, 0, 0};
    memcpy(b, dst, 6);
    memcpy(b + 6, gm_mac, 6);
    b[12] = 0x88;
    b[13] = 0xF7;
    size_t n = ptp_build(b + 14, size - 14, m);
    esp_smoltcp_netdev_input_pool(b, 14 + n);
}

static void *master(void *arg)
{
    (void)arg;
    uint16_t seq = 0, aseq = 0;
    while (!atomic_load(&master_quit)) {
        if (atomic_load(&master_on)) {
            ptp_msg_t m = {.hdr = {.source = {.port = 1}, .log_interval = -4}};
            memcpy(m.hdr.source.clock_id, gm_id, 8);
            if (seq % 4 == 0) {
                ptp_msg_t a = m;
                a.hdr.type = PTP_MSG_ANNOUNCE;
                a.hdr.seq = aseq++;
                a.hdr.log_interval = -2;
                a.priority1 = 128;
                a.priority2 = 128;
                a.quality = (ptp_quality_t){.clock_class = 248, .accuracy = 0xFE, .variance = 0xFFFF};
                memcpy(a.gm_id, gm_id, 8);
                send_msg(&a);
            }
            ptp_msg_t sy = m;
            sy.hdr.type = PTP_MSG_SYNC;
            sy.hdr.flags = PTP_FLAG_TWO_STEP;
            sy.hdr.seq = seq;
            int64_t t1 = realtime_ns();
            send_msg(&sy);
            ptp_msg_t fu = m;
            fu.hdr.type = PTP_MSG_FOLLOW_UP;
            fu.hdr.seq = seq;
            fu.ts = ptp_ts_from_ns(t1);
            send_msg(&fu);
            seq++;
            pthread_mutex_lock(&mu);
            bool answer = dreq_waiting;
            ptp_msg_t rq = dreq;
            int64_t t4 = dreq_t4;
            dreq_waiting = false;
            pthread_mutex_unlock(&mu);
            if (answer) {
                ptp_msg_t r = m;
                r.hdr.type = PTP_MSG_DELAY_RESP;
                r.hdr.seq = rq.hdr.seq;
                r.ts = ptp_ts_from_ns(t4);
                r.requesting = rq.hdr.source;
                send_msg(&r);
            }
        }
        usleep(62500);
    }
    return NULL;
}

/* ---- state callback ----------------------------------------------------------------- */

static pthread_mutex_t cb_mu = PTHREAD_MUTEX_INITIALIZER;
static esp_smoltcp_ptp_state_t seen[16];
static int seen_n;
static bool bad_arg; /* CHECK counts are not thread-safe: the callback only records */

static void on_state(esp_smoltcp_ptp_state_t from, esp_smoltcp_ptp_state_t to, void *arg)
{
    (void)from;
    pthread_mutex_lock(&cb_mu);
    bad_arg |= arg != &seen_n;
    if (seen_n < 16) {
        seen[seen_n++] = to;
    }
    pthread_mutex_unlock(&cb_mu);
}

static bool wait_state(esp_smoltcp_ptp_state_t want, int ms)
{
    for (int i = 0; i < ms / 50; i++) {
        esp_smoltcp_ptp_status_t st;
        esp_smoltcp_ptp_get_status(&st);
        if (st.state == want) {
            return true;
        }
        usleep(50000);
    }
    return false;
}

static void test_lock_loss_and_restart(void)
{
    esp_smoltcp_ptp_config_t cfg = ESP_SMOLTCP_PTP_DEFAULT_CONFIG();
    cfg.state_cb = on_state;
    cfg.state_cb_arg = &seen_n;
    CHECK_EQ(esp_smoltcp_ptp_init(&cfg), ESP_OK);
    CHECK_EQ(esp_smoltcp_ptp_init(&cfg), ESP_ERR_INVALID_STATE);
    esp_smoltcp_ptp_status_t st;
    esp_smoltcp_ptp_get_status(&st);
    CHECK(st.running && st.state == ESP_SMOLTCP_PTP_STATE_LISTENING);
    CHECK_MEM(st.self.clock_id, ((uint8_t[8]){0x02, 0, 0, 0xff, 0xfe, 0x12, 0x34, 0x58}), 8);
    atomic_store(&master_on, true);
    CHECK(wait_state(ESP_SMOLTCP_PTP_STATE_SLAVE, 20000));
    int64_t worst = 0;
    for (int i = 0; i < 20; i++) {
        int64_t a = realtime_ns(), p;
        CHECK_EQ(esp_smoltcp_ptp_get_time(&p), ESP_OK);
        int64_t b = realtime_ns();
        int64_t e = llabs(p - (a + (b - a) / 2));
        worst = e > worst ? e : worst;
        usleep(50000);
    }
    esp_smoltcp_ptp_get_status(&st);
    printf("  in-process: worst |error| %lld ns over 1 s, delay %lld ns, %llu Delay_Req\n", (long long)worst,
           (long long)st.mean_path_delay_ns, (unsigned long long)st.counters.tx_delay_req);
    CHECK(worst < 1000000); /* no wire: what is left is scheduling on a shared machine */
    CHECK_MEM(st.gm_id, gm_id, 8);
    CHECK(st.counters.tx_delay_req > 0 && st.counters.rx_delay_resp > 0);
    CHECK_EQ(st.counters.rx_malformed, 0);
    CHECK_EQ(atomic_load(&bad_frames), 0);
    /* The Delay_Req on the wire: to 01:1B:19:00:00:00 from our MAC, EtherType 0x88F7, our identity. */
    pthread_mutex_lock(&mu);
    CHECK_MEM(dreq_frame, ((uint8_t[6]){0x01, 0x1B, 0x19, 0, 0, 0}), 6);
    CHECK_MEM(dreq_frame + 6, dev_mac, 6);
    CHECK_MEM(dreq.hdr.source.clock_id, st.self.clock_id, 8);
    pthread_mutex_unlock(&mu);

    /* Master loss: LISTENING after 3 announce intervals (0.75 s). */
    atomic_store(&master_on, false);
    CHECK(wait_state(ESP_SMOLTCP_PTP_STATE_LISTENING, 3000));
    esp_smoltcp_ptp_get_status(&st);
    CHECK_EQ(st.counters.announce_timeouts, 1);
    pthread_mutex_lock(&cb_mu);
    CHECK(seen_n >= 3 && !bad_arg);
    CHECK_EQ(seen[0], ESP_SMOLTCP_PTP_STATE_UNCALIBRATED);
    CHECK_EQ(seen[1], ESP_SMOLTCP_PTP_STATE_SLAVE);
    CHECK_EQ(seen[seen_n - 1], ESP_SMOLTCP_PTP_STATE_LISTENING);
    pthread_mutex_unlock(&cb_mu);

    /* deinit: DISABLED; the clock keeps its setting across a new init. */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_EQ(esp_smoltcp_ptp_deinit(), ESP_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t ms = ((int64_t)(t1.tv_sec - t0.tv_sec) * NS + (t1.tv_nsec - t0.tv_nsec)) / 1000000;
    CHECK(ms < 500);
    CHECK_EQ(esp_smoltcp_ptp_deinit(), ESP_ERR_INVALID_STATE);
    esp_smoltcp_ptp_get_status(&st);
    CHECK(!st.running && st.state == ESP_SMOLTCP_PTP_STATE_DISABLED);
    int64_t p;
    CHECK_EQ(esp_smoltcp_ptp_get_time(&p), ESP_ERR_INVALID_STATE);
    CHECK(llabs(p - realtime_ns()) < 5000000); /* still the steered time, not the boot-relative one */
    CHECK_EQ(esp_smoltcp_ptp_init(&cfg), ESP_OK);
    CHECK_EQ(esp_smoltcp_ptp_get_time(&p), ESP_OK);
    atomic_store(&master_on, true);
    CHECK(wait_state(ESP_SMOLTCP_PTP_STATE_SLAVE, 20000));
    atomic_store(&master_on, false);
    CHECK_EQ(esp_smoltcp_ptp_deinit(), ESP_OK);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    esp_smoltcp_config_t cfg = ESP_SMOLTCP_DEFAULT_CONFIG();
    cfg.ipv4_mode = ESP_SMOLTCP_IPV4_STATIC;
    cfg.static_ip = "198.18.7.2/24";
    CHECK_EQ(esp_smoltcp_init_with_config(&cfg), ESP_OK);
    CHECK_EQ(esp_smoltcp_attach_netdev(test_netdev(dev_mac, see_tx)), ESP_OK);
    pthread_t m;
    pthread_create(&m, NULL, master, NULL);
    RUN(test_lock_loss_and_restart);
    atomic_store(&master_quit, true);
    pthread_join(m, NULL);
    CHECK_EQ(esp_smoltcp_deinit(), ESP_OK);
    return UNIT_TEST_END();
}
