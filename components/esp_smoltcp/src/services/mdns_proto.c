/*
 * DNS message codec (mdns_proto.h). Every read is checked against the
 * message length; nothing here trusts a count, a length or a pointer.
 */
#include "mdns_proto.h"

#include <stdio.h>
#include <string.h>

/* ---- names ------------------------------------------------------------------ */

void dns_name_root(dns_name_t *n)
{
    n->len = 1;
    n->b[0] = 0;
}

int dns_name_add_label(dns_name_t *n, const char *label, size_t len)
{
    if (len == 0 || len > DNS_LABEL_MAX || n->len == 0 || (size_t)n->len + 1 + len > DNS_NAME_MAX) {
        return -1;
    }
    size_t at = n->len - 1u; /* over the final zero label */
    n->b[at] = (uint8_t)len;
    memcpy(&n->b[at + 1], label, len);
    n->b[at + 1 + len] = 0;
    n->len = (uint8_t)(at + 2 + len);
    return 0;
}

int dns_name_from_str(dns_name_t *n, const char *s)
{
    dns_name_root(n);
    if (!s) {
        return -1;
    }
    while (*s) {
        const char *dot = strchr(s, '.');
        size_t l = dot ? (size_t)(dot - s) : strlen(s);
        if (dns_name_add_label(n, s, l) != 0) {
            return -1;
        }
        s += l;
        if (*s == '.') {
            s++;
        }
    }
    return 0;
}

int dns_name_prepend(dns_name_t *n, const char *label, size_t len, const dns_name_t *suffix)
{
    if (len == 0 || len > DNS_LABEL_MAX || suffix->len == 0 || 1 + len + suffix->len > DNS_NAME_MAX) {
        return -1;
    }
    n->b[0] = (uint8_t)len;
    memcpy(&n->b[1], label, len);
    memcpy(&n->b[1 + len], suffix->b, suffix->len);
    n->len = (uint8_t)(1 + len + suffix->len);
    return 0;
}

static uint8_t lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

bool dns_name_eq(const dns_name_t *a, const dns_name_t *b)
{
    if (a->len != b->len) {
        return false;
    }
    /* Length bytes are < 64, never letters, so a byte-wise fold is exact. */
    for (size_t i = 0; i < a->len; i++) {
        if (lower(a->b[i]) != lower(b->b[i])) {
            return false;
        }
    }
    return true;
}

unsigned dns_name_labels(const dns_name_t *n)
{
    unsigned k = 0;
    for (size_t i = 0; i < n->len && n->b[i]; i += 1u + n->b[i]) {
        k++;
    }
    return k;
}

void dns_name_to_str(const dns_name_t *n, char *out, size_t outlen)
{
    size_t o = 0;
    if (outlen == 0) {
        return;
    }
    for (size_t i = 0; i < n->len && n->b[i]; i += 1u + n->b[i]) {
        for (size_t j = 0; j < n->b[i] && i + 1 + j < n->len; j++) {
            if (o + 1 < outlen) {
                uint8_t c = n->b[i + 1 + j];
                out[o++] = (char)(c >= 0x20 && c < 0x7f ? c : '?');
            }
        }
        if (o + 1 < outlen) {
            out[o++] = '.';
        }
    }
    out[o] = 0;
}

int dns_name_first_label(const dns_name_t *n, char *out, size_t outlen)
{
    if (n->len < 2 || n->b[0] == 0 || (size_t)n->b[0] + 1 > outlen) {
        return -1;
    }
    memcpy(out, &n->b[1], n->b[0]);
    out[n->b[0]] = 0;
    return n->b[0];
}

