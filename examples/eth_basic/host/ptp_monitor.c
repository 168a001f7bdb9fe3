/* eth_basic's PTP reporting (ptp_monitor.h). */
#define _GNU_SOURCE
#include "ptp_monitor.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "esp_smoltcp_ptp.h"

static bool started;
static uint32_t period;

static int64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* PTP clock minus CLOCK_REALTIME: the realtime reads bracket the PTP read, their midpoint is compared. */
static bool clock_error(int64_t *err)
{
    int64_t a = realtime_ns();
    int64_t p;
    esp_err_t rc = esp_smoltcp_ptp_get_time(&p);
    int64_t b = realtime_ns();
    *err = p - (a + (b - a) / 2);
    return rc == ESP_OK;
}

static void on_state(esp_smoltcp_ptp_state_t from, esp_smoltcp_ptp_state_t to, void *arg)
{
    (void)arg;
    printf("ptp: state %s -> %s\n", esp_smoltcp_ptp_state_name(from), esp_smoltcp_ptp_state_name(to));
}

size_t ptp_monitor_json(char *buf, size_t len)
{
    if (!started) {
        return (size_t)snprintf(buf, len, "null");
    }
    esp_smoltcp_ptp_status_t s;
    esp_smoltcp_ptp_get_status(&s);
    int64_t err;
    bool set = clock_error(&err);
    const uint8_t *g = s.gm_id;
    const esp_smoltcp_ptp_counters_t *c = &s.counters;
    int n = snprintf(
        buf, len,
        "{\"state\": \"%s\", \"clock_set\": %s, \"err_ns\": %" PRId64 ", \"offset_ns\": %" PRId64
        ", \"delay_ns\": %" PRId64 ", \"freq_ppb\": %" PRId32 ", \"gm\": \"%02x%02x%02x%02x%02x%02x%02x%02x\""
        ", \"gm_priority1\": %u, \"master_port\": %u, \"utc_offset\": %d"
        ", \"rx_announce\": %" PRIu64 ", \"rx_sync\": %" PRIu64 ", \"rx_follow_up\": %" PRIu64
        ", \"rx_delay_resp\": %" PRIu64 ", \"tx_delay_req\": %" PRIu64 ", \"tx_failures\": %" PRIu64
        ", \"rx_malformed\": %" PRIu64 ", \"rx_bad_version\": %" PRIu64 ", \"rx_unsupported\": %" PRIu64
        ", \"rx_wrong_domain\": %" PRIu64 ", \"rx_not_from_master\": %" PRIu64 ", \"rx_unmatched\": %" PRIu64 ", \"rx_no_timestamp\": %" PRIu64
        ", \"rx_announce_rejected\": %" PRIu64 ", \"announce_timeouts\": %" PRIu64 ", \"master_changes\": %" PRIu64
        ", \"steps\": %" PRIu64 ", \"samples\": %" PRIu64 "}",
        esp_smoltcp_ptp_state_name(s.state), set ? "true" : "false", err, s.offset_ns, s.mean_path_delay_ns,
        s.freq_ppb, g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], s.gm_priority1, s.master.port, s.utc_offset_s,
        c->rx_announce, c->rx_sync, c->rx_follow_up, c->rx_delay_resp, c->tx_delay_req, c->tx_failures,
        c->rx_malformed, c->rx_bad_version, c->rx_unsupported, c->rx_wrong_domain, c->rx_not_from_master,
        c->rx_unmatched, c->rx_no_timestamp, c->rx_announce_rejected, c->announce_timeouts, c->master_changes, c->steps, c->samples);
    return n < 0 ? 0 : (size_t)n;
}

static void *monitor(void *arg)
{
    (void)arg;
    char json[1536];
    for (;;) {
        struct timespec d = {.tv_sec = period / 1000, .tv_nsec = (long)(period % 1000) * 1000000L};
        nanosleep(&d, NULL);
        ptp_monitor_json(json, sizeof(json));
        printf("ptp: %s\n", json);
    }
    return NULL;
}

int ptp_monitor_start(const char *transport, uint8_t domain, uint32_t period_ms)
{
    esp_smoltcp_ptp_config_t cfg = ESP_SMOLTCP_PTP_DEFAULT_CONFIG();
    if (strcmp(transport, "l2") == 0) {
        cfg.transport = ESP_SMOLTCP_PTP_TRANSPORT_L2;
    } else if (strcmp(transport, "udp4") == 0) {
        cfg.transport = ESP_SMOLTCP_PTP_TRANSPORT_UDP4;
    } else {
        fprintf(stderr, "eth_basic: --ptp takes l2 or udp4\n");
        return -1;
    }
    cfg.domain = domain;
    cfg.state_cb = on_state;
    esp_err_t err = esp_smoltcp_ptp_init(&cfg);
    if (err != ESP_OK) {
        fprintf(stderr, "eth_basic: PTP start failed: %s\n", esp_err_to_name(err));
        return -1;
    }
    started = true;
    period = period_ms ? period_ms : 1000;
    pthread_t t;
    if (pthread_create(&t, NULL, monitor, NULL) == 0) {
        pthread_detach(t); /* runs until the process exits (eth_basic ends with _Exit) */
    }
    return 0;
}
