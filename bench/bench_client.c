/*
 * bench_client: the peer side of `make bench` (Linux sockets, runs in the peer
 * namespace). Prints one JSON line.
 *
 *   bench_client dl   HOST PORT BYTES        GET /dl/BYTES, rate first->last body byte
 *   bench_client ul   HOST PORT BYTES        POST /ul, rate first send -> response
 *   bench_client rr   HOST PORT COUNT        1-byte echo round trips (TCP_NODELAY)
 *   bench_client conn HOST PORT COUNT        connect + GET /dl/100 (Connection: close) + close
 *   bench_client hold HOST PORT COUNT SECS   COUNT idle echo connections held SECS seconds
 *
 * Every socket has 30 s send/receive timeouts: nothing blocks for ever.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int dial(const char *host, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    struct timeval tv = {.tv_sec = 30};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            return -1;
        }
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Reads a response head into buf; returns head length, *have = bytes in buf. */
static long read_head(int fd, char *buf, size_t cap, size_t *have)
{
    *have = 0;
    for (;;) {
        ssize_t k = recv(fd, buf + *have, cap - 1 - *have, 0);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            return -1;
        }
        *have += (size_t)k;
        buf[*have] = '\0';
        char *e = strstr(buf, "\r\n\r\n");
        if (e) {
            return (long)(e - buf) + 4;
        }
        if (*have >= cap - 1) {
            return -1;
        }
    }
}

static unsigned long long content_length(const char *head)
{
    const char *p = strcasestr(head, "\r\nContent-Length:");
    return p ? strtoull(p + 17, NULL, 10) : 0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int do_dl(const char *host, int port, unsigned long long n)
{
    static char buf[1 << 18];
    int fd = dial(host, port);
    if (fd < 0) {
        printf("{\"error\": \"connect: %s\"}\n", strerror(errno));
        return 1;
    }
    char req[128];
    int rl = snprintf(req, sizeof(req), "GET /dl/%llu HTTP/1.1\r\nHost: bench\r\n\r\n", n);
    double t_req = now();
    send_all(fd, req, (size_t)rl);
    size_t have;
    long hl = read_head(fd, buf, sizeof(buf), &have);
    if (hl < 0) {
        printf("{\"error\": \"no response head\"}\n");
        return 1;
    }
    double t_first = now();
    unsigned long long want = content_length(buf), got = have - (size_t)hl;
    if (got == 0) {
        ssize_t k = recv(fd, buf, sizeof(buf), 0); /* clock starts at the first body byte */
        t_first = now();
        if (k > 0) {
            got += (unsigned long long)k;
        }
    }
    while (got < want) {
        ssize_t k = recv(fd, buf, sizeof(buf), 0);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            break;
        }
        got += (unsigned long long)k;
    }
    double t_end = now();
    close(fd);
    double dt = t_end - t_first;
    printf("{\"bytes\": %llu, \"secs\": %.6f, \"mbps\": %.3f, \"ttfb_ms\": %.3f, \"complete\": %s}\n", got, dt,
           dt > 0 ? (double)got * 8 / dt / 1e6 : 0.0, (t_first - t_req) * 1e3, got == want && want == n ? "true" : "false");
    return got == n ? 0 : 1;
}

static int do_ul(const char *host, int port, unsigned long long n)
{
    static char buf[1 << 16];
    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] = (char)(i * 7);
    }
    int fd = dial(host, port);
    if (fd < 0) {
        printf("{\"error\": \"connect: %s\"}\n", strerror(errno));
        return 1;
    }
    char req[160];
    int rl = snprintf(req, sizeof(req), "POST /ul HTTP/1.1\r\nHost: bench\r\nContent-Length: %llu\r\n\r\n", n);
    double t0 = now();
    if (send_all(fd, req, (size_t)rl) != 0) {
        printf("{\"error\": \"send head\"}\n");
        return 1;
    }
    unsigned long long sent = 0;
    while (sent < n) {
        size_t len = n - sent < sizeof(buf) ? (size_t)(n - sent) : sizeof(buf);
        if (send_all(fd, buf, len) != 0) {
            break;
        }
        sent += len;
    }
    char resp[1024];
    size_t have;
    long hl = read_head(fd, resp, sizeof(resp), &have);
    double t1 = now();
    close(fd);
    int ok = hl > 0 && strncmp(resp, "HTTP/1.1 200", 12) == 0 && sent == n;
    double dt = t1 - t0;
    printf("{\"bytes\": %llu, \"secs\": %.6f, \"mbps\": %.3f, \"complete\": %s}\n", sent, dt,
           dt > 0 ? (double)sent * 8 / dt / 1e6 : 0.0, ok ? "true" : "false");
    return ok ? 0 : 1;
}

