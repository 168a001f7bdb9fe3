/*
 * The SNTP client's task in one process, no root: the runtime on a null
 * netdev, NTP "servers" on 127.0.0.1 made of the stack's own UDP sockets
 * (the runtime loops them back), serving this host's clock shifted by a
 * known offset. Checks the task's flow where the e2e test cannot look
 * inside: argument checks, fallback and the per-server statuses, DENY never
 * asked again, callback and esp_sntp-style sync status, smooth mode slewing,
 * new servers at run time, and a deinit that does not wait out a timeout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "esp_smoltcp.h"
#include "esp_smoltcp_sntp.h"
#include "esp_smoltcp_sock.h"
#include "test_netdev.h"
#include "unit_test.h"

/* ---- loopback NTP servers ------------------------------------------------------- */

enum { GOOD, KOD_DENY, SILENT, WRONG_MODE };
#define NSERV 4
static const uint16_t ports[NSERV] = {1201, 1202, 1203, 1204};
static const int behaviour[NSERV] = {GOOD, KOD_DENY, SILENT, WRONG_MODE};
static atomic_int requests[NSERV];
static atomic_llong server_offset_us = 5000000; /* the servers' clock: this host's + 5 s */
static atomic_bool servers_stop;
static int server_h[NSERV];

static int64_t realtime_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void put_ntp(uint8_t *p, int64_t unix_us)
{
    uint64_t sec = (uint64_t)(unix_us / 1000000) + 2208988800u;
    uint64_t frac = ((uint64_t)(unix_us % 1000000) << 32) / 1000000;
    uint64_t t = (sec & 0xFFFFFFFFu) << 32 | frac;
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(t >> (56 - 8 * i));
    }
}

static void *servers(void *arg)
{
    (void)arg;
    while (!atomic_load(&servers_stop)) {
        esp_smoltcp_pollfd_t p[NSERV];
        for (int i = 0; i < NSERV; i++) {
            p[i] = (esp_smoltcp_pollfd_t){.handle = server_h[i], .events = ESP_SMOLTCP_POLLIN};
        }
        if (esp_smoltcp_sock_poll(p, NSERV, 100) <= 0) {
            continue;
        }
        for (int i = 0; i < NSERV; i++) {
            if (!(p[i].revents & ESP_SMOLTCP_POLLIN)) {
                continue;
            }
            uint8_t req[64], rep[48] = {0};
            size_t full;
            esp_smoltcp_endpoint_t from;
            if (esp_smoltcp_sock_recvfrom(server_h[i], req, sizeof(req), 0, &full, &from, 0) < 48) {
                continue;
            }
            atomic_fetch_add(&requests[i], 1);
            int64_t now = realtime_us() + atomic_load(&server_offset_us);
            rep[0] = (4 << 3) | 4;
            rep[1] = 3;
            memcpy(rep + 24, req + 40, 8); /* origin = the request's transmit */
            put_ntp(rep + 32, now);
            put_ntp(rep + 40, now);
            if (behaviour[i] == SILENT) {
                continue;
            }
            if (behaviour[i] == KOD_DENY) {
                rep[0] = (3 << 6) | (4 << 3) | 4;
                rep[1] = 0;
                memcpy(rep + 12, "DENY", 4);
            }
            if (behaviour[i] == WRONG_MODE) {
                rep[0] = (4 << 3) | 3;
            }
            esp_smoltcp_sock_sendto(server_h[i], rep, sizeof(rep), 0, &from, 1000);
        }
    }
    return NULL;
}

static const char *addr(int i)
{
    static char s[NSERV][32];
    snprintf(s[i], sizeof(s[i]), "127.0.0.1:%u", ports[i]);
    return s[i];
}

/* ---- cases -------------------------------------------------------------------- */

static atomic_int cb_calls;
static void on_sync(const struct timeval *tv, void *arg)
{
    (void)tv;
    *(int *)arg = 1;
    atomic_fetch_add(&cb_calls, 1);
}

static esp_smoltcp_sntp_config_t base_config(void)
{
    esp_smoltcp_sntp_config_t c = ESP_SMOLTCP_SNTP_DEFAULT_CONFIG(NULL);
    c.server_count = 0;
    c.timeout_ms = 300;
    return c;
}

