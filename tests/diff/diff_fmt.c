/* See diff_fmt.h: the C library's functions, never the shim's. */
#define _GNU_SOURCE
#include "diff_fmt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

const char *err_name(int e)
{
    static __thread char buf[16];
    const char *n = strerrorname_np(e);
    if (n) {
        return n;
    }
    snprintf(buf, sizeof(buf), "E%d", e);
    return buf;
}

socklen_t mk_sa(int fam, const char *host, int port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (fam == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        return inet_pton(AF_INET, host, &in->sin_addr) == 1 ? sizeof(*in) : 0;
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    return inet_pton(AF_INET6, host, &in6->sin6_addr) == 1 ? sizeof(*in6) : 0;
}

const char *sa_host(const struct sockaddr *sa, char *buf, size_t size)
{
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, size);
    } else if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, size);
    } else {
        snprintf(buf, size, "AF%d", sa->sa_family);
    }
    return buf;
}

int sa_port(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        return ntohs(((const struct sockaddr_in *)sa)->sin_port);
    }
    if (sa->sa_family == AF_INET6) {
        return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    }
    return 0;
}

const char *sa_str(const struct sockaddr *sa, socklen_t len, char *buf, size_t size)
{
    char h[64];
    if (len == 0) {
        snprintf(buf, size, "(none)");
    } else if (sa->sa_family == AF_INET6) {
        snprintf(buf, size, "[%s]:%d", sa_host(sa, h, sizeof(h)), sa_port(sa));
    } else if (sa->sa_family == AF_INET) {
        snprintf(buf, size, "%s:%d", sa_host(sa, h, sizeof(h)), sa_port(sa));
    } else {
        snprintf(buf, size, "AF%d", sa->sa_family);
    }
    return buf;
}

const char *ref_ntop(int af, const void *src, char *dst, socklen_t size)
{
    return inet_ntop(af, src, dst, size);
}

int ref_pton(int af, const char *src, void *dst)
{
    return inet_pton(af, src, dst);
}
