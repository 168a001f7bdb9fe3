/*
 * fcntl() and ioctl() on shim sockets, and the address text functions
 * inet_pton()/inet_ntop() (RFC 4291 §2.2 / RFC 5952 forms, glibc's choices).
 */
#ifndef _GNU_SOURCE /* IDF's linux target passes -D_GNU_SOURCE */
#define _GNU_SOURCE /* host glibc: F_* and FIO* as Linux has them */
#endif
#include <errno.h>
#include <string.h>

#include "bsd_socket.h"
#include "esp_smoltcp_sock.h"
#include "fd_table.h"
#include "netdb_compat.h"

int compat_fcntl(int fd, int cmd, int arg)
{
    compat_fd_t s;
    int rc = fd_edit_begin(fd, &s);
    if (rc < 0) {
        return compat_fail(rc);
    }
    bool write = false;
    switch (cmd) {
    case F_GETFL:
        rc = O_RDWR | (s.nonblocking ? O_NONBLOCK : 0);
        break;
    case F_SETFL:
        s.nonblocking = (arg & O_NONBLOCK) != 0;
        write = true;
        break;
    case F_GETFD:
        rc = s.cloexec ? FD_CLOEXEC : 0;
        break;
    case F_SETFD:
        s.cloexec = (arg & FD_CLOEXEC) != 0;
        write = true;
        break;
    default:
        rc = -EINVAL;
    }
    int wrc = fd_edit_end(fd, write ? &s : NULL);
    if (rc >= 0 && wrc < 0) {
        rc = wrc; /* closed meanwhile */
    }
    return rc < 0 ? compat_fail(rc) : rc;
}

int compat_ioctl(int fd, long cmd, void *argp)
{
    compat_fd_t s;
    int rc = fd_get(fd, &s);
    if (rc < 0) {
        return compat_fail(rc);
    }
    switch (cmd) {
    case FIONBIO:
        if (!argp) {
            return compat_fail(-EFAULT);
        }
        if ((rc = fd_edit_begin(fd, &s)) < 0) {
            return compat_fail(rc);
        }
        s.nonblocking = *(const int *)argp != 0;
        rc = fd_edit_end(fd, &s);
        return rc < 0 ? compat_fail(rc) : 0;
    case FIONREAD:
        if (!argp) {
            return compat_fail(-EFAULT);
        }
        if (s.listening) {
            return compat_fail(-EINVAL); /* Linux: SIOCINQ on a listener */
        }
        rc = esp_smoltcp_sock_pending(s.handle);
        if (rc < 0) {
            return compat_fail(rc);
        }
        *(int *)argp = rc;
        return 0;
    default:
        return compat_fail(-ENOTTY); /* Linux's answer to an ioctl a socket does not know */
    }
}

int compat_inet_pton(int af, const char *src, void *dst)
{
    if (af == AF_INET) {
        return src && dst && compat_inet_pton4(src, dst) ? 1 : 0;
    }
    if (af == AF_INET6) {
        return src && dst && compat_inet_pton6(src, dst) ? 1 : 0;
    }
    return compat_fail(-EAFNOSUPPORT);
}

const char *compat_inet_ntop(int af, const void *src, char *dst, socklen_t size)
{
    const char *r;
    if (af == AF_INET) {
        r = src ? compat_inet_ntop4(src, dst, size) : NULL;
    } else if (af == AF_INET6) {
        r = src ? compat_inet_ntop6(src, dst, size) : NULL;
    } else {
        compat_fail(-EAFNOSUPPORT);
        return NULL;
    }
    if (!r) {
        compat_fail(-ENOSPC);
    }
    return r;
}
