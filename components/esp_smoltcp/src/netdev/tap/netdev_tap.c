/*
 * TAP netdev for the Linux host port and ESP-IDF's linux target (kernel calls
 * in tap_sys.h: sys_libc/ or sys_idf_linux/, picked by the build). Linux-only
 * headers stay in this file.
 */
#ifndef _GNU_SOURCE /* IDF's linux target passes -D_GNU_SOURCE */
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "esp_log.h"
#include "esp_smoltcp_tap.h"
#include "os.h"
#include "tap_sys.h"

static const char *TAG = "netdev_tap";

enum { RX_BURST_MAX = 32 }; /* frames handed over between two engine polls at most */

typedef struct {
    esp_smoltcp_netdev_t base; /* first: the runtime sees only this */
    char ifname[IFNAMSIZ];
    int fd;
    int stop_pipe[2];          /* wakes the reader out of poll() */
    int link_watch;            /* route netlink socket, -1 if none: "ip link set <tap> down" = cable out */
    bool link_up;              /* last state reported (the reader's) */
    uint8_t mac[6];
    os_thread_t *reader;
    atomic_bool running;
    uint8_t discard[2048];     /* where a frame goes when the pool is empty */
} tap_dev_t;

/* The host's link is up when the TAP is up and running (operationally up). The kernel marks it
 * running from its link-watch work, after the bridge the TAP belongs to has enabled the port; on
 * "up" alone a frame sent at once is dropped by a port that does not forward yet. */
static bool tap_flags_link_up(unsigned flags)
{
    return (flags & IFF_UP) && (flags & IFF_RUNNING);
}

/* The last state of the TAP's link in the netlink messages in buf: false if none is about it. */
static bool link_state_in_messages(const tap_dev_t *t, const uint8_t *buf, size_t len, bool *up)
{
    bool found = false;
    for (const struct nlmsghdr *h = (const void *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
        if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK) {
            continue;
        }
        const struct ifinfomsg *ifi = NLMSG_DATA(h);
        unsigned attr_len = IFLA_PAYLOAD(h);
        for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, attr_len); a = RTA_NEXT(a, attr_len)) {
            if (a->rta_type == IFLA_IFNAME && strncmp(RTA_DATA(a), t->ifname, RTA_PAYLOAD(a)) == 0) {
                found = true;
                *up = h->nlmsg_type == RTM_NEWLINK && tap_flags_link_up(ifi->ifi_flags);
            }
        }
    }
    return found;
}

/* One datagram of the link watch: true if it says whether the TAP's link is up (into *up).
 * One datagram per wake-up (poll() says when there is more): on IDF's linux target a cooperative
 * read waits for data even on a non-blocking socket, so reading until EAGAIN would stall RX. */
static bool read_link_watch(const tap_dev_t *t, bool *up)
{
    uint8_t buf[4096] __attribute__((aligned(NLMSG_ALIGNTO)));
    ssize_t n = tap_read(t->link_watch, buf, sizeof(buf));
    return n > 0 && link_state_in_messages(t, buf, (size_t)n, up);
}

/* Reports each change of the host's link (or the TAP's removal), as the MAC driver reports its
 * PHY's link. */
static void follow_link_watch(tap_dev_t *t)
{
    bool up;
    if (read_link_watch(t, &up) && up != t->link_up) {
        t->link_up = up;
        esp_smoltcp_netdev_link_changed(up);
    }
}

