/*
 * netdb: getaddrinfo / freeaddrinfo / gethostbyname / gethostbyname_r over
 * the stack's resolver, with glibc's behaviour as the oracle (the
 * differential suite compares them): numeric hosts and ports, hints
 * (family, socktype, protocol, AI_PASSIVE, AI_NUMERICHOST, AI_NUMERICSERV,
 * AI_CANONNAME), one entry per socket type when none is asked for, and
 * EAI_* errors. Bounded in time by COMPAT_DNS_TIMEOUT_MS.
 */
#ifndef _GNU_SOURCE /* IDF's linux target passes -D_GNU_SOURCE */
#define _GNU_SOURCE /* glibc shows struct addrinfo, hostent under strict C11 only with it */
#endif
#include "netdb_compat.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "esp_smoltcp_dns.h"

#define COMPAT_DNS_TIMEOUT_MS 5000
#define MAX_ADDRS 8

/* Service names a device meets, with the protocols IANA/Debian's netbase list them for. */
#define SVC_TCP 1
#define SVC_UDP 2
static const struct {
    const char *name;
    uint16_t port;
    uint8_t protos;
} services[] = {
    {"http", 80, SVC_TCP}, {"https", 443, SVC_TCP | SVC_UDP}, {"mqtt", 1883, SVC_TCP}, {"ntp", 123, SVC_UDP},
    {"domain", 53, SVC_TCP | SVC_UDP}, {"ssh", 22, SVC_TCP}, {"telnet", 23, SVC_TCP}, {"smtp", 25, SVC_TCP},
    {"ftp", 21, SVC_TCP},
};

/*
 * Service to port, in glibc's order of checks (the differential test pins
 * it): text strtoul() takes whole is numeric and truncated to 16 bits, a
 * value that is negative as an int is refused; names need the table.
 */
static int parse_service(const char *service, int flags, int socktype, uint16_t *port, uint8_t *protos)
{
    *port = 0;
    *protos = SVC_TCP | SVC_UDP;
    if (!service) {
        return 0;
    }
    char *end;
    unsigned long v = strtoul(service, &end, 10);
    bool numeric = *service != '\0' && *end == '\0';
    if (!numeric && (flags & AI_NUMERICSERV)) {
        return EAI_NONAME;
    }
    if (socktype == SOCK_RAW) {
        return EAI_SERVICE; /* a raw socket has no port */
    }
    if (numeric) {
        if ((int)v < 0) {
            return EAI_SERVICE;
        }
        *port = (uint16_t)v;
        return 0;
    }
    for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
        if (strcmp(services[i].name, service) == 0) {
            uint8_t want = socktype == SOCK_STREAM ? SVC_TCP : socktype == SOCK_DGRAM ? SVC_UDP : services[i].protos;
            if (!(services[i].protos & want)) {
                return EAI_SERVICE;
            }
            *port = services[i].port;
            *protos = services[i].protos;
            return 0;
        }
    }
    return EAI_SERVICE;
}

/* Numeric address of family (or either for AF_UNSPEC). */
/* Numeric address of family (or either for AF_UNSPEC); IPv4 in inet_aton's forms, as glibc takes them. */
static bool parse_numeric(const char *node, int family, esp_smoltcp_endpoint_t *ep)
{
    memset(ep, 0, sizeof(*ep));
    if ((family == AF_UNSPEC || family == AF_INET) && compat_inet_aton(node, ep->addr)) {
        ep->family = ESP_SMOLTCP_AF_INET;
        return true;
    }
    if (compat_inet_pton6(node, ep->addr)) {
        static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (family == AF_INET && memcmp(ep->addr, v4mapped, 12) == 0) {
            memmove(ep->addr, ep->addr + 12, 4); /* glibc gives an IPv4 caller the mapped address */
            memset(ep->addr + 4, 0, 12);
            ep->family = ESP_SMOLTCP_AF_INET;
            return true;
        }
        if (family == AF_UNSPEC || family == AF_INET6) {
            ep->family = ESP_SMOLTCP_AF_INET6;
            return true;
        }
    }
    memset(ep, 0, sizeof(*ep));
    return false;
}

