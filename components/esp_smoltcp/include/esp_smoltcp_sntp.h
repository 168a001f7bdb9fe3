/*
 * SNTP client (RFC 4330; packet format and checks of RFC 5905) with the
 * shape of ESP-IDF's esp_sntp / esp_netif_sntp: server names or addresses,
 * a poll interval, a sync callback, smooth or immediate (step) mode.
 *
 * It runs in its own task over the stack's UDP sockets and keeps a software
 * clock: UTC = os monotonic time + an offset it steps or slews. Read it with
 * esp_smoltcp_sntp_get_time(); the system clock (settimeofday) is never
 * touched, so the application decides whether to copy it there (the sync
 * callback is the place).
 *
 * Each exchange is checked before it is believed; a reply that fails a check
 * is rejected with a status (esp_smoltcp_sntp_status_t) recorded for that
 * server, and the client falls back to the next server of the list:
 *   - a reply whose origin timestamp is not our transmit timestamp is not an
 *     answer to us (RFC 5905 §8 "bogus"): ignored; if nothing better arrives
 *     before the timeout the attempt ends with ..._BAD_ORIGIN;
 *   - a kiss-o'-death (stratum 0, RFC 4330 §8 / RFC 5905 §7.4): DENY and RSTR
 *     stop all use of that server, RATE puts it aside for one poll interval;
 *   - wrong mode (not 4 = server), version outside 1..4, leap indicator 3 or
 *     stratum above 15 (server not synchronised), zero transmit timestamp.
 *
 * Servers from DHCP (option 42, esp_sntp_servermode_dhcp(true)): with
 * server_from_dhcp the NTP servers of the current DHCPv4 lease
 * (esp_smoltcp_ip4_info_t.ntp) come first in the list, the configured ones
 * (there may be none) after them. The lease is looked at every second: a new
 * lease or a renewal with other servers replaces them and starts a sync. With
 * no server at all the round ends at once with ..._ERR_NO_SERVER in
 * esp_smoltcp_sntp_info_t.round_status.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include "esp_err.h"
#include "esp_smoltcp_sock.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ESP_SMOLTCP_SNTP_MAX_SERVERS 8
#define ESP_SMOLTCP_SNTP_SERVER_NAME_MAX 64
/* RFC 4330 §10: "A client MUST NOT under any conditions use a poll interval less than 15 seconds." */
#define ESP_SMOLTCP_SNTP_MIN_POLL_MS 15000u

typedef enum {
    ESP_SMOLTCP_SNTP_SYNC_MODE_IMMED = 0,  /* step the clock to the server's time at every sync */
    ESP_SMOLTCP_SNTP_SYNC_MODE_SMOOTH = 1, /* slew small offsets (<= step_threshold_ms), step larger ones */
} esp_smoltcp_sntp_sync_mode_t;

/** As esp_sntp's sntp_sync_status_t. */
typedef enum {
    ESP_SMOLTCP_SNTP_SYNC_STATUS_RESET = 0,       /* not synchronised (or COMPLETED already read) */
    ESP_SMOLTCP_SNTP_SYNC_STATUS_COMPLETED = 1,   /* a sync finished; reading it resets to RESET, as esp_sntp */
    ESP_SMOLTCP_SNTP_SYNC_STATUS_IN_PROGRESS = 2, /* smooth mode: a slew is being applied */
} esp_smoltcp_sntp_sync_status_t;

