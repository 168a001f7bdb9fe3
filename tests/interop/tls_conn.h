/*
 * mbedTLS over the shim's sockets, the way esp-tls drives it: the BIO is
 * mbedtls_net_send/recv of IDF's mbedTLS port (read()/write() on the fd;
 * EAGAIN on an O_NONBLOCK socket -> MBEDTLS_ERR_SSL_WANT_READ/WRITE, EPIPE/
 * ECONNRESET -> MBEDTLS_ERR_NET_CONN_RESET, EINTR -> WANT_*), and a caller
 * that waits with select() when mbedTLS asks to (esp_tls_conn_new_async style).
 * On a blocking socket the waits are the socket's SO_RCVTIMEO/SO_SNDTIMEO
 * (esp_https_server style).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mbedtls/ctr_drbg.h"
#include "mbedtls/entropy.h"
#include "mbedtls/pk.h"
#include "mbedtls/ssl.h"
#include "mbedtls/x509_crt.h"

/** One TLS configuration (role, RNG, certificates), shared by many connections. */
typedef struct {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_ssl_config conf;
    mbedtls_x509_crt ca;
    mbedtls_x509_crt own;
    mbedtls_pk_context key;
} tls_cfg_t;

/** One connection. `fd` is what the BIO reads and writes (mbedtls_net_context's only field). */
typedef struct {
    int fd;
    uint32_t timeout_ms; /* bound of each select() wait on a non-blocking socket */
    mbedtls_ssl_context ssl;
    bool open;
    uint32_t read_waits, write_waits; /* select() waits after WANT_READ / WANT_WRITE (EAGAIN seen) */
} tls_conn_t;

/** Server role with a PEM certificate chain and key. 0 or an mbedTLS error (printed). */
int tls_cfg_server(tls_cfg_t *c, const char *cert_pem, const char *key_pem);

/** Client role; certificate verification REQUIRED against ca_pem. 0 or an mbedTLS error (printed). */
int tls_cfg_client(tls_cfg_t *c, const char *ca_pem);

void tls_cfg_free(tls_cfg_t *c);

/** The BIO (IDF port of mbedtls_net_send / mbedtls_net_recv); ctx points at the fd. */
int tls_bio_send(void *ctx, const unsigned char *buf, size_t len);
int tls_bio_recv(void *ctx, unsigned char *buf, size_t len);

/**
 * Set up a connection on a connected TCP fd and run the handshake. hostname (client):
 * SNI and the name the certificate must carry. Returns 0 or an mbedTLS error; on
 * failure the reason (and the certificate verification flags) is printed as
 * "tls: handshake failed: ..." and the fd is left to the caller.
 */
int tls_conn_handshake(tls_conn_t *t, tls_cfg_t *c, int fd, const char *hostname, uint32_t timeout_ms);

/** Write all of buf. 0 or an mbedTLS error. */
int tls_conn_write_all(tls_conn_t *t, const void *buf, size_t len);

/** Read up to len bytes: > 0 bytes, 0 at close_notify or EOF, < 0 an mbedTLS error. */
int tls_conn_read(tls_conn_t *t, void *buf, size_t len);

/**
 * Graceful end: close_notify, shutdown(SHUT_WR), read the peer's remaining records
 * until its EOF (bounded by the timeout) so close() does not reset unread data,
 * then close the fd. Always frees the connection.
 */
void tls_conn_close(tls_conn_t *t);

/** esp_https_server's end: close_notify (no wait for the peer's), then close() at once. */
void tls_conn_close_at_once(tls_conn_t *t);

/** Free the TLS state without touching the fd. */
void tls_conn_free(tls_conn_t *t);

/** Text of an mbedTLS error code. */
const char *tls_err(int err);
