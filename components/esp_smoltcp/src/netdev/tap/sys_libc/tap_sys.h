/*
 * The kernel calls of the TAP netdev on the Linux host: libc's. The build picks
 * this directory or sys_idf_linux/ (ESP-IDF's linux target) for tap_sys.h.
 */
#pragma once

#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static inline int tap_open(const char *path, int flags) { return open(path, flags); }
static inline int tap_ioctl(int fd, unsigned long req, void *arg) { return ioctl(fd, req, arg); }
static inline int tap_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }
static inline int tap_fcntl(int fd, int cmd, int arg) { return fcntl(fd, cmd, arg); }
static inline int tap_poll(struct pollfd *fds, nfds_t n, int timeout_ms) { return poll(fds, n, timeout_ms); }
static inline ssize_t tap_read(int fd, void *buf, size_t len) { return read(fd, buf, len); }
static inline ssize_t tap_write(int fd, const void *buf, size_t len) { return write(fd, buf, len); }
static inline int tap_close(int fd) { return close(fd); }

/* A route netlink socket that hears of every link change (RTM_NEWLINK), or -1. */
static inline int tap_link_watch_open(void)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    struct sockaddr_nl a = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK};
    if (fd >= 0 && bind(fd, (const struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}
