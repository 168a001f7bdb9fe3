/* Host entry points for netdb (lwIP names, as IDF's lwip/netdb.h maps them). */
#ifndef _GNU_SOURCE /* IDF's linux target passes -D_GNU_SOURCE */
#define _GNU_SOURCE /* glibc shows struct addrinfo, hostent under strict C11 only with it */
#endif
#define ESP_SMOLTCP_HOST_SOCKETS_NO_MAP
#include "esp_smoltcp_host_netdb.h"
#include "netdb_compat.h"

int lwip_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
    return compat_getaddrinfo(node, service, hints, res);
}

void lwip_freeaddrinfo(struct addrinfo *ai)
{
    compat_freeaddrinfo(ai);
}

struct hostent *lwip_gethostbyname(const char *name)
{
    return compat_gethostbyname(name);
}

int lwip_gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen, struct hostent **result,
                         int *h_errnop)
{
    return compat_gethostbyname_r(name, ret, buf, buflen, result, h_errnop);
}
