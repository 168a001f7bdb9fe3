/*
 * Events of the runtime, in process over the test netdev:
 * - IPv4 observers next to the application's callback: argument checks, the
 *   bounded table, and that each of them hears of an address applied at attach;
 * - link reports: counted in the stats, and a link that comes back up sends a
 *   DHCP DISCOVER at once instead of at smoltcp's 10 s discover retry.
 */
#define _DEFAULT_SOURCE /* usleep */
#include <stdatomic.h>
#include <unistd.h>

#include "esp_smoltcp.h"
#include "esp_smoltcp_netdev.h"
#include "test_netdev.h"
#include "unit_test.h"

static const uint8_t MAC[6] = {0x02, 0, 0, 0x12, 0x34, 0x58};

typedef struct {
    int got, lost;
    uint8_t addr[4];
} seen_t;

static void observe(esp_smoltcp_iface_t iface, bool got, const esp_smoltcp_ip4_info_t *info, void *arg)
{
    seen_t *s = arg;
    (void)iface;
    if (got) {
        s->got++;
        memcpy(s->addr, info->addr, 4);
    } else {
        s->lost++;
    }
}

static void test_ip4_observers(void)
{
    seen_t app = {0}, a = {0}, b = {0}, spare = {0};
    CHECK_EQ(esp_smoltcp_add_ip4_observer(observe, &a), ESP_ERR_INVALID_STATE); /* before init */

    esp_smoltcp_config_t cfg = ESP_SMOLTCP_DEFAULT_CONFIG();
    cfg.ipv4_mode = ESP_SMOLTCP_IPV4_STATIC;
    cfg.static_ip = "198.18.5.4/24";
    CHECK_EQ(esp_smoltcp_init_with_config(&cfg), ESP_OK);
    CHECK_EQ(esp_smoltcp_add_ip4_observer(NULL, &a), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_smoltcp_set_ip4_callback(observe, &app), ESP_OK);
    CHECK_EQ(esp_smoltcp_add_ip4_observer(observe, &a), ESP_OK);
    CHECK_EQ(esp_smoltcp_add_ip4_observer(observe, &b), ESP_OK);
    int extra = 0;
    while (esp_smoltcp_add_ip4_observer(observe, &spare) == ESP_OK) {
        extra++;
    }
    CHECK_EQ(extra, ESP_SMOLTCP_IP4_OBSERVERS - 2); /* then ESP_ERR_NO_MEM, checked next */
    CHECK_EQ(esp_smoltcp_add_ip4_observer(observe, &spare), ESP_ERR_NO_MEM);
    for (int i = 0; i < extra; i++) {
        CHECK_EQ(esp_smoltcp_remove_ip4_observer(observe, &spare), ESP_OK);
    }
    CHECK_EQ(esp_smoltcp_remove_ip4_observer(observe, &spare), ESP_ERR_NOT_FOUND);

    CHECK_EQ(esp_smoltcp_attach_netdev(test_netdev(MAC, NULL)), ESP_OK);
    const uint8_t want[4] = {198, 18, 5, 4};
    CHECK_EQ(app.got, 1);
    CHECK_EQ(a.got, 1);
    CHECK_EQ(b.got, 1);
    CHECK_EQ(spare.got, 0);
    CHECK_MEM(a.addr, want, 4);
    CHECK_MEM(b.addr, want, 4);
    CHECK_EQ(app.lost + a.lost + b.lost, 0);
    CHECK_EQ(esp_smoltcp_deinit(), ESP_OK);
}

/* DHCP DISCOVERs the stack has sent (UDP to port 67 with message type 1). */
static atomic_int discovers;

static void count_discover(const uint8_t *f, size_t len)
{
    const size_t udp = 14 + 20, bootp = udp + 8, options = bootp + 240;
    if (len >= options + 3 && f[12] == 0x08 && f[13] == 0x00 && f[14 + 9] == 17 && f[udp + 2] == 0 &&
        f[udp + 3] == 67 && f[options] == 53 && f[options + 2] == 1) {
        atomic_fetch_add(&discovers, 1);
    }
}

static bool wait_discovers(int n, int ms)
{
    for (int waited = 0; waited < ms; waited += 10) {
        if (atomic_load(&discovers) >= n) {
            return true;
        }
        usleep(10 * 1000);
    }
    return atomic_load(&discovers) >= n;
}

static void test_link_up_restarts_dhcp(void)
{
    esp_smoltcp_config_t cfg = ESP_SMOLTCP_DEFAULT_CONFIG();
    cfg.ipv4_mode = ESP_SMOLTCP_IPV4_DHCP;
    CHECK_EQ(esp_smoltcp_init_with_config(&cfg), ESP_OK);
    CHECK_EQ(esp_smoltcp_attach_netdev(test_netdev(MAC, count_discover)), ESP_OK);
    CHECK(wait_discovers(1, 2000)); /* the first one goes out at once */
    usleep(300 * 1000);
    CHECK_EQ(atomic_load(&discovers), 1); /* smoltcp asks again only after 10 s */

    esp_smoltcp_stats_t st;
    CHECK_EQ(esp_smoltcp_get_stats(ESP_SMOLTCP_IFACE_ETH, &st), ESP_OK);
    CHECK(st.link_up);
    CHECK_EQ(st.link_changes, 0);

    esp_smoltcp_netdev_link_changed(false);
    CHECK_EQ(esp_smoltcp_get_stats(ESP_SMOLTCP_IFACE_ETH, &st), ESP_OK);
    CHECK(!st.link_up);
    CHECK_EQ(st.link_changes, 1);
    usleep(100 * 1000);
    CHECK_EQ(atomic_load(&discovers), 1); /* down: nothing new is asked */

    esp_smoltcp_netdev_link_changed(true);
    CHECK(wait_discovers(2, 1000)); /* up: discovery again, now */
    CHECK_EQ(esp_smoltcp_get_stats(ESP_SMOLTCP_IFACE_ETH, &st), ESP_OK);
    CHECK(st.link_up);
    CHECK_EQ(st.link_changes, 2);

    /* A down-up pair between two polls is one more restart, not lost. */
    esp_smoltcp_netdev_link_changed(false);
    esp_smoltcp_netdev_link_changed(true);
    CHECK(wait_discovers(3, 1000));
    CHECK_EQ(esp_smoltcp_deinit(), ESP_OK);
}

int main(void)
{
    test_ip4_observers();
    test_link_up_restarts_dhcp();
    return UNIT_TEST_END();
}
