/*
 * esp_netif shim: what examples/ethernet/basic and esp_eth's netif glue call,
 * served by esp_smoltcp, so an unchanged app that does
 *
 *     esp_netif_init(); esp_event_loop_create_default();
 *     esp_netif_t *n = esp_netif_new(&(esp_netif_config_t)ESP_NETIF_DEFAULT_ETH());
 *     esp_netif_attach(n, esp_eth_new_netif_glue(eth));
 *     ... IP_EVENT_ETH_GOT_IP handler reads ip_event_got_ip_t.ip_info ...
 *     esp_eth_start(eth);
 *
 * runs on our stack. lwIP's esp_netif stays compiled; these functions replace
 * it through `-Wl,--wrap=esp_netif_<name>` (CONFIG_LWIP_COMPAT_NETIF_SHIM; the
 * list lives in CMakeLists.txt and must match this file). An esp_netif_t
 * handed out here is our own object: every function IDF code reaches with it
 * must be wrapped, which is why the list is closed and small.
 *
 * Flow: esp_netif_attach() runs the glue's post_attach, which gives us the
 * driver (esp_netif_set_driver_config: the esp_eth handle) and points the
 * esp_eth input path at esp_netif_receive; we then attach the esp_eth handle
 * to esp_smoltcp, which takes the input path over (no detour through
 * esp_netif_receive). An IPv4 observer posts IP_EVENT_ETH_GOT_IP for every
 * address the stack applies (ip_changed when it differs from the last one) and
 * IP_EVENT_ETH_LOST_IP when a lease is given up (e.g. DHCP restarted after the
 * link came back), as lwIP's esp_netif does.
 */
#include <stdlib.h>
#include <string.h>

#include "esp_event.h"
#include "esp_log.h"
#include "esp_netif.h"
#include "esp_smoltcp.h"
#include "esp_smoltcp_eth.h"

static const char *TAG = "compat_netif";

typedef struct {
    esp_netif_iodriver_handle driver; /* the esp_eth handle, from the glue */
    uint8_t mac[6];
    bool has_mac;
    bool attached;
    bool observing;           /* our IPv4 observer is installed */
    esp_netif_ip_info_t last; /* what the last IP_EVENT_ETH_GOT_IP carried */
} shim_netif_t;

static shim_netif_t *from(esp_netif_t *n)
{
    return (shim_netif_t *)n;
}

/* esp_netif's view of an address: network-order words, lwIP's ip4_addr_t layout. */
static void ip_info_from(const esp_smoltcp_ip4_info_t *ip, esp_netif_ip_info_t *out)
{
    memset(out, 0, sizeof(*out));
    uint32_t mask = ip->prefix_len ? 0xffffffffu << (32 - ip->prefix_len) : 0;
    uint8_t m[4] = {(uint8_t)(mask >> 24), (uint8_t)(mask >> 16), (uint8_t)(mask >> 8), (uint8_t)mask};
    memcpy(&out->ip.addr, ip->addr, 4);
    memcpy(&out->netmask.addr, m, 4);
    if (ip->has_gateway) {
        memcpy(&out->gw.addr, ip->gateway, 4);
    }
}

/* IPv4 observer (poll task, stack lock held): post, never wait for the event queue. */
static void on_ip4(esp_smoltcp_iface_t iface, bool got, const esp_smoltcp_ip4_info_t *info, void *arg)
{
    (void)iface;
    esp_netif_t *n = arg;
    shim_netif_t *s = from(n);
    ip_event_got_ip_t ev = {.esp_netif = n};
    int32_t id = IP_EVENT_ETH_LOST_IP;
    if (got) {
        id = IP_EVENT_ETH_GOT_IP;
        ip_info_from(info, &ev.ip_info);
        ev.ip_changed = memcmp(&ev.ip_info, &s->last, sizeof(ev.ip_info)) != 0;
        s->last = ev.ip_info;
    }
    if (esp_event_post(IP_EVENT, id, &ev, sizeof(ev), 0) != ESP_OK) {
        ESP_LOGW(TAG, "event queue full: IP_EVENT_ETH_%s_IP not posted", got ? "GOT" : "LOST");
    }
}

esp_err_t __wrap_esp_netif_init(void)
{
    esp_err_t err = esp_smoltcp_init();
    return err == ESP_ERR_INVALID_STATE ? ESP_OK : err; /* already running */
}

esp_err_t __wrap_esp_netif_deinit(void)
{
    return ESP_ERR_NOT_SUPPORTED; /* as lwIP's esp_netif */
}

esp_netif_t *__wrap_esp_netif_new(const esp_netif_config_t *cfg)
{
    if (!cfg) {
        return NULL;
    }
    return (esp_netif_t *)calloc(1, sizeof(shim_netif_t));
}

void __wrap_esp_netif_destroy(esp_netif_t *n)
{
    shim_netif_t *s = from(n);
    if (s && s->observing) {
        (void)esp_smoltcp_remove_ip4_observer(on_ip4, n);
    }
    free(s);
}