static void reader_main(void *arg)
{
    tap_dev_t *t = arg;
    struct pollfd pfd[3] = {{.fd = t->fd, .events = POLLIN},
                            {.fd = t->stop_pipe[0], .events = POLLIN},
                            {.fd = t->link_watch, .events = POLLIN}}; /* poll() skips a -1 */
    if (!t->link_up) {
        esp_smoltcp_netdev_link_changed(false);
    }
    while (atomic_load(&t->running)) {
        if (tap_poll(pfd, 3, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            ESP_LOGE(TAG, "poll: %s", strerror(errno));
            break;
        }
        if (pfd[1].revents) {
            break;
        }
        if (pfd[2].revents) {
            follow_link_watch(t);
        }
        if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
            /* The TAP was deleted: poll() would say so at once forever. A dead link, not a spin. */
            ESP_LOGE(TAG, "%s is gone: no more frames from it", t->ifname);
            if (t->link_up) {
                t->link_up = false;
                esp_smoltcp_netdev_link_changed(false);
            }
            break;
        }
        /* Drain what is ready, so a burst costs one poll(). The burst ends (and the engine takes
         * its frames) every RX_BURST_MAX frames and when the pool runs dry, so a long queue in the
         * kernel does not empty the pool before the engine has seen a frame. */
        size_t frames = 0;
        for (;;) {
            size_t size = 0;
            uint8_t *buf = esp_smoltcp_rx_buffer_alloc(&size);
            if ((!buf && frames) || frames == RX_BURST_MAX) {
                esp_smoltcp_netdev_rx_burst_end();
                frames = 0;
                buf = buf ? buf : esp_smoltcp_rx_buffer_alloc(&size);
            }
            /* No pool buffer: still read the frame out of the kernel, then drop it (counted). */
            ssize_t n = tap_read(t->fd, buf ? buf : t->discard, buf ? size : sizeof(t->discard));
            if (n <= 0) {
                if (buf) {
                    esp_smoltcp_rx_buffer_free(buf);
                }
                break;
            }
            if (buf) {
                esp_smoltcp_netdev_input_pool(buf, (size_t)n);
                frames++;
            } else {
                esp_smoltcp_netdev_rx_dropped();
            }
        }
        if (frames) {
            esp_smoltcp_netdev_rx_burst_end();
        }
    }
}

