#define _GNU_SOURCE
#include "http_server.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "app_stack.h" /* maps the BSD calls to the stack under test */
#include "sha256.h"

#define PATTERN_PERIOD 251
#define CHUNK (PATTERN_PERIOD * 64)

static uint8_t pattern[CHUNK + PATTERN_PERIOD];
static atomic_int active_clients;

typedef struct {
    int fd;
    const http_server_config_t *cfg;
} conn_t;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static bool send_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static bool respond(int fd, int code, const char *reason, const char *ctype, const char *body, bool close_after)
{
    char head[256];
    size_t blen = body ? strlen(body) : 0;
    int n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n",
                     code, reason, ctype, blen, close_after ? "Connection: close\r\n" : "");
    return send_all(fd, head, (size_t)n) && (blen == 0 || send_all(fd, body, blen));
}

static bool serve_download(int fd, uint64_t n, bool close_after)
{
    char head[160];
    int hl = snprintf(head, sizeof(head),
                      "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %" PRIu64 "\r\n%s\r\n",
                      n, close_after ? "Connection: close\r\n" : "");
    if (!send_all(fd, head, (size_t)hl)) {
        return false;
    }
    uint64_t t0 = now_us();
    uint64_t sent = 0;
    while (sent < n) {
        size_t len = n - sent < CHUNK ? (size_t)(n - sent) : CHUNK;
        ssize_t k = send(fd, pattern + sent % PATTERN_PERIOD, len, 0);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            printf("dl: aborted after %" PRIu64 " of %" PRIu64 " bytes (%s)\n", sent, n, strerror(errno));
            return false;
        }
        sent += (uint64_t)k;
    }
    uint64_t dt = now_us() - t0;
    printf("dl: %" PRIu64 " bytes in %" PRIu64 " us = %.2f Mbit/s\n", n, dt, dt ? (double)n * 8 / (double)dt : 0.0);
    return true;
}

static bool serve_upload(int fd, uint64_t n, const char *already, size_t already_len, bool close_after)
{
    sha256_ctx_t h;
    sha256_init(&h);
    uint64_t got = already_len < n ? already_len : n;
    sha256_update(&h, already, (size_t)got);
    uint8_t buf[16384];
    uint64_t t0 = now_us();
    while (got < n) {
        size_t want = n - got < sizeof(buf) ? (size_t)(n - got) : sizeof(buf);
        ssize_t k = recv(fd, buf, want, 0);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            printf("ul: aborted after %" PRIu64 " of %" PRIu64 " bytes\n", got, n);
            return false;
        }
        sha256_update(&h, buf, (size_t)k);
        got += (uint64_t)k;
    }
    uint64_t dt = now_us() - t0;
    char hex[65];
    sha256_final_hex(&h, hex);
    printf("ul: %" PRIu64 " bytes in %" PRIu64 " us = %.2f Mbit/s sha256=%s\n", n, dt,
           dt ? (double)n * 8 / (double)dt : 0.0, hex);
    char body[160];
    snprintf(body, sizeof(body), "{\"bytes\": %" PRIu64 ", \"sha256\": \"%s\"}", n, hex);
    return respond(fd, 200, "OK", "application/json", body, close_after);
}

/* Case-insensitive header lookup inside the request head. */
static const char *header(const char *head, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':') {
            const char *v = p + 3 + nl;
            while (*v == ' ') {
                v++;
            }
            return v;
        }
    }
    return NULL;
}

