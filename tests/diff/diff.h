/*
 * The differential BSD suite: one program over the plain BSD API, built twice
 * (tests/diff/CMakeLists.txt) — against the Linux kernel (libc as is) and
 * against esp_smoltcp's shim (variant/shim/diff_stack.h maps socket() … to the
 * shim's lwip_* functions, as IDF's <lwip/sockets.h> does on a chip).
 *
 * A case runs BSD calls and records what it observes — return values, errno
 * names, data — as one line:
 *
 *     case NAME: ok | label=value; label=value ...
 *     case NAME: FAIL why; why | label=value ...
 *
 * Expectations (VAL/ERR/OK/EXPECT) encode what Linux does, so the kernel build
 * checks the expectations and the shim build checks the shim; test_diff.py
 * also requires both builds to record the same observations, case by case.
 * Observations hold nothing that legitimately differs between two hosts (fd
 * numbers, ephemeral ports, kernel buffer sizes): those are compared inside
 * the case and recorded as yes/no.
 */
#pragma once

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "diff_fmt.h"
#include "diff_stack.h" /* per variant: nothing (kernel) or the shim's mapping header */

/* ---- case table ------------------------------------------------------------------- */

typedef void (*diff_fn_t)(int fam);

typedef struct {
    const char *name;
    diff_fn_t fn;
    int fam; /* AF_INET / AF_INET6 for a per-family case, 0 otherwise */
} diff_case_def_t;

/* A case run once per family: NAME_v4 and NAME_v6. */
#define CASE_46(fn) {#fn "_v4", fn, AF_INET}, {#fn "_v6", fn, AF_INET6}
#define CASE_1(fn) {#fn, fn, 0}
#define CASE_4(fn) {#fn, fn, AF_INET}
#define CASE_6(fn) {#fn, fn, AF_INET6}

extern const diff_case_def_t diff_cases_sock[];
extern const diff_case_def_t diff_cases_tcp[];
extern const diff_case_def_t diff_cases_udp[];
extern const diff_case_def_t diff_cases_opt[];
extern const diff_case_def_t diff_cases_select[];
extern const diff_case_def_t diff_cases_misc[];

/* ---- recording -------------------------------------------------------------------- */

/** Append one observation (printf format). */
void obs(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** Mark the current case failed, with a reason. */
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** Skip the current case (both builds must skip it alike). */
void skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Each records "label=..." and checks it; errno is read first thing inside. */
long rec_ok(const char *label, long rc);              /* want >= 0; records "ok" */
long rec_val(const char *label, long rc, long want);  /* want rc == want */
long rec_err(const char *label, long rc, int want);   /* want -1 and errno == want */
long rec_any(const char *label, long rc);             /* no expectation: rc or -1/ENAME */
bool rec_expect(const char *label, bool cond);        /* records yes/no, wants yes */

#define OK(label, expr) rec_ok(label, (long)(expr))
#define VAL(label, expr, want) rec_val(label, (long)(expr), (long)(want))
#define ERR(label, expr, e) rec_err(label, (long)(expr), e)
#define ANY(label, expr) rec_any(label, (long)(expr))
#define EXPECT(label, cond) rec_expect(label, (cond))

/* ---- environment ------------------------------------------------------------------ */

#define CTL_PORT 7000
#define UDP_ECHO_PORT 7007
#define UDP_BURST_PORT 7008
#define BLACKHOLE_PORT 7998
#define CLOSED_PORT 7999

extern const char *g_self4, *g_self6, *g_peer4, *g_peer6;
extern const char *g_variant;

const char *self_host(int fam);
const char *peer_host(int fam);
/** sockaddr of the peer / of this host, port in host order. */
socklen_t peer_sa(int fam, int port, struct sockaddr_storage *ss);
socklen_t self_sa(int fam, int port, struct sockaddr_storage *ss);
/** Wildcard sockaddr (0.0.0.0 / ::). */
socklen_t any_sa(int fam, int port, struct sockaddr_storage *ss);
#define SA(ss) ((struct sockaddr *)(ss))
/** A NULL the compiler cannot see (for EFAULT cases on nonnull parameters). */
extern void *volatile g_null;
#define NULLP ((void *)g_null)

/** A local port for listeners of this case: distinct per case, never reused in a run. */
int case_port(void);

/* ---- sockets the case owns (closed at its end) ------------------------------------ */

/** socket() that must succeed (recorded only on failure); tracked. */
int sock(int fam, int type, int proto);
void track(int fd);
/** close() a tracked fd without recording. */
void drop(int fd);

/** Connected TCP socket to the peer's command port with `line` sent; -1 on failure (case fails). */
int peer_open(int fam, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** One command, one answer line (without newline) in reply. 0 or -1. */
int peer_query(int fam, char *reply, size_t len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/** Connected, blocking TCP socket to 7000 running `echo`. */
int echo_conn(int fam);
/** Listening TCP socket on case_port() (SO_REUSEADDR), backlog given; *port set. */
int listener(int fam, int backlog, int *port);

/* ---- helpers ---------------------------------------------------------------------- */

uint64_t now_ms(void);
void sleep_ms(unsigned ms);
/** poll() one fd for events; returns revents (0 on timeout), -1 on error. */
int wait_ev(int fd, short events, int timeout_ms);
/** Read exactly n bytes (blocking, with a deadline); returns bytes read. */
ssize_t read_n(int fd, void *buf, size_t n, int timeout_ms);
/** Read to EOF (or error/timeout); returns bytes read, sha256 prefix in hex8. */
ssize_t read_all(int fd, char hex8[9], int timeout_ms);
/** Fill buf with the peer's pattern (byte i = (off + i) % 251). */
void fill_pattern(void *buf, size_t n, size_t off);
/** Compare with the peer's pattern. */
bool is_pattern(const void *buf, size_t n, size_t off);
/** Name of a poll revents mask, e.g. "IN|OUT|HUP". */
const char *ev_str(int ev);