static void test_bad_arguments(void)
{
    esp_smoltcp_sntp_config_t c = base_config();
    CHECK_EQ(esp_smoltcp_sntp_init(NULL), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_smoltcp_sntp_init(&c), ESP_ERR_INVALID_ARG); /* no server */
    c.servers[0] = "127.0.0.1";
    c.server_count = 1;
    c.poll_interval_ms = 14999;
    CHECK_EQ(esp_smoltcp_sntp_init(&c), ESP_ERR_INVALID_ARG); /* RFC 4330 §10 */
    c = base_config();
    c.servers[0] = "127.0.0.1";
    c.server_count = 1;
    c.burst = 0;
    CHECK_EQ(esp_smoltcp_sntp_init(&c), ESP_ERR_INVALID_ARG);
    c.burst = 1;
    c.servers[0] = "host:99999";
    CHECK_EQ(esp_smoltcp_sntp_init(&c), ESP_ERR_INVALID_ARG);
    c.servers[0] = "127.0.0.1";
    c.server_count = ESP_SMOLTCP_SNTP_MAX_SERVERS + 1;
    CHECK_EQ(esp_smoltcp_sntp_init(&c), ESP_ERR_INVALID_ARG);
    c.server_count = 1;
    c.server_from_dhcp = true;
    c.servers[0] = "host:0";
    CHECK_EQ(esp_smoltcp_sntp_init(&c), ESP_ERR_INVALID_ARG); /* static servers still checked */
    CHECK_EQ(esp_smoltcp_sntp_deinit(), ESP_ERR_INVALID_STATE);
    CHECK_EQ(esp_smoltcp_sntp_restart(), ESP_ERR_INVALID_STATE);
    struct timeval tv;
    CHECK_EQ(esp_smoltcp_sntp_get_time(&tv), ESP_ERR_INVALID_STATE); /* never synchronised */
    CHECK(tv.tv_sec < 1000000000);                                    /* 1970 + uptime */
    CHECK_EQ(esp_smoltcp_sntp_get_time(NULL), ESP_ERR_INVALID_ARG);
}

static void test_fallback_step_and_deny(void)
{
    int flag = 0;
    esp_smoltcp_sntp_config_t c = base_config();
    c.servers[0] = addr(1); /* DENY */
    c.servers[1] = addr(3); /* wrong mode */
    c.servers[2] = addr(2); /* silent */
    c.servers[3] = addr(0); /* good */
    c.server_count = 4;
    c.sync_cb = on_sync;
    c.sync_cb_arg = &flag;
    CHECK_EQ(esp_smoltcp_sntp_init(&c), ESP_OK);
    CHECK_EQ(esp_smoltcp_sntp_init(&c), ESP_ERR_INVALID_STATE);
    CHECK_EQ(esp_smoltcp_sntp_wait_sync(5000), ESP_OK);
    CHECK_EQ(flag, 1); /* the callback ran before wait_sync returned */
    esp_smoltcp_sntp_info_t info;
    CHECK_EQ(esp_smoltcp_sntp_get_info(&info), ESP_OK);
    CHECK_EQ(info.servers[0].status, ESP_SMOLTCP_SNTP_ERR_KOD_DENY);
    CHECK(strcmp(info.servers[0].kiss, "DENY") == 0);
    CHECK_EQ(info.servers[1].status, ESP_SMOLTCP_SNTP_ERR_BAD_MODE);
    CHECK_EQ(info.servers[2].status, ESP_SMOLTCP_SNTP_ERR_TIMEOUT);
    CHECK_EQ(info.servers[3].status, ESP_SMOLTCP_SNTP_OK);
    CHECK_EQ(info.servers[3].stratum, 3);
    CHECK_EQ(info.last_server, 3);
    struct timeval tv;
    CHECK_EQ(esp_smoltcp_sntp_get_time(&tv), ESP_OK);
    int64_t err = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec - (realtime_us() + 5000000);
    printf("    loopback: clock error %lld us, delay %lld us\n", (long long)err, (long long)info.last_delay_us);
    CHECK(err > -5000 && err < 5000);
    CHECK_EQ(esp_smoltcp_sntp_get_sync_status(), ESP_SMOLTCP_SNTP_SYNC_STATUS_COMPLETED);
    CHECK_EQ(esp_smoltcp_sntp_get_sync_status(), ESP_SMOLTCP_SNTP_SYNC_STATUS_RESET);

    /* Second round: the DENY server is not asked again (RFC 4330 §8). */
    int deny_before = atomic_load(&requests[1]);
    int good_before = atomic_load(&requests[0]);
    CHECK_EQ(esp_smoltcp_sntp_restart(), ESP_OK);
    for (int i = 0; i < 300 && (esp_smoltcp_sntp_get_info(&info), info.sync_count < 2); i++) {
        usleep(10000);
    }
    CHECK_EQ(info.sync_count, 2);
    CHECK_EQ(info.servers[0].status, ESP_SMOLTCP_SNTP_ERR_SKIPPED);
    CHECK_EQ(atomic_load(&requests[1]), deny_before);
    CHECK_EQ(atomic_load(&requests[0]), good_before + 1);
    CHECK_EQ(esp_smoltcp_sntp_deinit(), ESP_OK);
    CHECK_EQ(atomic_load(&cb_calls), 2);
}

