/*
 * libFuzzer target 2: random sequences of BSD socket calls through the shim
 * (the lwip_* entry points of esp_smoltcp_lwip_compat, as IDF code reaches
 * them) against the whole runtime: poll task, RX pool and queue, native
 * socket layer, glue and smoltcp, over an in-memory netdev that loops every
 * transmitted frame back (so the stack can talk TCP/UDP/ICMP to itself) or
 * discards it.
 *
 * Arguments are chosen by the input, including bad descriptors, NULL
 * pointers where the API must answer with an error, odd and huge lengths,
 * unknown levels/options/commands. Every call is bounded in time: sockets
 * get 1 ms send/receive timeouts (an input may change them, clamped to 2 ms).
 * Each input runs on a fresh runtime (init, attach, calls, close every fd,
 * deinit), so LeakSanitizer sees per-input leaks.
 *
 * Input: one config byte (bit 0: discard instead of loop, bit 1: SLAAC),
 * then ops (one selector byte and its arguments each), at most MAX_OPS.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#define ESP_SMOLTCP_HOST_SOCKETS_NO_MAP
#include "esp_smoltcp.h"
#include "esp_smoltcp_host_sockets.h"
#include "esp_smoltcp_sock.h"
#include "fuzz_input.h"
#include "netdev_mem.h"

#define MAX_OPS 48
#define MAX_FDS 24
#define BIG (128 * 1024)
#define FD_FIRST 900 /* the shim's fd range (compat_platform.h) */
#define FD_COUNT 64

static uint8_t *big_buf;      /* BIG bytes, heap: ASan sees any overrun */
static bool no_workarounds;   /* FUZZ_NO_WORKAROUNDS=1: do not steer around known bugs */

typedef struct {
    int fd;
    int type;       /* SOCK_STREAM / SOCK_DGRAM as asked */
    int bound;      /* 0: not bound / any address, 4 or 6: bound to a specific address of that family */
    int dest;       /* UDP connect(): family of the default destination, 0 none */
} fd_rec_t;

static fd_rec_t fds[MAX_FDS];
static int nfds;
static bool listening[FD_COUNT]; /* listen() succeeded on this fd number (K4 steering) */

static bool *listening_of(int fd)
{
    static bool none;
    none = false;
    return fd >= FD_FIRST && fd < FD_FIRST + FD_COUNT ? &listening[fd - FD_FIRST] : &none;
}

static void fatal(const char *what)
{
    fprintf(stderr, "bsd fuzzer: invariant broken: %s\n", what);
    abort();
}

/* ---- argument pickers ------------------------------------------------------------------ */

static int pick_fd(fuzz_input_t *in, fd_rec_t **rec)
{
    static const int special[] = {-1, 0, 1, FD_FIRST - 1, FD_FIRST, FD_FIRST + FD_COUNT - 1, FD_FIRST + FD_COUNT,
                                  INT_MAX, INT_MIN, 1000};
    uint8_t k = fuzz_u8(in);
    *rec = NULL;
    if (k < 224 && nfds > 0) {
        *rec = &fds[k % nfds];
        return (*rec)->fd;
    }
    return special[k % (sizeof(special) / sizeof(special[0]))];
}

static uint16_t pick_port(fuzz_input_t *in)
{
    static const uint16_t ports[] = {80, 1234, 0, 7, 65535, 49152};
    uint8_t k = fuzz_u8(in);
    return k < 192 ? ports[k % 6] : fuzz_u16(in);
}

typedef struct {
    struct sockaddr_storage ss;
    struct sockaddr *sa; /* &ss, or NULL */
    socklen_t len;
    int family;          /* 4 / 6 for a specific address of that family (v4-mapped counts as 4), 0 any/other */
} addr_t;

