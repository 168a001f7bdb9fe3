/*
 * PTP (IEEE 1588-2008) ordinary clock, slave only, end-to-end delay
 * mechanism, one port. It listens to the masters' Announce messages, picks
 * the best with the dataset comparison of clause 9.3.4 (priority1,
 * clockClass, clockAccuracy, offsetScaledLogVariance, priority2,
 * grandmasterIdentity; stepsRemoved between paths to one grandmaster),
 * measures offset and mean path delay with Sync/Follow_Up (one- and
 * two-step masters) and Delay_Req/Delay_Resp, and steers a software clock
 * with a PI servo: a step when the offset is large, a frequency
 * adjustment otherwise.
 *
 * Port states (clause 9.2.5, the subset a slave-only clock uses):
 *   LISTENING     no qualified master (at start, and after the master's
 *                 announce receipt timeout);
 *   UNCALIBRATED  a master is selected, the servo is locking on it;
 *   SLAVE         the servo is locked and the path delay measured.
 *
 * Transports:
 *   L2    Ethernet (EtherType 0x88F7 to 01:1B:19:00:00:00) through the L2
 *         frame tap (esp_smoltcp_l2tap.h) with its receive and transmit
 *         stamps: software now, the MAC's when a driver installs the tap's
 *         hardware timestamp hooks (then the clock steered here is a
 *         mapping of the MAC's free-running clock).
 *   UDP4  UDP/IPv4, event port 319 and general port 320, multicast group
 *         224.0.1.129 (joined with esp_smoltcp_mcast_join): stack sockets,
 *         with software stamps taken at the netdev for the event messages.
 *         The interface needs an IPv4 address for the Delay_Req's source.
 *
 * The clock: UTC nanoseconds (a master announcing the PTP timescale with a
 * valid currentUtcOffset is converted to UTC; an ARB master, e.g. ptp4l on
 * CLOCK_REALTIME, is taken as is). The system clock is never touched.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "esp_err.h"
#include "esp_smoltcp.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    ESP_SMOLTCP_PTP_TRANSPORT_L2 = 0,   /* IEEE 802.3, EtherType 0x88F7 (Annex F) */
    ESP_SMOLTCP_PTP_TRANSPORT_UDP4 = 1, /* UDP/IPv4 ports 319/320, group 224.0.1.129 (Annex D); software stamps */
} esp_smoltcp_ptp_transport_t;

/** portState values of IEEE 1588-2008 Table 8 (the ones this clock takes). */
typedef enum {
    ESP_SMOLTCP_PTP_STATE_DISABLED = 3,     /* not running */
    ESP_SMOLTCP_PTP_STATE_LISTENING = 4,
    ESP_SMOLTCP_PTP_STATE_UNCALIBRATED = 8,
    ESP_SMOLTCP_PTP_STATE_SLAVE = 9,
} esp_smoltcp_ptp_state_t;

/** Called from the PTP task on every state change. Keep it short; do not call esp_smoltcp_ptp_deinit from it. */
typedef void (*esp_smoltcp_ptp_state_cb_t)(esp_smoltcp_ptp_state_t from, esp_smoltcp_ptp_state_t to, void *arg);

typedef struct {
    esp_smoltcp_ptp_transport_t transport;
    esp_smoltcp_iface_t iface;
    uint8_t domain;                   /* domainNumber; others are ignored (counted) */
    uint8_t announce_receipt_timeout; /* announce intervals without an Announce before a master is lost (>= 2) */
    int64_t first_step_threshold_ns;  /* the first correction is a step when |offset| exceeds this (ptp4l: 20 us) */
    int64_t step_threshold_ns;        /* later: |offset| above this steps again; 0 = never step after the first */
    uint32_t max_freq_ppb;            /* frequency adjustment limit */
    float kp, ki;                     /* PI gains per sample; 0 = ptp4l's software-timestamp defaults for the sync interval */
    uint8_t lock_samples;             /* locked servo samples (with a delay measured) before SLAVE; >= 1 */
    /**
     * Sync samples per servo update: 1, 2, 4 or 8. Of each group the one with
     * the least apparent delay is used (NTP's clock filter idea): software
     * stamps are only ever late, by the RX task's wake-up latency, so the
     * least delayed sample is the most accurate. 1 for hardware stamps.
     */
    uint8_t sync_filter;
    esp_smoltcp_ptp_state_cb_t state_cb;
    void *state_cb_arg;
    int task_priority;
    size_t task_stack;
} esp_smoltcp_ptp_config_t;