esp_err_t __wrap_esp_netif_set_driver_config(esp_netif_t *n, const esp_netif_driver_ifconfig_t *drv)
{
    if (!n || !drv) {
        return ESP_ERR_INVALID_ARG;
    }
    from(n)->driver = drv->handle;
    return ESP_OK;
}

esp_err_t __wrap_esp_netif_set_mac(esp_netif_t *n, uint8_t mac[])
{
    if (!n || !mac) {
        return ESP_ERR_INVALID_ARG;
    }
    memcpy(from(n)->mac, mac, 6);
    from(n)->has_mac = true;
    return ESP_OK;
}

esp_err_t __wrap_esp_netif_get_mac(esp_netif_t *n, uint8_t mac[])
{
    if (!n || !mac || !from(n)->has_mac) {
        return ESP_ERR_INVALID_ARG;
    }
    memcpy(mac, from(n)->mac, 6);
    return ESP_OK;
}

/* Only reached between post_attach and our attach: esp_smoltcp then owns the input path. */
esp_err_t __wrap_esp_netif_receive(esp_netif_t *n, void *buffer, size_t len, void *eb)
{
    (void)n;
    (void)len;
    (void)eb;
    free(buffer);
    return ESP_OK;
}

esp_err_t __wrap_esp_netif_set_link_speed(esp_netif_t *n, uint32_t speed)
{
    (void)n;
    (void)speed;
    return ESP_OK;
}

/* Link and start/stop come to esp_smoltcp from esp_eth's own events; nothing to do here. */
void __wrap_esp_netif_action_start(void *n, esp_event_base_t b, int32_t id, void *data)
{
    (void)n, (void)b, (void)id, (void)data;
}
void __wrap_esp_netif_action_stop(void *n, esp_event_base_t b, int32_t id, void *data)
{
    (void)n, (void)b, (void)id, (void)data;
}
void __wrap_esp_netif_action_connected(void *n, esp_event_base_t b, int32_t id, void *data)
{
    (void)n, (void)b, (void)id, (void)data;
}
void __wrap_esp_netif_action_disconnected(void *n, esp_event_base_t b, int32_t id, void *data)
{
    (void)n, (void)b, (void)id, (void)data;
}
void __wrap_esp_netif_action_got_ip(void *n, esp_event_base_t b, int32_t id, void *data)
{
    (void)n, (void)b, (void)id, (void)data;
}

esp_err_t __wrap_esp_netif_get_ip_info(esp_netif_t *n, esp_netif_ip_info_t *out)
{
    if (!n || !out) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_smoltcp_ip4_info_t ip;
    memset(out, 0, sizeof(*out));
    esp_err_t err = esp_smoltcp_get_ip4_info(ESP_SMOLTCP_IFACE_ETH, &ip);
    if (err != ESP_OK || !ip.has_addr) {
        return err == ESP_ERR_INVALID_STATE ? ESP_OK : err; /* not up yet: zeros, as esp_netif */
    }
    ip_info_from(&ip, out);
    return ESP_OK;
}

bool __wrap_esp_netif_is_netif_up(esp_netif_t *n)
{
    esp_smoltcp_ip4_info_t ip;
    return n && esp_smoltcp_get_ip4_info(ESP_SMOLTCP_IFACE_ETH, &ip) == ESP_OK;
}

esp_err_t __wrap_esp_netif_attach(esp_netif_t *n, esp_netif_iodriver_handle driver)
{
    if (!n || !driver) {
        return ESP_ERR_INVALID_ARG;
    }
    shim_netif_t *s = from(n);
    if (s->attached) {
        return ESP_ERR_INVALID_STATE;
    }
    /* The glue's post_attach: registers its esp_eth event handlers and calls
     * esp_netif_set_driver_config() with the esp_eth handle. */
    esp_netif_driver_base_t *base = driver;
    base->netif = n;
    esp_err_t err = base->post_attach ? base->post_attach(n, driver) : ESP_OK;
    if (err != ESP_OK) {
        return err;
    }
    if (!s->driver) {
        ESP_LOGE(TAG, "driver gave no handle (only esp_eth is supported)");
        return ESP_ERR_NOT_SUPPORTED;
    }
    (void)esp_smoltcp_init(); /* ESP_ERR_INVALID_STATE: esp_netif_init() did it */
    /* Before the attach: a static address is applied during it. */
    err = esp_smoltcp_add_ip4_observer(on_ip4, n);
    if (err != ESP_OK) {
        return err;
    }
    s->observing = true;
    err = esp_smoltcp_attach_eth((esp_eth_handle_t)s->driver);
    if (err != ESP_OK) {
        (void)esp_smoltcp_remove_ip4_observer(on_ip4, n);
        s->observing = false;
        return err;
    }
    s->attached = true;
    return ESP_OK;
}