static void pick_addr(fuzz_input_t *in, addr_t *a)
{
    memset(a, 0, sizeof(*a));
    a->sa = (struct sockaddr *)&a->ss;
    uint8_t k = fuzz_u8(in) % 16;
    uint16_t port = pick_port(in);
    struct sockaddr_in *in4 = (struct sockaddr_in *)&a->ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;
    static const uint8_t v4[][4] = {{198, 18, 0, 2}, {0, 0, 0, 0}, {198, 18, 0, 1}, {127, 0, 0, 1},
                                    {255, 255, 255, 255}, {224, 0, 0, 1}};
    static const uint8_t v6[][16] = {
        {0},
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 18, 0, 2},
        {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x00, 0, 0, 0xff, 0xfe, 0, 0, 0x02}, /* the stack's own link-local */
        {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9},
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
    };
    if (k < 6) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
        memcpy(&in4->sin_addr, v4[k], 4);
        a->len = sizeof(*in4);
        a->family = k == 1 ? 0 : 4;
    } else if (k < 11) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        memcpy(&in6->sin6_addr, v6[k - 6], 16);
        a->len = sizeof(*in6);
        a->family = k == 6 ? 0 : k == 7 ? 4 : 6;
    } else if (k == 11) {
        a->ss.ss_family = AF_UNIX;
        a->len = sizeof(struct sockaddr_storage);
    } else if (k == 12) {
        in4->sin_family = AF_INET;
        a->len = sizeof(sa_family_t); /* too short */
    } else if (k == 13) {
        a->len = 0;
    } else if (k == 14) {
        a->sa = NULL;
        a->len = sizeof(struct sockaddr_in);
    } else {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
        memcpy(&in4->sin_addr, v4[0], 4);
        a->len = 0x7fffffff; /* huge: only sizeof(sockaddr_in) may be read */
        a->family = 4;
    }
}

/* Send/receive length and buffer: sometimes NULL (with a length: EFAULT expected). */
static void pick_len(fuzz_input_t *in, void **buf, size_t *len)
{
    static const size_t lens[] = {0, 1, 100, 1460, 4096, 65536, BIG};
    uint8_t k = fuzz_u8(in);
    *buf = big_buf;
    if (k < 200) {
        *len = k < 100 ? fuzz_u16(in) % 3000 : lens[k % 7];
    } else if (k < 228) {
        *buf = NULL;
        *len = k & 1 ? SIZE_MAX : 16;
    } else {
        /* NULL with length 0 is legal (Linux returns 0). */
        *buf = NULL;
        *len = 0;
    }
}

static int pick_flags(fuzz_input_t *in)
{
    static const int f[] = {0, MSG_DONTWAIT, MSG_PEEK, MSG_WAITALL, MSG_TRUNC, MSG_PEEK | MSG_DONTWAIT, MSG_OOB,
                            MSG_NOSIGNAL};
    uint8_t k = fuzz_u8(in);
    return k < 240 ? f[k % 8] : (int)fuzz_u32(in);
}

/* A bounded wait on every socket, whatever the input does to its options. */
static void bound_timeouts(int fd)
{
    struct timeval tv = {.tv_sec = 0, .tv_usec = 1000};
    lwip_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    lwip_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void add_fd(int fd, int type)
{
    if (fd < 0) {
        return;
    }
    *listening_of(fd) = false;
    bound_timeouts(fd);
    if (nfds < MAX_FDS) {
        fds[nfds++] = (fd_rec_t){.fd = fd, .type = type};
    } else {
        lwip_close(fd); /* keep the table small */
    }
}

static bool trace; /* FUZZ_TRACE=1: one line per call (triage) */

static void check_ret(ssize_t r, size_t len)
{
    if (trace) {
        fprintf(stderr, "  -> %zd%s%s\n", r, r < 0 ? " errno " : "", r < 0 ? strerror(errno) : "");
    }
    if (r < -1 || (r >= 0 && (size_t)r > len && len != 0)) {
        fatal("send/recv returned a length out of range");
    }
    if (r == -1 && errno == 0) {
        fatal("-1 without errno");
    }
}

/* ---- ops ---------------------------------------------------------------------------------- */

static void op_socket(fuzz_input_t *in)
{
    static const int domains[] = {AF_INET, AF_INET6, AF_INET, AF_UNIX, AF_PACKET};
    static const int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_STREAM | SOCK_NONBLOCK, SOCK_DGRAM | SOCK_NONBLOCK,
                                SOCK_RAW, SOCK_SEQPACKET, SOCK_STREAM | SOCK_CLOEXEC};
    static const int protos[] = {0, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, 0, 0};
    uint8_t d = fuzz_u8(in), t = fuzz_u8(in), p = fuzz_u8(in);
    int domain = d < 250 ? domains[d % 5] : (int)fuzz_u32(in);
    int type = t < 250 ? types[t % 7] : (int)fuzz_u32(in);
    int proto = p < 250 ? protos[p % 6] : (int)fuzz_u32(in);
    errno = 0;
    int fd = lwip_socket(domain, type, proto);
    check_ret(fd, 0);
    if (fd >= 0 && (fd < FD_FIRST || fd >= FD_FIRST + FD_COUNT)) {
        fatal("socket() returned an fd outside the shim's range");
    }
    if (fd == -1 && errno == 0) {
        fatal("socket() failed without errno");
    }
    add_fd(fd, type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC));
}

