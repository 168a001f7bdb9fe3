/*
 * MQTT 3.1.1 client app on esp_smoltcp (mqtt.c), in clear or over TLS (tls_conn.c),
 * against a broker in the peer namespace.
 *
 *   mqtt_app --tap T [--static A/L] [--dns D] --broker HOST [--port N] [--ca CA.pem --hostname NAME]
 *            --id ID [--keepalive S] --sub TOPIC --pub TOPIC [--big N] [--expect N] [--duration S]
 *
 * Steps, each printed as "mqtt: ..." for the test to follow:
 *   connect (TLS with verification when --ca is given) -> "mqtt: connected"
 *   subscribe --sub at QoS 1 -> "mqtt: subscribed TOPIC granted Q"
 *   publish to --pub: "hello qos0" at QoS 0, "hello qos1" at QoS 1 (-> "mqtt: puback"),
 *     and with --big N an N-byte text payload at QoS 1 (multi-byte remaining length)
 *   handle incoming PUBLISHes ("mqtt: recv topic=T qos=Q len=L sha256=H [payload=P]"),
 *     PUBACK those at QoS 1, PINGREQ at half the keepalive, until --expect messages
 *     came and --duration seconds passed (bounded: duration + 60 s)
 *   publish "bye after S s" at QoS 1, DISCONNECT
 *   -> "mqtt: done pings=P pingresps=R received=N pubacks=A"
 * Exit 0, or 3 TLS handshake failed, 4 connect failed, 5 MQTT error ("mqtt: error: ...").
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
#include "mqtt.h"
#include "tls_conn.h"

#include "esp_smoltcp_host_sockets.h" /* last: socket calls go to the shim */

#define TIMEOUT_MS 10000

static unsigned received;

static void on_publish(void *arg, const char *topic, const uint8_t *payload, size_t len, int qos)
{
    (void)arg;
    uint8_t d[32];
    char hex[65];
    mbedtls_sha256_ret(payload, len, d, 0);
    interop_hex(d, hex);
    received++;
    if (len <= 64) {
        printf("mqtt: recv topic=%s qos=%d len=%zu sha256=%s payload=%.*s\n", topic, qos, len, hex, (int)len,
               (const char *)payload);
    } else {
        printf("mqtt: recv topic=%s qos=%d len=%zu sha256=%s\n", topic, qos, len, hex);
    }
}

