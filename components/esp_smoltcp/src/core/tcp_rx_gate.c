/*
 * Drop SYNs for existing connections and SYNs a full listen backlog cannot take,
 * note RSTs (tcp_rx_gate.h).
 * The frame has passed frame_check_l4(), which says where its TCP header is
 * and checked the lengths.
 */
#include "tcp_rx_gate.h"

#include <string.h>

#include "runtime.h"

#define TCP_FLAG_RST 0x04
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_ACK 0x10

bool tcp_rx_gate_admit(const uint8_t *frame, const frame_l4_t *where)
{
    if (where->proto != FRAME_L4_TCP) {
        return true;
    }
    const uint8_t *ip = frame + where->ip;
    esp_smoltcp_endpoint_t local = {0}, remote = {0};
    size_t l4 = where->l4;
    if (where->family == 4) {
        local.family = remote.family = ESP_SMOLTCP_AF_INET;
        memcpy(local.addr, ip + 16, 4);
        memcpy(remote.addr, ip + 12, 4);
    } else {
        local.family = remote.family = ESP_SMOLTCP_AF_INET6;
        memcpy(local.addr, ip + 24, 16);
        memcpy(remote.addr, ip + 8, 16);
    }
    uint8_t flags = frame[l4 + 13];
    remote.port = (uint16_t)(frame[l4] << 8 | frame[l4 + 1]);
    local.port = (uint16_t)(frame[l4 + 2] << 8 | frame[l4 + 3]);
    if (flags & TCP_FLAG_RST) {
        sock_note_rst(&local, &remote);
        return true;
    }
    if ((flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) != TCP_FLAG_SYN) {
        return true;
    }
    if (sock_tcp_connection_exists(&local, &remote)) {
        rt.c.rx_drop_syn_on_connection++;
        return false;
    }
    if (sock_listener_full(&local)) {
        rt.c.rx_drop_backlog_full++;
        return false;
    }
    return true;
}
