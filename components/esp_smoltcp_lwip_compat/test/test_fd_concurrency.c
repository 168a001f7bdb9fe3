/*
 * Several threads changing one socket's options at once must not lose each
 * other's updates (each call is a read-modify-write of the fd's state): three
 * threads toggle O_NONBLOCK, SO_RCVTIMEO and TCP_NODELAY on the same fd many
 * times; afterwards each option holds the value its thread wrote last. The
 * stack runs on a null netdev; the BSD calls go through the host mapping
 * header exactly as an application's do. Also run under TSan in CI.
 */
#define _GNU_SOURCE
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "esp_smoltcp.h"
#include "esp_smoltcp_host_sockets.h"
#include "test_netdev.h"
#include "unit_test.h"

#define ROUNDS 3000

static int fd;
static atomic_int failures;

static void *toggle_nonblock(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        failures += fcntl(fd, F_SETFL, (i % 2 == 0) ? O_NONBLOCK : 0) != 0;
    }
    failures += fcntl(fd, F_SETFL, O_NONBLOCK) != 0;
    return NULL;
}

static void *set_rcvtimeo(void *arg)
{
    (void)arg;
    for (int i = 1; i <= ROUNDS; i++) {
        struct timeval tv = {.tv_sec = 0, .tv_usec = i * 100};
        failures += setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0;
    }
    return NULL;
}

static void *toggle_nodelay(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        int v = i % 2;
        failures += setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v)) != 0;
    }
    int one = 1;
    failures += setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0;
    return NULL;
}

int main(void)
{
    esp_smoltcp_config_t cfg = ESP_SMOLTCP_DEFAULT_CONFIG();
    cfg.ipv4_mode = ESP_SMOLTCP_IPV4_STATIC;
    cfg.static_ip = "198.18.5.4/24";
    CHECK_EQ(esp_smoltcp_init_with_config(&cfg), ESP_OK);
    CHECK_EQ(esp_smoltcp_attach_netdev(test_netdev((uint8_t[6]){0x02, 0, 0, 0x12, 0x34, 0x58}, NULL)), ESP_OK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    for (int run = 0; run < 5; run++) {
        pthread_t t[3];
        pthread_create(&t[0], NULL, toggle_nonblock, NULL);
        pthread_create(&t[1], NULL, set_rcvtimeo, NULL);
        pthread_create(&t[2], NULL, toggle_nodelay, NULL);
        for (int i = 0; i < 3; i++) {
            pthread_join(t[i], NULL);
        }
        CHECK_EQ(failures, 0);
        CHECK_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
        struct timeval tv = {0};
        socklen_t len = sizeof(tv);
        CHECK_EQ(getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len), 0);
        CHECK_EQ(tv.tv_sec * 1000000 + tv.tv_usec, ROUNDS * 100);
        int v = 0;
        len = sizeof(v);
        CHECK_EQ(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
        CHECK_EQ(v, 1);
        /* start the next run from other values */
        fcntl(fd, F_SETFL, 0);
        struct timeval zero = {0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &zero, sizeof(zero));
    }
    CHECK_EQ(close(fd), 0);
    CHECK_EQ(esp_smoltcp_deinit(), ESP_OK);
    return UNIT_TEST_END();
}