#define ESP_SMOLTCP_PTP_DEFAULT_CONFIG()                                                                     \
    {                                                                                                        \
        .transport = ESP_SMOLTCP_PTP_TRANSPORT_L2, .iface = ESP_SMOLTCP_IFACE_ETH, .domain = 0,              \
        .announce_receipt_timeout = 3, .first_step_threshold_ns = 20000, .step_threshold_ns = 1000000,      \
        .max_freq_ppb = 500000, .kp = 0, .ki = 0, .lock_samples = 4, .sync_filter = 4, .state_cb = NULL, .state_cb_arg = NULL, \
        .task_priority = 6, .task_stack = 4096,                                                              \
    }

/** A portIdentity: clockIdentity (EUI-64) and portNumber. */
typedef struct {
    uint8_t clock_id[8];
    uint16_t port;
} esp_smoltcp_ptp_port_id_t;

typedef struct {
    uint64_t rx_announce, rx_sync, rx_follow_up, rx_delay_resp;
    uint64_t tx_delay_req, tx_failures;
    uint64_t rx_malformed;        /* truncated, bad length, bad timestamp */
    uint64_t rx_bad_version;      /* versionPTP != 2 */
    uint64_t rx_unsupported;      /* Pdelay, Signaling, Management, reserved types */
    uint64_t rx_wrong_domain;
    uint64_t rx_not_from_master;  /* Sync/Follow_Up/Delay_Resp from a port that is not the selected master */
    uint64_t rx_unmatched;        /* Follow_Up without its Sync, Delay_Resp not to our last Delay_Req */
    uint64_t rx_no_timestamp;     /* a Sync whose receive stamp was not found (UDP: stamp ring overrun) */
    uint64_t rx_announce_rejected;/* stepsRemoved >= 255, or the foreign master table full */
    uint64_t announce_timeouts;   /* masters dropped for silence */
    uint64_t master_changes;      /* a (new) master selected */
    uint64_t steps;               /* clock steps */
    uint64_t samples;             /* offset samples fed to the servo */
} esp_smoltcp_ptp_counters_t;

typedef struct {
    bool running;
    esp_smoltcp_ptp_state_t state;
    bool clock_set;                    /* stepped to a master's time at least once */
    bool have_master;
    esp_smoltcp_ptp_port_id_t master;  /* parentPortIdentity */
    uint8_t gm_id[8];                  /* grandmasterIdentity */
    uint8_t gm_priority1, gm_priority2, gm_clock_class;
    uint16_t steps_removed;
    esp_smoltcp_ptp_port_id_t self;
    int64_t offset_ns;                 /* last offset from master (ours - master), before the correction */
    int64_t mean_path_delay_ns;        /* filtered (median of the last 8) */
    int32_t freq_ppb;                  /* frequency adjustment applied */
    int16_t utc_offset_s;              /* currentUtcOffset applied (0 for an ARB master) */
    int8_t log_sync_interval, log_delay_req_interval;
    esp_smoltcp_ptp_counters_t counters;
} esp_smoltcp_ptp_status_t;

/**
 * Start the clock's task. @return ESP_OK; ESP_ERR_INVALID_ARG (bad config);
 * ESP_ERR_INVALID_STATE (already running, or no interface attached: the MAC
 * gives the clockIdentity); ESP_ERR_NO_MEM; ESP_FAIL (the tap could not be opened).
 */
esp_err_t esp_smoltcp_ptp_init(const esp_smoltcp_ptp_config_t *cfg);

/** Stop the task (waits for it, ~100 ms at most). The status reads DISABLED afterwards. ESP_OK; ESP_ERR_INVALID_STATE. */
esp_err_t esp_smoltcp_ptp_deinit(void);

/** State, master, offset, delay and counters. ESP_OK; ESP_ERR_INVALID_ARG. */
esp_err_t esp_smoltcp_ptp_get_status(esp_smoltcp_ptp_status_t *out);

/**
 * The steered clock now, UTC nanoseconds since 1970. @return ESP_OK (the
 * clock has been set from a master); ESP_ERR_INVALID_STATE (never set, or
 * not running: *utc_ns holds the free-running value); ESP_ERR_INVALID_ARG.
 */
esp_err_t esp_smoltcp_ptp_get_time(int64_t *utc_ns);

/** "LISTENING", "UNCALIBRATED", "SLAVE", "DISABLED". */
const char *esp_smoltcp_ptp_state_name(esp_smoltcp_ptp_state_t state);

#ifdef __cplusplus
}
#endif
