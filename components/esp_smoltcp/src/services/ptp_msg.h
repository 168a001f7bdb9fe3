/*
 * IEEE 1588-2008 (PTPv2) messages an ordinary slave clock needs: parsing
 * with every length and field check before anything is believed, and
 * building Delay_Req. Pure functions on byte buffers: no clock, no I/O.
 *
 * Common header (clause 13.3), 34 bytes, then per type (clause 13.5-13.8):
 *   Sync / Delay_Req / Follow_Up: a 10-byte timestamp                 (44)
 *   Delay_Resp: receiveTimestamp + requestingPortIdentity             (54)
 *   Announce: originTimestamp, currentUtcOffset, priority1, quality,
 *             priority2, grandmasterIdentity, stepsRemoved, timeSource (64)
 * Longer messages (TLVs appended, 1588-2019 minor version 1) are accepted;
 * the extra bytes are ignored.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A receive stamp that is missing (a UDP event message whose stamp was not found). */
#define PTP_NO_STAMP INT64_MIN

#define PTP_HDR_LEN 34u
#define PTP_SYNC_LEN 44u
#define PTP_DELAY_REQ_LEN 44u
#define PTP_FOLLOW_UP_LEN 44u
#define PTP_DELAY_RESP_LEN 54u
#define PTP_ANNOUNCE_LEN 64u

/* messageType (Table 19) */
enum {
    PTP_MSG_SYNC = 0x0,
    PTP_MSG_DELAY_REQ = 0x1,
    PTP_MSG_PDELAY_REQ = 0x2,
    PTP_MSG_PDELAY_RESP = 0x3,
    PTP_MSG_FOLLOW_UP = 0x8,
    PTP_MSG_DELAY_RESP = 0x9,
    PTP_MSG_PDELAY_RESP_FOLLOW_UP = 0xA,
    PTP_MSG_ANNOUNCE = 0xB,
    PTP_MSG_SIGNALING = 0xC,
    PTP_MSG_MANAGEMENT = 0xD,
};

/* flagField (Table 20): octet 0 in the high byte. */
#define PTP_FLAG_TWO_STEP 0x0200u
#define PTP_FLAG_UNICAST 0x0400u
#define PTP_FLAG_LEAP61 0x0001u
#define PTP_FLAG_LEAP59 0x0002u
#define PTP_FLAG_UTC_OFFSET_VALID 0x0004u
#define PTP_FLAG_PTP_TIMESCALE 0x0008u

/*
 * A PTP timestamp: 48-bit seconds, nanoseconds < 1e9. Parsing refuses
 * seconds above 2^33 - 1 (year 2242) so that nanosecond arithmetic on
 * int64 never overflows.
 */
#define PTP_TS_MAX_SEC 0x1FFFFFFFFull
typedef struct {
    uint64_t sec;
    uint32_t ns;
} ptp_ts_t;

typedef struct {
    uint8_t clock_id[8];
    uint16_t port;
} ptp_port_id_t;

typedef struct {
    uint8_t clock_class;
    uint8_t accuracy;
    uint16_t variance; /* offsetScaledLogVariance */
} ptp_quality_t;

typedef struct {
    uint8_t type;         /* messageType */
    uint8_t transport;    /* transportSpecific (majorSdoId) */
    uint8_t version;      /* versionPTP, 2 */
    uint16_t length;      /* messageLength */
    uint8_t domain;
    uint16_t flags;
    int64_t correction;   /* correctionField: ns * 2^16 */
    ptp_port_id_t source;
    uint16_t seq;
    uint8_t control;
    int8_t log_interval;  /* logMessageInterval */
} ptp_header_t;

typedef struct {
    ptp_header_t hdr;
    ptp_ts_t ts;              /* Sync/Delay_Req origin, Follow_Up precise origin, Delay_Resp receive, Announce origin */
    ptp_port_id_t requesting; /* Delay_Resp */
    /* Announce */
    int16_t utc_offset;
    uint8_t priority1, priority2;
    ptp_quality_t quality;
    uint8_t gm_id[8];
    uint16_t steps_removed;
    uint8_t time_source;
} ptp_msg_t;

/** Why a message was refused. */
typedef enum {
    PTP_PARSE_OK = 0,
    PTP_PARSE_TRUNCATED,   /* buffer shorter than the header, than messageLength, or than the type needs */
    PTP_PARSE_BAD_VERSION, /* versionPTP != 2 */
    PTP_PARSE_BAD_LENGTH,  /* messageLength shorter than the type's body */
    PTP_PARSE_BAD_TIMESTAMP, /* nanoseconds >= 1e9, or seconds > PTP_TS_MAX_SEC */
    PTP_PARSE_UNSUPPORTED, /* a type a slave-only E2E clock does not use (Pdelay, Signaling, Management, reserved) */
} ptp_parse_result_t;

/** Parse one message (the PTP payload: after the Ethernet header or the UDP header). */
ptp_parse_result_t ptp_parse(const uint8_t *buf, size_t len, ptp_msg_t *out);

/** "ok", "truncated", ... */
const char *ptp_parse_result_name(ptp_parse_result_t r);

/** Build a Delay_Req (44 bytes) into buf; returns its length, 0 if cap is too small. */
size_t ptp_build_delay_req(uint8_t *buf, size_t cap, uint8_t domain, const ptp_port_id_t *self, uint16_t seq);

/**
 * Build any of the messages above from m (m->hdr.type chooses the body;
 * messageLength is the type's length). Used by tests to play a master;
 * returns the length, 0 for an unsupported type or a too-small buffer.
 */
size_t ptp_build(uint8_t *buf, size_t cap, const ptp_msg_t *m);

/** Nanoseconds since the PTP epoch as a signed 64-bit value (enough until year 2262). */
int64_t ptp_ts_to_ns(const ptp_ts_t *t);
ptp_ts_t ptp_ts_from_ns(int64_t ns);

/** correctionField (ns * 2^16) in whole nanoseconds, rounded toward zero. */
int64_t ptp_correction_ns(int64_t correction);

bool ptp_port_id_equal(const ptp_port_id_t *a, const ptp_port_id_t *b);

/** EUI-64 clockIdentity from a MAC (IEEE 1588-2008 7.5.2.2.2: OUI, FF FE, the rest). */
void ptp_clock_id_from_mac(const uint8_t mac[6], uint8_t id[8]);
