/*
 * L2 frame tap: raw Ethernet frames of chosen EtherTypes (LLDP 0x88CC, PTP
 * 0x88F7, a vendor's own type ...) delivered to the application with a
 * receive timestamp, and raw frames sent through the interface's driver.
 * The role of ESP-IDF's L2 TAP (esp_vfs_l2tap) and of a Linux packet socket
 * bound to one protocol.
 *
 * - A tap filters on up to ESP_SMOLTCP_L2TAP_MAX_TYPES EtherTypes (the outer
 *   type at bytes 12-13: a tap for 0x8100 gets VLAN-tagged frames whole).
 *   Several taps may share a type; each gets its own copy.
 * - Frames of a tapped type never reach the IP engine. The engine's own
 *   types (IPv4 0x0800, ARP 0x0806, IPv6 0x86DD) cannot be tapped: use a
 *   raw socket (esp_smoltcp_sock_open_raw) for IP protocols. Tapped frames
 *   are counted per tap (esp_smoltcp_l2tap_get_stats), not in
 *   esp_smoltcp_stats_t.rx_frames; frames sent count in its tx_frames.
 * - Each tap has a bounded queue. The netdev's RX context copies a tapped
 *   frame into it and returns its RX buffer at once, so a slow reader costs
 *   only its own frames: when its queue is full the new frame is dropped and
 *   counted (drops_queue_full), and the stack goes on.
 * - Timestamps: by default the software clock (os monotonic time, read when
 *   the driver hands the frame in: esp_smoltcp_netdev_input*()). A driver
 *   whose MAC stamps frames (ESP32-P4 EMAC, IEEE 1588) installs
 *   esp_smoltcp_l2tap_ts_hooks_t, and taps then report the MAC's time.
 *
 * Returns follow the socket API: >= 0 on success, a negative errno value on
 * failure. Timeouts in ms: 0 = do not block, ESP_SMOLTCP_WAIT_FOREVER.
 * Taps are not tied to an engine socket: they stay valid across
 * esp_smoltcp_deinit()/init (sends fail with -ENETDOWN while nothing is
 * attached); close them when done.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "esp_err.h"
#include "esp_smoltcp.h"
#include "esp_smoltcp_sock.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ESP_SMOLTCP_L2TAP_MAX_TAPS 8
#define ESP_SMOLTCP_L2TAP_MAX_TYPES 4      /* EtherTypes per tap */
#define ESP_SMOLTCP_L2TAP_FRAME_MAX 1518   /* 1514 + an 802.1Q tag, no FCS */

#define ESP_SMOLTCP_ETHERTYPE_LLDP 0x88CC
#define ESP_SMOLTCP_ETHERTYPE_PTP 0x88F7

/** Where a timestamp comes from, i.e. which clock it is in. */
typedef enum {
    ESP_SMOLTCP_TS_NONE = 0,
    ESP_SMOLTCP_TS_SOFTWARE = 1, /* os monotonic clock (os_now_us), read at netdev input / before transmit */
    ESP_SMOLTCP_TS_HARDWARE = 2, /* the MAC's own (PTP) clock, stamped at the MII; see the hooks below */
} esp_smoltcp_ts_source_t;

/** A frame timestamp: nanoseconds in the clock named by source. */
typedef struct {
    uint64_t ns;
    uint8_t source; /* esp_smoltcp_ts_source_t */
} esp_smoltcp_l2tap_ts_t;

typedef struct {
    esp_smoltcp_iface_t iface;
    uint16_t ethertypes[ESP_SMOLTCP_L2TAP_MAX_TYPES]; /* host order; the first type_count are used */
    uint8_t type_count;                               /* 1..ESP_SMOLTCP_L2TAP_MAX_TYPES */
    uint16_t queue_frames; /* frames the tap holds for its reader; 0 = 16 */
    uint16_t snaplen;      /* bytes kept of each frame; 0 = ESP_SMOLTCP_L2TAP_FRAME_MAX */
} esp_smoltcp_l2tap_config_t;

#define ESP_SMOLTCP_L2TAP_DEFAULT_CONFIG(type) \
    { .iface = ESP_SMOLTCP_IFACE_ETH, .ethertypes = {(type)}, .type_count = 1, .queue_frames = 0, .snaplen = 0 }

/**
 * Open a tap. Frames of its types arriving from now on are queued for it.
 * @return handle >= 0; -EINVAL (no type, too many, an engine type
 *         0x0800/0x0806/0x86DD, a type < 0x0600 which is an 802.3 length,
 *         bad iface); -ENFILE (ESP_SMOLTCP_L2TAP_MAX_TAPS open);
 *         -ENOMEM; -ENETDOWN (runtime not initialised).
 */
int esp_smoltcp_l2tap_open(const esp_smoltcp_l2tap_config_t *cfg);

/** What came with a received frame. */
typedef struct {
    uint16_t frame_len;      /* length on the wire (no FCS), even when fewer bytes were copied */
    uint16_t ethertype;
    esp_smoltcp_l2tap_ts_t ts; /* receive timestamp */
} esp_smoltcp_l2tap_rx_info_t;

/**
 * Take the oldest queued frame (whole Ethernet header included). Copies at
 * most len bytes (and at most the tap's snaplen); info->frame_len tells the
 * real size. Frames come in arrival order.
 * @return bytes copied (> 0); -EAGAIN (nothing within timeout_ms); -EBADF
 *         (not an open tap, or closed while waiting); -EINVAL (buf NULL).
 */
