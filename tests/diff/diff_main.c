/*
 * The case runner and the helpers of the differential suite (see diff.h).
 *
 *   bsd_diff_<variant> [--only SUBSTR[,SUBSTR...]] [--list] [--tap T --mac M]
 *                      [--self4 A --self6 A --peer4 A --peer6 A]
 */
#define _GNU_SOURCE
#include "diff.h"

#include <signal.h>
#include <stdarg.h>
#include <sys/resource.h>

#include "sha256.h"

const char *g_self4 = "198.18.0.2";
const char *g_self6 = "2001:db8:1::ff:fe00:2";
const char *g_peer4 = "198.18.0.1";
const char *g_peer6 = "2001:db8:1::1";
const char *g_variant = DIFF_VARIANT;
void *volatile g_null;

/* ---- the current case ---------------------------------------------------------------- */

#define MAX_TRACKED 128

static struct {
    const char *name;
    char obs[8192];
    size_t obs_len;
    char why[2048];
    size_t why_len;
    bool failed;
    bool skipped;
    int fds[MAX_TRACKED];
    int nfds;
    int index;
} C;

static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;

static void append(char *buf, size_t cap, size_t *len, const char *sep, const char *fmt, va_list ap)
{
    if (*len && *len + strlen(sep) < cap) {
        *len += (size_t)snprintf(buf + *len, cap - *len, "%s", sep);
    }
    if (*len < cap) {
        int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
        if (n > 0) {
            *len += (size_t)n < cap - *len ? (size_t)n : cap - *len - 1;
        }
    }
}

void obs(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&rec_lock);
    append(C.obs, sizeof(C.obs), &C.obs_len, "; ", fmt, ap);
    pthread_mutex_unlock(&rec_lock);
    va_end(ap);
}

void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&rec_lock);
    C.failed = true;
    append(C.why, sizeof(C.why), &C.why_len, "; ", fmt, ap);
    pthread_mutex_unlock(&rec_lock);
    va_end(ap);
}

void skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&rec_lock);
    C.skipped = true;
    C.why_len = 0;
    append(C.why, sizeof(C.why), &C.why_len, "", fmt, ap);
    pthread_mutex_unlock(&rec_lock);
    va_end(ap);
}

static const char *rc_str(long rc, int e, char *buf, size_t n)
{
    if (rc == -1) {
        snprintf(buf, n, "-1/%s", err_name(e));
    } else {
        snprintf(buf, n, "%ld", rc);
    }
    return buf;
}

long rec_ok(const char *label, long rc)
{
    int e = errno;
    char b[64];
    if (rc >= 0) {
        obs("%s=ok", label);
    } else {
        obs("%s=%s", label, rc_str(rc, e, b, sizeof(b)));
        fail("%s: %s, want success", label, b);
    }
    errno = e;
    return rc;
}

long rec_val(const char *label, long rc, long want)
{
    int e = errno;
    char b[64];
    obs("%s=%s", label, rc_str(rc, e, b, sizeof(b)));
    if (rc != want) {
        fail("%s: %s, want %ld", label, b, want);
    }
    errno = e;
    return rc;
}

long rec_err(const char *label, long rc, int want)
{
    int e = errno;
    char b[64];
    obs("%s=%s", label, rc_str(rc, e, b, sizeof(b)));
    if (rc != -1 || e != want) {
        fail("%s: %s, want -1/%s", label, b, err_name(want));
    }
    errno = e;
    return rc;
}

long rec_any(const char *label, long rc)
{
    int e = errno;
    char b[64];
    obs("%s=%s", label, rc_str(rc, e, b, sizeof(b)));
    errno = e;
    return rc;
}

bool rec_expect(const char *label, bool cond)
{
    obs("%s=%s", label, cond ? "yes" : "no");
    if (!cond) {
        fail("%s: no", label);
    }
    return cond;
}

/* ---- environment ------------------------------------------------------------------- */