static int do_rr(const char *host, int port, int count)
{
    int fd = dial(host, port);
    if (fd < 0) {
        printf("{\"error\": \"connect: %s\"}\n", strerror(errno));
        return 1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    double *t = calloc((size_t)count, sizeof(double));
    int done = 0;
    for (int i = -20; i < count; i++) { /* 20 warm-up rounds */
        char c = (char)i, r;
        double t0 = now();
        if (send_all(fd, &c, 1) != 0 || recv(fd, &r, 1, 0) != 1) {
            break;
        }
        if (i >= 0) {
            t[done++] = (now() - t0) * 1e6;
        }
    }
    close(fd);
    if (done == 0) {
        printf("{\"error\": \"no round trips\"}\n");
        return 1;
    }
    qsort(t, (size_t)done, sizeof(double), cmp_d);
    double sum = 0;
    for (int i = 0; i < done; i++) {
        sum += t[i];
    }
    int p99 = (int)(0.99 * done);
    printf("{\"n\": %d, \"median_us\": %.1f, \"p99_us\": %.1f, \"mean_us\": %.1f, \"min_us\": %.1f, \"max_us\": %.1f}\n",
           done, t[done / 2], t[p99 < done ? p99 : done - 1], sum / done, t[0], t[done - 1]);
    return done == count ? 0 : 1;
}

static int do_conn(const char *host, int port, int count)
{
    static char buf[4096];
    int errors = 0;
    double t0 = now();
    for (int i = 0; i < count; i++) {
        int fd = dial(host, port);
        if (fd < 0) {
            errors++;
            continue;
        }
        static const char req[] = "GET /dl/100 HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";
        size_t got = 0;
        if (send_all(fd, req, sizeof(req) - 1) == 0) {
            for (;;) {
                ssize_t k = recv(fd, buf, sizeof(buf), 0);
                if (k <= 0) {
                    break;
                }
                got += (size_t)k;
            }
        }
        if (got < 100) {
            errors++;
        }
        close(fd);
    }
    double dt = now() - t0;
    printf("{\"n\": %d, \"errors\": %d, \"secs\": %.6f, \"per_conn_us\": %.1f}\n", count, errors, dt, dt / count * 1e6);
    return errors ? 1 : 0;
}

static int do_hold(const char *host, int port, int count, int secs)
{
    int fds[256];
    if (count > 256) {
        count = 256;
    }
    int ok = 0;
    for (int i = 0; i < count; i++) {
        fds[i] = dial(host, port);
        char c = 'x', r;
        if (fds[i] >= 0 && send_all(fds[i], &c, 1) == 0 && recv(fds[i], &r, 1, 0) == 1) {
            ok++;
        }
    }
    printf("{\"held\": %d}\n", ok);
    fflush(stdout);
    sleep((unsigned)secs);
    for (int i = 0; i < count; i++) {
        if (fds[i] >= 0) {
            close(fds[i]);
        }
    }
    return ok == count ? 0 : 1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 5) {
        fprintf(stderr, "usage: bench_client dl|ul|rr|conn|hold HOST PORT N [SECS]\n");
        return 2;
    }
    const char *mode = argv[1], *host = argv[2];
    int port = atoi(argv[3]);
    unsigned long long n = strtoull(argv[4], NULL, 10);
    if (strcmp(mode, "dl") == 0) {
        return do_dl(host, port, n);
    } else if (strcmp(mode, "ul") == 0) {
        return do_ul(host, port, n);
    } else if (strcmp(mode, "rr") == 0) {
        return do_rr(host, port, (int)n);
    } else if (strcmp(mode, "conn") == 0) {
        return do_conn(host, port, (int)n);
    } else if (strcmp(mode, "hold") == 0 && argc > 5) {
        return do_hold(host, port, (int)n, atoi(argv[5]));
    }
    fprintf(stderr, "bench_client: bad mode\n");
    return 2;
}