static void op_sockopt(fuzz_input_t *in, int fd, bool set)
{
    static const int levels[] = {SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP, IPPROTO_IPV6, SOL_SOCKET, IPPROTO_TCP};
    static const int names[] = {SO_REUSEADDR, SO_KEEPALIVE, SO_RCVTIMEO, SO_SNDTIMEO, SO_LINGER, SO_ERROR,
                                SO_TYPE, SO_RCVBUF, SO_SNDBUF, TCP_NODELAY, TCP_KEEPIDLE, IP_TTL, SO_BROADCAST,
                                IPV6_V6ONLY, TCP_MAXSEG, SO_ACCEPTCONN};
    static const socklen_t lens[] = {0, 1, sizeof(int), 8, sizeof(struct timeval), sizeof(struct linger), 64,
                                     0x7fffffff};
    uint8_t l = fuzz_u8(in), n = fuzz_u8(in), v = fuzz_u8(in), ln = fuzz_u8(in);
    int level = l < 240 ? levels[l % 6] : (int)fuzz_u32(in);
    int name = n < 240 ? names[n % 16] : (int)fuzz_u32(in);
    uint8_t val[64];
    size_t got;
    const uint8_t *p = fuzz_bytes(in, sizeof(val), &got);
    memset(val, 0, sizeof(val));
    memcpy(val, p, got < (size_t)(v % 65) ? got : (size_t)(v % 65));
    socklen_t len = lens[ln % 8];
    if (set && level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
        /* Keep every call bounded: clamp a timeout to (0, 2 ms], as bound_timeouts() set it. */
        struct timeval tv;
        memcpy(&tv, val, sizeof(tv));
        if (tv.tv_sec >= 0 && tv.tv_usec >= 0 && tv.tv_usec < 1000000) {
            tv.tv_sec = 0;
            tv.tv_usec = 1 + (tv.tv_usec % 2000);
            memcpy(val, &tv, sizeof(tv));
        }
    }
    /* val is 64 bytes: a huge length may only be read up to what the option needs. */
    uint8_t *heap = malloc(sizeof(val));
    if (!heap) {
        return;
    }
    memcpy(heap, val, sizeof(val));
    void *ptr = (v & 0x80) ? NULL : heap;
    errno = 0;
    if (set) {
        int r = lwip_setsockopt(fd, level, name, ptr, len);
        check_ret(r, 0);
    } else {
        socklen_t olen = len > sizeof(val) ? sizeof(val) : len;
        int r = lwip_getsockopt(fd, level, name, ptr, (v & 0x40) ? NULL : &olen);
        check_ret(r, 0);
        if (r == 0 && olen > sizeof(val)) {
            fatal("getsockopt grew the length past the buffer");
        }
    }
    free(heap);
}