const char *self_host(int fam)
{
    return fam == AF_INET6 ? g_self6 : g_self4;
}

const char *peer_host(int fam)
{
    return fam == AF_INET6 ? g_peer6 : g_peer4;
}

socklen_t peer_sa(int fam, int port, struct sockaddr_storage *ss)
{
    return mk_sa(fam, peer_host(fam), port, ss);
}

socklen_t self_sa(int fam, int port, struct sockaddr_storage *ss)
{
    return mk_sa(fam, self_host(fam), port, ss);
}

socklen_t any_sa(int fam, int port, struct sockaddr_storage *ss)
{
    return mk_sa(fam, fam == AF_INET6 ? "::" : "0.0.0.0", port, ss);
}

int case_port(void)
{
    return 20000 + C.index * 4;
}

/* ---- tracked sockets --------------------------------------------------------------- */

void track(int fd)
{
    if (fd < 0) {
        return;
    }
    pthread_mutex_lock(&rec_lock);
    if (C.nfds < MAX_TRACKED) {
        C.fds[C.nfds++] = fd;
    }
    pthread_mutex_unlock(&rec_lock);
}

static bool untrack(int fd)
{
    bool found = false;
    pthread_mutex_lock(&rec_lock);
    for (int i = 0; i < C.nfds; i++) {
        if (C.fds[i] == fd) {
            C.fds[i] = C.fds[--C.nfds];
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&rec_lock);
    return found;
}

void drop(int fd)
{
    if (fd >= 0 && untrack(fd)) {
        close(fd);
    }
}

int sock(int fam, int type, int proto)
{
    int fd = socket(fam, type, proto);
    if (fd < 0) {
        int e = errno;
        obs("socket=-1/%s", err_name(e));
        fail("socket(%d, %d, %d): %s", fam, type, proto, err_name(e));
        return -1;
    }
    track(fd);
    return fd;
}

static int vpeer_open(int fam, const char *fmt, va_list ap)
{
    char line[512];
    int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    line[n++] = '\n';
    int fd = sock(fam, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t len = peer_sa(fam, CTL_PORT, &ss);
    if (connect(fd, SA(&ss), len) != 0) {
        fail("peer connect (%s): %s", line, err_name(errno));
        drop(fd);
        return -1;
    }
    if (send(fd, line, (size_t)n, MSG_NOSIGNAL) != n) {
        fail("peer send (%s): %s", line, err_name(errno));
        drop(fd);
        return -1;
    }
    return fd;
}

int peer_open(int fam, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int fd = vpeer_open(fam, fmt, ap);
    va_end(ap);
    return fd;
}

int peer_query(int fam, char *reply, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int fd = vpeer_open(fam, fmt, ap);
    va_end(ap);
    if (fd < 0) {
        return -1;
    }
    size_t got = 0;
    uint64_t deadline = now_ms() + 10000;
    while (got + 1 < len && now_ms() < deadline) {
        if (wait_ev(fd, POLLIN, (int)(deadline - now_ms())) <= 0) {
            break;
        }
        ssize_t k = recv(fd, reply + got, 1, 0);
        if (k <= 0 || reply[got] == '\n') {
            break;
        }
        got++;
    }
    reply[got] = 0;
    drop(fd);
    if (got == 0) {
        fail("peer gave no answer to '%s'", fmt);
        return -1;
    }
    return 0;
}

int echo_conn(int fam)
{
    return peer_open(fam, "echo");
}

int listener(int fam, int backlog, int *port)
{
    int fd = sock(fam, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_storage ss;
    *port = case_port();
    socklen_t len = any_sa(fam, *port, &ss);
    if (bind(fd, SA(&ss), len) != 0 || listen(fd, backlog) != 0) {
        fail("listener on %d: %s", *port, err_name(errno));
        drop(fd);
        return -1;
    }
    return fd;
}

/* ---- helpers ----------------------------------------------------------------------- */

uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

int wait_ev(int fd, short events, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = events};
    int n = poll(&p, 1, timeout_ms);
    return n < 0 ? -1 : n == 0 ? 0 : p.revents;
}

ssize_t read_n(int fd, void *buf, size_t n, int timeout_ms)
{
    size_t got = 0;
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    while (got < n) {
        uint64_t now = now_ms();
        if (now >= deadline || wait_ev(fd, POLLIN, (int)(deadline - now)) <= 0) {
            break;
        }
        ssize_t k = recv(fd, (char *)buf + got, n - got, MSG_DONTWAIT);
        if (k == 0 || (k < 0 && errno != EAGAIN)) {
            break;
        }
        got += k > 0 ? (size_t)k : 0;
    }
    return (ssize_t)got;
}

ssize_t read_all(int fd, char hex8[9], int timeout_ms)
{
    sha256_ctx_t c;
    sha256_init(&c);
    static __thread char buf[65536];
    size_t got = 0;
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        uint64_t now = now_ms();
        if (now >= deadline || wait_ev(fd, POLLIN, (int)(deadline - now)) <= 0) {
            break;
        }
        ssize_t k = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (k == 0 || (k < 0 && errno != EAGAIN)) {
            break;
        }
        if (k > 0) {
            sha256_update(&c, buf, (size_t)k);
            got += (size_t)k;
        }
    }
    char hex[65];
    sha256_final_hex(&c, hex);
    if (hex8) {
        memcpy(hex8, hex, 8);
        hex8[8] = 0;
    }
    return (ssize_t)got;
}

void fill_pattern(void *buf, size_t n, size_t off)
{
    uint8_t *b = buf;
    for (size_t i = 0; i < n; i++) {
        b[i] = (uint8_t)((off + i) % 251);
    }
}

bool is_pattern(const void *buf, size_t n, size_t off)
{
    const uint8_t *b = buf;
    for (size_t i = 0; i < n; i++) {
        if (b[i] != (uint8_t)((off + i) % 251)) {
            return false;
        }
    }
    return true;
}

const char *ev_str(int ev)
{
    static __thread char buf[96];
    static const struct {
        int bit;
        const char *name;
    } names[] = {{POLLIN, "IN"},   {POLLPRI, "PRI"},   {POLLOUT, "OUT"},
                 {POLLERR, "ERR"}, {POLLHUP, "HUP"},   {POLLNVAL, "NVAL"},
                 {POLLRDNORM, "RDNORM"}, {POLLWRNORM, "WRNORM"}, {POLLRDHUP, "RDHUP"}};
    if (ev < 0) {
        return "error";
    }
    buf[0] = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (ev & names[i].bit) {
            if (buf[0]) {
                strcat(buf, "|");
            }
            strcat(buf, names[i].name);
            ev &= ~names[i].bit;
        }
    }
    if (ev) {
        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s0x%x", buf[0] ? "|" : "", ev);
    }
    return buf[0] ? buf : "0";
}