static int fill_special(const char *node, int family, int flags, esp_smoltcp_endpoint_t *eps, size_t *n)
{
    static const uint8_t lo6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    bool passive = !node && (flags & AI_PASSIVE);
    *n = 0;
    /* No node: the any address with AI_PASSIVE, else loopback (RFC 3493 §6.1); "localhost" is loopback.
     * Order as glibc hands them out: the IPv4 wildcard first, but the IPv6 loopback first. */
    esp_smoltcp_endpoint_t v4 = {.family = ESP_SMOLTCP_AF_INET}, v6 = {.family = ESP_SMOLTCP_AF_INET6};
    if (!passive) {
        v4.addr[0] = 127;
        v4.addr[3] = 1;
        memcpy(v6.addr, lo6, 16);
    }
    bool want4 = family == AF_INET || family == AF_UNSPEC, want6 = family == AF_INET6 || family == AF_UNSPEC;
    if (want4 && passive) {
        eps[(*n)++] = v4;
    }
    if (want6) {
        eps[(*n)++] = v6;
    }
    if (want4 && !passive) {
        eps[(*n)++] = v4;
    }
    return 0;
}

static struct addrinfo *new_ai(const esp_smoltcp_endpoint_t *ep, uint16_t port, int socktype, int protocol,
                               const char *canon)
{
    struct addrinfo *ai = calloc(1, sizeof(*ai) + sizeof(struct sockaddr_storage));
    if (!ai) {
        return NULL;
    }
    struct sockaddr *sa = (struct sockaddr *)(ai + 1);
    if (ep->family == ESP_SMOLTCP_AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        memcpy(in6->sin6_addr.s6_addr, ep->addr, 16);
        ai->ai_family = AF_INET6;
        ai->ai_addrlen = sizeof(struct sockaddr_in6);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)sa;
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        memcpy(&in->sin_addr.s_addr, ep->addr, 4);
        ai->ai_family = AF_INET;
        ai->ai_addrlen = sizeof(struct sockaddr_in);
    }
    ai->ai_addr = sa;
    ai->ai_socktype = socktype;
    ai->ai_protocol = protocol;
    if (canon) {
        ai->ai_canonname = strdup(canon);
        if (!ai->ai_canonname) {
            free(ai);
            return NULL;
        }
    }
    return ai;
}

void compat_freeaddrinfo(struct addrinfo *ai)
{
    while (ai) {
        struct addrinfo *next = ai->ai_next;
        free(ai->ai_canonname);
        free(ai);
        ai = next;
    }
}

int compat_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
    if (!res) {
        return EAI_FAIL;
    }
    *res = NULL;
    int family = hints ? hints->ai_family : AF_UNSPEC;
    int socktype = hints ? hints->ai_socktype : 0;
    int protocol = hints ? hints->ai_protocol : 0;
    int flags = hints ? hints->ai_flags : 0;
    const int known_flags = AI_PASSIVE | AI_CANONNAME | AI_NUMERICHOST | AI_NUMERICSERV | AI_V4MAPPED | AI_ALL |
                            AI_ADDRCONFIG;
    if (!node && !service) {
        return EAI_NONAME;
    }
    if (flags & ~known_flags) {
        return EAI_BADFLAGS;
    }
    if ((flags & AI_CANONNAME) && !node) {
        return EAI_BADFLAGS;
    }
    if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6) {
        return EAI_FAMILY;
    }
    if (socktype != 0 && socktype != SOCK_STREAM && socktype != SOCK_DGRAM && socktype != SOCK_RAW) {
        return EAI_SOCKTYPE;
    }
    if ((socktype == SOCK_STREAM && protocol != 0 && protocol != IPPROTO_TCP) ||
        (socktype == SOCK_DGRAM && protocol != 0 && protocol != IPPROTO_UDP)) {
        return EAI_SERVICE;
    }
    uint16_t port;
    uint8_t protos;
    int rc = parse_service(service, flags, socktype, &port, &protos);
    if (rc != 0) {
        return rc;
    }

    esp_smoltcp_endpoint_t eps[MAX_ADDRS];
    size_t n = 0;
    if (!node || strcmp(node, "localhost") == 0) {
        fill_special(node, family, flags, eps, &n);
    } else if (parse_numeric(node, family, &eps[0])) {
        n = 1;
    } else if (parse_numeric(node, AF_UNSPEC, &eps[0])) {
        return EAI_ADDRFAMILY; /* numeric, but of the other family */
    } else if (flags & AI_NUMERICHOST) {
        return EAI_NONAME;
    } else {
        int native = family == AF_INET ? ESP_SMOLTCP_AF_INET : family == AF_INET6 ? ESP_SMOLTCP_AF_INET6
                                                                                   : ESP_SMOLTCP_AF_UNSPEC;
        int got = esp_smoltcp_dns_resolve(node, native, eps, MAX_ADDRS, COMPAT_DNS_TIMEOUT_MS);
        if (got == -ENOENT) {
            return EAI_NONAME;
        }
        if (got == -EINVAL) {
            return EAI_NONAME;
        }
        if (got < 0) {
            return EAI_AGAIN; /* timeout, no server yet, all query slots busy */
        }
        n = (size_t)got;
    }

    /* One entry per socket type when none is asked for, as glibc does. */
    static const int all_types[3][2] = {{SOCK_STREAM, IPPROTO_TCP}, {SOCK_DGRAM, IPPROTO_UDP}, {SOCK_RAW, 0}};
    struct addrinfo *head = NULL, **tail = &head;
    for (size_t i = 0; i < n; i++) {
        for (int t = 0; t < 3; t++) {
            int st = all_types[t][0];
            if (socktype && st != socktype) {
                continue;
            }
            /* A named service brings only its own protocols (and no raw entry). */
            if (!socktype && ((st == SOCK_STREAM && !(protos & SVC_TCP)) || (st == SOCK_DGRAM && !(protos & SVC_UDP)) ||
                              (st == SOCK_RAW && protos != (SVC_TCP | SVC_UDP)))) {
                continue;
            }
            int proto = protocol ? protocol : all_types[t][1];
            struct addrinfo *ai = new_ai(&eps[i], port, st, proto, head == NULL && (flags & AI_CANONNAME) ? node : NULL);
            if (!ai) {
                compat_freeaddrinfo(head);
                return EAI_MEMORY;
            }
            *tail = ai;
            tail = &ai->ai_next;
        }
    }
    *res = head;
    return head ? 0 : EAI_NONAME;
}