static void op(fuzz_input_t *in, esp_smoltcp_netdev_t *dev)
{
    (void)dev;
    uint8_t sel = fuzz_u8(in) % 20;
    fd_rec_t *rec = NULL;
    int fd = sel == 0 || sel == 14 || sel == 17 ? -1 : pick_fd(in, &rec);
    if (trace) {
        static const char *const names[20] = {"socket", "bind", "listen", "accept", "connect", "send", "sendto",
                                              "recv", "recvfrom", "shutdown", "close", "setsockopt", "getsockopt",
                                              "fcntl", "poll", "getname", "read/write", "sleep", "native", "icmp"};
        fprintf(stderr, "%s fd %d\n", names[sel], fd);
    }
    addr_t a;
    void *buf;
    size_t len;
    ssize_t r;
    errno = 0;
    switch (sel) {
    case 0:
        op_socket(in);
        break;
    case 1:
        pick_addr(in, &a);
        r = lwip_bind(fd, a.sa, a.len);
        check_ret(r, 0);
        if (r == 0 && rec) {
            rec->bound = a.family;
        }
        break;
    case 2: {
        uint8_t b = fuzz_u8(in);
        int backlog = b < 200 ? (int)(b % 8) - 1 : b < 250 ? 1000 : (int)fuzz_u32(in);
        int r2 = lwip_listen(fd, backlog);
        check_ret(r2, 0);
        if (r2 == 0 || errno != EBADF) {
            *listening_of(fd) = true; /* also a failed listen() can leave the socket without its engine socket */
        }
        break;
    }
    case 3: {
        uint8_t m = fuzz_u8(in);
        struct sockaddr_storage ss;
        socklen_t sl = (m & 2) ? 4 : sizeof(ss); /* a short buffer: truncated, full length reported */
        int nfd = lwip_accept(fd, (m & 1) ? (struct sockaddr *)&ss : NULL, (m & 4) ? NULL : &sl);
        check_ret(nfd, 0);
        if (nfd >= 0 && (m & 1) && !(m & 4) && sl > sizeof(ss)) {
            fatal("accept addrlen");
        }
        add_fd(nfd, SOCK_STREAM);
        break;
    }
    case 4:
        pick_addr(in, &a);
        r = lwip_connect(fd, a.sa, a.len);
        check_ret(r, 0);
        if (rec && rec->type == SOCK_DGRAM && r == 0) {
            rec->dest = a.family;
        }
        break;
    case 5:
        pick_len(in, &buf, &len);
        r = lwip_send(fd, buf, len, pick_flags(in) | MSG_NOSIGNAL);
        check_ret(r, len);
        break;
    case 6:
        pick_len(in, &buf, &len);
        pick_addr(in, &a);
        r = lwip_sendto(fd, buf, len, pick_flags(in) | MSG_NOSIGNAL, a.sa, a.len);
        check_ret(r, len);
        break;
    case 7:
        pick_len(in, &buf, &len);
        r = lwip_recv(fd, buf, len, pick_flags(in));
        if (!(r >= 0 && len && buf)) {
            check_ret(r, len);
        }
        break;
    case 8: {
        pick_len(in, &buf, &len);
        uint8_t m = fuzz_u8(in);
        struct sockaddr_storage ss;
        socklen_t sl = (m & 2) ? 2 : sizeof(ss);
        int flags = pick_flags(in);
        r = lwip_recvfrom(fd, buf, len, flags, (m & 1) ? (struct sockaddr *)&ss : NULL, (m & 4) ? NULL : &sl);
        if (!(flags & MSG_TRUNC)) {
            check_ret(r, len);
        }
        break;
    }
    case 9: {
        uint8_t h = fuzz_u8(in);
        check_ret(lwip_shutdown(fd, h < 250 ? (int)(h % 4) : (int)fuzz_u32(in)), 0);
        break;
    }
    case 10:
        if (lwip_close(fd) == 0) {
            *listening_of(fd) = false;
        }
        for (int i = 0; i < nfds; i++) {
            if (fds[i].fd == fd) {
                fds[i] = fds[--nfds];
                break;
            }
        }
        break;
    case 11:
    case 12:
        op_sockopt(in, fd, sel == 11);
        break;
    case 13: {
        static const int cmds[] = {F_GETFL, F_SETFL, F_GETFD, F_SETFD, F_DUPFD, F_GETLK};
        uint8_t c = fuzz_u8(in);
        int cmd = c < 240 ? cmds[c % 6] : (int)fuzz_u32(in);
        uint8_t v = fuzz_u8(in);
        int arg = v < 128 ? O_NONBLOCK : v < 192 ? 0 : (int)fuzz_u32(in);
        check_ret(lwip_fcntl(fd, cmd, arg), 0);
        break;
    }
    case 14: {
        /* The shim has no poll()/select() yet: the native readiness call it will sit on. */
        esp_smoltcp_pollfd_t pf[4];
        size_t n = fuzz_u8(in) % 5;
        for (size_t i = 0; i < n; i++) {
            uint8_t h = fuzz_u8(in);
            pf[i].handle = h < 240 ? (int)(h % 10) - 1 : (int)fuzz_u32(in);
            pf[i].events = fuzz_u8(in) & 0x1f;
            pf[i].revents = 0xffff;
        }
        int ready = esp_smoltcp_sock_poll(n ? pf : NULL, n, fuzz_u8(in) % 3);
        if (ready < 0 ? ready != -EFAULT && ready != -ENOMEM : (size_t)ready > n) {
            fatal("poll result out of range");
        }
        break;
    }
    case 15: {
        uint8_t m = fuzz_u8(in);
        struct sockaddr_storage ss;
        socklen_t sl = (m & 2) ? 3 : sizeof(ss);
        struct sockaddr *sa = (m & 1) ? NULL : (struct sockaddr *)&ss;
        socklen_t *lp = (m & 4) ? NULL : &sl;
        r = (m & 8) ? lwip_getpeername(fd, sa, lp) : lwip_getsockname(fd, sa, lp);
        check_ret(r, 0);
        break;
    }
    case 16:
        pick_len(in, &buf, &len);
        if (fuzz_u8(in) & 1) {
            r = lwip_read(fd, buf, len);
        } else {
            r = lwip_write(fd, buf, len);
        }
        check_ret(r, len);
        break;
    case 17: {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(fuzz_u8(in) % 3) * 1000000L};
        nanosleep(&ts, NULL);
        break;
    }
    case 18: {
        /* Native calls the shim does not reach yet, on raw handles. */
        uint8_t h = fuzz_u8(in);
        int handle = (int)(h % 10) - 1;
        switch (fuzz_u8(in) % 4) {
        case 0: esp_smoltcp_sock_pending(handle); break;
        case 1: esp_smoltcp_sock_take_error(handle); break;
        case 2: esp_smoltcp_sock_set_hop_limit(handle, fuzz_u8(in)); break;
        default: esp_smoltcp_sock_set_keepalive(handle, fuzz_u16(in)); break;
        }
        break;
    }
    default: {
        /* ICMP echo to ourselves or the silent peer through the native API (no BSD raw sockets). */
        int h = esp_smoltcp_sock_open(ESP_SMOLTCP_SOCK_ICMP, NULL);
        if (h >= 0) {
            uint8_t msg[64] = {8, 0, 0, 0, 0x12, 0x34, 0, 1};
            esp_smoltcp_endpoint_t to = {.family = ESP_SMOLTCP_AF_INET, .addr = {198, 18, 0, (fuzz_u8(in) & 1) + 1}};
            esp_smoltcp_sock_sendto(h, msg, 8 + fuzz_u8(in) % 56, 0, &to, 0);
            size_t full;
            esp_smoltcp_sock_recvfrom(h, msg, sizeof(msg), 0, &full, NULL, fuzz_u8(in) % 3);
            esp_smoltcp_sock_close(h);
        }
        break;
    }
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    big_buf = malloc(BIG);
    if (!big_buf) {
        abort();
    }
    for (size_t i = 0; i < BIG; i++) {
        big_buf[i] = (uint8_t)(i % 251);
    }
    const char *nw = getenv("FUZZ_NO_WORKAROUNDS");
    no_workarounds = nw && *nw == '1';
    const char *tr = getenv("FUZZ_TRACE");
    trace = tr && *tr == '1';
    /* The runtime logs every attach at INFO: errors only (a glue panic is logged as one), unless tracing. */
    setenv("ESP_SMOLTCP_LOG_LEVEL", trace ? "3" : "1", 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input_t in = {.data = data, .len = size};
    uint8_t cfgb = fuzz_u8(&in);
    esp_smoltcp_config_t cfg = ESP_SMOLTCP_DEFAULT_CONFIG();
    cfg.rx_pool_frames = 16;
    cfg.max_sockets = 8;
    cfg.tcp_rx_buffer = 4096;
    cfg.tcp_tx_buffer = 4096;
    cfg.udp_rx_buffer = 2048;
    cfg.udp_tx_buffer = 2048;
    cfg.udp_rx_packets = 4;
    cfg.udp_tx_packets = 4;
    cfg.linger_timeout_ms = 20;
    cfg.ipv4_mode = ESP_SMOLTCP_IPV4_STATIC;
    cfg.static_ip = "198.18.0.2/24";
    cfg.static_gateway = "198.18.0.1";
    cfg.ipv6_slaac = cfgb & 2;
    cfg.poll_task_stack = 0;
    esp_smoltcp_netdev_t *dev = NULL;
    if (esp_smoltcp_init_with_config(&cfg) != ESP_OK ||
        netdev_mem_create((cfgb & 1) ? NETDEV_MEM_DISCARD : NETDEV_MEM_LOOP, &dev) != ESP_OK ||
        esp_smoltcp_attach_netdev(dev) != ESP_OK) {
        fatal("runtime start");
    }
    nfds = 0;
    for (int i = 0; i < MAX_OPS && !fuzz_input_done(&in); i++) {
        op(&in, dev);
    }
    while (nfds > 0) {
        lwip_close(fds[--nfds].fd);
    }
    memset(listening, 0, sizeof(listening));
    /* Every fd is free again (no fd leaked by accept or a failed call). */
    for (int fd = FD_FIRST; fd < FD_FIRST + FD_COUNT; fd++) {
        errno = 0;
        if (lwip_fcntl(fd, F_GETFL, 0) != -1 || errno != EBADF) {
            fatal("an fd is still allocated after every fd was closed");
        }
    }
    if (esp_smoltcp_deinit() != ESP_OK) {
        fatal("deinit");
    }
    return 0;
}