/* ---- runner ------------------------------------------------------------------------ */

static void on_alarm(int sig)
{
    (void)sig;
    char line[256];
    int n = snprintf(line, sizeof(line), "case %s: FAIL watchdog: no end after 30 s\n", C.name ? C.name : "?");
    if (write(STDOUT_FILENO, line, (size_t)n) < 0) {
        _exit(3);
    }
    _exit(3);
}

static bool selected(const char *name, const char *only)
{
    if (!only) {
        return true;
    }
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", only);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (strstr(name, tok)) {
            return true;
        }
    }
    return false;
}

static void run_case(const diff_case_def_t *d, int index, int *passed, int *failed, int *skipped)
{
    memset(&C, 0, sizeof(C));
    C.name = d->name;
    C.index = index;
    uint64_t t0 = now_ms();
    alarm(30);
    d->fn(d->fam);
    alarm(0);
    fprintf(stderr, "time %s %llu ms\n", d->name, (unsigned long long)(now_ms() - t0));
    for (int i = C.nfds - 1; i >= 0; i--) {
        close(C.fds[i]);
    }
    if (C.skipped) {
        printf("case %s: skip %s\n", d->name, C.why);
        (*skipped)++;
    } else if (C.failed) {
        printf("case %s: FAIL %s | %s\n", d->name, C.why, C.obs);
        (*failed)++;
    } else {
        printf("case %s: ok | %s\n", d->name, C.obs);
        (*passed)++;
    }
    fflush(stdout);
}