static void test_smooth_mode_slews(void)
{
    /* The clock was set by the previous case: a new 40 ms error is slewed, not stepped. */
    atomic_store(&server_offset_us, 5000000 + 40000);
    esp_smoltcp_sntp_config_t c = base_config();
    c.servers[0] = addr(0);
    c.server_count = 1;
    c.sync_mode = ESP_SMOLTCP_SNTP_SYNC_MODE_SMOOTH;
    c.burst = 3;
    c.burst_interval_ms = 20;
    CHECK_EQ(esp_smoltcp_sntp_init(&c), ESP_OK);
    CHECK_EQ(esp_smoltcp_sntp_wait_sync(5000), ESP_OK);
    esp_smoltcp_sntp_info_t info;
    esp_smoltcp_sntp_get_info(&info);
    CHECK(info.last_offset_us > 35000 && info.last_offset_us < 45000);
    CHECK(info.slew_remaining_us > 30000); /* 500 ppm: 40 ms takes 80 s */
    CHECK_EQ(esp_smoltcp_sntp_get_sync_status(), ESP_SMOLTCP_SNTP_SYNC_STATUS_IN_PROGRESS);
    /* The clock runs a little fast meanwhile, never backwards. */
    struct timeval a, b;
    esp_smoltcp_sntp_get_time(&a);
    usleep(200000);
    esp_smoltcp_sntp_get_time(&b);
    int64_t d = ((int64_t)b.tv_sec - a.tv_sec) * 1000000 + (b.tv_usec - a.tv_usec);
    CHECK(d >= 200000 && d < 400000);
    CHECK_EQ(esp_smoltcp_sntp_get_info(&info), ESP_OK);
    CHECK(info.slew_remaining_us < 40000);
    /* A large error is stepped even in smooth mode. */
    atomic_store(&server_offset_us, 5000000 + 3000000);
    CHECK_EQ(esp_smoltcp_sntp_restart(), ESP_OK);
    for (int i = 0; i < 300 && (esp_smoltcp_sntp_get_info(&info), info.sync_count < 2); i++) {
        usleep(10000);
    }
    CHECK_EQ(info.sync_count, 2);
    CHECK_EQ(info.slew_remaining_us, 0);
    struct timeval tv;
    esp_smoltcp_sntp_get_time(&tv);
    int64_t err = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec - (realtime_us() + 8000000);
    CHECK(err > -5000 && err < 5000);
    CHECK_EQ(esp_smoltcp_sntp_deinit(), ESP_OK);
}