/* ---- reading ---------------------------------------------------------------- */

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int dns_reader_init(dns_reader_t *r, const uint8_t *msg, size_t len)
{
    memset(r, 0, sizeof(*r));
    if (!msg || len < DNS_HEADER_LEN) {
        return -1;
    }
    r->msg = msg;
    r->len = len;
    r->off = DNS_HEADER_LEN;
    r->h.id = rd16(msg);
    r->h.flags = rd16(msg + 2);
    r->h.qdcount = rd16(msg + 4);
    r->h.ancount = rd16(msg + 6);
    r->h.nscount = rd16(msg + 8);
    r->h.arcount = rd16(msg + 10);
    return 0;
}

int dns_read_name(const uint8_t *msg, size_t len, size_t *off, dns_name_t *out)
{
    size_t pos = *off;
    size_t resume = 0;    /* where reading goes on after the name, set at the first pointer */
    size_t lowest = pos;  /* pointers must land strictly before this: no loops possible */
    size_t o = 0;
    for (;;) {
        if (pos >= len) {
            return -1;
        }
        uint8_t c = msg[pos];
        if ((c & 0xc0) == 0xc0) {
            if (pos + 1 >= len) {
                return -1;
            }
            size_t target = (size_t)(c & 0x3f) << 8 | msg[pos + 1];
            if (target >= lowest || target < DNS_HEADER_LEN) {
                return -1;
            }
            if (!resume) {
                resume = pos + 2;
            }
            lowest = target;
            pos = target;
            continue;
        }
        if (c & 0xc0) {
            return -1; /* 0x40 extended / 0x80 reserved label types */
        }
        if (o + 1u + c > DNS_NAME_MAX) {
            return -1;
        }
        if (c == 0) {
            out->b[o++] = 0;
            out->len = (uint8_t)o;
            *off = resume ? resume : pos + 1;
            return 0;
        }
        if (pos + 1u + c > len) {
            return -1;
        }
        memcpy(&out->b[o], &msg[pos], 1u + c);
        o += 1u + c;
        pos += 1u + c;
    }
}

int dns_read_question(dns_reader_t *r, dns_question_t *q)
{
    size_t off = r->off;
    if (dns_read_name(r->msg, r->len, &off, &q->name) != 0 || off + 4 > r->len) {
        return -1;
    }
    q->type = rd16(r->msg + off);
    uint16_t c = rd16(r->msg + off + 2);
    q->cls = c & MDNS_CLASS_MASK;
    q->top_bit = (c & MDNS_CLASS_TOP) != 0;
    r->off = off + 4;
    return 0;
}

int dns_read_rr(dns_reader_t *r, dns_rr_t *rr)
{
    size_t off = r->off;
    if (dns_read_name(r->msg, r->len, &off, &rr->name) != 0 || off + 10 > r->len) {
        return -1;
    }
    rr->type = rd16(r->msg + off);
    uint16_t c = rd16(r->msg + off + 2);
    rr->cls = c & MDNS_CLASS_MASK;
    rr->top_bit = (c & MDNS_CLASS_TOP) != 0;
    rr->ttl = rd32(r->msg + off + 4);
    rr->rdlen = rd16(r->msg + off + 8);
    rr->rdoff = off + 10;
    if (rr->rdoff + rr->rdlen > r->len) {
        return -1;
    }
    r->off = rr->rdoff + rr->rdlen;
    return 0;
}

int dns_rr_canonical_rdata(const dns_reader_t *r, const dns_rr_t *rr, uint8_t *out, size_t cap)
{
    size_t end = rr->rdoff + rr->rdlen;
    size_t fixed = rr->type == DNS_TYPE_SRV ? 6 : 0;
    if (rr->type != DNS_TYPE_PTR && rr->type != DNS_TYPE_SRV) {
        if (rr->rdlen > cap) {
            return -1;
        }
        memcpy(out, r->msg + rr->rdoff, rr->rdlen);
        return rr->rdlen;
    }
    if (rr->rdlen < fixed + 1 || fixed > cap) {
        return -1;
    }
    memcpy(out, r->msg + rr->rdoff, fixed);
    dns_name_t n;
    size_t off = rr->rdoff + fixed;
    /* The name must end exactly at the end of the rdata (pointers may reach outside it). */
    if (dns_read_name(r->msg, end, &off, &n) != 0 || off != end || fixed + n.len > cap) {
        return -1;
    }
    memcpy(out + fixed, n.b, n.len);
    return (int)(fixed + n.len);
}

