/*
 * PTP over IEEE 802.3 (1588-2008 Annex F): EtherType 0x88F7 to
 * 01:1B:19:00:00:00 through the L2 frame tap, with its receive and transmit
 * stamps (software, or the MAC's through the tap's hardware hooks).
 */
#include <errno.h>
#include <string.h>

#include "esp_smoltcp_l2tap.h"
#include "ptp_msg.h"
#include "ptp_transport.h"

#define ETH_HLEN 14u

static const uint8_t PTP_L2_DST[6] = {0x01, 0x1B, 0x19, 0x00, 0x00, 0x00}; /* all but peer delay */

static struct {
    int tap;
    esp_smoltcp_iface_t iface;
    uint8_t mac[6];
} l2 = {.tap = -1};

static esp_err_t l2_open(esp_smoltcp_iface_t iface)
{
    if (esp_smoltcp_l2tap_get_mac(iface, l2.mac) != ESP_OK) {
        return ESP_ERR_INVALID_STATE;
    }
    esp_smoltcp_l2tap_config_t tc = ESP_SMOLTCP_L2TAP_DEFAULT_CONFIG(ESP_SMOLTCP_ETHERTYPE_PTP);
    tc.iface = iface;
    tc.queue_frames = 32;
    tc.snaplen = 256; /* PTP messages with a few TLVs; longer ones are cut, their TLVs ignored */
    int h = esp_smoltcp_l2tap_open(&tc);
    if (h < 0) {
        return h == -ENOMEM ? ESP_ERR_NO_MEM : ESP_FAIL;
    }
    l2.tap = h;
    l2.iface = iface;
    return ESP_OK;
}

static void l2_close(void)
{
    esp_smoltcp_l2tap_close(l2.tap);
    l2.tap = -1;
}

static ssize_t l2_recv(uint8_t *buf, size_t cap, int64_t *rx_local_ns, bool *bad, uint32_t timeout_ms)
{
    uint8_t frame[ETH_HLEN + 256];
    esp_smoltcp_l2tap_rx_info_t info;
    *bad = false;
    ssize_t got = esp_smoltcp_l2tap_recv(l2.tap, frame, sizeof(frame), &info, timeout_ms);
    if (got == -EAGAIN) {
        return 0;
    }
    if (got < 0) {
        return got;
    }
    if ((size_t)got <= ETH_HLEN) {
        *bad = true;
        return 0;
    }
    size_t n = (size_t)got - ETH_HLEN;
    n = n < cap ? n : cap;
    memcpy(buf, frame + ETH_HLEN, n);
    *rx_local_ns = (int64_t)info.ts.ns;
    return (ssize_t)n;
}

static bool l2_send_event(const uint8_t *msg, size_t len, int64_t *tx_local_ns)
{
    uint8_t frame[ETH_HLEN + 64];
    if (len > sizeof(frame) - ETH_HLEN) {
        return false;
    }
    memcpy(frame, PTP_L2_DST, 6);
    memcpy(frame + 6, l2.mac, 6);
    frame[12] = ESP_SMOLTCP_ETHERTYPE_PTP >> 8;
    frame[13] = ESP_SMOLTCP_ETHERTYPE_PTP & 0xFF;
    memcpy(frame + ETH_HLEN, msg, len);
    esp_smoltcp_l2tap_ts_t ts = {0};
    if (esp_smoltcp_l2tap_send(l2.tap, frame, ETH_HLEN + len, &ts) <= 0) {
        return false;
    }
    *tx_local_ns = (int64_t)ts.ns;
    return true;
}

static int64_t l2_now_local(void)
{
    esp_smoltcp_l2tap_ts_t t;
    esp_smoltcp_l2tap_clock_now(l2.iface, &t);
    return (int64_t)t.ns;
}

const ptp_transport_t ptp_transport_l2 = {
    .name = "l2",
    .open = l2_open,
    .close = l2_close,
    .recv = l2_recv,
    .send_event = l2_send_event,
    .now_local = l2_now_local,
};
