/*
 * libFuzzer target: the mDNS responder's DNS codec (src/services/mdns_proto.c)
 * on arbitrary datagrams, as the responder reads them: header, every question,
 * every record, canonical rdata. Properties beyond "no crash": every name read
 * is well formed (labels 1..63, ends with the root, <= 255 bytes), and writing
 * it back compressed and reading that again gives the same name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mdns_proto.h"

static void check_name(const dns_name_t *n)
{
    size_t i = 0;
    if (n->len == 0 || n->len > DNS_NAME_MAX) {
        abort();
    }
    while (n->b[i]) {
        if (n->b[i] > DNS_LABEL_MAX) {
            abort();
        }
        i += 1u + n->b[i];
        if (i >= n->len) {
            abort();
        }
    }
    if (i + 1 != n->len) {
        abort();
    }
    /* Round trip through the writer (twice, so the second copy is a pointer). */
    uint8_t buf[2 * DNS_NAME_MAX + 64];
    dns_writer_t w;
    dns_writer_init(&w, buf, sizeof(buf), 0, 0);
    dns_write_question(&w, n, DNS_TYPE_A, DNS_CLASS_IN);
    dns_write_question(&w, n, DNS_TYPE_AAAA, DNS_CLASS_IN);
    size_t len = dns_writer_finish(&w);
    dns_reader_t r;
    dns_question_t q;
    if (len == 0 || dns_reader_init(&r, buf, len) != 0 || dns_read_question(&r, &q) != 0 ||
        !dns_name_eq(&q.name, n) || dns_read_question(&r, &q) != 0 || !dns_name_eq(&q.name, n) || r.off != len) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A heap copy of exactly size bytes: ASan catches any read past the end. */
    uint8_t *m = malloc(size ? size : 1);
    memcpy(m, data, size);
    dns_reader_t r;
    if (dns_reader_init(&r, m, size) == 0) {
        int ok = 1;
        for (unsigned i = 0; ok && i < r.h.qdcount; i++) {
            dns_question_t q;
            ok = dns_read_question(&r, &q) == 0;
            if (ok) {
                check_name(&q.name);
            }
        }
        unsigned total = (unsigned)r.h.ancount + r.h.nscount + r.h.arcount;
        for (unsigned i = 0; ok && i < total; i++) {
            dns_rr_t rr;
            ok = dns_read_rr(&r, &rr) == 0;
            if (ok) {
                if (rr.rdoff + rr.rdlen > size) {
                    abort();
                }
                check_name(&rr.name);
                uint8_t rd[6 + DNS_NAME_MAX];
                (void)dns_rr_canonical_rdata(&r, &rr, rd, sizeof(rd));
            }
        }
    }
    free(m);
    return 0;
}
