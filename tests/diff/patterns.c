/*
 * Usage patterns of real IDF components, written against the BSD API the way
 * those components use it, built like the differential suite (kernel and
 * shim). test_patterns.py drives them from the peer namespace.
 *
 *   bsd_patterns_<v> httpd PORT       esp_http_server: a select() loop over a
 *                                     dual-stack listener, sessions and a UDP
 *                                     control socket on 127.0.0.1:32768
 *   bsd_patterns_<v> connect HOST PORT TIMEOUT_MS
 *                                     esp-tls / tcp_transport: non-blocking
 *                                     connect, select(), SO_ERROR, MSG_PEEK
 *   bsd_patterns_<v> ping HOST COUNT  IDF ping (ping_sock.c): SOCK_RAW ICMP /
 *                                     ICMPv6 with SO_RCVTIMEO, IP_TTL, IP_TOS
 * (plus --tap/--mac for the shim build). Output: lines "pattern: ...".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "diff_fmt.h"
#include "diff_stack.h"

#define CTRL_PORT 32768 /* esp_http_server's default ctrl_port */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static socklen_t addr_of(const char *host, int port, struct sockaddr_storage *ss)
{
    return mk_sa(strchr(host, ':') ? AF_INET6 : AF_INET, host, port, ss);
}

/* ---- httpd ----------------------------------------------------------------------------- */

#define MAX_SESSIONS 8

typedef struct {
    int fd;
    char buf[2048];
    size_t len;
} session_t;

static struct {
    int ctrl_out; /* the second UDP socket httpd_queue_work() sends from */
    struct sockaddr_in ctrl_to;
    bool ctrl_ok;
} H;

/* httpd_queue_work(): a message to the server's own control socket. */
static void queue_work(const char *msg)
{
    if (sendto(H.ctrl_out, msg, strlen(msg), 0, (struct sockaddr *)&H.ctrl_to, sizeof(H.ctrl_to)) < 0) {
        printf("pattern: ctrl sendto failed: %s\n", err_name(errno));
    }
}

static void session_close(session_t *s)
{
    close(s->fd);
    s->fd = -1;
    s->len = 0;
}

/* One request per "GET /PATH HTTP/1.1\r\n...\r\n\r\n"; /N answers N bytes, /stop stops the server. */
static bool session_serve(session_t *s, int *requests, bool *stop)
{
    ssize_t n = recv(s->fd, s->buf + s->len, sizeof(s->buf) - 1 - s->len, 0);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return true; /* httpd retries these */
        }
        return false;
    }
    s->len += (size_t)n;
    s->buf[s->len] = 0;
    char *end;
    while ((end = strstr(s->buf, "\r\n\r\n"))) {
        char path[64] = "";
        sscanf(s->buf, "GET /%63s", path);
        size_t consumed = (size_t)(end + 4 - s->buf);
        memmove(s->buf, end + 4, s->len - consumed + 1);
        s->len -= consumed;
        (*requests)++;
        if (strcmp(path, "stop") == 0) {
            queue_work("stop"); /* as httpd_stop() does: through the control socket */
            *stop = true;
        }
        long size = strtol(path, NULL, 10);
        if (size < 0 || size > 1000000) {
            size = 0;
        }
        char head[128];
        int hl = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %ld\r\n\r\n", size);
        if (send(s->fd, head, (size_t)hl, 0) != hl) {
            return false;
        }
        static char body[8192];
        for (long off = 0; off < size;) {
            size_t k = (size_t)(size - off) < sizeof(body) ? (size_t)(size - off) : sizeof(body);
            for (size_t i = 0; i < k; i++) {
                body[i] = (char)('a' + (off + (long)i) % 26);
            }
            ssize_t w = send(s->fd, body, k, 0);
            if (w <= 0) {
                return false;
            }
            off += w;
        }
    }
    return true;
}

