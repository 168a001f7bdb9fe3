/*
 * Multicast membership with a user count per group (esp_smoltcp_mcast.h).
 *
 * smoltcp keeps one flag per group; several sockets (and services) may want the
 * same group, so the count lives here and the engine joins on the first user
 * and leaves after the last. The table sits in rt, so deinit clears it.
 */
#include <string.h>

#include "esp_smoltcp_mcast.h"
#include "runtime.h"

static size_t addr_len(uint8_t family)
{
    return family == ESP_SMOLTCP_AF_INET ? 4 : family == ESP_SMOLTCP_AF_INET6 ? 16 : 0;
}

bool esp_smoltcp_mcast_is_multicast(uint8_t family, const uint8_t *addr)
{
    if (!addr) {
        return false;
    }
    return family == ESP_SMOLTCP_AF_INET ? (addr[0] & 0xf0) == 0xe0 : family == ESP_SMOLTCP_AF_INET6 && addr[0] == 0xff;
}

/* Entry of group, or NULL; under the lock. */
static rt_mcast_group_t *find(uint8_t family, const uint8_t *group)
{
    for (int i = 0; i < ESP_SMOLTCP_MCAST_MAX_GROUPS; i++) {
        rt_mcast_group_t *g = &rt.mcast[i];
        if (g->users && g->family == family && memcmp(g->addr, group, addr_len(family)) == 0) {
            return g;
        }
    }
    return NULL;
}

static esp_err_t check_args(esp_smoltcp_iface_t iface, uint8_t family, const uint8_t *group)
{
    if (iface != ESP_SMOLTCP_IFACE_ETH || !esp_smoltcp_mcast_is_multicast(family, group)) {
        return ESP_ERR_INVALID_ARG;
    }
    return rt.initialised ? ESP_OK : ESP_ERR_INVALID_STATE;
}

esp_err_t esp_smoltcp_mcast_join(esp_smoltcp_iface_t iface, uint8_t family, const uint8_t *group)
{
    esp_err_t err = check_args(iface, family, group);
    if (err != ESP_OK) {
        return err;
    }
    rt_lock();
    rt_mcast_group_t *g = find(family, group);
    if (!rt.eng) {
        err = ESP_ERR_INVALID_STATE; /* no interface attached yet */
    } else if (g) {
        g->users++;
    } else {
        for (int i = 0; i < ESP_SMOLTCP_MCAST_MAX_GROUPS && !g; i++) {
            g = rt.mcast[i].users ? NULL : &rt.mcast[i];
        }
        int rc = g ? esg_iface_join_group(rt.eng, family, group) : ESG_ERR_NOSLOT;
        if (rc == ESG_OK) {
            g->family = family;
            memcpy(g->addr, group, addr_len(family));
            g->users = 1;
        } else {
            err = rc == ESG_ERR_NOSLOT ? ESP_ERR_NO_MEM : ESP_ERR_INVALID_ARG;
        }
    }
    rt_unlock();
    if (err == ESP_OK) {
        rt_kick(); /* the report goes out on the next poll */
    }
    return err;
}

esp_err_t esp_smoltcp_mcast_leave(esp_smoltcp_iface_t iface, uint8_t family, const uint8_t *group)
{
    esp_err_t err = check_args(iface, family, group);
    if (err != ESP_OK) {
        return err;
    }
    bool left = false;
    rt_lock();
    rt_mcast_group_t *g = find(family, group);
    if (!g) {
        err = ESP_ERR_NOT_FOUND;
    } else if (--g->users == 0) {
        esg_iface_leave_group(rt.eng, family, group);
        left = true;
    }
    rt_unlock();
    if (left) {
        rt_kick();
    }
    return err;
}

unsigned mcast_users_locked(uint8_t family, const uint8_t *group)
{
    rt_mcast_group_t *g = addr_len(family) ? find(family, group) : NULL;
    return g ? g->users : 0;
}

unsigned esp_smoltcp_mcast_users(esp_smoltcp_iface_t iface, uint8_t family, const uint8_t *group)
{
    if (check_args(iface, family, group) != ESP_OK) {
        return 0;
    }
    rt_lock();
    unsigned n = mcast_users_locked(family, group);
    rt_unlock();
    return n;
}
