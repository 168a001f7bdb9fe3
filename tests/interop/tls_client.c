/*
 * TLS client on esp_smoltcp, shaped like esp-tls's async connect: non-blocking
 * socket, connect() -> EINPROGRESS, select() for writable, SO_ERROR, then the
 * mbedTLS handshake and data over the IDF-style BIO, waiting with select() on
 * WANT_READ/WANT_WRITE. Certificate verification is required (CA + hostname).
 *
 *   tls_client --tap T [--static A/L] [--dns D] --server HOST [--port 4433] --ca CA.pem [--hostname NAME]
 *              (--get PATH | --put N) [--timeout MS]
 *
 * --get PATH  "GET /PATH HTTP/1.0" (openssl s_server -WWW); prints
 *             "client: get status 200 body N sha256 HEX"
 * --put N     sends N pattern bytes (byte i = i % 251), then close_notify;
 *             prints "client: put N sha256 HEX" (s_server prints what it got)
 * HOST is resolved with getaddrinfo() (the stack's DNS client); NAME defaults to HOST.
 * Exit: 0 done, 3 handshake failed (reason on stderr), 4 connect failed, 5 transfer failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "interop_common.h"
#include "mbedtls/sha256.h"
#include "tls_conn.h"

#include "esp_smoltcp_host_sockets.h" /* last: socket calls go to the shim */

#define CHUNK 16384

/* esp-tls tcp_connect (getaddrinfo) + the ESP_TLS_CONNECTING step: 0 or -errno. */
static int connect_nonblocking(const char *host, int port, uint32_t timeout_ms, int *out)
{
    struct sockaddr_storage a;
    unsigned alen = 0;
    if (interop_resolve(host, port, &a, &alen) != 0) {
        return -EHOSTUNREACH;
    }
    int fd = socket(a.ss_family, SOCK_STREAM, 0);
    if (fd < 0) {
        return -errno;
    }
    int fl = fcntl(fd, F_GETFL, 0);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (connect(fd, (struct sockaddr *)&a, (socklen_t)alen) != 0) {
        if (errno != EINPROGRESS) {
            int e = errno;
            close(fd);
            return -e;
        }
        fd_set wr;
        FD_ZERO(&wr);
        FD_SET(fd, &wr);
        struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
        int n = select(fd + 1, NULL, &wr, NULL, &tv);
        int err = 0;
        socklen_t el = sizeof(err);
        if (n < 0) {
            err = errno;
        } else if (n == 0) {
            err = ETIMEDOUT;
        } else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0) {
            err = errno;
        }
        if (err != 0) {
            close(fd);
            return -err;
        }
    }
    *out = fd;
    return 0;
}

static int do_get(tls_conn_t *t, const char *path)
{
    char req[512];
    int rl = snprintf(req, sizeof(req), "GET /%s HTTP/1.0\r\n\r\n", path);
    if (rl <= 0 || (size_t)rl >= sizeof(req)) {
        return 5;
    }
    int rc = tls_conn_write_all(t, req, (size_t)rl);
    if (rc != 0) {
        fprintf(stderr, "client: request: %s\n", tls_err(rc));
        return 5;
    }
    static uint8_t buf[CHUNK];
    char head[1024];
    size_t head_len = 0;
    bool in_body = false;
    int status = 0;
    uint64_t body = 0;
    mbedtls_sha256_context h;
    mbedtls_sha256_init(&h);
    mbedtls_sha256_starts_ret(&h, 0);
    int n;
    while ((n = tls_conn_read(t, buf, sizeof(buf))) > 0) {
        const uint8_t *p = buf;
        size_t len = (size_t)n;
        if (!in_body) {
            /* Header bytes until the blank line; the rest of this read is body. */
            size_t take = 0;
            while (take < len && !in_body) {
                if (head_len >= sizeof(head) - 1) {
                    fprintf(stderr, "client: response header too long\n");
                    return 5;
                }
                head[head_len++] = (char)p[take++];
                in_body = head_len >= 4 && memcmp(head + head_len - 4, "\r\n\r\n", 4) == 0;
            }
            p += take;
            len -= take;
            if (in_body) {
                head[head_len] = '\0';
                sscanf(head, "HTTP/%*s %d", &status);
            }
        }
        mbedtls_sha256_update_ret(&h, p, len);
        body += len;
    }
    uint8_t d[32];
    char hex[65];
    mbedtls_sha256_finish_ret(&h, d);
    mbedtls_sha256_free(&h);
    interop_hex(d, hex);
    if (n < 0) {
        fprintf(stderr, "client: get: read failed after %" PRIu64 " body bytes: %s\n", body, tls_err(n));
        return 5;
    }
    printf("client: get status %d body %" PRIu64 " sha256 %s\n", status, body, hex);
    return status == 200 ? 0 : 5;
}

