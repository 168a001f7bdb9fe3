#define _GNU_SOURCE
#include "mqtt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interop_common.h"

#include "esp_smoltcp_host_sockets.h" /* last: socket calls go to the shim */

enum {
    CONNECT = 1, CONNACK = 2, PUBLISH = 3, PUBACK = 4, SUBSCRIBE = 8, SUBACK = 9,
    PINGREQ = 12, PINGRESP = 13, DISCONNECT = 14,
};

static __thread char last_err[200];

const char *mqtt_last_error(const mqtt_t *m)
{
    (void)m;
    return last_err;
}

static int fail(int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_err, sizeof(last_err), fmt, ap);
    va_end(ap);
    return rc < 0 ? rc : -EPROTO;
}

size_t mqtt_encode_len(uint32_t len, uint8_t out[4])
{
    if (len > 268435455u) {
        return 0;
    }
    size_t n = 0;
    do {
        uint8_t b = len % 128;
        len /= 128;
        out[n++] = (uint8_t)(b | (len ? 0x80 : 0));
    } while (len);
    return n;
}

int mqtt_decode_len(const uint8_t *buf, size_t avail, uint32_t *len)
{
    uint32_t v = 0, mult = 1;
    for (size_t i = 0; i < 4; i++) {
        if (i >= avail) {
            return 0;
        }
        v += (uint32_t)(buf[i] & 0x7f) * mult;
        if (!(buf[i] & 0x80)) {
            /* A non-minimal encoding (a trailing 0x00 group after a continuation) is malformed too. */
            if (i > 0 && buf[i] == 0) {
                return -1;
            }
            *len = v;
            return (int)i + 1;
        }
        mult *= 128;
    }
    return -1; /* a fifth byte would be needed */
}

int mqtt_init(mqtt_t *m, int fd, tls_conn_t *tls, uint32_t timeout_ms)
{
    memset(m, 0, sizeof(*m));
    m->fd = fd;
    m->tls = tls;
    m->timeout_ms = timeout_ms;
    m->next_id = 1;
    m->rx = malloc(MQTT_MAX_PACKET);
    return m->rx ? 0 : fail(-ENOMEM, "no memory");
}

void mqtt_free(mqtt_t *m)
{
    free(m->rx);
    m->rx = NULL;
}

/* ---- transport (esp_transport tcp/ssl) --------------------------------------------------- */

/* 1 readable, 0 timeout, < 0 error. Bytes mbedTLS already decrypted are readable now. */
static int poll_read(mqtt_t *m, uint32_t wait_ms)
{
    if (m->tls && mbedtls_ssl_get_bytes_avail(&m->tls->ssl) > 0) {
        return 1;
    }
    fd_set rd, ex;
    FD_ZERO(&rd);
    FD_ZERO(&ex);
    FD_SET(m->fd, &rd);
    FD_SET(m->fd, &ex);
    struct timeval tv = {.tv_sec = wait_ms / 1000, .tv_usec = (wait_ms % 1000) * 1000};
    int n = select(m->fd + 1, &rd, NULL, &ex, &tv);
    if (n < 0) {
        return errno == EINTR ? 0 : fail(-errno, "select: %s", strerror(errno));
    }
    return n > 0;
}

/* Some bytes (> 0), or < 0; EOF is an error here (the broker closed the connection). */
static int t_read(mqtt_t *m, uint8_t *buf, size_t len)
{
    if (m->tls) {
        int n = tls_conn_read(m->tls, buf, len);
        return n > 0 ? n : fail(-ECONNRESET, "TLS read: %s", n == 0 ? "closed by broker" : tls_err(n));
    }
    ssize_t n = recv(m->fd, buf, len, 0);
    if (n > 0) {
        return (int)n;
    }
    return n == 0 ? fail(-ECONNRESET, "closed by broker") : fail(-errno, "recv: %s", strerror(errno));
}

