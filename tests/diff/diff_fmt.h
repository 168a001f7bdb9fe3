/*
 * Formatting and address helpers of the differential suite. Compiled without
 * the shim's mapping header, so they are the C library's own in both builds
 * (inet_pton/inet_ntop of the shim are under test, not tools of the test).
 */
#pragma once

#include <stddef.h>
#include <sys/socket.h>

/** "ECONNREFUSED", or "E<number>". */
const char *err_name(int e);
/** Fill a sockaddr_in/_in6 from a numeric host and a port; returns its length (0 on error). */
socklen_t mk_sa(int fam, const char *host, int port, struct sockaddr_storage *ss);
/** "198.18.0.1:7000", "[2001:db8:1::1]:7000", "AF<n>" for other families. */
const char *sa_str(const struct sockaddr *sa, socklen_t len, char *buf, size_t size);
/** The address part only. */
const char *sa_host(const struct sockaddr *sa, char *buf, size_t size);
/** Port in host order (0 for other families). */
int sa_port(const struct sockaddr *sa);
/** glibc's inet_ntop / inet_pton: the reference for the shim's. */
const char *ref_ntop(int af, const void *src, char *dst, socklen_t size);
int ref_pton(int af, const char *src, void *dst);
