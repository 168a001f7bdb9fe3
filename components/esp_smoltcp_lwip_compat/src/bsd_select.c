/*
 * select() and poll() over esp_smoltcp_sock_poll(), with Linux's mapping of
 * readiness: readable = IN|HUP|ERR, writable = OUT|ERR, except = urgent data
 * (never: the stack has no TCP urgent mode); fds that are not open sockets of
 * the shim are EBADF for select and POLLNVAL for poll.
 */
#ifndef _GNU_SOURCE /* IDF's linux target passes -D_GNU_SOURCE */
#define _GNU_SOURCE /* host glibc: POLLRDHUP, POLLRDNORM */
#endif
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bsd_socket.h"
#include "esp_smoltcp_sock.h"
#include "fd_table.h"

#define COMPAT_POLL_MAX 4096 /* more entries than this is EINVAL (Linux: RLIMIT_NOFILE) */

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint16_t native_events(short events)
{
    return (uint16_t)(((events & (POLLIN | POLLRDNORM)) ? ESP_SMOLTCP_POLLIN : 0) |
                      ((events & (POLLOUT | POLLWRNORM)) ? ESP_SMOLTCP_POLLOUT : 0) |
                      ((events & POLLRDHUP) ? ESP_SMOLTCP_POLLRDHUP : 0));
}

/* Native readiness → poll bits, masked as Linux's poll does (events plus ERR, HUP, NVAL). */
static short bsd_revents(uint16_t r, short events)
{
    short all = (short)(((r & ESP_SMOLTCP_POLLIN) ? POLLIN | POLLRDNORM : 0) |
                        ((r & ESP_SMOLTCP_POLLOUT) ? POLLOUT | POLLWRNORM : 0) |
                        ((r & ESP_SMOLTCP_POLLERR) ? POLLERR : 0) | ((r & ESP_SMOLTCP_POLLHUP) ? POLLHUP : 0) |
                        ((r & ESP_SMOLTCP_POLLRDHUP) ? POLLRDHUP : 0) | ((r & ESP_SMOLTCP_POLLNVAL) ? POLLNVAL : 0));
    return (short)(all & (events | POLLERR | POLLHUP | POLLNVAL));
}

int compat_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
    if (nfds > COMPAT_POLL_MAX) {
        return compat_fail(-EINVAL);
    }
    if (nfds && !fds) {
        return compat_fail(-EFAULT);
    }
    esp_smoltcp_pollfd_t *nat = nfds ? calloc(nfds, sizeof(*nat)) : NULL;
    if (nfds && !nat) {
        return compat_fail(-ENOMEM);
    }
    int invalid = 0;
    for (nfds_t i = 0; i < nfds; i++) {
        compat_fd_t s;
        fds[i].revents = 0;
        nat[i].handle = -1;
        if (fds[i].fd < 0) {
            continue; /* ignored, revents 0 (POSIX) */
        }
        if (fd_get(fds[i].fd, &s) < 0) {
            fds[i].revents = POLLNVAL;
            invalid++;
            continue;
        }
        nat[i].handle = s.handle;
        nat[i].events = native_events(fds[i].events);
    }
    /* Only the live entries go to the stack. */
    esp_smoltcp_pollfd_t *live = nat;
    size_t n = 0;
    for (nfds_t i = 0; i < nfds; i++) {
        if (nat[i].handle >= 0) {
            live[n++] = nat[i];
        }
    }
    uint32_t t = invalid ? 0 : timeout_ms < 0 ? ESP_SMOLTCP_WAIT_FOREVER : (uint32_t)timeout_ms;
    int rc = esp_smoltcp_sock_poll(live, n, t);
    if (rc < 0) {
        free(nat);
        return compat_fail(rc);
    }
    int ready = invalid;
    size_t k = 0;
    for (nfds_t i = 0; i < nfds; i++) {
        if (fds[i].fd < 0 || fds[i].revents == POLLNVAL) {
            continue;
        }
        fds[i].revents = bsd_revents(live[k++].revents, fds[i].events);
        ready += fds[i].revents != 0;
    }
    free(nat);
    return ready;
}

/* ---- select ---------------------------------------------------------------------------- */

typedef struct {
    int fd;
    bool r, w;
} sel_t;

static void tv_store(struct timeval *tv, uint64_t left_us)
{
    if (tv) {
        tv->tv_sec = (time_t)(left_us / 1000000);
        tv->tv_usec = (suseconds_t)(left_us % 1000000);
    }
}

