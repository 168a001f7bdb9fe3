/* PTPv2 message parsing and building (ptp_msg.h). */
#include "ptp_msg.h"

#include <string.h>

#define NS_PER_S 1000000000LL

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

static void get_port(const uint8_t *p, ptp_port_id_t *id)
{
    memcpy(id->clock_id, p, 8);
    id->port = get16(p + 8);
}

static void put_port(uint8_t *p, const ptp_port_id_t *id)
{
    memcpy(p, id->clock_id, 8);
    put16(p + 8, id->port);
}

/*
 * false when the nanoseconds are >= 1e9, or the seconds are beyond
 * PTP_TS_MAX_SEC: then every difference of two stamps fits an int64 of ns.
 */
static bool get_ts(const uint8_t *p, ptp_ts_t *t)
{
    t->sec = (uint64_t)get16(p) << 32 | get32(p + 2);
    t->ns = get32(p + 6);
    return t->ns < NS_PER_S && t->sec <= PTP_TS_MAX_SEC;
}

static void put_ts(uint8_t *p, const ptp_ts_t *t)
{
    put16(p, (uint16_t)(t->sec >> 32));
    put32(p + 2, (uint32_t)t->sec);
    put32(p + 6, t->ns);
}

/* Body length a type needs; 0 for types this clock does not take. */
static size_t body_len(uint8_t type)
{
    switch (type) {
    case PTP_MSG_SYNC:
    case PTP_MSG_DELAY_REQ:
    case PTP_MSG_FOLLOW_UP:
        return PTP_SYNC_LEN;
    case PTP_MSG_DELAY_RESP:
        return PTP_DELAY_RESP_LEN;
    case PTP_MSG_ANNOUNCE:
        return PTP_ANNOUNCE_LEN;
    default:
        return 0;
    }
}

ptp_parse_result_t ptp_parse(const uint8_t *buf, size_t len, ptp_msg_t *out)
{
    memset(out, 0, sizeof(*out));
    if (!buf || len < PTP_HDR_LEN) {
        return PTP_PARSE_TRUNCATED;
    }
    ptp_header_t *h = &out->hdr;
    h->transport = buf[0] >> 4;
    h->type = buf[0] & 0x0F;
    h->version = buf[1] & 0x0F; /* the high nibble is 1588-2019's minorVersionPTP */
    h->length = get16(buf + 2);
    h->domain = buf[4];
    h->flags = get16(buf + 6);
    h->correction = (int64_t)((uint64_t)get32(buf + 8) << 32 | get32(buf + 12));
    get_port(buf + 20, &h->source);
    h->seq = get16(buf + 30);
    h->control = buf[32];
    h->log_interval = (int8_t)buf[33];
    if (h->version != 2) {
        return PTP_PARSE_BAD_VERSION;
    }
    size_t need = body_len(h->type);
    if (need == 0) {
        return PTP_PARSE_UNSUPPORTED;
    }
    if (h->length < need) {
        return PTP_PARSE_BAD_LENGTH;
    }
    if (len < h->length) {
        return PTP_PARSE_TRUNCATED; /* the frame holds less than the message claims */
    }
    if (!get_ts(buf + PTP_HDR_LEN, &out->ts)) {
        return PTP_PARSE_BAD_TIMESTAMP;
    }
    if (h->type == PTP_MSG_DELAY_RESP) {
        get_port(buf + 44, &out->requesting);
    } else if (h->type == PTP_MSG_ANNOUNCE) {
        out->utc_offset = (int16_t)get16(buf + 44);
        out->priority1 = buf[47];
        out->quality.clock_class = buf[48];
        out->quality.accuracy = buf[49];
        out->quality.variance = get16(buf + 50);
        out->priority2 = buf[52];
        memcpy(out->gm_id, buf + 53, 8);
        out->steps_removed = get16(buf + 61);
        out->time_source = buf[63];
    }
    return PTP_PARSE_OK;
}