static int run_httpd(int port)
{
    /* httpd_server_init(): PF_INET6 on in6addr_any takes IPv4 clients too. */
    int ls = socket(PF_INET6, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port), .sin6_addr = in6addr_any};
    if (bind(ls, (struct sockaddr *)&a6, sizeof(a6)) != 0 || listen(ls, 5) != 0) {
        printf("pattern: listen failed: %s\n", err_name(errno));
        return 1;
    }
    /* The control socket: UDP on 127.0.0.1:ctrl_port, and a second socket to send to it. */
    int ctrl = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in c4 = {.sin_family = AF_INET, .sin_port = htons(CTRL_PORT)};
    inet_pton(AF_INET, "127.0.0.1", &c4.sin_addr);
    H.ctrl_to = c4;
    if (bind(ctrl, (struct sockaddr *)&c4, sizeof(c4)) != 0) {
        int e = errno;
        printf("pattern: ctrl skip: bind 127.0.0.1:%d: %s\n", CTRL_PORT, err_name(e));
        close(ctrl);
        ctrl = -1;
    } else {
        H.ctrl_ok = true;
        H.ctrl_out = socket(AF_INET, SOCK_DGRAM, 0);
        printf("pattern: ctrl bound\n");
    }
    printf("pattern: httpd listening on %d\n", port);
    fflush(stdout);
    session_t ss[MAX_SESSIONS];
    for (int i = 0; i < MAX_SESSIONS; i++) {
        ss[i].fd = -1;
        ss[i].len = 0;
    }
    int requests = 0, accepted = 0, ctrl_msgs = 0, v4_clients = 0, v6_clients = 0;
    bool stop = false, stop_seen = false;
    while (!stop_seen) {
        fd_set rs;
        FD_ZERO(&rs);
        int maxfd = ls;
        FD_SET(ls, &rs);
        if (ctrl >= 0) {
            FD_SET(ctrl, &rs);
            maxfd = ctrl > maxfd ? ctrl : maxfd;
        }
        for (int i = 0; i < MAX_SESSIONS; i++) {
            /* httpd checks its sessions with fcntl(F_GETFD) before select. */
            if (ss[i].fd >= 0 && fcntl(ss[i].fd, F_GETFD) < 0) {
                printf("pattern: stale session fd\n");
                ss[i].fd = -1;
            }
            if (ss[i].fd >= 0) {
                FD_SET(ss[i].fd, &rs);
                maxfd = ss[i].fd > maxfd ? ss[i].fd : maxfd;
            }
        }
        /* httpd waits without a timeout; without a control socket, poll for the stop flag. */
        struct timeval tv = {0, 200000};
        int n = select(maxfd + 1, &rs, NULL, NULL, ctrl >= 0 ? NULL : &tv);
        if (n < 0) {
            printf("pattern: select failed: %s\n", err_name(errno));
            return 1;
        }
        if (ctrl < 0 && stop) {
            stop_seen = true;
        }
        if (ctrl >= 0 && FD_ISSET(ctrl, &rs)) {
            char msg[32] = {0};
            struct sockaddr_storage from;
            socklen_t fl = sizeof(from);
            ssize_t k = recvfrom(ctrl, msg, sizeof(msg) - 1, 0, (struct sockaddr *)&from, &fl);
            if (k > 0) {
                ctrl_msgs++;
                stop_seen = stop_seen || strcmp(msg, "stop") == 0;
            }
        }
        if (FD_ISSET(ls, &rs)) {
            struct sockaddr_storage pa;
            socklen_t pl = sizeof(pa);
            int c = accept(ls, (struct sockaddr *)&pa, &pl);
            int slot = -1;
            for (int i = 0; i < MAX_SESSIONS && slot < 0; i++) {
                slot = ss[i].fd < 0 ? i : -1;
            }
            if (c >= 0 && slot >= 0) {
                accepted++;
                const struct sockaddr_in6 *p6 = (const struct sockaddr_in6 *)&pa;
                bool mapped = pa.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&p6->sin6_addr);
                mapped ? v4_clients++ : v6_clients++;
                /* httpd_accept_conn(): timeouts, keep-alive, then the session. */
                struct timeval to = {5, 0};
                setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &to, sizeof(to));
                setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &to, sizeof(to));
                int idle = 5, intvl = 5, cnt = 3;
                setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
                setsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
                setsockopt(c, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
                setsockopt(c, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
                ss[slot].fd = c;
                ss[slot].len = 0;
                queue_work("accepted");
            } else if (c >= 0) {
                struct linger lg = {1, 0};
                setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
                close(c);
            }
        }
        for (int i = 0; i < MAX_SESSIONS; i++) {
            if (ss[i].fd >= 0 && FD_ISSET(ss[i].fd, &rs) && !session_serve(&ss[i], &requests, &stop)) {
                session_close(&ss[i]);
            }
        }
    }
    for (int i = 0; i < MAX_SESSIONS; i++) {
        if (ss[i].fd >= 0) {
            session_close(&ss[i]);
        }
    }
    close(ls);
    printf("pattern: httpd done accepted=%d v4=%d v6=%d requests=%d ctrl=%s ctrl_msgs_ok=%s\n", accepted, v4_clients,
           v6_clients, requests, H.ctrl_ok ? "yes" : "no", !H.ctrl_ok || ctrl_msgs == accepted + 1 ? "yes" : "no");
    return 0;
}

