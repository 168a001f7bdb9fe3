/*
 * A minimal TAP netif for Debian's lwIP 2.1.3 (bench only). Debian's own
 * contrib tapif reads frames into a 1536-byte stack buffer and copies them into
 * PBUF_POOL pbufs of 616 bytes (heap overflow for frames > ~592 bytes); this one
 * reads each frame straight into a PBUF_RAM pbuf (one heap buffer, no copy, as
 * a DMA driver would) and hands it to tcpip_input(). TX writes the single pbuf
 * (LWIP_NETIF_TX_SINGLE_PBUF is on in Debian's build) or a flattened copy.
 * lwIP itself is used unmodified.
 */
#define _GNU_SOURCE
#include "lwip_tapif.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lwip/etharp.h"
#include "lwip/ethip6.h"
#include "lwip/pbuf.h"
#include "lwip/tcpip.h"
#include "netif/ethernet.h"

#define FRAME_MAX 1518 /* 1500 + 14 + VLAN tag */

static err_t tap_linkoutput(struct netif *netif, struct pbuf *p)
{
    bench_tapif_t *t = netif->state;
    ssize_t n;
    if (p->next == NULL) {
        n = write(t->fd, p->payload, p->len);
    } else {
        uint8_t buf[FRAME_MAX + 64];
        if (p->tot_len > sizeof(buf)) {
            t->tx_failures++;
            return ERR_BUF;
        }
        pbuf_copy_partial(p, buf, p->tot_len, 0);
        n = write(t->fd, buf, p->tot_len);
    }
    if (n != (ssize_t)p->tot_len) {
        t->tx_failures++;
        return ERR_IF;
    }
    t->tx_frames++;
    t->tx_bytes += (uint64_t)n;
    return ERR_OK;
}

static void *rx_main(void *arg)
{
    struct netif *netif = arg;
    bench_tapif_t *t = netif->state;
    for (;;) {
        struct pbuf *p = pbuf_alloc(PBUF_RAW, FRAME_MAX, PBUF_RAM);
        if (!p) {
            uint8_t discard[FRAME_MAX];
            if (read(t->fd, discard, sizeof(discard)) < 0 && errno != EINTR) {
                break;
            }
            t->rx_drops_alloc++;
            continue;
        }
        ssize_t n = read(t->fd, p->payload, FRAME_MAX);
        if (n <= 0) {
            pbuf_free(p);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            break;
        }
        pbuf_realloc(p, (u16_t)n);
        t->rx_frames++;
        t->rx_bytes += (uint64_t)n;
        if (netif->input(p, netif) != ERR_OK) {
            pbuf_free(p);
            t->rx_drops_input++;
        }
    }
    fprintf(stderr, "lwip_tapif: reader stopped: %s\n", strerror(errno));
    return NULL;
}

err_t bench_tapif_init(struct netif *netif)
{
    bench_tapif_t *t = netif->state;
    t->fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (t->fd < 0) {
        perror("open /dev/net/tun");
        return ERR_IF;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", t->ifname);
    if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
        perror("TUNSETIFF");
        close(t->fd);
        return ERR_IF;
    }
    netif->name[0] = 't';
    netif->name[1] = 'p';
    netif->output = etharp_output;
#if LWIP_IPV6
    netif->output_ip6 = ethip6_output;
#endif
    netif->linkoutput = tap_linkoutput;
    netif->mtu = 1500;
    netif->hwaddr_len = 6;
    memcpy(netif->hwaddr, t->mac, 6);
    netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_IGMP;
    return ERR_OK;
}

int bench_tapif_start(struct netif *netif)
{
    pthread_t th;
    if (pthread_create(&th, NULL, rx_main, netif) != 0) {
        return -1;
    }
    pthread_detach(th);
    return 0;
}