static int connect_blocking(const char *host, int port)
{
    struct sockaddr_storage a;
    unsigned alen = 0;
    if (interop_resolve(host, port, &a, &alen) != 0) {
        errno = EHOSTUNREACH;
        return -1;
    }
    int fd = socket(a.ss_family, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    /* esp_transport: blocking socket, send/receive bounded by SO_SNDTIMEO/SO_RCVTIMEO. */
    struct timeval tv = {.tv_sec = TIMEOUT_MS / 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, (socklen_t)alen) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static int run(mqtt_t *m, const char *id, int keepalive, const char *sub, const char *pub, long big,
               unsigned expect, long duration)
{
    if (mqtt_connect(m, id, (uint16_t)keepalive) != 0) {
        return -1;
    }
    printf("mqtt: connected\n");
    int granted = -1;
    if (mqtt_subscribe(m, sub, 1, &granted) != 0) {
        return -1;
    }
    printf("mqtt: subscribed %s granted %d\n", sub, granted);
    if (mqtt_publish(m, pub, "hello qos0", 10, 0) != 0) {
        return -1;
    }
    printf("mqtt: published qos0\n");
    if (mqtt_publish(m, pub, "hello qos1", 10, 1) != 0) {
        return -1;
    }
    printf("mqtt: puback qos1\n");
    if (big > 0) {
        char *b = malloc((size_t)big);
        if (!b) {
            return -1;
        }
        for (long i = 0; i < big; i++) {
            b[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[i % 36];
        }
        int rc = mqtt_publish(m, pub, b, (size_t)big, 1);
        free(b);
        if (rc != 0) {
            return -1;
        }
        printf("mqtt: puback big %ld\n", big);
    }
    uint64_t t0 = interop_now_ms();
    uint64_t until = t0 + (uint64_t)duration * 1000;
    uint64_t hard = until + 60000;
    while (interop_now_ms() < until || received < expect) {
        if (interop_now_ms() >= hard) {
            printf("mqtt: error: only %u of %u messages within %ld s\n", received, expect, duration + 60);
            return -2;
        }
        if (mqtt_loop(m, 1000) != 0) {
            return -1;
        }
    }
    char bye[64];
    int bl = snprintf(bye, sizeof(bye), "bye after %" PRIu64 " s", (interop_now_ms() - t0) / 1000);
    if (mqtt_publish(m, pub, bye, (size_t)bl, 1) != 0) {
        return -1;
    }
    printf("mqtt: puback bye\n");
    if (mqtt_disconnect(m) != 0) {
        return -1;
    }
    printf("mqtt: done pings=%u pingresps=%u received=%u pubacks=%u\n", m->pings, m->pingresps, received,
           m->pubacks);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (interop_stack_start(&argc, argv) != 0) {
        return 1;
    }
    const char *broker = NULL, *ca = NULL, *hostname = NULL, *id = "esst-dut", *sub = NULL, *pub = NULL;
    int port = -1, keepalive = 10;
    long big = 0, duration = 0;
    unsigned expect = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (strcmp(a, "--broker") == 0) {
            broker = v;
        } else if (strcmp(a, "--port") == 0) {
            port = atoi(v);
        } else if (strcmp(a, "--ca") == 0) {
            ca = v;
        } else if (strcmp(a, "--hostname") == 0) {
            hostname = v;
        } else if (strcmp(a, "--id") == 0) {
            id = v;
        } else if (strcmp(a, "--keepalive") == 0) {
            keepalive = atoi(v);
        } else if (strcmp(a, "--sub") == 0) {
            sub = v;
        } else if (strcmp(a, "--pub") == 0) {
            pub = v;
        } else if (strcmp(a, "--big") == 0) {
            big = atol(v);
        } else if (strcmp(a, "--expect") == 0) {
            expect = (unsigned)atoi(v);
        } else if (strcmp(a, "--duration") == 0) {
            duration = atol(v);
        } else {
            fprintf(stderr, "unknown option %s\n", a);
            return 2;
        }
    }
    if (port < 0) {
        port = ca ? 8883 : 1883;
    }
    if (!broker || !sub || !pub || argc % 2 == 0 || (ca && !hostname) || keepalive < 0 || keepalive > 65535 ||
        big < 0 || big > (long)MQTT_MAX_PACKET - 2048 || duration < 0 || port <= 0 || port > 65535) {
        fprintf(stderr, "usage: mqtt_app --tap T --broker IP [--port N] [--ca CA.pem --hostname NAME] --id ID "
                        "[--keepalive S] --sub TOPIC --pub TOPIC [--big N] [--expect N] [--duration S]\n");
        return 2;
    }
    int fd = connect_blocking(broker, port);
    if (fd < 0) {
        printf("mqtt: error: connect %s:%d: %s\n", broker, port, strerror(errno));
        return 4;
    }
    tls_cfg_t cfg;
    tls_conn_t tls;
    bool use_tls = ca != NULL;
    if (use_tls) {
        if (tls_cfg_client(&cfg, ca) != 0) {
            return 1;
        }
        if (tls_conn_handshake(&tls, &cfg, fd, hostname, TIMEOUT_MS) != 0) {
            printf("mqtt: error: TLS handshake failed\n");
            interop_exit(3);
        }
        printf("mqtt: tls %s %s\n", mbedtls_ssl_get_version(&tls.ssl), mbedtls_ssl_get_ciphersuite(&tls.ssl));
    }
    mqtt_t m;
    if (mqtt_init(&m, fd, use_tls ? &tls : NULL, TIMEOUT_MS) != 0) {
        return 1;
    }
    m.on_publish = on_publish;
    int rc = run(&m, id, keepalive, sub, pub, big, expect, duration);
    if (rc == -1) {
        printf("mqtt: error: %s\n", mqtt_last_error(&m));
    }
    if (use_tls) {
        tls_conn_close(&tls);
        tls_cfg_free(&cfg);
    } else {
        close(fd);
    }
    mqtt_free(&m);
    interop_exit(rc == 0 ? 0 : 5);
}
