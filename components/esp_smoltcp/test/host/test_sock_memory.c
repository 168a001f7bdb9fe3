/*
 * What a TCP socket costs in RAM, measured, not estimated: heap bytes per
 * idle socket (opened), per connected socket (both ends over the loopback,
 * data moved) and the engine's fixed bytes per socket slot. The buffers must
 * be the configured sizes — never more — and nothing may stay allocated after
 * close. Figures are printed for the notes (docs/configuration.md).
 * Heap figures come from glibc's mallinfo2; under a sanitizer allocator they
 * are not available and the byte checks are skipped (the leak check is not).
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <unistd.h>

#include "esp_smoltcp.h"
#include "esp_smoltcp_glue.h"
#include "esp_smoltcp_sock.h"
#include "test_netdev.h"
#include "unit_test.h"

#define RX_BYTES 8192u
#define TX_BYTES 4096u
#define IDLE 16
#define PAIRS 8
#define ROUNDS 10

static long heap_in_use(void)
{
    return (long)mallinfo2().uordblks;
}

static void settle(void)
{
    usleep(100000); /* the poll task finishes what the calls started */
}

/* 8 connected pairs over 127.0.0.1 with data moved; heap bytes per socket.
 * Returns once every socket (TIME-WAIT included) is gone. */
static long connected_round(void)
{
    /* A listener with backlog 1 (its one engine socket is refilled after each accept). */
    int l = esp_smoltcp_sock_open(ESP_SMOLTCP_SOCK_TCP, NULL);
    esp_smoltcp_endpoint_t lo = {.family = ESP_SMOLTCP_AF_INET, .port = 6001, .addr = {127, 0, 0, 1}};
    CHECK_EQ(esp_smoltcp_sock_bind(l, &lo, true), 0);
    CHECK_EQ(esp_smoltcp_sock_listen(l, 1), 0);
    settle();
    long with_listener = heap_in_use();
    int cli[PAIRS], srv[PAIRS];
    uint8_t buf[TX_BYTES];
    memset(buf, 0x5a, sizeof(buf));
    for (int i = 0; i < PAIRS; i++) {
        cli[i] = esp_smoltcp_sock_open(ESP_SMOLTCP_SOCK_TCP, NULL);
        CHECK_EQ(esp_smoltcp_sock_connect(cli[i], &lo, 2000), 0);
        esp_smoltcp_endpoint_t peer;
        srv[i] = esp_smoltcp_sock_accept(l, &peer, 2000);
        CHECK(srv[i] >= 0);
        CHECK_EQ(esp_smoltcp_sock_send(cli[i], buf, sizeof(buf), 0, 2000), (int)sizeof(buf));
        CHECK_EQ(esp_smoltcp_sock_recv(srv[i], buf, sizeof(buf), ESP_SMOLTCP_MSG_WAITALL, 2000), (int)sizeof(buf));
    }
    settle();
    long per_active = (heap_in_use() - with_listener) / (2 * PAIRS);
    for (int i = 0; i < PAIRS; i++) {
        esp_smoltcp_sock_close(cli[i]);
        esp_smoltcp_sock_close(srv[i]);
    }
    esp_smoltcp_sock_close(l);
    /* Closed connections linger through FIN/TIME-WAIT before their buffers go. */
    esp_smoltcp_stats_t st;
    for (int i = 0; i < 200; i++) {
        CHECK_EQ(esp_smoltcp_get_stats(ESP_SMOLTCP_IFACE_ETH, &st), ESP_OK);
        if (st.sockets_open == 0) {
            break;
        }
        usleep(50000);
    }
    CHECK_EQ(st.sockets_open, 0u);
    return per_active;

}

int main(void)
{
    esp_smoltcp_config_t cfg = ESP_SMOLTCP_DEFAULT_CONFIG();
    cfg.ipv4_mode = ESP_SMOLTCP_IPV4_STATIC;
    cfg.static_ip = "198.18.5.3/24";
    cfg.max_sockets = 48;
    cfg.tcp_rx_buffer = RX_BYTES;
    cfg.tcp_tx_buffer = TX_BYTES;
    CHECK_EQ(esp_smoltcp_init_with_config(&cfg), ESP_OK);
    CHECK_EQ(esp_smoltcp_attach_netdev(test_netdev((uint8_t[6]){0x02, 0, 0, 0x12, 0x34, 0x57}, NULL)), ESP_OK);
    CHECK_EQ(esp_smoltcp_wait_for_ip(ESP_SMOLTCP_IFACE_ETH, 1000), ESP_OK);
    bool measurable = heap_in_use() > 0;
    settle();

    long base = heap_in_use();
    int idle[IDLE];
    for (int i = 0; i < IDLE; i++) {
        idle[i] = esp_smoltcp_sock_open(ESP_SMOLTCP_SOCK_TCP, NULL);
        CHECK(idle[i] >= 0);
    }
    long per_idle = (heap_in_use() - base) / IDLE;
    for (int i = 0; i < IDLE; i++) {
        CHECK_EQ(esp_smoltcp_sock_close(idle[i]), 0);
    }
    settle();
    long after_idle = heap_in_use();

    long per_active = connected_round();
    long end1 = heap_in_use();
    CHECK_EQ(connected_round(), per_active);
    for (int k = 0; k < ROUNDS - 2; k++) {
        connected_round();
    }
    long end2 = heap_in_use();

    size_t slot = esg_engine_mem_size(cfg.max_sockets + 1) - esg_engine_mem_size(cfg.max_sockets);
    printf("TCP socket memory, buffers rx %u + tx %u bytes:\n", RX_BYTES, TX_BYTES);
    if (measurable) {
        printf("  idle (opened)          %ld heap bytes each\n", per_idle);
        printf("  connected, data moved  %ld heap bytes each\n", per_active);
    } else {
        printf("  heap figures unavailable under this allocator (sanitizer build)\n");
    }
    printf("  heap after closing     %+ld bytes after round 1 (first-use allocations), %+ld more after %d rounds\n",
           end1 - base, end2 - end1, ROUNDS);
    printf("  engine slot            %zu bytes each (fixed, max_sockets = %u)\n", slot, cfg.max_sockets);
    if (measurable) {
        /* The buffers as configured plus allocator overhead, nothing more. */
        CHECK(per_idle >= (long)(RX_BYTES + TX_BYTES));
        CHECK(per_idle <= (long)(RX_BYTES + TX_BYTES) + 256);
        CHECK(per_active >= (long)(RX_BYTES + TX_BYTES));
        CHECK(per_active <= (long)(RX_BYTES + TX_BYTES) + 256);
        CHECK(after_idle - base <= 0);
        /* 9 more rounds of 16 sockets keep nothing: a leak of 48 bytes per socket would show as 6.9 KB
         * (the heap in use between rounds varies by ~4 KB with what is still in flight) */
        CHECK(end2 - end1 < 6144);
    }
    CHECK(slot > 0 && slot < 2048);
    CHECK_EQ(esp_smoltcp_deinit(), ESP_OK);
    return UNIT_TEST_END();
}