/* ---- writing ---------------------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

void dns_writer_init(dns_writer_t *w, uint8_t *buf, size_t cap, uint16_t id, uint16_t flags)
{
    memset(w, 0, sizeof(*w));
    w->buf = buf;
    w->cap = cap;
    if (cap < DNS_HEADER_LEN) {
        w->overflow = true;
        return;
    }
    memset(buf, 0, DNS_HEADER_LEN);
    put16(buf, id);
    put16(buf + 2, flags);
    w->len = DNS_HEADER_LEN;
}

void dns_write_bytes(dns_writer_t *w, const void *p, size_t n)
{
    if (w->overflow || n > w->cap - w->len) {
        w->overflow = true;
        return;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

void dns_write_u16(dns_writer_t *w, uint16_t v)
{
    uint8_t b[2];
    put16(b, v);
    dns_write_bytes(w, b, 2);
}

void dns_write_u32(dns_writer_t *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    dns_write_bytes(w, b, 4);
}

/* Offset of an earlier occurrence of the name suffix (labels from byte at), or 0. */
static uint16_t find_suffix(const dns_writer_t *w, const dns_name_t *n, size_t at)
{
    dns_name_t suffix;
    suffix.len = (uint8_t)(n->len - at);
    memcpy(suffix.b, n->b + at, suffix.len);
    for (unsigned i = 0; i < w->nptrs; i++) {
        size_t off = w->ptrs[i];
        dns_name_t seen;
        if (dns_read_name(w->buf, w->len, &off, &seen) == 0 && dns_name_eq(&seen, &suffix)) {
            return w->ptrs[i];
        }
    }
    return 0;
}

void dns_write_name(dns_writer_t *w, const dns_name_t *n)
{
    if (n->len == 0) {
        w->overflow = true; /* an unset name is a caller bug: never send half a record */
        return;
    }
    size_t at = 0;
    while (at < n->len && n->b[at]) {
        uint16_t ptr = find_suffix(w, n, at);
        if (ptr) {
            dns_write_u16(w, (uint16_t)(0xc000u | ptr));
            return;
        }
        if (!w->overflow && w->len < 0x3fff && w->nptrs < DNS_WRITER_MAX_PTRS) {
            w->ptrs[w->nptrs++] = (uint16_t)w->len;
        }
        dns_write_bytes(w, &n->b[at], 1u + n->b[at]);
        at += 1u + n->b[at];
    }
    dns_write_bytes(w, "", 1);
}

void dns_write_question(dns_writer_t *w, const dns_name_t *name, uint16_t type, uint16_t cls)
{
    dns_write_name(w, name);
    dns_write_u16(w, type);
    dns_write_u16(w, cls);
    w->counts[DNS_SEC_QD]++;
}

size_t dns_write_rr_begin(dns_writer_t *w, int sec, const dns_name_t *name, uint16_t type, uint16_t cls,
                          uint32_t ttl)
{
    dns_write_name(w, name);
    dns_write_u16(w, type);
    dns_write_u16(w, cls);
    dns_write_u32(w, ttl);
    size_t mark = w->len;
    dns_write_u16(w, 0);
    w->counts[sec]++;
    return mark;
}

void dns_write_rr_end(dns_writer_t *w, size_t mark)
{
    if (w->overflow || mark + 2 > w->len) {
        w->overflow = true;
        return;
    }
    put16(w->buf + mark, (uint16_t)(w->len - mark - 2));
}

size_t dns_writer_finish(dns_writer_t *w)
{
    if (w->overflow) {
        return 0;
    }
    for (int i = 0; i < 4; i++) {
        put16(w->buf + 4 + 2 * i, w->counts[i]);
    }
    return w->len;
}
