/*
 * The BSD fd table: socket fd → native handle plus the per-fd state that
 * BSD keeps and the native API takes as arguments (O_NONBLOCK, timeouts,
 * family, type) or does not keep at all (options stored for getsockopt).
 * Thread-safe; an fd is free again as soon as close() returns.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "compat_platform.h"
#include "esp_smoltcp_sock.h"

/* Multicast groups one socket may join (Linux: IP_MAX_MEMBERSHIPS = 20). */
#define COMPAT_MAX_GROUPS 8

typedef struct {
    uint8_t family; /* ESP_SMOLTCP_AF_INET / _INET6; 0 = free slot */
    uint8_t addr[16];
    uint32_t ifindex; /* IPv6: interface index; IPv4: first byte of imr_interface unused */
} compat_group_t;

typedef struct {
    int handle;            /* esp_smoltcp_sock handle */
    int family;            /* AF_INET / AF_INET6 */
    int type;              /* SOCK_STREAM / SOCK_DGRAM / SOCK_RAW */
    int protocol;
    bool nonblocking;
    bool cloexec;          /* FD_CLOEXEC: kept for F_GETFD, nothing execs */
    bool listening;
    bool shut_wr;          /* datagram sockets: shutdown(SHUT_WR) done, sends fail with EPIPE */
    bool connect_pending;  /* a non-blocking connect is under way: the next connect() reports it */
    bool has_peer;         /* UDP/raw connect(): only datagrams from peer are delivered (Linux) */
    esp_smoltcp_endpoint_t peer;
    uint32_t rcv_timeout_ms; /* ESP_SMOLTCP_WAIT_FOREVER = none */
    uint32_t snd_timeout_ms;
    bool reuse_addr;
    bool keepalive;
    bool nodelay;
    bool broadcast;
    bool v6only;
    bool linger_on;
    int linger_s;
    int keepidle_s, keepintvl_s, keepcnt;
    uint32_t user_timeout_ms;
    int ttl;               /* IP_TTL, -1 = default (64) */
    int hops6;             /* IPV6_UNICAST_HOPS, -1 = default (64) */
    int tos;
    int mcast_ttl;         /* IP_MULTICAST_TTL */
    int mcast_hops6;       /* IPV6_MULTICAST_HOPS */
    bool mcast_loop;
    bool mcast_loop6;
    uint8_t mcast_if4[4];
    uint32_t mcast_if6;
    int rcvbuf, sndbuf;    /* bytes asked for with SO_RCVBUF / SO_SNDBUF, 0 = default */
    compat_group_t groups[COMPAT_MAX_GROUPS];
} compat_fd_t;

/** Allocate an fd for init->handle. Returns the fd or -EMFILE. */
int fd_alloc(const compat_fd_t *init);
/** Copy the state of fd. -EBADF for a closed fd or one that is no fd at all, -ENOTSOCK for another open file. */
int fd_get(int fd, compat_fd_t *out);
/** Update the state of fd (its handle stays). */
int fd_update(int fd, const compat_fd_t *in);
/**
 * Read-modify-write of one fd's state, serialised against other writers of the
 * same fd (two threads setting options at once must not lose an update):
 * fd_edit_begin locks the fd's edit lock and copies its state; fd_edit_end
 * writes it back (in != NULL; -EBADF if the fd was closed meanwhile) and
 * unlocks. Never held across a blocking wait: a blocking call reads with
 * fd_get and edits afterwards. On error fd_edit_begin holds nothing.
 */
int fd_edit_begin(int fd, compat_fd_t *out);
int fd_edit_end(int fd, const compat_fd_t *in);
/** Free fd; returns its handle or -EBADF. */
int fd_free(int fd);
/** Is fd in the shim's range (allocated or not)? */
bool fd_in_range(int fd);
/** The state every new socket starts from (Linux defaults). */
void fd_defaults(compat_fd_t *s);
