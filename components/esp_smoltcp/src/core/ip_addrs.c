/*
 * esp_smoltcp_get_ip_addrs (esp_smoltcp_addrs.h): the engine's address table
 * read under the core lock, so a DHCP renew or SLAAC update is never seen
 * half done.
 */
#include <string.h>

#include "esp_smoltcp_addrs.h"
#include "esp_smoltcp_sock.h"
#include "runtime.h"

esp_err_t esp_smoltcp_get_ip_addrs(esp_smoltcp_iface_t iface, uint8_t family, esp_smoltcp_ip_addr_t *out,
                                   size_t max, size_t *count)
{
    if (iface != ESP_SMOLTCP_IFACE_ETH || !count || (max && !out) ||
        (family != ESP_SMOLTCP_AF_UNSPEC && family != ESP_SMOLTCP_AF_INET && family != ESP_SMOLTCP_AF_INET6)) {
        return ESP_ERR_INVALID_ARG;
    }
    *count = 0;
    if (!rt.attached) {
        return ESP_ERR_INVALID_STATE;
    }
    static const uint8_t fams[2] = {ESP_SMOLTCP_AF_INET, ESP_SMOLTCP_AF_INET6};
    size_t n = 0;
    rt_lock();
    if (!rt.eng) {
        rt_unlock();
        return ESP_ERR_INVALID_STATE;
    }
    for (int f = 0; f < 2; f++) {
        if (family != ESP_SMOLTCP_AF_UNSPEC && family != fams[f]) {
            continue;
        }
        for (unsigned i = 0; n < max; i++) {
            uint8_t prefix = 0;
            memset(&out[n], 0, sizeof(out[n])); /* IPv4 fills 4 of the 16 bytes */
            if (esg_iface_get_addr(rt.eng, fams[f], i, out[n].addr, &prefix) != ESG_OK) {
                break;
            }
            out[n].family = fams[f];
            out[n].prefix_len = prefix;
            n++;
        }
    }
    rt_unlock();
    *count = n;
    return ESP_OK;
}
