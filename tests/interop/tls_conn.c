#define _GNU_SOURCE
#include "tls_conn.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mbedtls/error.h"
#include "mbedtls/net_sockets.h" /* MBEDTLS_ERR_NET_* codes only; its functions use libc sockets */

#include "esp_smoltcp_host_sockets.h" /* last: socket calls go to the shim */

const char *tls_err(int err)
{
    static __thread char buf[160];
    mbedtls_strerror(err, buf, sizeof(buf));
    return buf;
}

static int seed(tls_cfg_t *c, const char *who)
{
    mbedtls_entropy_init(&c->entropy);
    mbedtls_ctr_drbg_init(&c->drbg);
    mbedtls_ssl_config_init(&c->conf);
    mbedtls_x509_crt_init(&c->ca);
    mbedtls_x509_crt_init(&c->own);
    mbedtls_pk_init(&c->key);
    int rc = mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy, (const unsigned char *)who,
                                   strlen(who));
    if (rc != 0) {
        fprintf(stderr, "tls: drbg seed: %s\n", tls_err(rc));
    }
    return rc;
}

int tls_cfg_server(tls_cfg_t *c, const char *cert_pem, const char *key_pem)
{
    int rc = seed(c, "interop-server");
    if (rc == 0 && (rc = mbedtls_x509_crt_parse_file(&c->own, cert_pem)) != 0) {
        fprintf(stderr, "tls: certificate %s: %s\n", cert_pem, tls_err(rc));
    }
    if (rc == 0 && (rc = mbedtls_pk_parse_keyfile(&c->key, key_pem, NULL)) != 0) {
        fprintf(stderr, "tls: key %s: %s\n", key_pem, tls_err(rc));
    }
    if (rc == 0) {
        rc = mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                         MBEDTLS_SSL_PRESET_DEFAULT);
    }
    if (rc == 0) {
        mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
        rc = mbedtls_ssl_conf_own_cert(&c->conf, &c->own, &c->key);
    }
    if (rc != 0) {
        fprintf(stderr, "tls: server config: %s\n", tls_err(rc));
    }
    return rc;
}

int tls_cfg_client(tls_cfg_t *c, const char *ca_pem)
{
    int rc = seed(c, "interop-client");
    if (rc == 0 && (rc = mbedtls_x509_crt_parse_file(&c->ca, ca_pem)) != 0) {
        fprintf(stderr, "tls: CA %s: %s\n", ca_pem, tls_err(rc));
    }
    if (rc == 0) {
        rc = mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                         MBEDTLS_SSL_PRESET_DEFAULT);
    }
    if (rc == 0) {
        mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
        /* esp-tls with a CA: verification is required, never optional. */
        mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
        mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
    }
    if (rc != 0) {
        fprintf(stderr, "tls: client config: %s\n", tls_err(rc));
    }
    return rc;
}

void tls_cfg_free(tls_cfg_t *c)
{
    mbedtls_pk_free(&c->key);
    mbedtls_x509_crt_free(&c->own);
    mbedtls_x509_crt_free(&c->ca);
    mbedtls_ssl_config_free(&c->conf);
    mbedtls_ctr_drbg_free(&c->drbg);
    mbedtls_entropy_free(&c->entropy);
}

/* ---- the BIO: IDF components/mbedtls/port/net_sockets.c, verbatim in behaviour ---------- */

/* Only an O_NONBLOCK socket "would block"; EAGAIN on a blocking one is its SO_*TIMEO expiring. */
static bool would_block(int fd)
{
    int err = errno;
    if ((fcntl(fd, F_GETFL, 0) & O_NONBLOCK) != O_NONBLOCK) {
        errno = err;
        return false;
    }
    errno = err;
    return err == EAGAIN || err == EWOULDBLOCK || err == EINPROGRESS;
}

int tls_bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    int fd = *(int *)ctx;
    if (fd < 0) {
        return MBEDTLS_ERR_NET_INVALID_CONTEXT;
    }
    ssize_t n = write(fd, buf, len);
    if (n >= 0) {
        return (int)n;
    }
    if (would_block(fd)) {
        return MBEDTLS_ERR_SSL_WANT_WRITE;
    }
    if (errno == EPIPE || errno == ECONNRESET) {
        return MBEDTLS_ERR_NET_CONN_RESET;
    }
    if (errno == EINTR) {
        return MBEDTLS_ERR_SSL_WANT_WRITE;
    }
    return MBEDTLS_ERR_NET_SEND_FAILED;
}

int tls_bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    int fd = *(int *)ctx;
    if (fd < 0) {
        return MBEDTLS_ERR_NET_INVALID_CONTEXT;
    }
    ssize_t n = read(fd, buf, len);
    if (n >= 0) {
        return (int)n;
    }
    if (would_block(fd)) {
        return MBEDTLS_ERR_SSL_WANT_READ;
    }
    if (errno == EPIPE || errno == ECONNRESET) {
        return MBEDTLS_ERR_NET_CONN_RESET;
    }
    if (errno == EINTR) {
        return MBEDTLS_ERR_SSL_WANT_READ;
    }
    return MBEDTLS_ERR_NET_RECV_FAILED;
}

