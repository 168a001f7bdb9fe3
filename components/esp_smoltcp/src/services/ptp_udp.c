/*
 * PTP over UDP/IPv4 (1588-2008 Annex D): event messages on port 319,
 * general messages on 320, both to 224.0.1.129. Ordinary stack sockets
 * carry the messages; the event messages' stamps come from the netdev
 * through udp_stamp (src/core), matched by the message's header bytes.
 * Software stamps only: the L2 tap's hardware hooks are not consulted here.
 */
#include <errno.h>
#include <string.h>

#include "esp_smoltcp_mcast.h"
#include "esp_smoltcp_sock.h"
#include "os.h"
#include "ptp_msg.h"
#include "ptp_transport.h"
#include "udp_stamp.h"

#define PTP_EVENT_PORT 319
#define PTP_GENERAL_PORT 320
#define TX_STAMP_WAIT_US 20000u /* the poll task transmits within microseconds; a bound, not a delay */

static const uint8_t PTP_GROUP4[4] = {224, 0, 1, 129};

static struct {
    int ev, gen;
    esp_smoltcp_iface_t iface;
    bool joined;
} u = {.ev = -1, .gen = -1};

static int open_bound(uint16_t port)
{
    int h = esp_smoltcp_sock_open(ESP_SMOLTCP_SOCK_UDP, NULL);
    if (h < 0) {
        return h;
    }
    esp_smoltcp_endpoint_t any = {.family = ESP_SMOLTCP_AF_INET, .port = port};
    int rc = esp_smoltcp_sock_bind(h, &any, true);
    if (rc < 0) {
        esp_smoltcp_sock_close(h);
        return rc;
    }
    return h;
}

static void udp_close(void)
{
    if (u.joined) {
        esp_smoltcp_mcast_leave(u.iface, ESP_SMOLTCP_AF_INET, PTP_GROUP4);
        u.joined = false;
    }
    udp_stamp_watch(0);
    if (u.ev >= 0) {
        esp_smoltcp_sock_close(u.ev);
    }
    if (u.gen >= 0) {
        esp_smoltcp_sock_close(u.gen);
    }
    u.ev = u.gen = -1;
}

static esp_err_t udp_open(esp_smoltcp_iface_t iface)
{
    u.iface = iface;
    esp_err_t err = udp_stamp_watch(PTP_EVENT_PORT);
    if (err != ESP_OK) {
        return err;
    }
    u.ev = open_bound(PTP_EVENT_PORT);
    u.gen = open_bound(PTP_GENERAL_PORT);
    if (u.ev < 0 || u.gen < 0) {
        udp_close();
        return ESP_FAIL;
    }
    err = esp_smoltcp_mcast_join(iface, ESP_SMOLTCP_AF_INET, PTP_GROUP4);
    if (err != ESP_OK) {
        udp_close();
        return err;
    }
    u.joined = true;
    return ESP_OK;
}

static ssize_t udp_recv(uint8_t *buf, size_t cap, int64_t *rx_local_ns, bool *bad, uint32_t timeout_ms)
{
    *bad = false;
    esp_smoltcp_pollfd_t fds[2] = {{.handle = u.ev, .events = ESP_SMOLTCP_POLLIN},
                                   {.handle = u.gen, .events = ESP_SMOLTCP_POLLIN}};
    int n = esp_smoltcp_sock_poll(fds, 2, timeout_ms);
    if (n < 0) {
        return n;
    }
    for (int i = 0; i < 2; i++) {
        if (!(fds[i].revents & ESP_SMOLTCP_POLLIN)) {
            continue;
        }
        size_t full = 0;
        esp_smoltcp_endpoint_t from;
        ssize_t got = esp_smoltcp_sock_recvfrom(fds[i].handle, buf, cap, 0, &full, &from, 0);
        if (got == -EAGAIN) {
            continue;
        }
        if (got < 0) {
            return got;
        }
        uint64_t ns = 0;
        if (i == 0) {
            *rx_local_ns = udp_stamp_take(false, buf, (size_t)got, &ns) ? (int64_t)ns : PTP_NO_STAMP;
        } else {
            *rx_local_ns = (int64_t)(os_now_us() * 1000u); /* general messages need no stamp */
        }
        return got;
    }
    return 0;
}

static bool udp_send_event(const uint8_t *msg, size_t len, int64_t *tx_local_ns)
{
    esp_smoltcp_endpoint_t to = {.family = ESP_SMOLTCP_AF_INET, .port = PTP_EVENT_PORT};
    memcpy(to.addr, PTP_GROUP4, 4);
    if (esp_smoltcp_sock_sendto(u.ev, msg, len, 0, &to, 100) != (ssize_t)len) {
        return false;
    }
    /* The poll task transmits it; its stamp appears when it reaches the driver. */
    uint64_t ns;
    os_event_t *ev = os_thread_event();
    for (uint64_t waited = 0; waited < TX_STAMP_WAIT_US; waited += 200) {
        if (udp_stamp_take(true, msg, len, &ns)) {
            *tx_local_ns = (int64_t)ns;
            return true;
        }
        if (ev) {
            os_event_wait(ev, 200); /* a bounded sleep: nothing sets this thread's event here */
        }
    }
    return false;
}

static int64_t udp_now_local(void)
{
    return (int64_t)(os_now_us() * 1000u);
}

const ptp_transport_t ptp_transport_udp4 = {
    .name = "udp4",
    .open = udp_open,
    .close = udp_close,
    .recv = udp_recv,
    .send_event = udp_send_event,
    .now_local = udp_now_local,
};