/* ---- gethostbyname ------------------------------------------------------------------- */

int compat_gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen, struct hostent **result,
                           int *h_errnop)
{
    if (!result || !ret || !buf) {
        return EINVAL;
    }
    *result = NULL;
    if (!name) {
        if (h_errnop) {
            *h_errnop = HOST_NOT_FOUND;
        }
        return EINVAL;
    }
    esp_smoltcp_endpoint_t eps[MAX_ADDRS];
    int n;
    if (strcmp(name, "localhost") == 0) {
        size_t k;
        fill_special(NULL, AF_INET, 0, eps, &k);
        n = (int)k;
    } else if (compat_inet_pton4(name, eps[0].addr)) {
        n = 1;
    } else {
        n = esp_smoltcp_dns_resolve(name, ESP_SMOLTCP_AF_INET, eps, MAX_ADDRS, COMPAT_DNS_TIMEOUT_MS);
    }
    if (n <= 0) {
        if (h_errnop) {
            *h_errnop = n == -ENOENT || n == -EINVAL ? HOST_NOT_FOUND : TRY_AGAIN;
        }
        return n == -ENOENT || n == -EINVAL ? ENOENT : EAGAIN;
    }
    /* Layout in buf: addr_list[n+1] | aliases[1] | addresses | name. */
    size_t name_len = strlen(name) + 1;
    size_t ptrs = sizeof(char *) * ((size_t)n + 2);
    size_t need = ptrs + 4 * (size_t)n + name_len + sizeof(char *);
    if (buflen < need) {
        return ERANGE;
    }
    uintptr_t p = ((uintptr_t)buf + sizeof(char *) - 1) & ~(uintptr_t)(sizeof(char *) - 1);
    if (p + need > (uintptr_t)buf + buflen) {
        return ERANGE;
    }
    char **addr_list = (char **)p;
    char **aliases = addr_list + n + 1;
    char *addrs = (char *)(aliases + 1);
    char *h_name = addrs + 4 * n;
    for (int i = 0; i < n; i++) {
        memcpy(addrs + 4 * i, eps[i].addr, 4);
        addr_list[i] = addrs + 4 * i;
    }
    addr_list[n] = NULL;
    aliases[0] = NULL;
    memcpy(h_name, name, name_len);
    ret->h_name = h_name;
    ret->h_aliases = aliases;
    ret->h_addrtype = AF_INET;
    ret->h_length = 4;
    ret->h_addr_list = addr_list;
    *result = ret;
    if (h_errnop) {
        *h_errnop = 0;
    }
    return 0;
}

struct hostent *compat_gethostbyname(const char *name)
{
    /* Not reentrant, as POSIX allows; gethostbyname_r is the thread-safe one. */
    static struct hostent he;
    static char buf[256];
    struct hostent *res = NULL;
    int herr = 0;
    compat_gethostbyname_r(name, &he, buf, sizeof(buf), &res, &herr);
    return res;
}