ssize_t esp_smoltcp_l2tap_recv(int h, void *buf, size_t len, esp_smoltcp_l2tap_rx_info_t *info,
                               uint32_t timeout_ms);

/**
 * Send one raw frame (destination, source, type, payload; no FCS; padded by
 * the driver/MAC to 60 bytes if shorter) as given: the caller fills the
 * source MAC (esp_smoltcp_l2tap_get_mac). Transmitted at once through the
 * netdev, serialised with the poll task under the stack lock; it is not
 * looped back to this device's own taps. With tx_ts, the transmit time is
 * stored there: the hardware hook's stamp when installed, otherwise the
 * software clock read just before the driver's transmit.
 * @return len; -EBADF; -EINVAL (len < 14 or > ESP_SMOLTCP_L2TAP_FRAME_MAX);
 *         -ENETDOWN (no interface attached); -EIO (the driver refused it).
 */
ssize_t esp_smoltcp_l2tap_send(int h, const void *frame, size_t len, esp_smoltcp_l2tap_ts_t *tx_ts);

/**
 * Close the tap: queued frames are discarded, threads blocked in recv on it
 * return -EBADF. @return 0; -EBADF.
 */
int esp_smoltcp_l2tap_close(int h);

typedef struct {
    uint64_t rx_frames;        /* queued for the reader */
    uint64_t rx_bytes;
    uint64_t drops_queue_full; /* arrived while the queue was full: dropped */
    uint64_t truncated;        /* longer than snaplen: queued shortened */
    uint64_t tx_frames, tx_bytes;
    uint64_t tx_failures;      /* driver refused */
    uint32_t queued;           /* frames waiting now */
    uint32_t queue_high_water;
    uint32_t queue_capacity;
} esp_smoltcp_l2tap_stats_t;

/** Counters of one tap. @return 0; -EBADF; -EINVAL. */
int esp_smoltcp_l2tap_get_stats(int h, esp_smoltcp_l2tap_stats_t *out);

/** The interface's MAC address (for the source of sent frames). ESP_OK; ESP_ERR_INVALID_ARG; ESP_ERR_INVALID_STATE. */
esp_err_t esp_smoltcp_l2tap_get_mac(esp_smoltcp_iface_t iface, uint8_t mac[6]);

/* ---- hardware timestamps (driver side) --------------------------------------
 *
 * A driver whose MAC timestamps frames installs these hooks, and taps report
 * the MAC's clock (ESP_SMOLTCP_TS_HARDWARE) instead of the software one. This
 * is the seam the PTP ordinary clock uses: it reads stamps from the tap, the
 * present time from clock_now, and steers that same clock.
 *
 * ESP32-P4 (esp_eth, IDF >= 5.5, EMAC PTP enabled with esp_eth_mac_ptp_enable):
 *   rx_timestamp: register the RX path with esp_eth_update_input_path_info();
 *     its callback receives the frame's eth_mac_time_t in `info`: store it in
 *     the driver state, then call esp_smoltcp_netdev_input(); the hook, called
 *     synchronously inside that call, returns the stored stamp.
 *   transmit_ts: esp_eth_transmit_ctrl_vargs(eth, &eth_mac_time, 1, frame, len),
 *     which waits for the TX descriptor write-back and returns its stamp.
 *   clock_now: esp_eth_mac_get_ptp_time().
 */
typedef struct {
    void *ctx;
    /**
     * Stamp of the frame being input right now. Called from inside
     * esp_smoltcp_netdev_input*(), in the driver's RX context, only for frames
     * a tap takes. Return false when the frame has none (the software stamp
     * taken at input is used).
     */
    bool (*rx_timestamp)(void *ctx, const uint8_t *frame, size_t len, esp_smoltcp_l2tap_ts_t *ts);
    /**
     * Transmit a frame and return its transmit stamp. Used instead of the
     * netdev's transmit for esp_smoltcp_l2tap_send() with tx_ts; called with
     * the stack lock held (serialised with the poll task's transmits), so it
     * must finish in bounded time (one frame's DMA). NULL: software stamps.
     */
    esp_err_t (*transmit_ts)(void *ctx, const uint8_t *frame, size_t len, esp_smoltcp_l2tap_ts_t *ts);
    /** The stamps' clock read now. NULL: software clock. */
    bool (*clock_now)(void *ctx, esp_smoltcp_l2tap_ts_t *now);
} esp_smoltcp_l2tap_ts_hooks_t;

/**
 * Install (NULL: remove) the interface's timestamp hooks; copied. Call
 * before the taps that need them are read. @return ESP_OK;
 * ESP_ERR_INVALID_ARG; ESP_ERR_INVALID_STATE (runtime not initialised).
 */
esp_err_t esp_smoltcp_l2tap_set_ts_hooks(esp_smoltcp_iface_t iface, const esp_smoltcp_l2tap_ts_hooks_t *hooks);

/** The clock taps stamp with, read now (hardware clock_now hook, else software). ESP_OK; ESP_ERR_INVALID_ARG. */
esp_err_t esp_smoltcp_l2tap_clock_now(esp_smoltcp_iface_t iface, esp_smoltcp_l2tap_ts_t *now);

#ifdef __cplusplus
}
#endif