/* Whether the TAP is administratively up (any socket reaches SIOCGIFFLAGS: the link watch's). */
static bool tap_admin_up(const tap_dev_t *t)
{
    struct ifreq ifr = {0};
    memcpy(ifr.ifr_name, t->ifname, sizeof(ifr.ifr_name)); /* both IFNAMSIZ, NUL-terminated */
    return tap_ioctl(t->link_watch, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
}

/* Attaching gives the TAP its carrier, but the kernel takes a moment (its link-watch work) before
 * the TAP runs and its bridge port forwards: a frame sent at once is often dropped. Wait, bounded,
 * as a driver waits for its PHY, for the message that says the TAP runs (the watch was opened
 * before the attach, so it cannot be missed; it is sent after the bridge has enabled the port, the
 * flags alone may say "running" a moment before). A TAP that is administratively down is a cable
 * out: not waited for. Returns whether the link is up. */
static bool wait_until_running(const tap_dev_t *t)
{
    enum { RUNNING_WAIT_MS = 2000 };
    if (!tap_admin_up(t)) {
        return false;
    }
    uint64_t deadline = os_now_us() + RUNNING_WAIT_MS * 1000ull;
    for (uint64_t now = os_now_us(); now < deadline; now = os_now_us()) {
        struct pollfd pfd = {.fd = t->link_watch, .events = POLLIN};
        if (tap_poll(&pfd, 1, (int)((deadline - now + 999) / 1000)) <= 0) {
            continue;
        }
        bool up;
        if (read_link_watch(t, &up) && up) {
            return true;
        }
    }
    ESP_LOGW(TAG, "%s does not run after %d ms: taken as up", t->ifname, RUNNING_WAIT_MS);
    return true;
}

static esp_err_t tap_start(esp_smoltcp_netdev_t *dev)
{
    tap_dev_t *t = (tap_dev_t *)dev;
    atomic_store(&t->running, true);
    os_thread_config_t cfg = {.name = "tap_rx", .stack_size = 0, .priority = 0, .core = -1};
    return os_thread_create(&cfg, reader_main, t, &t->reader);
}

static void tap_stop(esp_smoltcp_netdev_t *dev)
{
    tap_dev_t *t = (tap_dev_t *)dev;
    if (!t->reader) {
        return;
    }
    atomic_store(&t->running, false);
    (void)!tap_write(t->stop_pipe[1], "x", 1);
    os_thread_join(t->reader);
    t->reader = NULL;
}

static esp_err_t tap_transmit(esp_smoltcp_netdev_t *dev, const uint8_t *frame, size_t len)
{
    tap_dev_t *t = (tap_dev_t *)dev;
    for (;;) {
        ssize_t n = tap_write(t->fd, frame, len);
        if (n == (ssize_t)len) {
            return ESP_OK;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        return ESP_FAIL;
    }
}

static esp_err_t tap_get_mac(esp_smoltcp_netdev_t *dev, uint8_t mac[6])
{
    memcpy(mac, ((tap_dev_t *)dev)->mac, 6);
    return ESP_OK;
}

static void tap_destroy(esp_smoltcp_netdev_t *dev)
{
    tap_dev_t *t = (tap_dev_t *)dev;
    tap_stop(dev);
    tap_close(t->fd);
    tap_close(t->stop_pipe[0]);
    tap_close(t->stop_pipe[1]);
    if (t->link_watch >= 0) {
        tap_close(t->link_watch);
    }
    free(t);
}

esp_err_t esp_smoltcp_tap_create(const char *ifname, const uint8_t *mac, esp_smoltcp_netdev_t **out)
{
    if (!ifname || !out || strlen(ifname) >= IFNAMSIZ) {
        return ESP_ERR_INVALID_ARG;
    }
    tap_dev_t *t = calloc(1, sizeof(*t));
    if (!t) {
        return ESP_ERR_NO_MEM;
    }
    t->fd = tap_open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (t->fd < 0) {
        ESP_LOGE(TAG, "open /dev/net/tun: %s", strerror(errno));
        free(t);
        return ESP_ERR_NOT_FOUND;
    }
    /* Link changes, watched from before the attach (see wait_until_running). Without the watch
     * the link simply stays up (a warning says so). */
    t->link_up = true;
    t->link_watch = tap_link_watch_open();
    if (t->link_watch < 0) {
        ESP_LOGW(TAG, "no route netlink socket (%s): link changes of %s not followed", strerror(errno), ifname);
    }
    struct ifreq ifr = {0};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
    if (tap_ioctl(t->fd, TUNSETIFF, &ifr) < 0 || tap_pipe2(t->stop_pipe, O_CLOEXEC) < 0) {
        ESP_LOGE(TAG, "attach to tap %s: %s", ifname, strerror(errno));
        tap_close(t->fd);
        if (t->link_watch >= 0) {
            tap_close(t->link_watch);
        }
        free(t);
        return ESP_ERR_NOT_FOUND;
    }
    /* Non-blocking reads let the reader drain a burst and return to poll(). */
    tap_fcntl(t->fd, F_SETFL, tap_fcntl(t->fd, F_GETFL, 0) | O_NONBLOCK);
    strncpy(t->ifname, ifname, IFNAMSIZ - 1);
    if (t->link_watch >= 0 && !wait_until_running(t)) {
        t->link_up = false; /* reported by the reader when it starts: the runtime assumes up */
    }
    if (mac) {
        memcpy(t->mac, mac, 6);
    } else {
        uint64_t r = os_random_u64();
        memcpy(t->mac, &r, 6);
        t->mac[0] = (uint8_t)((t->mac[0] & 0xfe) | 0x02); /* unicast, locally administered */
    }
    t->base = (esp_smoltcp_netdev_t){
        .name = t->ifname,
        .start = tap_start,
        .stop = tap_stop,
        .transmit = tap_transmit,
        .get_mac = tap_get_mac,
        .destroy = tap_destroy,
        .mtu = 1500,
        .rx_checksums_verified = false,
        .rx_bursts = true,
    };
    *out = &t->base;
    return ESP_OK;
}