/** Outcome of the last attempt with one server. */
typedef enum {
    ESP_SMOLTCP_SNTP_NOT_TRIED = 0,
    ESP_SMOLTCP_SNTP_OK,
    ESP_SMOLTCP_SNTP_ERR_RESOLVE,        /* the name did not resolve */
    ESP_SMOLTCP_SNTP_ERR_SOCKET,         /* no socket / network down / send failed */
    ESP_SMOLTCP_SNTP_ERR_TIMEOUT,        /* no reply at all within timeout_ms */
    ESP_SMOLTCP_SNTP_ERR_BAD_LENGTH,     /* shorter than 48 bytes (only replies like it arrived) */
    ESP_SMOLTCP_SNTP_ERR_BAD_ORIGIN,     /* origin timestamp != our transmit timestamp (only such replies) */
    ESP_SMOLTCP_SNTP_ERR_BAD_MODE,       /* mode != 4 (server) */
    ESP_SMOLTCP_SNTP_ERR_BAD_VERSION,    /* version not 1..4 */
    ESP_SMOLTCP_SNTP_ERR_KOD_RATE,       /* kiss-o'-death RATE: server set aside for a poll interval */
    ESP_SMOLTCP_SNTP_ERR_KOD_DENY,       /* kiss-o'-death DENY: server no longer used */
    ESP_SMOLTCP_SNTP_ERR_KOD_RSTR,       /* kiss-o'-death RSTR: server no longer used */
    ESP_SMOLTCP_SNTP_ERR_KOD_OTHER,      /* another kiss code (see kiss[]) */
    ESP_SMOLTCP_SNTP_ERR_UNSYNCHRONISED, /* leap indicator 3 (alarm) or stratum > 15 */
    ESP_SMOLTCP_SNTP_ERR_ZERO_TRANSMIT,  /* transmit timestamp 0 */
    ESP_SMOLTCP_SNTP_ERR_SKIPPED,        /* not asked: DENY/RSTR earlier, or set aside after RATE */
    ESP_SMOLTCP_SNTP_ERR_NO_SERVER,      /* round_status only: the list is empty (server_from_dhcp, lease without option 42) */
} esp_smoltcp_sntp_status_t;

/** Called from the SNTP task after the clock was set: tv = the new time. Keep it short. */
typedef void (*esp_smoltcp_sntp_sync_cb_t)(const struct timeval *tv, void *arg);

typedef struct {
    /** "198.18.0.1", "198.18.0.1:1123", "pool.ntp.org", "ntp.lan:123", "2001:db8::1", "[2001:db8::1]:123". */
    const char *servers[ESP_SMOLTCP_SNTP_MAX_SERVERS];
    size_t server_count;
    bool server_from_dhcp;       /* use the DHCP lease's NTP servers (option 42) first; servers may then be empty */
    uint32_t poll_interval_ms;   /* between successful syncs; >= ESP_SMOLTCP_SNTP_MIN_POLL_MS */
    uint32_t retry_interval_ms;  /* after a round in which every server failed; >= 1000 */
    uint32_t timeout_ms;         /* per request; a reply later than this is a timeout */
    uint8_t burst;               /* exchanges per sync (1..8); the one with the least delay counts */
    uint32_t burst_interval_ms;  /* between the exchanges of a burst */
    esp_smoltcp_sntp_sync_mode_t sync_mode;
    uint32_t step_threshold_ms;  /* smooth mode: larger offsets are stepped (ntpd's 128 ms) */
    uint32_t slew_ppm;           /* smooth mode: slew rate (Linux adjtime's 500 ppm) */
    bool start;                  /* start syncing at init (else esp_smoltcp_sntp_restart()) */
    esp_smoltcp_sntp_sync_cb_t sync_cb;
    void *sync_cb_arg;
    int task_priority;
    size_t task_stack;
} esp_smoltcp_sntp_config_t;

/* esp_netif_sntp's defaults: one hour between syncs, 15 s before a retry. */
#define ESP_SMOLTCP_SNTP_DEFAULT_CONFIG(server)                                                       \
    {                                                                                                 \
        .servers = {(server)}, .server_count = 1, .server_from_dhcp = false,                          \
        .poll_interval_ms = 3600000u, .retry_interval_ms = 15000u, .timeout_ms = 3000u, .burst = 1,   \
        .burst_interval_ms = 2000u, .sync_mode = ESP_SMOLTCP_SNTP_SYNC_MODE_IMMED,                    \
        .step_threshold_ms = 128u, .slew_ppm = 500u, .start = true, .sync_cb = NULL,                   \
        .sync_cb_arg = NULL, .task_priority = 5, .task_stack = 4096,                                  \
    }

