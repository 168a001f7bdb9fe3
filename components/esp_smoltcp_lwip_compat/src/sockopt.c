/*
 * getsockopt / setsockopt. Options the stack keeps are forwarded to the
 * native API; those BSD keeps per fd (timeouts, flags) live in the fd table.
 * Unknown options fail with ENOPROTOOPT, never silently.
 */
#include <errno.h>
#include <string.h>

#include "bsd_socket.h"
#include "esp_smoltcp_sock.h"
#include "fd_table.h"

static int fail(int neg_errno)
{
    errno = -neg_errno;
    return -1;
}

static int int_arg(const void *val, socklen_t len, int *out)
{
    if (!val) {
        return -EFAULT;
    }
    if (len < (socklen_t)sizeof(int)) {
        return -EINVAL;
    }
    memcpy(out, val, sizeof(int));
    return 0;
}

static int timeval_arg(const void *val, socklen_t len, uint32_t *ms)
{
    if (!val) {
        return -EFAULT;
    }
    if (len < (socklen_t)sizeof(struct timeval)) {
        return -EINVAL;
    }
    struct timeval tv;
    memcpy(&tv, val, sizeof(tv));
    if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000) {
        return -EDOM;
    }
    uint64_t v = (uint64_t)tv.tv_sec * 1000 + (uint64_t)(tv.tv_usec + 999) / 1000;
    /* Zero means no timeout (SO_RCVTIMEO, POSIX). */
    *ms = (v == 0 || v >= ESP_SMOLTCP_WAIT_FOREVER) ? ESP_SMOLTCP_WAIT_FOREVER : (uint32_t)v;
    return 0;
}

int compat_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    compat_fd_t s;
    int rc = fd_get(fd, &s);
    if (rc < 0) {
        return fail(rc);
    }
    int v = 0;
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_REUSEADDR:
            rc = int_arg(val, len, &v);
            s.reuse_addr = v != 0;
            break;
        case SO_KEEPALIVE:
            rc = int_arg(val, len, &v);
            s.keepalive = v != 0;
            if (rc == 0 && s.type == SOCK_STREAM) {
                /* Linux's default idle time before the first probe: 2 h (TCP_KEEPIDLE refines it). */
                rc = esp_smoltcp_sock_set_keepalive(s.handle, v ? 7200000u : 0);
            }
            break;
        case SO_RCVTIMEO:
            rc = timeval_arg(val, len, &s.rcv_timeout_ms);
            break;
        case SO_SNDTIMEO:
            rc = timeval_arg(val, len, &s.snd_timeout_ms);
            break;
        case SO_LINGER: {
            struct linger l;
            if (!val) {
                rc = -EFAULT;
            } else if (len < (socklen_t)sizeof(l)) {
                rc = -EINVAL;
            } else {
                memcpy(&l, val, sizeof(l));
                s.linger_on = l.l_onoff != 0;
                s.linger_s = l.l_linger;
            }
            break;
        }
        default:
            rc = -ENOPROTOOPT;
        }
    } else if (level == IPPROTO_TCP && s.type == SOCK_STREAM) {
        switch (name) {
        case TCP_NODELAY:
            rc = int_arg(val, len, &v);
            s.nodelay = v != 0;
            if (rc == 0) {
                rc = esp_smoltcp_sock_set_nodelay(s.handle, v != 0);
            }
            break;
        default:
            rc = -ENOPROTOOPT;
        }
    } else {
        rc = -ENOPROTOOPT;
    }
    if (rc == 0) {
        fd_update(fd, &s);
    }
    return rc < 0 ? fail(rc) : 0;
}

static int put_int(void *val, socklen_t *len, int v)
{
    if (!val || !len) {
        return -EFAULT;
    }
    if (*len < (socklen_t)sizeof(int)) {
        return -EINVAL;
    }
    memcpy(val, &v, sizeof(int));
    *len = sizeof(int);
    return 0;
}

int compat_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
    compat_fd_t s;
    int rc = fd_get(fd, &s);
    if (rc < 0) {
        return fail(rc);
    }
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_ERROR:
            rc = esp_smoltcp_sock_take_error(s.handle);
            rc = rc < 0 ? rc : put_int(val, len, rc);
            break;
        case SO_TYPE:
            rc = put_int(val, len, s.type);
            break;
        case SO_REUSEADDR:
            rc = put_int(val, len, s.reuse_addr);
            break;
        case SO_KEEPALIVE:
            rc = put_int(val, len, s.keepalive);
            break;
        default:
            rc = -ENOPROTOOPT;
        }
    } else if (level == IPPROTO_TCP && s.type == SOCK_STREAM && name == TCP_NODELAY) {
        rc = put_int(val, len, s.nodelay);
    } else {
        rc = -ENOPROTOOPT;
    }
    return rc < 0 ? fail(rc) : 0;
}