const char *ptp_parse_result_name(ptp_parse_result_t r)
{
    switch (r) {
    case PTP_PARSE_OK:
        return "ok";
    case PTP_PARSE_TRUNCATED:
        return "truncated";
    case PTP_PARSE_BAD_VERSION:
        return "bad_version";
    case PTP_PARSE_BAD_LENGTH:
        return "bad_length";
    case PTP_PARSE_BAD_TIMESTAMP:
        return "bad_timestamp";
    case PTP_PARSE_UNSUPPORTED:
        return "unsupported";
    }
    return "unknown";
}

/* controlField (Table 23): deprecated, but 1588-2008 senders must still fill it. */
static uint8_t control_of(uint8_t type)
{
    switch (type) {
    case PTP_MSG_SYNC:
        return 0;
    case PTP_MSG_DELAY_REQ:
        return 1;
    case PTP_MSG_FOLLOW_UP:
        return 2;
    case PTP_MSG_DELAY_RESP:
        return 3;
    default:
        return 5;
    }
}

size_t ptp_build(uint8_t *buf, size_t cap, const ptp_msg_t *m)
{
    const ptp_header_t *h = &m->hdr;
    size_t n = body_len(h->type);
    if (n == 0 || !buf || cap < n) {
        return 0;
    }
    memset(buf, 0, n);
    buf[0] = (uint8_t)(h->transport << 4 | (h->type & 0x0F));
    buf[1] = 2;
    put16(buf + 2, (uint16_t)n);
    buf[4] = h->domain;
    put16(buf + 6, h->flags);
    put32(buf + 8, (uint32_t)((uint64_t)h->correction >> 32));
    put32(buf + 12, (uint32_t)h->correction);
    put_port(buf + 20, &h->source);
    put16(buf + 30, h->seq);
    buf[32] = control_of(h->type);
    buf[33] = (uint8_t)h->log_interval;
    put_ts(buf + PTP_HDR_LEN, &m->ts);
    if (h->type == PTP_MSG_DELAY_RESP) {
        put_port(buf + 44, &m->requesting);
    } else if (h->type == PTP_MSG_ANNOUNCE) {
        put16(buf + 44, (uint16_t)m->utc_offset);
        buf[47] = m->priority1;
        buf[48] = m->quality.clock_class;
        buf[49] = m->quality.accuracy;
        put16(buf + 50, m->quality.variance);
        buf[52] = m->priority2;
        memcpy(buf + 53, m->gm_id, 8);
        put16(buf + 61, m->steps_removed);
        buf[63] = m->time_source;
    }
    return n;
}

size_t ptp_build_delay_req(uint8_t *buf, size_t cap, uint8_t domain, const ptp_port_id_t *self, uint16_t seq)
{
    /* originTimestamp 0: the slave uses its own transmit stamp (t3), as ptp4l does. */
    ptp_msg_t m = {.hdr = {.type = PTP_MSG_DELAY_REQ, .domain = domain, .source = *self, .seq = seq,
                           .log_interval = 0x7F}};
    return ptp_build(buf, cap, &m);
}

int64_t ptp_ts_to_ns(const ptp_ts_t *t)
{
    if (t->sec > PTP_TS_MAX_SEC) {
        return (int64_t)PTP_TS_MAX_SEC * NS_PER_S; /* parse refuses these; saturate, never overflow */
    }
    return (int64_t)t->sec * NS_PER_S + (int64_t)t->ns;
}

ptp_ts_t ptp_ts_from_ns(int64_t ns)
{
    if (ns < 0) {
        ns = 0; /* before the epoch: not representable in a PTP timestamp */
    }
    return (ptp_ts_t){.sec = (uint64_t)(ns / NS_PER_S), .ns = (uint32_t)(ns % NS_PER_S)};
}

int64_t ptp_correction_ns(int64_t correction)
{
    return correction / 65536;
}

bool ptp_port_id_equal(const ptp_port_id_t *a, const ptp_port_id_t *b)
{
    return a->port == b->port && memcmp(a->clock_id, b->clock_id, 8) == 0;
}

void ptp_clock_id_from_mac(const uint8_t mac[6], uint8_t id[8])
{
    id[0] = mac[0];
    id[1] = mac[1];
    id[2] = mac[2];
    id[3] = 0xFF;
    id[4] = 0xFE;
    id[5] = mac[3];
    id[6] = mac[4];
    id[7] = mac[5];
}
