/*
 * The mDNS responder's DNS codec without a network: names, compression on
 * write and read, round trips, canonical rdata, writer overflow, and a
 * corpus of malformed messages (bad pointers, loops, oversized names and
 * labels, reserved label types, short records, lying counts) that must be
 * rejected, plus every truncation and 200 000 random mutations of a valid
 * message (run under ASan/UBSan by make test-asan: no out-of-bounds read).
 */
#include <stdlib.h>

#include "mdns_proto.h"
#include "unit_test.h"

/* Read a whole message as the responder does: -1 at the first malformed part. */
static int parse_all(const uint8_t *m, size_t len)
{
    dns_reader_t r;
    if (dns_reader_init(&r, m, len) != 0) {
        return -1;
    }
    for (unsigned i = 0; i < r.h.qdcount; i++) {
        dns_question_t q;
        if (dns_read_question(&r, &q) != 0) {
            return -1;
        }
        if (q.name.len == 0) {
            return -2; /* would be a codec bug */
        }
    }
    unsigned total = (unsigned)r.h.ancount + r.h.nscount + r.h.arcount;
    for (unsigned i = 0; i < total; i++) {
        dns_rr_t rr;
        if (dns_read_rr(&r, &rr) != 0) {
            return -1;
        }
        if (rr.rdoff + rr.rdlen > len) {
            return -2;
        }
        uint8_t rd[300];
        (void)dns_rr_canonical_rdata(&r, &rr, rd, sizeof(rd));
    }
    return 0;
}

static void test_names(void)
{
    dns_name_t a, b, c;
    CHECK_EQ(dns_name_from_str(&a, "dut.local"), 0);
    CHECK_EQ(a.len, 11);
    CHECK_MEM(a.b, "\3dut\5local\0", 11);
    CHECK_EQ(dns_name_from_str(&b, "DUT.Local."), 0);
    CHECK(dns_name_eq(&a, &b)); /* case-insensitive, trailing dot optional */
    CHECK_EQ(dns_name_labels(&a), 2);
    CHECK_EQ(dns_name_from_str(&c, "dut.locale"), 0);
    CHECK(!dns_name_eq(&a, &c));
    char s[64];
    dns_name_to_str(&a, s, sizeof(s));
    CHECK(strcmp(s, "dut.local.") == 0);
    CHECK_EQ(dns_name_first_label(&a, s, sizeof(s)), 3);
    CHECK(strcmp(s, "dut") == 0);
    /* Instance labels may hold dots and spaces (RFC 6763 §4.3). */
    dns_name_t t, i;
    CHECK_EQ(dns_name_from_str(&t, "_http._tcp.local"), 0);
    CHECK_EQ(dns_name_prepend(&i, "My web.v2", 9, &t), 0);
    CHECK_EQ(dns_name_labels(&i), 4);
    CHECK_EQ(i.b[0], 9);
    /* Limits: empty label, 64-byte label, 256-byte name. */
    CHECK_EQ(dns_name_from_str(&a, "a..b"), -1);
    char l64[70];
    memset(l64, 'x', 64);
    l64[64] = 0;
    CHECK_EQ(dns_name_from_str(&a, l64), -1);
    l64[63] = 0;
    CHECK_EQ(dns_name_from_str(&a, l64), 0);
    char big[300];
    size_t o = 0;
    for (int k = 0; k < 4; k++) {
        memset(big + o, 'y', 63);
        o += 63;
        big[o++] = '.';
    }
    big[o - 1] = 0; /* 4 x 63 = 252 + 4 lengths + root = 257 > 255 */
    CHECK_EQ(dns_name_from_str(&a, big), -1);
    big[3 * 64 + 60] = 0; /* 3 x 63 + 60: 253 bytes with lengths and root */
    CHECK_EQ(dns_name_from_str(&a, big), 0);
    CHECK_EQ(a.len, 3 * 64 + 61 + 1);
}

