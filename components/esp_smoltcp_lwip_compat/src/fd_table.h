/*
 * The BSD fd table: socket fd → native handle plus the per-fd state that
 * BSD keeps and the native API takes as arguments (O_NONBLOCK, timeouts,
 * family, type). Thread-safe; an fd is free again as soon as close() returns.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "compat_platform.h"

typedef struct {
    int handle;            /* esp_smoltcp_sock handle */
    int family;            /* AF_INET / AF_INET6 */
    int type;              /* SOCK_STREAM / SOCK_DGRAM / SOCK_RAW */
    int protocol;
    bool nonblocking;
    uint32_t rcv_timeout_ms; /* ESP_SMOLTCP_WAIT_FOREVER = none */
    uint32_t snd_timeout_ms;
    bool reuse_addr;
    bool keepalive;
    bool nodelay;
    bool linger_on;
    int linger_s;
    bool v6only;
    int rcvbuf, sndbuf;    /* bytes asked for with SO_RCVBUF / SO_SNDBUF, 0 = default */
} compat_fd_t;

/** Allocate an fd for handle. Returns the fd or -EMFILE. */
int fd_alloc(const compat_fd_t *init);
/** Copy the state of fd. -EBADF for a closed fd, -ENOTSOCK outside our range. */
int fd_get(int fd, compat_fd_t *out);
/** Update the state of fd (its handle stays). */
int fd_update(int fd, const compat_fd_t *in);
/** Free fd; returns its handle or -EBADF. */
int fd_free(int fd);
/** Is fd in the shim's range (allocated or not)? */
bool fd_in_range(int fd);
