/*
 * TLS server on esp_smoltcp, shaped like esp_https_server: one task, a select()
 * loop over the listening socket, blocking client sockets with SO_RCVTIMEO/
 * SO_SNDTIMEO, mbedTLS over the IDF-style BIO (tls_conn.c).
 *
 *   tls_server --tap T [--static A/L] --cert C.pem --key K.pem [--port 4433] [--close-at-once 1]
 *              [--io-timeout MS]
 *
 * Protocol, one request per connection (a line, then data):
 *   "GET N\n"  -> N pattern bytes (byte i = i % 251), close_notify
 *   "PUT N\n" + N bytes -> "sha256 <hex>\n", close_notify
 * The end is graceful (close_notify, shutdown(SHUT_WR), drain to EOF, close) or, with
 * --close-at-once 1, esp_https_server's: close_notify and close() with data still queued.
 * Each finished request prints "server: get N ok" or "server: put N sha256 <hex>".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "interop_common.h"
#include "mbedtls/sha256.h"
#include "tls_conn.h"

#include "esp_smoltcp_host_sockets.h" /* last: socket calls go to the shim */

static uint32_t io_timeout_ms = 15000; /* --io-timeout MS: SO_RCVTIMEO/SO_SNDTIMEO of a client */
#define CHUNK 16384

static volatile sig_atomic_t stop;
static bool close_at_once; /* --close-at-once: esp_https_server's close, no drain */

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* The request line; bytes after it that came in the same records are left in rest. */
static int read_request(tls_conn_t *t, char *line, size_t cap, uint8_t *rest, size_t *rest_len)
{
    uint8_t buf[CHUNK];
    size_t have = 0;
    for (;;) {
        int n = tls_conn_read(t, buf + have, sizeof(buf) - have);
        if (n <= 0) {
            return n == 0 ? -1 : n;
        }
        have += (size_t)n;
        uint8_t *nl = memchr(buf, '\n', have);
        if (nl) {
            size_t ll = (size_t)(nl - buf);
            if (ll >= cap) {
                return -1;
            }
            memcpy(line, buf, ll);
            line[ll] = '\0';
            *rest_len = have - ll - 1;
            memcpy(rest, nl + 1, *rest_len);
            return 0;
        }
        if (have >= cap) {
            return -1;
        }
    }
}

static int serve_get(tls_conn_t *t, uint64_t n)
{
    uint8_t *buf = malloc(CHUNK);
    if (!buf) {
        return -1;
    }
    uint64_t off = 0;
    int rc = 0;
    while (off < n && rc == 0) {
        size_t len = n - off < CHUNK ? (size_t)(n - off) : CHUNK;
        interop_pattern(buf, len, off);
        rc = tls_conn_write_all(t, buf, len);
        off += len;
    }
    free(buf);
    if (rc != 0) {
        printf("server: get %" PRIu64 " failed: %s\n", n, tls_err(rc));
        return -1;
    }
    printf("server: get %" PRIu64 " ok\n", n);
    return 0;
}

static int serve_put(tls_conn_t *t, uint64_t n, const uint8_t *rest, size_t rest_len)
{
    mbedtls_sha256_context h;
    mbedtls_sha256_init(&h);
    mbedtls_sha256_starts_ret(&h, 0);
    uint64_t got = rest_len < n ? rest_len : n;
    mbedtls_sha256_update_ret(&h, rest, (size_t)got);
    uint8_t *buf = malloc(CHUNK);
    int rc = buf ? 0 : -1;
    while (rc == 0 && got < n) {
        size_t want = n - got < CHUNK ? (size_t)(n - got) : CHUNK;
        int k = tls_conn_read(t, buf, want);
        if (k <= 0) {
            printf("server: put %" PRIu64 " failed after %" PRIu64 " bytes: %s\n", n, got,
                   k == 0 ? "EOF" : tls_err(k));
            rc = -1;
            break;
        }
        mbedtls_sha256_update_ret(&h, buf, (size_t)k);
        got += (uint64_t)k;
    }
    free(buf);
    uint8_t d[32];
    mbedtls_sha256_finish_ret(&h, d);
    mbedtls_sha256_free(&h);
    if (rc != 0) {
        return rc;
    }
    char hex[65], reply[80];
    interop_hex(d, hex);
    int rl = snprintf(reply, sizeof(reply), "sha256 %s\n", hex);
    rc = tls_conn_write_all(t, reply, (size_t)rl);
    printf("server: put %" PRIu64 " sha256 %s%s\n", n, hex, rc == 0 ? "" : " (reply failed)");
    return rc;
}

static void serve(tls_cfg_t *cfg, int fd)
{
    struct timeval tv = {.tv_sec = io_timeout_ms / 1000, .tv_usec = (io_timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    tls_conn_t t;
    if (tls_conn_handshake(&t, cfg, fd, NULL, io_timeout_ms) != 0) {
        printf("server: handshake failed\n");
        tls_conn_free(&t);
        close(fd);
        return;
    }
    char line[64];
    static uint8_t rest[CHUNK];
    size_t rest_len = 0;
    unsigned long long n = 0;
    char verb[8];
    if (read_request(&t, line, sizeof(line), rest, &rest_len) != 0 || sscanf(line, "%7s %llu", verb, &n) != 2) {
        printf("server: bad request\n");
    } else if (strcmp(verb, "GET") == 0) {
        serve_get(&t, n);
    } else if (strcmp(verb, "PUT") == 0) {
        serve_put(&t, n, rest, rest_len);
    } else {
        printf("server: unknown verb '%s'\n", verb);
    }
    if (close_at_once) {
        tls_conn_close_at_once(&t);
    } else {
        tls_conn_close(&t);
    }
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (interop_stack_start(&argc, argv) != 0) {
        return 1;
    }
    const char *cert = NULL, *key = NULL;
    int port = 4433;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--close-at-once") == 0) {
            close_at_once = atoi(argv[i + 1]) != 0;
        } else if (strcmp(argv[i], "--cert") == 0) {
            cert = argv[i + 1];
        } else if (strcmp(argv[i], "--key") == 0) {
            key = argv[i + 1];
        } else if (strcmp(argv[i], "--port") == 0) {
            port = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--io-timeout") == 0) {
            io_timeout_ms = (uint32_t)atoi(argv[i + 1]);
        } else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (!cert || !key || argc % 2 == 0 || port <= 0 || port > 65535) {
        fprintf(stderr, "usage: tls_server --tap T [--static A/L] --cert C.pem --key K.pem [--port N]\n");
        return 2;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    tls_cfg_t cfg;
    if (tls_cfg_server(&cfg, cert, key) != 0) {
        return 1;
    }
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(ls, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(ls, 4) != 0) {
        fprintf(stderr, "listen on %d: %s\n", port, strerror(errno));
        return 1;
    }
    printf("server: listening on %d\n", port);
    while (!stop) {
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(ls, &rd);
        struct timeval tv = {.tv_sec = 0, .tv_usec = 500000};
        int n = select(ls + 1, &rd, NULL, NULL, &tv);
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "select: %s\n", strerror(errno));
            return 1;
        }
        if (n <= 0) {
            continue;
        }
        int fd = accept(ls, NULL, NULL);
        if (fd < 0) {
            printf("server: accept: %s\n", strerror(errno));
            continue;
        }
        serve(&cfg, fd);
    }
    close(ls);
    tls_cfg_free(&cfg);
    printf("server: stopped\n");
    interop_exit(0);
}