static size_t build_sample(uint8_t *buf, size_t cap)
{
    dns_writer_t w;
    dns_name_t host, type, inst, svcs;
    dns_name_from_str(&host, "dut.local");
    dns_name_from_str(&type, "_http._tcp.local");
    dns_name_prepend(&inst, "eth_basic", 9, &type);
    dns_name_from_str(&svcs, "_services._dns-sd._udp.local");
    dns_writer_init(&w, buf, cap, 0x1234, DNS_FLAG_QR | DNS_FLAG_AA);
    dns_write_question(&w, &type, DNS_TYPE_PTR, DNS_CLASS_IN | MDNS_CLASS_TOP);
    size_t m = dns_write_rr_begin(&w, DNS_SEC_AN, &type, DNS_TYPE_PTR, DNS_CLASS_IN, 4500);
    dns_write_name(&w, &inst);
    dns_write_rr_end(&w, m);
    m = dns_write_rr_begin(&w, DNS_SEC_AN, &svcs, DNS_TYPE_PTR, DNS_CLASS_IN, 4500);
    dns_write_name(&w, &type);
    dns_write_rr_end(&w, m);
    m = dns_write_rr_begin(&w, DNS_SEC_AR, &inst, DNS_TYPE_SRV, DNS_CLASS_IN | MDNS_CLASS_TOP, 120);
    dns_write_bytes(&w, "\0\0\0\0\x1f\x90", 6);
    dns_write_name(&w, &host);
    dns_write_rr_end(&w, m);
    m = dns_write_rr_begin(&w, DNS_SEC_AR, &inst, DNS_TYPE_TXT, DNS_CLASS_IN | MDNS_CLASS_TOP, 4500);
    dns_write_bytes(&w, "\x08path=/dl", 9);
    dns_write_rr_end(&w, m);
    m = dns_write_rr_begin(&w, DNS_SEC_AR, &host, DNS_TYPE_A, DNS_CLASS_IN | MDNS_CLASS_TOP, 120);
    dns_write_bytes(&w, "\xc6\x12\x00\x02", 4);
    dns_write_rr_end(&w, m);
    return dns_writer_finish(&w);
}

static void test_round_trip_compression(void)
{
    uint8_t buf[512];
    size_t len = build_sample(buf, sizeof(buf));
    CHECK(len > 0);
    /* Uncompressed the names alone would take 18*3 + 28 + 28 + 11*2 + ... bytes; compressed it is small. */
    CHECK(len < 200);
    CHECK_EQ(parse_all(buf, len), 0);
    dns_reader_t r;
    CHECK_EQ(dns_reader_init(&r, buf, len), 0);
    CHECK_EQ(r.h.id, 0x1234);
    CHECK_EQ(r.h.qdcount, 1);
    CHECK_EQ(r.h.ancount, 2);
    CHECK_EQ(r.h.arcount, 3);
    dns_question_t q;
    CHECK_EQ(dns_read_question(&r, &q), 0);
    CHECK(q.top_bit && q.cls == DNS_CLASS_IN && q.type == DNS_TYPE_PTR);
    dns_name_t type, inst, host;
    dns_name_from_str(&type, "_http._tcp.local");
    dns_name_prepend(&inst, "eth_basic", 9, &type);
    dns_name_from_str(&host, "dut.local");
    CHECK(dns_name_eq(&q.name, &type));
    dns_rr_t rr;
    uint8_t rd[300];
    CHECK_EQ(dns_read_rr(&r, &rr), 0);
    CHECK(dns_name_eq(&rr.name, &type) && rr.ttl == 4500 && !rr.top_bit);
    CHECK_EQ(rr.rdlen, 12); /* "eth_basic" label + pointer to _http._tcp.local */
    int l = dns_rr_canonical_rdata(&r, &rr, rd, sizeof(rd));
    CHECK_EQ(l, inst.len);
    CHECK_MEM(rd, inst.b, inst.len);
    CHECK_EQ(dns_read_rr(&r, &rr), 0);
    CHECK_EQ(rr.rdlen, 2); /* the type name again: a bare pointer */
    CHECK_EQ(dns_read_rr(&r, &rr), 0);
    CHECK(rr.type == DNS_TYPE_SRV && rr.top_bit && rr.ttl == 120 && dns_name_eq(&rr.name, &inst));
    l = dns_rr_canonical_rdata(&r, &rr, rd, sizeof(rd));
    CHECK_EQ(l, 6 + host.len);
    CHECK_MEM(rd + 6, host.b, host.len);
    CHECK_EQ(rd[4] << 8 | rd[5], 8080);
    CHECK_EQ(dns_read_rr(&r, &rr), 0);
    CHECK(rr.type == DNS_TYPE_TXT && rr.rdlen == 9);
    CHECK_EQ(dns_read_rr(&r, &rr), 0);
    CHECK(rr.type == DNS_TYPE_A && rr.rdlen == 4 && dns_name_eq(&rr.name, &host));
    CHECK_EQ(r.off, len);
    /* Canonical rdata too big for the caller's buffer is refused, not truncated. */
    CHECK_EQ(dns_rr_canonical_rdata(&r, &rr, rd, 3), -1);
}