/* Wait until the peer answers on both families (ARP/ND resolved, SLAAC address formed). */
static int wait_ready(void)
{
    const diff_case_def_t probe = {"ready", NULL, 0};
    uint64_t deadline = now_ms() + 20000;
    bool v6 = false;
    while (now_ms() < deadline) {
        memset(&C, 0, sizeof(C));
        C.name = probe.name;
        int fd = socket(AF_INET6, SOCK_DGRAM, 0);
        struct sockaddr_storage ss;
        socklen_t len = self_sa(AF_INET6, 0, &ss);
        v6 = fd >= 0 && bind(fd, SA(&ss), len) == 0;
        if (fd >= 0) {
            close(fd);
        }
        if (v6) {
            break;
        }
        sleep_ms(200);
    }
    if (!v6) {
        fprintf(stderr, "no IPv6 address %s after 20 s\n", g_self6);
        return -1;
    }
    for (int fam = AF_INET; fam; fam = fam == AF_INET ? AF_INET6 : 0) {
        char reply[64] = "";
        while (now_ms() < deadline) {
            memset(&C, 0, sizeof(C));
            C.name = probe.name;
            if (peer_query(fam, reply, sizeof(reply), "ping") == 0 && strcmp(reply, "pong") == 0) {
                break;
            }
            for (int i = C.nfds - 1; i >= 0; i--) {
                close(C.fds[i]);
            }
            sleep_ms(200);
        }
        if (strcmp(reply, "pong") != 0) {
            fprintf(stderr, "peer does not answer on %s\n", fam == AF_INET ? g_peer4 : g_peer6);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    const char *only = NULL;
    bool list = false;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--only") == 0 && v) {
            only = v;
            i++;
        } else if (strcmp(argv[i], "--list") == 0) {
            list = true;
        } else if (strcmp(argv[i], "--self4") == 0 && v) {
            g_self4 = v;
            i++;
        } else if (strcmp(argv[i], "--self6") == 0 && v) {
            g_self6 = v;
            i++;
        } else if (strcmp(argv[i], "--peer4") == 0 && v) {
            g_peer4 = v;
            i++;
        } else if (strcmp(argv[i], "--peer6") == 0 && v) {
            g_peer6 = v;
            i++;
        }
    }
    const diff_case_def_t *tables[] = {diff_cases_sock,   diff_cases_tcp,  diff_cases_udp,
                                       diff_cases_opt,    diff_cases_select, diff_cases_misc};
    if (list) {
        for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
            for (const diff_case_def_t *d = tables[t]; d->name; d++) {
                printf("%s\n", d->name);
            }
        }
        return 0;
    }
    if (diff_stack_start(argc, argv) != 0) {
        return 2;
    }
    if (wait_ready() != 0) {
        return 2;
    }
    printf("variant %s: ready\n", g_variant);
    int passed = 0, failed = 0, skipped = 0, index = 0;
    uint64_t t0 = now_ms();
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
        for (const diff_case_def_t *d = tables[t]; d->name; d++) {
            index++;
            if (selected(d->name, only)) {
                run_case(d, index, &passed, &failed, &skipped);
            }
        }
    }
    printf("%s: %d passed, %d failed, %d skipped in %.1f s\n", g_variant, passed, failed, skipped,
           (double)(now_ms() - t0) / 1000.0);
    fflush(stdout);
    /* Threads of the stack may still run: leave without tearing it down under them. */
    _exit(failed ? 1 : 0);
}