/* ---- esp-tls style connect -------------------------------------------------------------- */

static int run_connect(const char *host, int port, int timeout_ms)
{
    struct sockaddr_storage ss;
    socklen_t len = addr_of(host, port, &ss);
    int fd = socket(ss.ss_family, SOCK_STREAM, IPPROTO_TCP);
    if (fd < 0) {
        printf("pattern: socket failed: %s\n", err_name(errno));
        return 1;
    }
    /* esp_tls: keep-alive and timeouts first, then O_NONBLOCK for the connect. */
    int one = 1, idle = 5, intvl = 2, cnt = 3;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    int flags = fcntl(fd, F_GETFL, 0);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int rc = connect(fd, (struct sockaddr *)&ss, len);
    if (rc < 0 && errno != EINPROGRESS) {
        printf("pattern: connect failed at once: %s\n", err_name(errno));
        close(fd);
        return 0;
    }
    printf("pattern: connect %s\n", rc == 0 ? "done at once" : "in progress");
    fd_set ws;
    FD_ZERO(&ws);
    FD_SET(fd, &ws);
    struct timeval to = tv;
    uint64_t t0 = now_ms();
    int n = select(fd + 1, NULL, &ws, NULL, &to);
    if (n == 0) {
        printf("pattern: connect timed out after ~%d ms\n", (int)((now_ms() - t0 + 500) / 1000 * 1000));
        close(fd);
        return 0;
    }
    int err = -1;
    socklen_t el = sizeof(err);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) {
        printf("pattern: connect failed: SO_ERROR=%s\n", err_name(err));
        close(fd);
        return 0;
    }
    fcntl(fd, F_SETFL, flags); /* blocking again, as esp-tls leaves it */
    printf("pattern: connected\n");
    send(fd, "ping\n", 5, 0);
    /* tcp_transport polls for data, then peeks before reading. */
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(fd, &rs);
    to = tv;
    select(fd + 1, &rs, NULL, NULL, &to);
    char b[16] = {0};
    ssize_t k = recv(fd, b, 1, MSG_PEEK);
    printf("pattern: peek %zd '%c'\n", k, k > 0 ? b[0] : '?');
    k = recv(fd, b, sizeof(b) - 1, MSG_WAITALL);
    printf("pattern: read %zd '%.4s'\n", k, b);
    close(fd);
    return 0;
}

/* ---- IDF ping --------------------------------------------------------------------------- */

static uint16_t inet_chksum(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    }
    if (len & 1) {
        sum += (uint32_t)(p[len - 1] << 8);
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t)~sum;
}

