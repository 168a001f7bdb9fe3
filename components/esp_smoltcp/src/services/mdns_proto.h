/*
 * DNS message codec for the mDNS responder (RFC 1035 §4, RFC 6762 §18):
 * pure functions, no I/O, no allocation. Names are kept in uncompressed wire
 * form (length-prefixed labels, final zero label) so that DNS-SD instance
 * names may hold dots and any UTF-8 (RFC 6763 §4.3) without escaping.
 *
 * Reading is bounds-checked everywhere: compression pointers must point
 * strictly backwards (so loops are impossible), names are at most 255 bytes,
 * labels at most 63, the 0x40/0x80 label types are rejected, and every
 * record must fit the message. Any violation returns -1: the caller drops
 * the packet and counts it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DNS_NAME_MAX 255 /* wire bytes, final zero label included (RFC 1035 §2.3.4) */
#define DNS_LABEL_MAX 63
#define DNS_HEADER_LEN 12

#define DNS_TYPE_A 1
#define DNS_TYPE_PTR 12
#define DNS_TYPE_TXT 16
#define DNS_TYPE_AAAA 28
#define DNS_TYPE_SRV 33
#define DNS_TYPE_NSEC 47
#define DNS_TYPE_ANY 255

#define DNS_CLASS_IN 1
#define MDNS_CLASS_MASK 0x7fffu  /* the top bit is QU (questions) or cache-flush (records) */
#define MDNS_CLASS_TOP 0x8000u

#define DNS_FLAG_QR 0x8000u
#define DNS_FLAG_AA 0x0400u
#define DNS_FLAG_TC 0x0200u
#define DNS_OPCODE_MASK 0x7800u
#define DNS_RCODE_MASK 0x000fu

typedef struct {
    uint8_t len;               /* bytes used in b, 0 = not set */
    uint8_t b[DNS_NAME_MAX];   /* labels, ending with the zero label */
} dns_name_t;

typedef struct {
    uint16_t id, flags, qdcount, ancount, nscount, arcount;
} dns_header_t;

typedef struct {
    const uint8_t *msg;
    size_t len;
    size_t off; /* next byte to read */
    dns_header_t h;
} dns_reader_t;

typedef struct {
    dns_name_t name;
    uint16_t type;
    uint16_t cls;  /* class without the top bit */
    bool top_bit;  /* question: QU; record: cache-flush */
} dns_question_t;

typedef struct {
    dns_name_t name;
    uint16_t type;
    uint16_t cls;
    bool top_bit;
    uint32_t ttl;
    uint16_t rdlen;
    size_t rdoff;  /* rdata offset in the message */
} dns_rr_t;

/* ---- names ---------------------------------------------------------------- */
/** The root name (one zero byte). */
void dns_name_root(dns_name_t *n);
/** Append a label (1..63 bytes) in front of the final zero label. -1 when too long. */
int dns_name_add_label(dns_name_t *n, const char *label, size_t len);
/**
 * Build from a dotted string ("dut.local", trailing dot optional); no
 * escapes, empty labels rejected. -1 on a bad or too long name.
 */
int dns_name_from_str(dns_name_t *n, const char *s);
/** n = label + suffix (DNS-SD instance names: "My Web" + "_http._tcp.local"). */
int dns_name_prepend(dns_name_t *n, const char *label, size_t len, const dns_name_t *suffix);
/** Case-insensitive (ASCII) equality (RFC 1035 §2.3.3). */
bool dns_name_eq(const dns_name_t *a, const dns_name_t *b);
/** Number of labels (root = 0). */
unsigned dns_name_labels(const dns_name_t *n);
/** Dotted text for logs (dots inside labels are shown as-is); always terminated. */
void dns_name_to_str(const dns_name_t *n, char *out, size_t outlen);
/** First label as text (terminated); its length, or -1. */
int dns_name_first_label(const dns_name_t *n, char *out, size_t outlen);

/* ---- reading -------------------------------------------------------------- */
/** Header. -1 when shorter than 12 bytes. */
int dns_reader_init(dns_reader_t *r, const uint8_t *msg, size_t len);
/** Read a (possibly compressed) name at *off of msg; *off moves past it. -1 if malformed. */
int dns_read_name(const uint8_t *msg, size_t len, size_t *off, dns_name_t *out);
int dns_read_question(dns_reader_t *r, dns_question_t *q);
/** One resource record; its rdata stays in the message (rdoff, rdlen), checked to fit. */
int dns_read_rr(dns_reader_t *r, dns_rr_t *rr);
/**
 * Rdata of rr in canonical form for comparisons (RFC 6762 §8.2): names inside
 * PTR and SRV rdata are decompressed, other types copied. Returns the length,
 * -1 if malformed or larger than cap.
 */
int dns_rr_canonical_rdata(const dns_reader_t *r, const dns_rr_t *rr, uint8_t *out, size_t cap);

/* ---- writing -------------------------------------------------------------- */
#define DNS_WRITER_MAX_PTRS 48

typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;
    bool overflow;                        /* something did not fit: the message is unusable */
    uint16_t counts[4];                   /* qd, an, ns, ar */
    uint16_t ptrs[DNS_WRITER_MAX_PTRS];   /* offsets of names written, for compression */
    unsigned nptrs;
} dns_writer_t;

enum { DNS_SEC_QD = 0, DNS_SEC_AN = 1, DNS_SEC_NS = 2, DNS_SEC_AR = 3 };

void dns_writer_init(dns_writer_t *w, uint8_t *buf, size_t cap, uint16_t id, uint16_t flags);
/** Write a name, compressed against names written before (RFC 1035 §4.1.4). */
void dns_write_name(dns_writer_t *w, const dns_name_t *n);
void dns_write_u16(dns_writer_t *w, uint16_t v);
void dns_write_u32(dns_writer_t *w, uint32_t v);
void dns_write_bytes(dns_writer_t *w, const void *p, size_t n);
void dns_write_question(dns_writer_t *w, const dns_name_t *name, uint16_t type, uint16_t cls);
/** Start a record of section sec; returns the rdlength position for dns_write_rr_end. */
size_t dns_write_rr_begin(dns_writer_t *w, int sec, const dns_name_t *name, uint16_t type, uint16_t cls,
                          uint32_t ttl);
void dns_write_rr_end(dns_writer_t *w, size_t mark);
/** Patch the counts into the header; the message length, or 0 after an overflow. */
size_t dns_writer_finish(dns_writer_t *w);

#ifdef __cplusplus
}
#endif
