/*
 * A minimal MQTT 3.1.1 client (OASIS mqtt-v3.1.1): CONNECT/CONNACK, SUBSCRIBE/
 * SUBACK, PUBLISH QoS 0 and 1 with PUBACK (both directions), PINGREQ/PINGRESP,
 * DISCONNECT. Shaped like esp-mqtt over esp_transport: a blocking socket, each
 * read preceded by a select() with a timeout (bytes mbedTLS already holds count
 * as readable), over TCP in clear or over TLS (tls_conn.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls_conn.h"

#define MQTT_MAX_PACKET (256u * 1024u) /* larger incoming packets are refused, after a proper parse */

typedef void (*mqtt_on_publish_t)(void *arg, const char *topic, const uint8_t *payload, size_t len, int qos);

typedef struct {
    int fd;
    tls_conn_t *tls;          /* NULL: clear TCP */
    uint32_t timeout_ms;      /* bound of each wait for an answer */
    uint16_t keepalive_s;
    uint16_t next_id;
    uint64_t last_tx_ms;      /* keepalive: time of the last packet sent */
    uint64_t ping_sent_ms;    /* 0 when no PINGRESP is outstanding */
    uint32_t pings, pingresps, pubacks;
    mqtt_on_publish_t on_publish;
    void *arg;
    uint8_t *rx;              /* MQTT_MAX_PACKET bytes */
} mqtt_t;

/* Every call returns 0 or a negative error; mqtt_last_error() says what went wrong. */
int mqtt_init(mqtt_t *m, int fd, tls_conn_t *tls, uint32_t timeout_ms);
void mqtt_free(mqtt_t *m);
int mqtt_connect(mqtt_t *m, const char *client_id, uint16_t keepalive_s);
int mqtt_subscribe(mqtt_t *m, const char *topic, int qos, int *granted);
/** QoS 1 waits for the matching PUBACK (PUBLISHes that arrive meanwhile are delivered). */
int mqtt_publish(mqtt_t *m, const char *topic, const void *payload, size_t len, int qos);
/** Handle incoming packets for up to wait_ms; sends PINGREQ when the keepalive is due. */
int mqtt_loop(mqtt_t *m, uint32_t wait_ms);
int mqtt_disconnect(mqtt_t *m);
const char *mqtt_last_error(const mqtt_t *m);

/* Remaining Length (§2.2.3): encode into out (<= 4 bytes) -> bytes used, 0 if too large. */
size_t mqtt_encode_len(uint32_t len, uint8_t out[4]);
/* Decode from buf[0..avail): bytes used (> 0), 0 if more bytes are needed, -1 if malformed. */
int mqtt_decode_len(const uint8_t *buf, size_t avail, uint32_t *len);