/**
 * Start the client task (server strings are copied).
 * @return ESP_OK; ESP_ERR_INVALID_ARG (no server and not server_from_dhcp,
 *         too many, a name longer than ESP_SMOLTCP_SNTP_SERVER_NAME_MAX - 1,
 *         an interval below its minimum, burst 0 or > 8);
 *         ESP_ERR_INVALID_STATE (already running); ESP_ERR_NO_MEM.
 */
esp_err_t esp_smoltcp_sntp_init(const esp_smoltcp_sntp_config_t *cfg);

/**
 * Stop the task (waits for it: at most one DNS lookup or ~100 ms of a
 * request) and forget the servers. The clock keeps running from its last
 * setting. @return ESP_OK; ESP_ERR_INVALID_STATE (not running).
 */
esp_err_t esp_smoltcp_sntp_deinit(void);

/** Sync now (esp_sntp_restart): also the start when config.start was false. ESP_OK; ESP_ERR_INVALID_STATE. */
esp_err_t esp_smoltcp_sntp_restart(void);

/**
 * Replace the configured server list (with server_from_dhcp the lease's
 * servers stay in front of it, and count may be 0); takes no stack lock, so
 * it may be called from the IPv4 address callback
 * (esp_smoltcp_set_ip4_callback). Statuses reset, a sync starts.
 * @return ESP_OK; ESP_ERR_INVALID_ARG; ESP_ERR_INVALID_STATE.
 */
esp_err_t esp_smoltcp_sntp_set_servers(const char *const *servers, size_t count);

/**
 * The software clock, UTC. Before the first sync it counts from the epoch
 * (1970) like an unset RTC. @return ESP_OK (synchronised at least once);
 * ESP_ERR_INVALID_STATE (never synchronised: *tv still filled);
 * ESP_ERR_INVALID_ARG (tv NULL).
 */
esp_err_t esp_smoltcp_sntp_get_time(struct timeval *tv);

/** esp_sntp semantics: COMPLETED is returned once per sync, then RESET. */
esp_smoltcp_sntp_sync_status_t esp_smoltcp_sntp_get_sync_status(void);

/**
 * Block until a sync completes and its callback has returned (one already
 * completed since init counts).
 * @return ESP_OK; ESP_ERR_TIMEOUT; ESP_ERR_INVALID_STATE (not running).
 */
esp_err_t esp_smoltcp_sntp_wait_sync(uint32_t timeout_ms);

typedef struct {
    char name[ESP_SMOLTCP_SNTP_SERVER_NAME_MAX];
    esp_smoltcp_endpoint_t addr;     /* last address used (resolved) */
    esp_smoltcp_sntp_status_t status;
    char kiss[5];                    /* kiss code of a KoD, "" otherwise */
    bool from_dhcp;                  /* an NTP server of the DHCP lease (option 42) */
    uint8_t stratum;
    int64_t offset_us, delay_us;     /* of the last good exchange */
    uint32_t attempts, successes;
} esp_smoltcp_sntp_server_info_t;

typedef struct {
    bool running;
    bool synced;                     /* synchronised at least once */
    bool server_from_dhcp;           /* as configured */
    esp_smoltcp_sntp_status_t round_status; /* last round: OK, the last server's failure, or ERR_NO_SERVER */
    uint32_t sync_count;
    int last_server;                 /* index of the server of the last sync, -1 before */
    int64_t last_offset_us;          /* clock error found by the last sync (server - ours) */
    int64_t last_delay_us;           /* its round-trip delay */
    int64_t slew_remaining_us;       /* smooth mode: correction still being applied */
    size_t server_count;
    esp_smoltcp_sntp_server_info_t servers[ESP_SMOLTCP_SNTP_MAX_SERVERS];
} esp_smoltcp_sntp_info_t;

/** State and per-server outcomes. @return ESP_OK; ESP_ERR_INVALID_ARG. */
esp_err_t esp_smoltcp_sntp_get_info(esp_smoltcp_sntp_info_t *out);

/** "ok", "timeout", "kod_rate", ... for logs. */
const char *esp_smoltcp_sntp_status_name(esp_smoltcp_sntp_status_t status);

#ifdef __cplusplus
}
#endif