static int run_ping(const char *host, int count)
{
    struct sockaddr_storage ss;
    socklen_t len = addr_of(host, 0, &ss);
    bool v6 = ss.ss_family == AF_INET6;
    /* esp_ping_new_session() */
    int fd = v6 ? socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6) : socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    if (fd < 0) {
        printf("pattern: socket failed: %s\n", err_name(errno));
        return 1;
    }
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (!v6) {
        int ttl = 64, tos = 0;
        setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
        setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
    }
    uint16_t id = 0xAFAF;
    int received = 0;
    for (int seq = 1; seq <= count; seq++) {
        uint8_t pkt[8 + 56];
        memset(pkt, 0, sizeof(pkt));
        pkt[0] = v6 ? 128 : 8;
        pkt[4] = id >> 8;
        pkt[5] = id & 0xff;
        pkt[6] = (uint8_t)(seq >> 8);
        pkt[7] = (uint8_t)seq;
        for (size_t i = 8; i < sizeof(pkt); i++) {
            pkt[i] = (uint8_t)i;
        }
        if (!v6) {
            uint16_t c = inet_chksum(pkt, sizeof(pkt));
            pkt[2] = c >> 8;
            pkt[3] = c & 0xff;
        }
        uint64_t t0 = now_ms();
        if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&ss, len) < 0) {
            printf("pattern: sendto failed: %s\n", err_name(errno));
            continue;
        }
        /* esp_ping_receive(): IP header first (IPv4), then the echo header. */
        for (;;) {
            uint8_t buf[256];
            struct sockaddr_storage from;
            socklen_t fl = sizeof(from);
            ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
            if (n < 0) {
                printf("pattern: seq=%d timeout (%s)\n", seq, err_name(errno));
                break;
            }
            size_t hl = v6 ? 0 : (size_t)(buf[0] & 0x0f) * 4;
            if ((size_t)n < hl + 8) {
                continue;
            }
            const uint8_t *e = buf + hl;
            if (e[0] == (v6 ? 129 : 0) && (e[4] << 8 | e[5]) == id && (e[6] << 8 | e[7]) == seq) {
                char h[64];
                received++;
                printf("pattern: seq=%d reply from %s bytes=%zd ttl=%d%s\n", seq,
                       sa_host((struct sockaddr *)&from, h, sizeof(h)), n - (ssize_t)hl, v6 ? -1 : buf[8],
                       memcmp(e + 8, pkt + 8, 56) == 0 ? " data ok" : " data BAD");
                (void)t0;
                break;
            }
        }
    }
    printf("pattern: ping done %d/%d\n", received, count);
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) {
        fprintf(stderr, "usage: %s httpd PORT | connect HOST PORT TIMEOUT_MS | ping HOST COUNT\n", argv[0]);
        return 2;
    }
    if (diff_stack_start(argc, argv) != 0) {
        return 2;
    }
    /* The stack (or the kernel's SLAAC) needs a moment for its IPv6 address. */
    for (int i = 0; i < 100; i++) {
        int fd = socket(AF_INET6, SOCK_DGRAM, 0);
        struct sockaddr_storage ss;
        socklen_t l = mk_sa(AF_INET6, "2001:db8:1::ff:fe00:2", 0, &ss);
        bool ok = bind(fd, (struct sockaddr *)&ss, l) == 0;
        close(fd);
        if (ok) {
            break;
        }
        usleep(200000);
    }
    printf("pattern: ready\n");
    const char *mode = argv[1];
    int rc = 2;
    if (strcmp(mode, "httpd") == 0 && argc > 2) {
        rc = run_httpd(atoi(argv[2]));
    } else if (strcmp(mode, "connect") == 0 && argc > 4) {
        rc = run_connect(argv[2], atoi(argv[3]), atoi(argv[4]));
    } else if (strcmp(mode, "ping") == 0 && argc > 3) {
        rc = run_ping(argv[2], atoi(argv[3]));
    } else {
        fprintf(stderr, "bad arguments\n");
    }
    fflush(stdout);
    _exit(rc); /* the stack's threads may still run: no teardown under them */
}
