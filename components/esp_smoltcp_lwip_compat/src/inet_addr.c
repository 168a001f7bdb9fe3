/* Address text conversion (inet_pton/inet_ntop semantics, glibc as the oracle). */
#ifndef _GNU_SOURCE /* IDF's linux target passes -D_GNU_SOURCE */
#define _GNU_SOURCE /* glibc shows struct addrinfo, hostent under strict C11 only with it */
#endif
#include <stdio.h>
#include <string.h>

#include "netdb_compat.h"

bool compat_inet_pton4(const char *src, uint8_t out[4])
{
    uint8_t tmp[4];
    int parts = 0;
    while (parts < 4) {
        if (*src < '0' || *src > '9') {
            return false;
        }
        unsigned v = 0;
        const char *start = src;
        while (*src >= '0' && *src <= '9') {
            v = v * 10 + (unsigned)(*src++ - '0');
            if (v > 255 || (src - start > 1 && *start == '0')) {
                return false; /* out of range, or a leading zero (octal look-alike) */
            }
        }
        tmp[parts++] = (uint8_t)v;
        if (parts < 4 && *src++ != '.') {
            return false;
        }
    }
    if (*src != '\0') {
        return false;
    }
    memcpy(out, tmp, 4);
    return true;
}

static int hexval(char c);

bool compat_inet_aton(const char *src, uint8_t out[4])
{
    uint32_t parts[4];
    int n = 0;
    for (;;) {
        if (*src < '0' || *src > '9') {
            return false;
        }
        uint64_t v = 0;
        int base = 10;
        if (src[0] == '0' && (src[1] == 'x' || src[1] == 'X')) {
            base = 16;
            src += 2;
        } else if (src[0] == '0') {
            base = 8;
        }
        int digits = 0;
        for (;; src++, digits++) {
            int d = hexval(*src);
            if (d < 0 || d >= base) {
                break;
            }
            v = v * (unsigned)base + (unsigned)d;
            if (v > 0xffffffffu) {
                return false;
            }
        }
        if (base == 16 && digits == 0) {
            /* "0x" alone is 0 for inet_aton */
        }
        parts[n++] = (uint32_t)v;
        if (*src == '.' && n < 4) {
            src++;
            continue;
        }
        break;
    }
    if (*src != '\0') {
        return false;
    }
    /* The last part fills the remaining bytes (a.b.c: c is 16 bits, a.b: b is 24 bits). */
    static const uint32_t last_max[4] = {0xffffffffu, 0xffffffu, 0xffffu, 0xffu};
    for (int i = 0; i < n - 1; i++) {
        if (parts[i] > 0xff) {
            return false;
        }
    }
    if (parts[n - 1] > last_max[n - 1]) {
        return false;
    }
    uint32_t v = parts[n - 1];
    for (int i = 0; i < n - 1; i++) {
        v |= parts[i] << (24 - 8 * i);
    }
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

bool compat_inet_pton6(const char *src, uint8_t out[16])
{
    uint8_t tmp[16] = {0};
    int n = 0;          /* bytes written */
    int gap = -1;       /* byte index of "::" */
    if (src[0] == ':' && src[1] != ':') {
        return false;
    }
    if (src[0] == ':') {
        src++;
    }
    while (*src) {
        if (*src == ':') {
            if (gap >= 0) {
                return false; /* a second "::" */
            }
            gap = n;
            src++;
            if (*src == '\0') {
                break;
            }
            continue;
        }
        /* A dotted quad may end the address (RFC 4291 §2.2 form 3). */
        const char *colon = strchr(src, ':');
        const char *dot = strchr(src, '.');
        if (dot && (!colon || dot < colon)) {
            if (n > 12 || !compat_inet_pton4(src, tmp + n)) {
                return false;
            }
            n += 4;
            src += strlen(src);
            break;
        }
        unsigned v = 0;
        int digits = 0;
        while (hexval(*src) >= 0) {
            v = (v << 4) | (unsigned)hexval(*src++);
            if (++digits > 4) {
                return false;
            }
        }
        if (digits == 0 || n > 14) {
            return false;
        }
        tmp[n++] = (uint8_t)(v >> 8);
        tmp[n++] = (uint8_t)v;
        if (*src == ':') {
            src++;
            if (*src == '\0') {
                return false; /* trailing single colon */
            }
            if (*src == ':') {
                continue; /* "::" handled at the top of the loop */
            }
        } else if (*src != '\0') {
            return false;
        }
    }
    if (gap >= 0) {
        if (n == 16) {
            return false; /* "::" must stand for at least one group */
        }
        memmove(tmp + 16 - (n - gap), tmp + gap, (size_t)(n - gap));
        memset(tmp + gap, 0, (size_t)(16 - n));
    } else if (n != 16) {
        return false;
    }
    memcpy(out, tmp, 16);
    return true;
}

const char *compat_inet_ntop4(const uint8_t a[4], char *dst, size_t size)
{
    char buf[16];
    int len = snprintf(buf, sizeof(buf), "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
    if (!dst || (size_t)len >= size) {
        return NULL;
    }
    memcpy(dst, buf, (size_t)len + 1);
    return dst;
}

const char *compat_inet_ntop6(const uint8_t a[16], char *dst, size_t size)
{
    char buf[48];
    size_t pos = 0;
    uint16_t g[8];
    for (int i = 0; i < 8; i++) {
        g[i] = (uint16_t)(a[2 * i] << 8 | a[2 * i + 1]);
    }
    /* RFC 5952 §4.2: the longest run (first on a tie) of two or more zero groups becomes "::". */
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        if (g[i] != 0) {
            i++;
            continue;
        }
        int j = i;
        while (j < 8 && g[j] == 0) {
            j++;
        }
        if (j - i > best_len && j - i >= 2) {
            best = i;
            best_len = j - i;
        }
        i = j;
    }
    /* ::ffff:a.b.c.d and ::a.b.c.d keep the dotted quad (glibc's choice). */
    bool v4_tail = best == 0 && (best_len == 6 || (best_len == 5 && g[5] == 0xffff));
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, "::");
            i += best_len - 1;
            if (v4_tail && best_len == 5) {
                pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, "ffff:");
                i++;
            }
            if (v4_tail) {
                pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, "%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
                break;
            }
            continue;
        }
        if (i > 0 && !(best >= 0 && i == best + best_len)) {
            buf[pos++] = ':';
        }
        pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, "%x", g[i]);
    }
    buf[pos] = '\0';
    if (!dst || pos >= size) {
        return NULL;
    }
    memcpy(dst, buf, pos + 1);
    return dst;
}