/* ---- the caller: esp-tls's loop, waiting with select() on WANT_READ/WANT_WRITE ---------- */

/* 0 when ready, MBEDTLS_ERR_SSL_TIMEOUT, or MBEDTLS_ERR_NET_POLL_FAILED. */
static int wait_for(tls_conn_t *t, int want)
{
    if (want != MBEDTLS_ERR_SSL_WANT_READ && want != MBEDTLS_ERR_SSL_WANT_WRITE) {
        return want;
    }
    if (want == MBEDTLS_ERR_SSL_WANT_READ) {
        t->read_waits++;
    } else {
        t->write_waits++;
    }
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(t->fd, &fds);
    struct timeval tv = {.tv_sec = t->timeout_ms / 1000, .tv_usec = (t->timeout_ms % 1000) * 1000};
    int n = want == MBEDTLS_ERR_SSL_WANT_READ ? select(t->fd + 1, &fds, NULL, NULL, &tv)
                                              : select(t->fd + 1, NULL, &fds, NULL, &tv);
    if (n < 0) {
        return errno == EINTR ? 0 : MBEDTLS_ERR_NET_POLL_FAILED;
    }
    return n == 0 ? MBEDTLS_ERR_SSL_TIMEOUT : 0;
}

int tls_conn_handshake(tls_conn_t *t, tls_cfg_t *c, int fd, const char *hostname, uint32_t timeout_ms)
{
    memset(t, 0, sizeof(*t));
    t->fd = fd;
    t->timeout_ms = timeout_ms;
    mbedtls_ssl_init(&t->ssl);
    t->open = true;
    int rc = mbedtls_ssl_setup(&t->ssl, &c->conf);
    if (rc == 0 && hostname) {
        rc = mbedtls_ssl_set_hostname(&t->ssl, hostname);
    }
    if (rc != 0) {
        fprintf(stderr, "tls: setup: %s\n", tls_err(rc));
        return rc;
    }
    mbedtls_ssl_set_bio(&t->ssl, &t->fd, tls_bio_send, tls_bio_recv, NULL);
    while ((rc = mbedtls_ssl_handshake(&t->ssl)) != 0) {
        if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE) {
            break;
        }
        int w = wait_for(t, rc);
        if (w != 0) {
            rc = w;
            break;
        }
    }
    if (rc != 0) {
        fprintf(stderr, "tls: handshake failed: -0x%04x %s\n", (unsigned)-rc, tls_err(rc));
        uint32_t flags = mbedtls_ssl_get_verify_result(&t->ssl);
        if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && flags != 0 && flags != (uint32_t)-1) {
            char info[512];
            mbedtls_x509_crt_verify_info(info, sizeof(info), "tls: verify: ", flags);
            fputs(info, stderr);
        }
        return rc;
    }
    return 0;
}

int tls_conn_write_all(tls_conn_t *t, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len > 0) {
        int n = mbedtls_ssl_write(&t->ssl, p, len);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        int w = wait_for(t, n);
        if (w != 0) {
            return w;
        }
    }
    return 0;
}

int tls_conn_read(tls_conn_t *t, void *buf, size_t len)
{
    for (;;) {
        int n = mbedtls_ssl_read(&t->ssl, buf, len);
        if (n >= 0) {
            return n;
        }
        if (n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
            return 0;
        }
        int w = wait_for(t, n);
        if (w != 0) {
            return w;
        }
    }
}

void tls_conn_free(tls_conn_t *t)
{
    if (t->open) {
        mbedtls_ssl_free(&t->ssl);
        t->open = false;
    }
}

void tls_conn_close(tls_conn_t *t)
{
    int rc;
    while ((rc = mbedtls_ssl_close_notify(&t->ssl)) == MBEDTLS_ERR_SSL_WANT_READ ||
           rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
        if (wait_for(t, rc) != 0) {
            break;
        }
    }
    shutdown(t->fd, SHUT_WR);
    unsigned char scratch[1024];
    while (tls_conn_read(t, scratch, sizeof(scratch)) > 0) {
    }
    close(t->fd);
    t->fd = -1;
    tls_conn_free(t);
}

void tls_conn_close_at_once(tls_conn_t *t)
{
    int rc;
    while ((rc = mbedtls_ssl_close_notify(&t->ssl)) == MBEDTLS_ERR_SSL_WANT_READ ||
           rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
        if (wait_for(t, rc) != 0) {
            break;
        }
    }
    /* Queued data must still reach the peer: the stack sends it and FIN after close(). */
    close(t->fd);
    t->fd = -1;
    tls_conn_free(t);
}
