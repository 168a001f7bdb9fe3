/* netdb functions of the shim (netdb.c) and the address text parsers they share (inet_addr.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compat_netdb_platform.h"

int compat_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res);
void compat_freeaddrinfo(struct addrinfo *ai);
struct hostent *compat_gethostbyname(const char *name);
int compat_gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen, struct hostent **result,
                           int *h_errnop);

/** "a.b.c.d" (decimal, no leading zeros, as inet_pton) → 4 bytes. */
bool compat_inet_pton4(const char *src, uint8_t out[4]);
/** inet_aton forms: a, a.b, a.b.c, a.b.c.d; each part decimal, 0-octal or 0x-hex (what glibc's getaddrinfo takes). */
bool compat_inet_aton(const char *src, uint8_t out[4]);
/** RFC 4291 §2.2 text (with "::" and a trailing dotted quad) → 16 bytes. */
bool compat_inet_pton6(const char *src, uint8_t out[16]);
/** 4 bytes → "a.b.c.d"; NULL if size is too small. */
const char *compat_inet_ntop4(const uint8_t a[4], char *dst, size_t size);
/** 16 bytes → RFC 5952 text (longest zero run as "::", lower case, ::ffff:a.b.c.d). */
const char *compat_inet_ntop6(const uint8_t a[16], char *dst, size_t size);