static void test_new_servers_and_prompt_deinit(void)
{
    esp_smoltcp_sntp_config_t c = base_config();
    c.servers[0] = addr(2); /* silent */
    c.server_count = 1;
    c.timeout_ms = 5000;
    c.start = false; /* nothing until restart */
    CHECK_EQ(esp_smoltcp_sntp_init(&c), ESP_OK);
    usleep(100000);
    int silent_before = atomic_load(&requests[2]);
    usleep(200000);
    CHECK_EQ(atomic_load(&requests[2]), silent_before); /* start = false: not asked */
    CHECK_EQ(esp_smoltcp_sntp_wait_sync(100), ESP_ERR_TIMEOUT);
    CHECK_EQ(esp_smoltcp_sntp_restart(), ESP_OK);
    usleep(200000); /* now waiting 5 s for the silent server */
    CHECK_EQ(atomic_load(&requests[2]), silent_before + 1);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_EQ(esp_smoltcp_sntp_deinit(), ESP_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    CHECK(ms < 500); /* not the 5 s timeout */
    CHECK_EQ(esp_smoltcp_sntp_set_servers((const char *const[]){"127.0.0.1"}, 1), ESP_ERR_INVALID_STATE);

    /* Replacing the list at run time cuts the round in progress (a 5 s wait on the
     * silent server) and starts one with the new servers. */
    c.start = true;
    CHECK_EQ(esp_smoltcp_sntp_init(&c), ESP_OK);
    usleep(100000);
    const char *const good[] = {addr(3), addr(0)};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_EQ(esp_smoltcp_sntp_set_servers(good, 2), ESP_OK);
    CHECK_EQ(esp_smoltcp_sntp_wait_sync(5000), ESP_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    CHECK(ms < 1500);
    esp_smoltcp_sntp_info_t info;
    esp_smoltcp_sntp_get_info(&info);
    CHECK_EQ(info.server_count, 2);
    CHECK_EQ(info.servers[0].status, ESP_SMOLTCP_SNTP_ERR_BAD_MODE);
    CHECK_EQ(info.servers[1].status, ESP_SMOLTCP_SNTP_OK);
    CHECK(strcmp(info.servers[1].name, addr(0)) == 0);
    CHECK_EQ(esp_smoltcp_sntp_set_servers(good, 0), ESP_ERR_INVALID_ARG);
    CHECK_EQ(esp_smoltcp_sntp_deinit(), ESP_OK);
}

/* Static IPv4 here: no lease, so server_from_dhcp has no server of its own. */
static void test_dhcp_mode_without_lease_servers(void)
{
    esp_smoltcp_sntp_config_t c = base_config();
    c.server_from_dhcp = true; /* and no static server */
    CHECK_EQ(esp_smoltcp_sntp_init(&c), ESP_OK);
    CHECK_EQ(esp_smoltcp_sntp_wait_sync(300), ESP_ERR_TIMEOUT);
    esp_smoltcp_sntp_info_t info;
    CHECK_EQ(esp_smoltcp_sntp_get_info(&info), ESP_OK);
    CHECK(info.server_from_dhcp);
    CHECK_EQ(info.server_count, 0);
    CHECK_EQ(info.round_status, ESP_SMOLTCP_SNTP_ERR_NO_SERVER);
    CHECK(strcmp(esp_smoltcp_sntp_status_name(info.round_status), "no_server") == 0);
    /* A configured server is used behind the (absent) lease servers; count 0 is allowed in this mode. */
    const char *const good[] = {addr(0)};
    CHECK_EQ(esp_smoltcp_sntp_set_servers(good, 1), ESP_OK);
    CHECK_EQ(esp_smoltcp_sntp_wait_sync(3000), ESP_OK);
    CHECK_EQ(esp_smoltcp_sntp_get_info(&info), ESP_OK);
    CHECK_EQ(info.server_count, 1);
    CHECK(!info.servers[0].from_dhcp);
    CHECK_EQ(info.round_status, ESP_SMOLTCP_SNTP_OK);
    CHECK_EQ(esp_smoltcp_sntp_set_servers(good, 0), ESP_OK);
    CHECK_EQ(esp_smoltcp_sntp_get_info(&info), ESP_OK);
    CHECK_EQ(info.server_count, 0);
    CHECK_EQ(esp_smoltcp_sntp_deinit(), ESP_OK);
    CHECK_EQ(esp_smoltcp_sntp_get_info(&info), ESP_OK);
    CHECK(!info.server_from_dhcp);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    esp_smoltcp_config_t cfg = ESP_SMOLTCP_DEFAULT_CONFIG();
    cfg.ipv4_mode = ESP_SMOLTCP_IPV4_STATIC;
    cfg.static_ip = "198.18.7.2/24";
    CHECK_EQ(esp_smoltcp_init_with_config(&cfg), ESP_OK);
    CHECK_EQ(esp_smoltcp_attach_netdev(test_netdev((uint8_t[6]){0x02, 0, 0, 0x12, 0x34, 0x58}, NULL)), ESP_OK);
    for (int i = 0; i < NSERV; i++) {
        server_h[i] = esp_smoltcp_sock_open(ESP_SMOLTCP_SOCK_UDP, NULL);
        esp_smoltcp_endpoint_t lo = {.family = ESP_SMOLTCP_AF_INET, .port = ports[i], .addr = {127, 0, 0, 1}};
        CHECK_EQ(esp_smoltcp_sock_bind(server_h[i], &lo, true), 0);
    }
    pthread_t th;
    pthread_create(&th, NULL, servers, NULL);

    RUN(test_bad_arguments);
    RUN(test_fallback_step_and_deny);
    RUN(test_smooth_mode_slews);
    RUN(test_new_servers_and_prompt_deinit);
    RUN(test_dhcp_mode_without_lease_servers);

    atomic_store(&servers_stop, true);
    pthread_join(th, NULL);
    for (int i = 0; i < NSERV; i++) {
        esp_smoltcp_sock_close(server_h[i]);
    }
    CHECK_EQ(esp_smoltcp_deinit(), ESP_OK);
    return UNIT_TEST_END();
}
