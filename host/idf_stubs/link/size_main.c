/*
 * The size image's entry: reaches every public entry point of the three
 * components as an IDF app and IDF's own components would — the runtime API,
 * the esp_eth netdev, every wrapped lwip_* / esp_netif_* function, the VFS
 * registration — so --gc-sections keeps exactly what a real app can use.
 * SIZE_SERVICES (scripts/size.sh profile "all"): also every optional service
 * an app can turn on — SNTP, PTP (Kconfig ESP_SMOLTCP_PTP), mDNS/DNS-SD
 * (Kconfig ESP_SMOLTCP_MDNS), the L2 tap, ping, the native DNS and multicast
 * calls, the IPv4 callback and the pool API a custom netdev driver uses. A new
 * public function goes here (or above, when every app reaches it) and in
 * size.sh's profile text: what main() does not call is not counted.
 */
#include <stdint.h>

#include "esp_netif.h"
#include "esp_smoltcp.h"
#include "esp_smoltcp_addrs.h"
#include "esp_smoltcp_dns.h"
#include "esp_smoltcp_eth.h"
#include "esp_smoltcp_l2tap.h"
#include "esp_smoltcp_mcast.h"
#include "esp_smoltcp_mdns.h"
#include "esp_smoltcp_netdev.h"
#include "esp_smoltcp_ping.h"
#include "esp_smoltcp_ptp.h"
#include "esp_smoltcp_sntp.h"
#include "esp_smoltcp_sock.h"
#include "lwip/netdb.h"
#include "lwip/sockets.h"

void esp_vfs_lwip_sockets_register(void);
esp_err_t esp_netif_init(void);
esp_netif_t *esp_netif_new(const esp_netif_config_t *cfg);
esp_err_t esp_netif_attach(esp_netif_t *n, esp_netif_iodriver_handle d);
esp_err_t esp_netif_get_ip_info(esp_netif_t *n, esp_netif_ip_info_t *i);
esp_err_t esp_netif_set_driver_config(esp_netif_t *n, const esp_netif_driver_ifconfig_t *d);
esp_err_t esp_netif_set_mac(esp_netif_t *n, uint8_t mac[]);
esp_err_t esp_netif_get_mac(esp_netif_t *n, uint8_t mac[]);
esp_err_t esp_netif_receive(esp_netif_t *n, void *b, size_t l, void *eb);
esp_err_t esp_netif_set_link_speed(esp_netif_t *n, uint32_t s);
void esp_netif_action_start(void *n, esp_event_base_t b, int32_t id, void *d);
void esp_netif_action_stop(void *n, esp_event_base_t b, int32_t id, void *d);
void esp_netif_action_connected(void *n, esp_event_base_t b, int32_t id, void *d);
void esp_netif_action_disconnected(void *n, esp_event_base_t b, int32_t id, void *d);
void esp_netif_action_got_ip(void *n, esp_event_base_t b, int32_t id, void *d);
bool esp_netif_is_netif_up(esp_netif_t *n);
void esp_netif_destroy(esp_netif_t *n);
esp_err_t esp_netif_deinit(void);

/* volatile: the optimiser must not fold the calls away */
volatile uintptr_t sink;
#define USE(x) (sink += (uintptr_t)(x))

