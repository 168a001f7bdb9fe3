/* Multicast TTL / loop of outgoing UDP datagrams (mcast_tx.h). */
#include "mcast_tx.h"

#include <string.h>

#include "esp_smoltcp_mcast.h"
#include "frame_check.h"
#include "runtime.h"

#define ETH_HLEN 14
#define IPPROTO_UDP_NUM 17

bool mcast_tx_prepare(uint8_t *frame, size_t len)
{
    if (len < ETH_HLEN + 20 + 8) {
        return false; /* shorter than the smallest IPv4 UDP datagram */
    }
    uint16_t ethertype = (uint16_t)(frame[12] << 8 | frame[13]);
    uint8_t *ip = frame + ETH_HLEN;
    uint8_t family, *hop_field, *group;
    size_t udp;
    if (ethertype == 0x0800 && esp_smoltcp_mcast_is_multicast(ESP_SMOLTCP_AF_INET, ip + 16) &&
        ip[9] == IPPROTO_UDP_NUM) {
        family = ESP_SMOLTCP_AF_INET;
        hop_field = ip + 8;
        group = ip + 16;
        udp = ETH_HLEN + (size_t)(ip[0] & 0x0f) * 4;
    } else if (ethertype == 0x86dd && len >= ETH_HLEN + 40 &&
               esp_smoltcp_mcast_is_multicast(ESP_SMOLTCP_AF_INET6, ip + 24) && ip[6] == IPPROTO_UDP_NUM) {
        family = ESP_SMOLTCP_AF_INET6;
        hop_field = ip + 7;
        group = ip + 24;
        udp = ETH_HLEN + 40;
    } else {
        return false;
    }
    if (len < udp + 8) {
        return false;
    }
    uint8_t hops;
    bool loop;
    sock_mcast_options(family, (uint16_t)(frame[udp] << 8 | frame[udp + 1]), &hops, &loop);
    if (*hop_field != hops) {
        *hop_field = hops;
        if (family == ESP_SMOLTCP_AF_INET) { /* TTL is in the header checksum (not in UDP's) */
            size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
            ip[10] = ip[11] = 0;
            uint16_t sum = (uint16_t)~inet_sum16(ip, ihl, 0);
            ip[10] = (uint8_t)(sum >> 8);
            ip[11] = (uint8_t)sum;
        }
    }
    return loop && mcast_users_locked(family, group) > 0;
}