static void *connection(void *arg)
{
    conn_t c = *(conn_t *)arg;
    free(arg);
    char req[4096 + 1];
    size_t have = 0;
    for (;;) {
        char *end = NULL;
        while (!(end = memmem(req, have, "\r\n\r\n", 4))) {
            if (have == sizeof(req) - 1) {
                respond(c.fd, 431, "Request Header Fields Too Large", "text/plain", "", true);
                goto done;
            }
            ssize_t k = recv(c.fd, req + have, sizeof(req) - 1 - have, 0);
            if (k < 0 && errno == EINTR) {
                continue;
            }
            if (k <= 0) {
                goto done; /* peer closed or reset */
            }
            have += (size_t)k;
        }
        size_t head_len = (size_t)(end - req) + 4;
        req[head_len - 2] = '\0'; /* keep the last header's CRLF for header() */
        char method[8] = "", path[256] = "";
        sscanf(req, "%7s %255s", method, path);
        const char *conn_hdr = header(req, "Connection");
        bool close_after = conn_hdr && strncasecmp(conn_hdr, "close", 5) == 0;
        const char *cl = header(req, "Content-Length");
        uint64_t body_len = cl ? strtoull(cl, NULL, 10) : 0;
        const char *extra = req + head_len;
        size_t extra_len = have - head_len;
        bool ok;
        if (strcmp(method, "GET") == 0 && strncmp(path, "/dl/", 4) == 0) {
            char *endp;
            uint64_t n = strtoull(path + 4, &endp, 10);
            ok = *endp == '\0' && path[4] != '\0' ? serve_download(c.fd, n, close_after)
                                                   : respond(c.fd, 400, "Bad Request", "text/plain", "bad size\n", close_after);
        } else if (strcmp(method, "POST") == 0 && strcmp(path, "/ul") == 0) {
            const char *expect = header(req, "Expect");
            if (expect && strncasecmp(expect, "100-continue", 12) == 0) {
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n"; /* RFC 9110 §10.1.1 */
                send_all(c.fd, cont, sizeof(cont) - 1);
            }
            ok = serve_upload(c.fd, body_len, extra, extra_len, close_after);
            extra_len = extra_len > body_len ? extra_len - (size_t)body_len : 0;
            extra += body_len < (uint64_t)(have - head_len) ? body_len : (uint64_t)(have - head_len);
        } else if (strcmp(method, "GET") == 0 && strcmp(path, "/stats") == 0) {
            char body[4096];
            c.cfg->stats_json(body, sizeof(body));
            ok = respond(c.fd, 200, "OK", "application/json", body, close_after);
        } else {
            ok = respond(c.fd, 404, "Not Found", "text/plain", "not found\n", close_after);
        }
        if (!ok || close_after) {
            break;
        }
        /* Pipelined bytes after this request start the next one. */
        if (strcmp(method, "POST") != 0) {
            extra_len = have - head_len;
        }
        memmove(req, extra, extra_len);
        have = extra_len;
    }
done:
    close(c.fd); /* graceful: queued data still goes out, then FIN */
    atomic_fetch_sub(&active_clients, 1);
    return NULL;
}

int http_server_run(const http_server_config_t *cfg, volatile sig_atomic_t *stop)
{
    for (size_t i = 0; i < sizeof(pattern); i++) {
        pattern[i] = (uint8_t)(i % PATTERN_PERIOD);
    }
    int ls = socket(cfg->dual_stack ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    if (ls < 0) {
        perror("socket");
        return -1;
    }
    int one = 1, zero = 0;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port)};
    /* As esp_http_server opens it with IPv6 on: one PF_INET6 listener serves both families. */
    struct sockaddr_in6 addr6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)cfg->port)};
    if (cfg->dual_stack && setsockopt(ls, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0) {
        perror("IPV6_V6ONLY");
    }
    int rc = cfg->dual_stack ? bind(ls, (struct sockaddr *)&addr6, sizeof(addr6))
                             : bind(ls, (struct sockaddr *)&addr, sizeof(addr));
    if (rc < 0 || listen(ls, 4) < 0) {
        perror("bind/listen");
        close(ls);
        return -1;
    }
    /* Wake up now and then to notice *stop. */
    struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
    setsockopt(ls, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    while (!*stop) {
        struct sockaddr_in6 peer; /* room for either family */
        socklen_t plen = sizeof(peer);
        int fd = accept(ls, (struct sockaddr *)&peer, &plen);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                perror("accept");
            }
            continue;
        }
        /* A client that just finished may still be closing: give a slot 500 ms to free up. */
        for (int waited = 0; atomic_load(&active_clients) >= cfg->max_clients && waited < 500; waited++) {
            struct timespec ms = {.tv_sec = 0, .tv_nsec = 1000000};
            nanosleep(&ms, NULL);
        }
        if (atomic_load(&active_clients) >= cfg->max_clients) {
            /* Read the request before refusing it: closing with unread data sends RST
             * (RFC 2525 §2.17, as Linux does) and the client would never see the 503. */
            char drain[1024];
            struct timeval brief = {.tv_sec = 0, .tv_usec = 100000};
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &brief, sizeof(brief));
            (void)recv(fd, drain, sizeof(drain), 0);
            respond(fd, 503, "Service Unavailable", "text/plain", "busy\n", true);
            shutdown(fd, SHUT_WR);
            (void)recv(fd, drain, sizeof(drain), 0);
            close(fd);
            continue;
        }
        /* Accepted sockets inherit the listener's SO_RCVTIMEO (as on Linux): clients get no timeout. */
        struct timeval none = {0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
        conn_t *c = malloc(sizeof(*c));
        pthread_t t;
        if (!c) {
            close(fd);
            continue;
        }
        *c = (conn_t){.fd = fd, .cfg = cfg};
        atomic_fetch_add(&active_clients, 1);
        if (pthread_create(&t, NULL, connection, c) != 0) {
            atomic_fetch_sub(&active_clients, 1);
            free(c);
            close(fd);
            continue;
        }
        pthread_detach(t);
    }
    close(ls);
    return 0;
}