static int t_write(mqtt_t *m, const uint8_t *buf, size_t len)
{
    if (m->tls) {
        int rc = tls_conn_write_all(m->tls, buf, len);
        return rc == 0 ? 0 : fail(-EIO, "TLS write: %s", tls_err(rc));
    }
    while (len > 0) {
        ssize_t n = send(m->fd, buf, len, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return fail(-errno, "send: %s", strerror(errno));
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int read_exact(mqtt_t *m, uint8_t *buf, size_t len)
{
    while (len > 0) {
        int r = poll_read(m, m->timeout_ms);
        if (r <= 0) {
            return r < 0 ? r : fail(-ETIMEDOUT, "broker silent for %u ms mid-packet", (unsigned)m->timeout_ms);
        }
        int n = t_read(m, buf, len);
        if (n < 0) {
            return n;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* ---- packets ----------------------------------------------------------------------------- */

static int send_packet(mqtt_t *m, uint8_t type_flags, const uint8_t *body, size_t len)
{
    uint8_t head[5];
    head[0] = type_flags;
    size_t hl = mqtt_encode_len((uint32_t)len, head + 1);
    if (hl == 0) {
        return fail(-EMSGSIZE, "packet too large");
    }
    /* One buffer, one write: a packet is never split by an interleaved one. */
    uint8_t *p = malloc(1 + hl + len);
    if (!p) {
        return fail(-ENOMEM, "no memory");
    }
    memcpy(p, head, 1 + hl);
    if (len) {
        memcpy(p + 1 + hl, body, len);
    }
    int rc = t_write(m, p, 1 + hl + len);
    free(p);
    if (rc == 0) {
        m->last_tx_ms = interop_now_ms();
    }
    return rc;
}

static size_t put_str(uint8_t *p, const char *s, size_t n)
{
    p[0] = (uint8_t)(n >> 8);
    p[1] = (uint8_t)n;
    memcpy(p + 2, s, n);
    return 2 + n;
}

/* One whole packet into m->rx: *type_flags, *len. Waits up to wait_ms for its first byte (1), 0 if none. */
static int read_packet(mqtt_t *m, uint32_t wait_ms, uint8_t *type_flags, uint32_t *len)
{
    int r = poll_read(m, wait_ms);
    if (r <= 0) {
        return r;
    }
    uint8_t hdr[5];
    int rc = read_exact(m, hdr, 1);
    size_t have = 1;
    int used = 0;
    while (rc == 0 && (used = mqtt_decode_len(hdr + 1, have - 1, len)) == 0) {
        if (have == sizeof(hdr)) {
            used = -1;
            break;
        }
        rc = read_exact(m, hdr + have, 1);
        have++;
    }
    if (rc != 0) {
        return rc;
    }
    if (used < 0) {
        return fail(-EPROTO, "malformed remaining length");
    }
    if (*len > MQTT_MAX_PACKET) {
        return fail(-EMSGSIZE, "incoming packet of %u bytes exceeds %u", (unsigned)*len, MQTT_MAX_PACKET);
    }
    *type_flags = hdr[0];
    rc = read_exact(m, m->rx, *len);
    return rc == 0 ? 1 : rc;
}

static int handle_publish(mqtt_t *m, uint8_t flags, uint32_t len)
{
    int qos = (flags >> 1) & 3;
    if (len < 2 || qos > 1) {
        return fail(-EPROTO, qos > 1 ? "QoS %d PUBLISH not supported" : "short PUBLISH", qos);
    }
    size_t tl = (size_t)m->rx[0] << 8 | m->rx[1];
    size_t off = 2 + tl + (qos ? 2 : 0);
    if (off > len) {
        return fail(-EPROTO, "PUBLISH topic/packet id beyond the packet");
    }
    char topic[256];
    if (tl >= sizeof(topic)) {
        return fail(-EPROTO, "topic of %zu bytes too long", tl);
    }
    memcpy(topic, m->rx + 2, tl);
    topic[tl] = '\0';
    uint16_t id = qos ? (uint16_t)(m->rx[2 + tl] << 8 | m->rx[3 + tl]) : 0;
    if (m->on_publish) {
        m->on_publish(m->arg, topic, m->rx + off, len - off, qos);
    }
    if (qos == 1) {
        uint8_t ack[2] = {(uint8_t)(id >> 8), (uint8_t)id};
        return send_packet(m, PUBACK << 4, ack, 2);
    }
    return 0;
}

/* Read packets until one of type `want` (with packet id `id` when non-zero) arrives. */
static int expect(mqtt_t *m, int want, uint16_t id, uint32_t *len)
{
    uint64_t deadline = interop_now_ms() + m->timeout_ms;
    for (;;) {
        uint64_t now = interop_now_ms();
        if (now >= deadline) {
            return fail(-ETIMEDOUT, "no answer (packet type %d) within %u ms", want, (unsigned)m->timeout_ms);
        }
        uint8_t tf;
        int r = read_packet(m, (uint32_t)(deadline - now), &tf, len);
        if (r < 0) {
            return r;
        }
        if (r == 0) {
            continue;
        }
        int type = tf >> 4;
        if (type == PUBLISH) {
            if ((r = handle_publish(m, tf & 15, *len)) < 0) {
                return r;
            }
            continue;
        }
        if (type == PINGRESP) {
            m->pingresps++;
            m->ping_sent_ms = 0;
            if (want != PINGRESP) {
                continue;
            }
        }
        if (type == PUBACK && want != PUBACK) {
            m->pubacks++;
            continue;
        }
        if (type != want) {
            return fail(-EPROTO, "unexpected packet type %d while waiting for %d", type, want);
        }
        if (id && (*len < 2 || (uint16_t)(m->rx[0] << 8 | m->rx[1]) != id)) {
            return fail(-EPROTO, "packet type %d with the wrong packet id", type);
        }
        return 0;
    }
}

int mqtt_connect(mqtt_t *m, const char *client_id, uint16_t keepalive_s)
{
    size_t idl = strlen(client_id);
    if (idl > 256) {
        return fail(-EINVAL, "client id too long");
    }
    uint8_t body[2 + 4 + 1 + 1 + 2 + 2 + 256];
    size_t n = put_str(body, "MQTT", 4);
    body[n++] = 4;    /* protocol level 3.1.1 */
    body[n++] = 0x02; /* clean session */
    body[n++] = (uint8_t)(keepalive_s >> 8);
    body[n++] = (uint8_t)keepalive_s;
    n += put_str(body + n, client_id, idl);
    m->keepalive_s = keepalive_s;
    int rc = send_packet(m, CONNECT << 4, body, n);
    uint32_t len = 0;
    if (rc == 0) {
        rc = expect(m, CONNACK, 0, &len);
    }
    if (rc == 0 && (len != 2 || m->rx[1] != 0)) {
        rc = fail(-ECONNREFUSED, "CONNACK refused, return code %d", len == 2 ? m->rx[1] : -1);
    }
    return rc;
}

int mqtt_subscribe(mqtt_t *m, const char *topic, int qos, int *granted)
{
    size_t tl = strlen(topic);
    if (tl > 1024) {
        return fail(-EINVAL, "topic too long");
    }
    uint8_t body[2 + 2 + 1024 + 1];
    uint16_t id = m->next_id++;
    body[0] = (uint8_t)(id >> 8);
    body[1] = (uint8_t)id;
    size_t n = 2 + put_str(body + 2, topic, tl);
    body[n++] = (uint8_t)qos;
    int rc = send_packet(m, SUBSCRIBE << 4 | 0x2, body, n); /* reserved flags 0010 (§3.8.1) */
    uint32_t len = 0;
    if (rc == 0) {
        rc = expect(m, SUBACK, id, &len);
    }
    if (rc == 0 && (len != 3 || m->rx[2] == 0x80)) {
        rc = fail(-EPROTO, "SUBACK refused the subscription");
    }
    if (rc == 0 && granted) {
        *granted = m->rx[2];
    }
    return rc;
}

int mqtt_publish(mqtt_t *m, const char *topic, const void *payload, size_t len, int qos)
{
    size_t tl = strlen(topic);
    if (tl > 1024 || qos < 0 || qos > 1 || len > MQTT_MAX_PACKET) {
        return fail(-EINVAL, "bad publish arguments");
    }
    uint8_t *body = malloc(2 + tl + 2 + len);
    if (!body) {
        return fail(-ENOMEM, "no memory");
    }
    size_t n = put_str(body, topic, tl);
    uint16_t id = 0;
    if (qos) {
        id = m->next_id++;
        if (m->next_id == 0) {
            m->next_id = 1; /* packet id 0 is not allowed */
        }
        body[n++] = (uint8_t)(id >> 8);
        body[n++] = (uint8_t)id;
    }
    if (len) {
        memcpy(body + n, payload, len);
    }
    int rc = send_packet(m, (uint8_t)(PUBLISH << 4 | qos << 1), body, n + len);
    free(body);
    uint32_t al = 0;
    if (rc == 0 && qos) {
        rc = expect(m, PUBACK, id, &al);
        if (rc == 0) {
            m->pubacks++;
        }
    }
    return rc;
}

int mqtt_loop(mqtt_t *m, uint32_t wait_ms)
{
    uint64_t now = interop_now_ms();
    uint64_t ka = (uint64_t)m->keepalive_s * 1000;
    if (ka && m->ping_sent_ms && now - m->ping_sent_ms > ka) {
        return fail(-ETIMEDOUT, "no PINGRESP within the keepalive of %u s", m->keepalive_s);
    }
    /* Ping at half the keepalive of silence, as esp-mqtt does: the broker allows 1.5x. */
    if (ka && !m->ping_sent_ms && now - m->last_tx_ms >= ka / 2) {
        int rc = send_packet(m, PINGREQ << 4, NULL, 0);
        if (rc < 0) {
            return rc;
        }
        m->pings++;
        m->ping_sent_ms = interop_now_ms();
    }
    if (ka) {
        uint64_t next_ping = m->last_tx_ms + ka / 2;
        now = interop_now_ms();
        if (next_ping > now && next_ping - now < wait_ms) {
            wait_ms = (uint32_t)(next_ping - now);
        }
    }
    uint8_t tf;
    uint32_t len;
    int r = read_packet(m, wait_ms, &tf, &len);
    if (r <= 0) {
        return r;
    }
    switch (tf >> 4) {
    case PUBLISH:
        return handle_publish(m, tf & 15, len);
    case PINGRESP:
        m->pingresps++;
        m->ping_sent_ms = 0;
        return 0;
    case PUBACK:
        m->pubacks++;
        return 0;
    default:
        return fail(-EPROTO, "unexpected packet type %d", tf >> 4);
    }
}

int mqtt_disconnect(mqtt_t *m)
{
    return send_packet(m, DISCONNECT << 4, NULL, 0);
}
