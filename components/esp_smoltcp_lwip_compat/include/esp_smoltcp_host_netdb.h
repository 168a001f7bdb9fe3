/*
 * Host port only: what IDF's <lwip/netdb.h> does on the target — getaddrinfo()
 * and friends call the shim's lwip_* functions, which resolve through the
 * stack's DNS client. Include after <netdb.h>.
 */
#pragma once

#include <netdb.h>

#ifdef __cplusplus
extern "C" {
#endif

int lwip_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res);
void lwip_freeaddrinfo(struct addrinfo *ai);
struct hostent *lwip_gethostbyname(const char *name);
int lwip_gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen, struct hostent **result,
                         int *h_errnop);

#ifndef ESP_SMOLTCP_HOST_SOCKETS_NO_MAP
#define getaddrinfo(n, s, h, r) lwip_getaddrinfo(n, s, h, r)
#define freeaddrinfo(ai) lwip_freeaddrinfo(ai)
#define gethostbyname(n) lwip_gethostbyname(n)
#define gethostbyname_r(n, r, b, l, res, e) lwip_gethostbyname_r(n, r, b, l, res, e)
#endif

#ifdef __cplusplus
}
#endif