int main(void)
{
    static char buf[64];
    struct sockaddr_in6 sa;
    socklen_t sl = sizeof(sa);
    fd_set fs;
    struct timeval tv = {0};
    struct msghdr mh = {0};
    struct iovec iov = {buf, sizeof(buf)};
    struct addrinfo *ai = 0;
    struct hostent he, *hp;
    int herr;
    esp_smoltcp_stats_t st;
    esp_smoltcp_ip4_info_t ip;
    esp_smoltcp_ip6_info_t ip6;
    esp_smoltcp_ip_addr_t addrs[4];
    size_t naddrs;
    esp_smoltcp_eth_stats_t es;
    esp_netif_ip_info_t ni;
    uint8_t mac[6];

    USE(esp_smoltcp_init());
    USE(esp_smoltcp_attach_eth((esp_eth_handle_t)buf));
    USE(esp_smoltcp_wait_for_ip(ESP_SMOLTCP_IFACE_ETH, 1000));
    USE(esp_smoltcp_get_ip4_info(ESP_SMOLTCP_IFACE_ETH, &ip));
    USE(esp_smoltcp_get_ip6_info(ESP_SMOLTCP_IFACE_ETH, &ip6));
    USE(esp_smoltcp_get_ip_addrs(ESP_SMOLTCP_IFACE_ETH, ESP_SMOLTCP_AF_UNSPEC, addrs, 4, &naddrs));
    USE(esp_smoltcp_get_stats(ESP_SMOLTCP_IFACE_ETH, &st));
    USE(esp_smoltcp_eth_get_stats(&es));

    int s = lwip_socket(AF_INET6, SOCK_STREAM, 0);
    USE(lwip_bind(s, (struct sockaddr *)&sa, sl));
    USE(lwip_listen(s, 5));
    USE(lwip_accept(s, (struct sockaddr *)&sa, &sl));
    USE(lwip_connect(s, (struct sockaddr *)&sa, sl));
    USE(lwip_send(s, buf, 1, 0));
    USE(lwip_sendto(s, buf, 1, 0, (struct sockaddr *)&sa, sl));
    USE(lwip_sendmsg(s, &mh, 0));
    USE(lwip_recv(s, buf, 1, 0));
    USE(lwip_recvfrom(s, buf, 1, 0, (struct sockaddr *)&sa, &sl));
    USE(lwip_recvmsg(s, &mh, 0));
    USE(lwip_shutdown(s, SHUT_RDWR));
    USE(lwip_getsockname(s, (struct sockaddr *)&sa, &sl));
    USE(lwip_getpeername(s, (struct sockaddr *)&sa, &sl));
    USE(lwip_setsockopt(s, SOL_SOCKET, SO_REUSEADDR, buf, 4));
    USE(lwip_getsockopt(s, SOL_SOCKET, SO_ERROR, buf, &sl));
    USE(lwip_read(s, buf, 1));
    USE(lwip_readv(s, &iov, 1));
    USE(lwip_write(s, buf, 1));
    USE(lwip_writev(s, &iov, 1));
    USE(lwip_select(s + 1, &fs, &fs, &fs, &tv));
    USE(lwip_ioctl(s, 0, buf));
    USE(lwip_fcntl(s, 0, 0));
    USE(lwip_inet_ntop(AF_INET, buf, buf, sizeof(buf)));
    USE(lwip_inet_pton(AF_INET, buf, buf));
    USE(lwip_getaddrinfo(buf, buf, 0, &ai));
    lwip_freeaddrinfo(ai);
    USE(lwip_gethostbyname(buf));
    USE(lwip_gethostbyname_r(buf, &he, buf, sizeof(buf), &hp, &herr));
    USE(lwip_close(s));
    esp_vfs_lwip_sockets_register();

    USE(esp_netif_init());
    esp_netif_t *n = esp_netif_new((const esp_netif_config_t *)buf);
    USE(esp_netif_attach(n, buf));
    USE(esp_netif_set_driver_config(n, (const esp_netif_driver_ifconfig_t *)buf));
    USE(esp_netif_set_mac(n, mac));
    USE(esp_netif_get_mac(n, mac));
    USE(esp_netif_receive(n, buf, 1, 0));
    USE(esp_netif_set_link_speed(n, 100));
    esp_netif_action_start(n, 0, 0, 0);
    esp_netif_action_stop(n, 0, 0, 0);
    esp_netif_action_connected(n, 0, 0, 0);
    esp_netif_action_disconnected(n, 0, 0, 0);
    esp_netif_action_got_ip(n, 0, 0, 0);
    USE(esp_netif_get_ip_info(n, &ni));
    USE(esp_netif_is_netif_up(n));
    esp_netif_destroy(n);
    USE(esp_netif_deinit());

#ifdef SIZE_SERVICES
    static const esp_smoltcp_sntp_config_t sntp_cfg = {.servers = {"pool.ntp.org"}, .server_count = 1};
    static const esp_smoltcp_ptp_config_t ptp_cfg = {.transport = ESP_SMOLTCP_PTP_TRANSPORT_L2};
    static const esp_smoltcp_l2tap_config_t tap_cfg = ESP_SMOLTCP_L2TAP_DEFAULT_CONFIG(0x88cc);
    esp_smoltcp_endpoint_t ep;
    esp_smoltcp_sntp_info_t si;
    esp_smoltcp_ptp_status_t ps;
    esp_smoltcp_l2tap_stats_t ts;
    struct timeval now;
    int64_t ns;
    const char *srv[1] = {"198.18.0.1"};

    USE(esp_smoltcp_sntp_init(&sntp_cfg));
    USE(esp_smoltcp_sntp_set_servers(srv, 1));
    USE(esp_smoltcp_sntp_restart());
    USE(esp_smoltcp_sntp_get_time(&now));
    USE(esp_smoltcp_sntp_get_sync_status());
    USE(esp_smoltcp_sntp_wait_sync(1));
    USE(esp_smoltcp_sntp_get_info(&si));
    USE(esp_smoltcp_sntp_status_name(0));
    USE(esp_smoltcp_sntp_deinit());
    USE(esp_smoltcp_ptp_init(&ptp_cfg));
    USE(esp_smoltcp_ptp_get_status(&ps));
    USE(esp_smoltcp_ptp_get_time(&ns));
    USE(esp_smoltcp_ptp_state_name(0));
    USE(esp_smoltcp_ptp_deinit());
    int t = esp_smoltcp_l2tap_open(&tap_cfg);
    USE(esp_smoltcp_l2tap_recv(t, buf, sizeof(buf), 0, 0));
    USE(esp_smoltcp_l2tap_send(t, buf, sizeof(buf), 0));
    USE(esp_smoltcp_l2tap_get_stats(t, &ts));
    USE(esp_smoltcp_l2tap_get_mac(ESP_SMOLTCP_IFACE_ETH, mac));
    USE(esp_smoltcp_l2tap_close(t));
    USE(esp_smoltcp_l2tap_set_ts_hooks(ESP_SMOLTCP_IFACE_ETH, 0));
    USE(esp_smoltcp_dns_resolve(buf, AF_INET, &ep, 1, 1000));
    USE(esp_smoltcp_dns_set_servers(&ep, 1));
    USE(esp_smoltcp_dns_get_servers(&ep, 1));
    USE(esp_smoltcp_mcast_join(ESP_SMOLTCP_IFACE_ETH, AF_INET, mac));
    USE(esp_smoltcp_mcast_users(ESP_SMOLTCP_IFACE_ETH, AF_INET, mac));
    USE(esp_smoltcp_mcast_leave(ESP_SMOLTCP_IFACE_ETH, AF_INET, mac));
    USE(esp_smoltcp_mcast_is_multicast(AF_INET, mac));
    esp_smoltcp_dns_set_local_resolver(esp_smoltcp_mdns_resolve_host);
    static const esp_smoltcp_mdns_txt_item_t txt[] = {{"path", "/"}};
    esp_smoltcp_mdns_info_t mi;
    USE(esp_smoltcp_mdns_init("dut"));
    USE(esp_smoltcp_mdns_service_add("web", "_http", "_tcp", 80, txt, 1));
    USE(esp_smoltcp_mdns_get_info(&mi));
    USE(esp_smoltcp_mdns_resolve_host("peer.local", AF_INET, &ep, 1, 1000));
    USE(esp_smoltcp_mdns_service_remove("_http", "_tcp"));
    USE(esp_smoltcp_mdns_free());
    static const esp_smoltcp_ping_config_t ping_cfg = ESP_SMOLTCP_PING_DEFAULT_CONFIG();
    esp_smoltcp_ping_result_t pr;
    USE(esp_smoltcp_ping(&ping_cfg, &pr));
    USE(esp_smoltcp_set_ip4_callback((esp_smoltcp_ip4_cb_t)(uintptr_t)sink, 0));
    USE(esp_smoltcp_add_ip4_observer((esp_smoltcp_ip4_cb_t)(uintptr_t)sink, 0));
    USE(esp_smoltcp_remove_ip4_observer((esp_smoltcp_ip4_cb_t)(uintptr_t)sink, 0));
    size_t rxsz = 0;
    uint8_t *rxb = esp_smoltcp_rx_buffer_alloc(&rxsz);
    esp_smoltcp_netdev_input_pool(rxb, rxsz);
    esp_smoltcp_rx_buffer_free(rxb);
    esp_smoltcp_netdev_rx_dropped();
#endif

    USE(esp_smoltcp_deinit());
    return 0;
}