int compat_select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds, struct timeval *timeout)
{
    if (nfds < 0 || (timeout && (timeout->tv_sec < 0 || timeout->tv_usec < 0 || timeout->tv_usec >= 1000000))) {
        return compat_fail(-EINVAL);
    }
    if (nfds > FD_SETSIZE) {
        nfds = FD_SETSIZE;
    }
    sel_t *sel = nfds ? calloc((size_t)nfds, sizeof(*sel)) : NULL;
    esp_smoltcp_pollfd_t *nat = nfds ? calloc((size_t)nfds, sizeof(*nat)) : NULL;
    if (nfds && (!sel || !nat)) {
        free(sel);
        free(nat);
        return compat_fail(-ENOMEM);
    }
    size_t n = 0;
    for (int fd = 0; fd < nfds; fd++) {
        bool r = readfds && FD_ISSET(fd, readfds), w = writefds && FD_ISSET(fd, writefds);
        bool x = exceptfds && FD_ISSET(fd, exceptfds);
        if (!r && !w && !x) {
            continue;
        }
        compat_fd_t s;
        if (fd_get(fd, &s) < 0) {
            free(sel);
            free(nat);
            return compat_fail(-EBADF);
        }
        sel[n] = (sel_t){fd, r, w};
        uint16_t ev = (uint16_t)((r ? ESP_SMOLTCP_POLLIN : 0) | (w ? ESP_SMOLTCP_POLLOUT : 0));
        nat[n] = (esp_smoltcp_pollfd_t){.handle = s.handle, .events = ev};
        n++;
    }
    uint64_t wait_us = timeout ? (uint64_t)timeout->tv_sec * 1000000 + (uint64_t)timeout->tv_usec : UINT64_MAX;
    uint64_t deadline = wait_us == UINT64_MAX ? UINT64_MAX : now_us() + wait_us;
    size_t waiting = n;
    int count = 0;
    for (;;) {
        uint64_t now = now_us();
        uint32_t t = deadline == UINT64_MAX ? ESP_SMOLTCP_WAIT_FOREVER
                   : deadline <= now ? 0 : (uint32_t)((deadline - now + 999) / 1000);
        int rc = esp_smoltcp_sock_poll(nat, waiting, t);
        if (rc < 0) {
            free(sel);
            free(nat);
            return compat_fail(rc);
        }
        count = 0;
        for (size_t i = 0; i < waiting; i++) {
            uint16_t v = nat[i].revents;
            bool rd = sel[i].r && (v & (ESP_SMOLTCP_POLLIN | ESP_SMOLTCP_POLLHUP | ESP_SMOLTCP_POLLERR));
            bool wr = sel[i].w && (v & (ESP_SMOLTCP_POLLOUT | ESP_SMOLTCP_POLLERR));
            count += rd + wr;
        }
        if (count || rc == 0 || t == 0) {
            break;
        }
        /* Ready, but not for what this select asks (e.g. HUP of an fd only in exceptfds): stop watching it. */
        size_t k = 0;
        for (size_t i = 0; i < waiting; i++) {
            if (!nat[i].revents) {
                sel[k] = sel[i];
                nat[k++] = nat[i];
            }
        }
        waiting = k;
    }
    /* Rebuild the sets: only the ready fds stay. */
    if (readfds) {
        FD_ZERO(readfds);
    }
    if (writefds) {
        FD_ZERO(writefds);
    }
    if (exceptfds) {
        FD_ZERO(exceptfds);
    }
    for (size_t i = 0; count && i < waiting; i++) {
        uint16_t v = nat[i].revents;
        if (sel[i].r && (v & (ESP_SMOLTCP_POLLIN | ESP_SMOLTCP_POLLHUP | ESP_SMOLTCP_POLLERR))) {
            FD_SET(sel[i].fd, readfds);
        }
        if (sel[i].w && (v & (ESP_SMOLTCP_POLLOUT | ESP_SMOLTCP_POLLERR))) {
            FD_SET(sel[i].fd, writefds);
        }
    }
    if (timeout) {
        uint64_t now = now_us();
        tv_store(timeout, deadline == UINT64_MAX || now >= deadline ? 0 : deadline - now);
    }
    free(sel);
    free(nat);
    return count;
}