static void test_writer_overflow(void)
{
    uint8_t buf[512];
    size_t full = build_sample(buf, sizeof(buf));
    for (size_t cap = 0; cap < full; cap++) {
        uint8_t small[512];
        if (build_sample(small, cap) != 0) {
            FAILF("cap %zu: an overflowing message was finished", cap);
        }
    }
    CHECK_EQ(build_sample(buf, full), full);
    dns_writer_t w;
    dns_name_t unset = {0};
    dns_writer_init(&w, buf, sizeof(buf), 0, 0);
    dns_write_name(&w, &unset);
    CHECK_EQ(dns_writer_finish(&w), 0);
}

typedef struct {
    const char *what;
    const uint8_t *m;
    size_t len;
} bad_t;

#define BAD(what, ...)                                                       \
    {                                                                         \
        what, (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}) \
    }
#define HDR(qd, an) 0, 0, 0, 0, 0, qd, 0, an, 0, 0, 0, 0

static void test_malformed_corpus(void)
{
    const bad_t bad[] = { /* automatic: compound literals are not constant */
        BAD("short header", 0, 1, 0, 0),
        BAD("name runs off the end", HDR(1, 0), 3, 'd', 'u', 't'),
        BAD("no room for type/class", HDR(1, 0), 3, 'd', 'u', 't', 0, 0, 1),
        BAD("label longer than the message", HDR(1, 0), 60, 'd', 0, 0, 1, 0, 1),
        BAD("pointer to itself", HDR(1, 0), 0xc0, 12, 0, 1, 0, 1),
        BAD("pointer forward", HDR(1, 0), 0xc0, 14, 0, 0, 1, 0, 1),
        BAD("pointer into the header", HDR(1, 0), 0xc0, 2, 0, 1, 0, 1),
        BAD("pointer loop a->b->a", HDR(2, 0), 1, 'a', 0xc0, 16, 0, 1, 0, 1, 1, 'b', 0xc0, 12, 0, 1, 0, 1),
        BAD("truncated pointer", HDR(1, 0), 1, 'a', 0xc0),
        BAD("0x40 extended label", HDR(1, 0), 0x41, 'a', 0, 0, 1, 0, 1),
        BAD("0x80 reserved label", HDR(1, 0), 0x81, 'a', 0, 0, 1, 0, 1),
        BAD("qdcount lies", HDR(3, 0), 1, 'a', 0, 0, 1, 0, 1),
        BAD("ancount lies", HDR(0, 2), 1, 'a', 0, 0, 1, 0, 1, 0, 0, 0, 120, 0, 4, 1, 2, 3, 4),
        BAD("rr header cut", HDR(0, 1), 1, 'a', 0, 0, 1, 0, 1, 0, 0),
        BAD("rdlength beyond the end", HDR(0, 1), 1, 'a', 0, 0, 1, 0, 1, 0, 0, 0, 120, 0, 5, 1, 2, 3, 4),
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse_all(bad[i].m, bad[i].len) != -1) {
            FAILF("accepted: %s", bad[i].what);
        } else {
            unit_passed++;
        }
    }
    /* A name over 255 bytes built from pointers to earlier 63-byte labels. */
    uint8_t m[600];
    memset(m, 0, sizeof(m));
    m[5] = 1; /* qdcount */
    size_t o = 12;
    size_t prev = 0;
    for (int k = 0; k < 5; k++) {
        size_t here = o;
        m[o++] = 63;
        memset(&m[o], 'a' + k, 63);
        o += 63;
        if (prev) {
            m[o++] = (uint8_t)(0xc0 | prev >> 8);
            m[o++] = (uint8_t)prev;
        } else {
            m[o++] = 0;
        }
        prev = here;
    }
    /* The question's name: a pointer to the last chain (5 x 64 + 1 bytes once expanded). */
    size_t q = o;
    m[o++] = (uint8_t)(0xc0 | prev >> 8);
    m[o++] = (uint8_t)prev;
    m[o++] = 0;
    m[o++] = 1;
    m[o++] = 0;
    m[o++] = 1;
    dns_reader_t r;
    dns_name_t n;
    size_t off = q;
    CHECK_EQ(dns_reader_init(&r, m, o), 0);
    CHECK_EQ(dns_read_name(m, o, &off, &n), -1);
    /* Chained pointers within the limit are fine: 3 labels. */
    size_t third = 12 + 65 + 66; /* the third label, pointing back twice */
    off = third;
    CHECK_EQ(dns_read_name(m, o, &off, &n), 0);
    CHECK_EQ(n.len, 3 * 64 + 1);
    CHECK_EQ(off, third + 66);
    /* PTR rdata whose name does not end at the rdata's end. */
    static const uint8_t ptr_long[] = {HDR(0, 1), 1, 'a', 0, 0, 12, 0, 1, 0, 0, 0, 120, 0, 4, 1, 'b', 0, 0xff};
    dns_rr_t rr;
    uint8_t rd[300];
    CHECK_EQ(dns_reader_init(&r, ptr_long, sizeof(ptr_long)), 0);
    CHECK_EQ(dns_read_rr(&r, &rr), 0);
    CHECK_EQ(dns_rr_canonical_rdata(&r, &rr, rd, sizeof(rd)), -1);
    /* SRV rdata shorter than its fixed part. */
    static const uint8_t srv_short[] = {HDR(0, 1), 1, 'a', 0, 0, 33, 0, 1, 0, 0, 0, 120, 0, 3, 0, 0, 0};
    CHECK_EQ(dns_reader_init(&r, srv_short, sizeof(srv_short)), 0);
    CHECK_EQ(dns_read_rr(&r, &rr), 0);
    CHECK_EQ(dns_rr_canonical_rdata(&r, &rr, rd, sizeof(rd)), -1);
}

