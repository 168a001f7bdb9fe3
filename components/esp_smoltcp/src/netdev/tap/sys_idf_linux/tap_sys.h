/*
 * The kernel calls of the TAP netdev on ESP-IDF's linux target. There libc's
 * open/read/write/poll/close/ioctl are IDF VFS entry points that know only VFS
 * fds (open("/dev/net/tun") finds no VFS and fails with ENOENT), and a blocking
 * kernel call would stall the POSIX FreeRTOS simulator; the TAP's kernel fd goes
 * through the FreeRTOS linux port's cooperative syscalls instead, which yield to
 * other tasks while they wait, and TUNSETIFF through the raw ioctl system call.
 * The host build uses sys_libc/tap_sys.h.
 */
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/syscall.h>

#include "esp_private/freertos_linux_coop_syscalls.h"

static inline int tap_open(const char *path, int flags) { return freertos_linux_coop_open(path, flags, 0); }
static inline int tap_ioctl(int fd, unsigned long req, void *arg) { return (int)syscall(SYS_ioctl, fd, req, arg); }
static inline int tap_pipe2(int fds[2], int flags) { return freertos_linux_coop_pipe2(fds, flags); }
static inline int tap_fcntl(int fd, int cmd, int arg) { return freertos_linux_coop_fcntl(fd, cmd, arg); }
static inline int tap_poll(struct pollfd *fds, nfds_t n, int timeout_ms) { return freertos_linux_coop_poll(fds, n, timeout_ms); }
static inline ssize_t tap_read(int fd, void *buf, size_t len) { return freertos_linux_coop_read(fd, buf, len); }
static inline ssize_t tap_write(int fd, const void *buf, size_t len) { return freertos_linux_coop_write(fd, buf, len); }
static inline int tap_close(int fd) { return freertos_linux_coop_close(fd); }

/* A route netlink socket that hears of every link change (RTM_NEWLINK), or -1. lwIP's socket
 * headers replace libc's there, hence the kernel ABI's numbers (AF_NETLINK, SOCK_RAW |
 * SOCK_CLOEXEC | SOCK_NONBLOCK); the socket is the simulator's cooperative one, bind() the
 * system call (lwIP owns the name). */
static inline int tap_link_watch_open(void)
{
    enum { KERNEL_AF_NETLINK = 16, KERNEL_SOCK_RAW = 3, KERNEL_SOCK_CLOEXEC = 02000000, KERNEL_SOCK_NONBLOCK = 04000 };
    int fd = freertos_linux_coop_socket(KERNEL_AF_NETLINK,
                                        KERNEL_SOCK_RAW | KERNEL_SOCK_CLOEXEC | KERNEL_SOCK_NONBLOCK, NETLINK_ROUTE);
    struct sockaddr_nl a = {.nl_family = KERNEL_AF_NETLINK, .nl_groups = RTMGRP_LINK};
    if (fd >= 0 && syscall(SYS_bind, fd, &a, sizeof(a)) < 0) {
        tap_close(fd);
        fd = -1;
    }
    return fd;
}