static int do_put(tls_conn_t *t, uint64_t n)
{
    static uint8_t buf[CHUNK];
    mbedtls_sha256_context h;
    mbedtls_sha256_init(&h);
    mbedtls_sha256_starts_ret(&h, 0);
    uint64_t off = 0;
    int rc = 0;
    while (off < n && rc == 0) {
        size_t len = n - off < CHUNK ? (size_t)(n - off) : CHUNK;
        interop_pattern(buf, len, off);
        mbedtls_sha256_update_ret(&h, buf, len);
        rc = tls_conn_write_all(t, buf, len);
        off += len;
    }
    uint8_t d[32];
    char hex[65];
    mbedtls_sha256_finish_ret(&h, d);
    mbedtls_sha256_free(&h);
    interop_hex(d, hex);
    if (rc != 0) {
        fprintf(stderr, "client: put failed near byte %" PRIu64 ": %s\n", off, tls_err(rc));
        return 5;
    }
    printf("client: put %" PRIu64 " sha256 %s\n", n, hex);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (interop_stack_start(&argc, argv) != 0) {
        return 1;
    }
    const char *server = NULL, *ca = NULL, *hostname = NULL, *get = NULL;
    int64_t put = -1;
    int port = 4433;
    uint32_t timeout_ms = 15000;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (strcmp(a, "--server") == 0) {
            server = v;
        } else if (strcmp(a, "--port") == 0) {
            port = atoi(v);
        } else if (strcmp(a, "--ca") == 0) {
            ca = v;
        } else if (strcmp(a, "--hostname") == 0) {
            hostname = v;
        } else if (strcmp(a, "--get") == 0) {
            get = v;
        } else if (strcmp(a, "--put") == 0) {
            put = interop_parse_size(v);
        } else if (strcmp(a, "--timeout") == 0) {
            timeout_ms = (uint32_t)atoi(v);
        } else {
            fprintf(stderr, "unknown option %s\n", a);
            return 2;
        }
    }
    if (!hostname) {
        hostname = server; /* esp-tls: the host it connects to is the name it verifies */
    }
    if (!server || !ca || !hostname || argc % 2 == 0 || (get == NULL) == (put < 0) || port <= 0 || port > 65535) {
        fprintf(stderr, "usage: tls_client --tap T [--dns D] --server HOST [--port N] --ca CA.pem [--hostname NAME] "
                        "(--get PATH | --put N) [--timeout MS]\n");
        return 2;
    }
    tls_cfg_t cfg;
    if (tls_cfg_client(&cfg, ca) != 0) {
        return 1;
    }
    int fd = -1;
    int rc = connect_nonblocking(server, port, timeout_ms, &fd);
    if (rc != 0) {
        fprintf(stderr, "client: connect %s:%d: %s\n", server, port, strerror(-rc));
        return 4;
    }
    tls_conn_t t;
    uint64_t t0 = interop_now_ms();
    if (tls_conn_handshake(&t, &cfg, fd, hostname, timeout_ms) != 0) {
        tls_conn_free(&t);
        close(fd);
        tls_cfg_free(&cfg);
        interop_exit(3);
    }
    printf("client: handshake ok in %" PRIu64 " ms, %s %s\n", interop_now_ms() - t0,
           mbedtls_ssl_get_version(&t.ssl), mbedtls_ssl_get_ciphersuite(&t.ssl));
    int ex = get ? do_get(&t, get) : do_put(&t, (uint64_t)put);
    /* Evidence that the EAGAIN -> WANT_* -> select() path ran, not only the happy one. */
    printf("client: waits read=%u write=%u\n", t.read_waits, t.write_waits);
    tls_conn_close(&t);
    tls_cfg_free(&cfg);
    interop_exit(ex);
}