static void test_truncations_and_mutations(void)
{
    uint8_t good[512];
    size_t len = build_sample(good, sizeof(good));
    for (size_t cut = 0; cut < len; cut++) {
        if (parse_all(good, cut) != -1) {
            FAILF("truncated at %zu of %zu: accepted", cut, len);
        }
    }
    unit_passed++;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    unsigned accepted = 0, rejected = 0;
    for (int i = 0; i < 200000; i++) {
        uint8_t m[512];
        memcpy(m, good, len);
        int flips = 1 + (int)(x % 4);
        for (int f = 0; f < flips; f++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            m[(x >> 8) % len] = (uint8_t)(x >> 32);
        }
        /* Heap copy of exactly len bytes: ASan sees any read past the end. */
        uint8_t *h = malloc(len);
        memcpy(h, m, len);
        int rc = parse_all(h, len);
        free(h);
        if (rc == -2) {
            FAILF("mutation %d: codec returned an out-of-range record", i);
            break;
        }
        rc == 0 ? accepted++ : rejected++;
    }
    printf("mutations: %u accepted, %u rejected\n", accepted, rejected);
    CHECK(accepted > 0 && rejected > 0);
}

int main(void)
{
    RUN(test_names);
    RUN(test_round_trip_compression);
    RUN(test_writer_overflow);
    RUN(test_malformed_corpus);
    RUN(test_truncations_and_mutations);
    return UNIT_TEST_END();
}
