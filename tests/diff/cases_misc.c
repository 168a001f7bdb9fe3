/* fcntl, ioctl, inet_pton/inet_ntop, bad descriptors and pointers, raw ICMP. */
#define _GNU_SOURCE
#include "diff.h"

#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>

/* ---- fcntl / ioctl ------------------------------------------------------------------ */

static void fcntl_flags(int fam)
{
    int s = sock(fam, SOCK_STREAM, 0);
    int fl = fcntl(s, F_GETFL);
    EXPECT("getfl", fl >= 0);
    VAL("setfl_nonblock", fcntl(s, F_SETFL, fl | O_NONBLOCK), 0);
    VAL("nonblock", fcntl(s, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    VAL("setfl_clear", fcntl(s, F_SETFL, fl & ~O_NONBLOCK), 0);
    VAL("cleared", fcntl(s, F_GETFL) & O_NONBLOCK, 0);
    VAL("getfd", fcntl(s, F_GETFD), 0);
    VAL("setfd", fcntl(s, F_SETFD, FD_CLOEXEC), 0);
    VAL("getfd_cloexec", fcntl(s, F_GETFD), FD_CLOEXEC);
    ERR("bad_cmd", fcntl(s, 12345), EINVAL);
    drop(s);
    ERR("getfd_closed", fcntl(s, F_GETFD), EBADF);
    ERR("getfl_closed", fcntl(s, F_GETFL), EBADF);
    ERR("setfl_closed", fcntl(s, F_SETFL, O_NONBLOCK), EBADF);
}

static void ioctl_fionbio(int fam)
{
    int c = echo_conn(fam);
    int on = 1, off = 0;
    OK("fionbio_on", ioctl(c, FIONBIO, &on));
    VAL("getfl", fcntl(c, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    char b[8];
    ERR("recv", recv(c, b, sizeof(b), 0), EAGAIN);
    OK("fionbio_off", ioctl(c, FIONBIO, &off));
    VAL("getfl_off", fcntl(c, F_GETFL) & O_NONBLOCK, 0);
    ERR("unknown_request", ioctl(c, 0x7777, &on), ENOTTY);
    ERR("badfd", ioctl(1006, FIONBIO, &on), EBADF);
}

static void ioctl_fionread(int fam)
{
    int c = peer_open(fam, "send 123");
    int n = -1;
    wait_ev(c, POLLIN, 3000);
    sleep_ms(150);
    OK("fionread", ioctl(c, FIONREAD, &n));
    VAL("bytes", n, 123);
    char b[200];
    recv(c, b, 100, 0);
    ioctl(c, FIONREAD, &n);
    VAL("bytes_left", n, 23);
    int e = echo_conn(fam);
    OK("fionread_empty", ioctl(e, FIONREAD, &n));
    VAL("empty", n, 0);
    int port;
    int l = listener(fam, 1, &port);
    ANY("fionread_listener", ioctl(l, FIONREAD, &n));
}

/* ---- inet_pton / inet_ntop ---------------------------------------------------------- */

static void pton_cases(int af, const char *const *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t a[16], r[16];
        memset(a, 0xAA, sizeof(a));
        memset(r, 0xAA, sizeof(r));
        int got = inet_pton(af, in[i], a);
        int want = ref_pton(af, in[i], r);
        char lbl[80];
        snprintf(lbl, sizeof(lbl), "pton(%s)", in[i]);
        VAL(lbl, got, want);
        if (got == 1 && want == 1 && memcmp(a, r, af == AF_INET ? 4 : 16) != 0) {
            fail("pton(%s): bytes differ", in[i]);
        }
    }
}

static void inet_pton4(int fam)
{
    (void)fam;
    static const char *const in[] = {"198.18.0.1", "0.0.0.0", "255.255.255.255", "1.2.3.4", "256.1.1.1",
                                     "1.2.3", "1.2.3.4.5", "01.2.3.4", " 1.2.3.4", "1.2.3.4 ", "1..2.3",
                                     "", "a.b.c.d", "1.2.3.-4", "0x1.2.3.4", "1.2.3.255", "001.2.3.4"};
    pton_cases(AF_INET, in, sizeof(in) / sizeof(in[0]));
}

static void inet_pton6(int fam)
{
    (void)fam;
    static const char *const in[] = {
        "::", "::1", "2001:db8::1", "2001:DB8:0:0:0:0:0:1", "::ffff:1.2.3.4", "::1.2.3.4", "1:2:3:4:5:6:7:8",
        "1:2:3:4:5:6:1.2.3.4", "1::2::3", "12345::", ":1", "1:", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::",
        "::1:2:3:4:5:6:7", "fe80::1%eth0", "", ":", ":::", "1:2:3:4:5:6:7", "::ffff:1.2.3", "::ffff:1.2.3.256",
        "g::1", "1:2:3:4:5:6:7:1.2.3.4", "0:0:0:0:0:0:0:0", "::0:0", "1::", "ffff::ffff"};
    pton_cases(AF_INET6, in, sizeof(in) / sizeof(in[0]));
    uint8_t a[16];
    errno = 0;
    ERR("bad_af", inet_pton(12345, "1.2.3.4", a), EAFNOSUPPORT);
}

static void inet_ntop4(int fam)
{
    (void)fam;
    static const char *const in[] = {"198.18.0.1", "0.0.0.0", "255.255.255.255", "10.0.200.3"};
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        uint8_t a[4];
        ref_pton(AF_INET, in[i], a);
        char got[INET_ADDRSTRLEN] = "", want[INET_ADDRSTRLEN] = "";
        const char *r = inet_ntop(AF_INET, a, got, sizeof(got));
        ref_ntop(AF_INET, a, want, sizeof(want));
        obs("ntop=%s", r ? got : "NULL");
        if (!r || strcmp(got, want) != 0) {
            fail("ntop(%s) = %s, want %s", in[i], r ? got : "NULL", want);
        }
    }
    uint8_t a[4] = {198, 18, 0, 1};
    char small[10];
    EXPECT("too_small_null", inet_ntop(AF_INET, a, small, sizeof(small)) == NULL);
    obs("errno=%s", err_name(errno));
    char exact[11];
    EXPECT("exact_fits", inet_ntop(AF_INET, a, exact, sizeof(exact)) != NULL);
    errno = 0;
    EXPECT("bad_af_null", inet_ntop(12345, a, exact, sizeof(exact)) == NULL);
    obs("bad_af_errno=%s", err_name(errno));
}

static void inet_ntop6(int fam)
{
    (void)fam;
    static const char *const in[] = {
        "::", "::1", "2001:db8::1", "2001:db8:0:0:1:0:0:1", "2001:db8:0:1:1:1:1:1", "::ffff:1.2.3.4", "::1.2.3.4",
        "1:0:0:2:0:0:0:3", "fe80::200:ff:fe00:2", "1:2:3:4:5:6:7:8", "0:0:0:0:0:0:0:1", "1::", "0:1:0:0:0:0:0:0",
        "::ffff:0:1.2.3.4", "::ffff:0.0.0.0", "1:0:0:0:0:0:0:0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "::2:3:4:5:6:7:8", "::fffe:1.2.3.4", "0:0:0:0:0:1:0:0"};
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        uint8_t a[16];
        ref_pton(AF_INET6, in[i], a);
        char got[INET6_ADDRSTRLEN] = "", want[INET6_ADDRSTRLEN] = "";
        const char *r = inet_ntop(AF_INET6, a, got, sizeof(got));
        ref_ntop(AF_INET6, a, want, sizeof(want));
        obs("ntop=%s", r ? got : "NULL");
        if (!r || strcmp(got, want) != 0) {
            fail("ntop(%s) = %s, want %s", in[i], r ? got : "NULL", want);
        }
    }
    uint8_t a[16];
    ref_pton(AF_INET6, "2001:db8::1", a);
    char small[11];
    errno = 0;
    EXPECT("too_small_null", inet_ntop(AF_INET6, a, small, sizeof(small)) == NULL);
    obs("errno=%s", err_name(errno));
    char exact[12];
    EXPECT("exact_fits", inet_ntop(AF_INET6, a, exact, sizeof(exact)) != NULL);
}

/* ---- bad descriptors and pointers --------------------------------------------------- */

static void ebadf_calls(int fam)
{
    int s = sock(fam, SOCK_STREAM, 0);
    drop(s);
    char b[4];
    struct sockaddr_storage ss;
    socklen_t l = sizeof(ss);
    int v;
    socklen_t vl = sizeof(v);
    ERR("send", send(s, "x", 1, 0), EBADF);
    ERR("recv", recv(s, b, 1, 0), EBADF);
    ERR("sendto", sendto(s, "x", 1, 0, NULL, 0), EBADF);
    ERR("recvfrom", recvfrom(s, b, 1, 0, NULL, NULL), EBADF);
    ERR("read", read(s, b, 1), EBADF);
    ERR("write", write(s, "x", 1), EBADF);
    ERR("getsockname", getsockname(s, SA(&ss), &l), EBADF);
    ERR("getpeername", getpeername(s, SA(&ss), &l), EBADF);
    ERR("getsockopt", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &vl), EBADF);
    ERR("shutdown", shutdown(s, SHUT_RDWR), EBADF);
    ERR("close", close(s), EBADF);
    ERR("close_negative", close(-1), EBADF);
    ERR("send_negative", send(-1, "x", 1, 0), EBADF);
    ERR("ioctl", ioctl(s, FIONREAD, &v), EBADF);
}

static void enotsock_calls(int fam)
{
    int p[2];
    if (pipe(p) != 0) {
        fail("pipe: %s", err_name(errno));
        return;
    }
    char b[4];
    struct sockaddr_storage ss;
    socklen_t l = sizeof(ss);
    socklen_t len = peer_sa(fam, CTL_PORT, &ss);
    int v;
    socklen_t vl = sizeof(v);
    ERR("send", send(p[1], "x", 1, 0), ENOTSOCK);
    ERR("recv", recv(p[0], b, 1, MSG_DONTWAIT), ENOTSOCK);
    ERR("connect", connect(p[0], SA(&ss), len), ENOTSOCK);
    ERR("bind", bind(p[0], SA(&ss), len), ENOTSOCK);
    ERR("listen", listen(p[0], 1), ENOTSOCK);
    ERR("accept", accept(p[0], NULL, NULL), ENOTSOCK);
    ERR("getsockname", getsockname(p[0], SA(&ss), &l), ENOTSOCK);
    ERR("getsockopt", getsockopt(p[0], SOL_SOCKET, SO_TYPE, &v, &vl), ENOTSOCK);
    ERR("shutdown", shutdown(p[0], SHUT_RD), ENOTSOCK);
    /* read/write/close on a non-socket fd still reach the file. */
    VAL("write_pipe", write(p[1], "ab", 2), 2);
    VAL("read_pipe", read(p[0], b, sizeof(b)), 2);
    VAL("close_pipe", close(p[0]), 0);
    VAL("close_pipe2", close(p[1]), 0);
}

static void efault_calls(int fam)
{
    int c = peer_open(fam, "send 10");
    wait_ev(c, POLLIN, 3000);
    sleep_ms(100);
    ERR("send_null", send(c, NULLP, 5, 0), EFAULT);
    ERR("recv_null", recv(c, NULLP, 5, 0), EFAULT);
    char b[16];
    VAL("recv_after", recv(c, b, sizeof(b), 0), 10);
    socklen_t l = sizeof(struct sockaddr_storage);
    ERR("getpeername_null", getpeername(c, NULLP, &l), EFAULT);
    struct sockaddr_storage ss;
    ERR("getpeername_null_len", getpeername(c, SA(&ss), NULLP), EFAULT);
    ERR("sendmsg_null", sendmsg(c, NULLP, 0), EFAULT);
    ERR("recvmsg_null", recvmsg(c, NULLP, 0), EFAULT);
    ERR("readv_null", readv(c, NULLP, 1), EFAULT);
}

/* ---- raw ICMP --------------------------------------------------------------------------- */

static uint16_t csum(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    }
    if (len & 1) {
        sum += (uint32_t)(p[len - 1] << 8);
    }
    while (sum >> 16) {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    return (uint16_t)~sum;
}

static int echo_request(uint8_t *m, int v6, uint16_t id, uint16_t seq, size_t payload)
{
    m[0] = v6 ? 128 : 8;
    m[1] = 0;
    m[2] = m[3] = 0;
    m[4] = (uint8_t)(id >> 8);
    m[5] = (uint8_t)id;
    m[6] = (uint8_t)(seq >> 8);
    m[7] = (uint8_t)seq;
    fill_pattern(m + 8, payload, 3);
    if (!v6) {
        uint16_t c = csum(m, 8 + payload);
        m[2] = (uint8_t)(c >> 8);
        m[3] = (uint8_t)c;
    }
    return (int)(8 + payload);
}

static void raw_ping(int fam)
{
    int v6 = fam == AF_INET6;
    int s = v6 ? socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6) : socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    track(s);
    if (!EXPECT("socket", s >= 0)) {
        return;
    }
    struct timeval tv = {2, 0};
    OK("rcvtimeo", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
    if (!v6) {
        int ttl = 64, tos = 0;
        OK("ip_ttl", setsockopt(s, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)));
        OK("ip_tos", setsockopt(s, IPPROTO_IP, IP_TOS, &tos, sizeof(tos)));
    }
    uint8_t m[128];
    uint16_t id = (uint16_t)(0x4000 + case_port());
    int n = echo_request(m, v6, id, 7, 32);
    struct sockaddr_storage ss;
    socklen_t len = peer_sa(fam, 0, &ss);
    VAL("sendto", sendto(s, m, (size_t)n, 0, SA(&ss), len), n);
    uint8_t r[256];
    struct sockaddr_storage from;
    socklen_t fl = sizeof(from);
    /* Skip anything that is not our reply (a raw socket sees all ICMP). */
    long got = -1;
    const uint8_t *icmp = NULL;
    size_t hdr = 0;
    for (int tries = 0; tries < 10; tries++) {
        fl = sizeof(from);
        got = recvfrom(s, r, sizeof(r), 0, SA(&from), &fl);
        if (got < 0) {
            break;
        }
        hdr = v6 ? 0 : (size_t)(r[0] & 0x0F) * 4;
        icmp = r + hdr;
        if ((size_t)got >= hdr + 8 && icmp[0] == (v6 ? 129 : 0) && (icmp[4] << 8 | icmp[5]) == id) {
            break;
        }
        icmp = NULL;
    }
    EXPECT("reply", icmp != NULL);
    if (!icmp) {
        return;
    }
    VAL("length", got, (long)hdr + n);
    char h[64];
    obs("from=%s", sa_host(SA(&from), h, sizeof(h)));
    if (!v6) {
        VAL("ip_version", r[0] >> 4, 4);
        VAL("ip_proto", r[9], IPPROTO_ICMP);
        VAL("ip_ttl", r[8], 64);
        VAL("ip_total_len", r[2] << 8 | r[3], got);
        char src[16], dst[16];
        snprintf(src, sizeof(src), "%u.%u.%u.%u", r[12], r[13], r[14], r[15]);
        snprintf(dst, sizeof(dst), "%u.%u.%u.%u", r[16], r[17], r[18], r[19]);
        obs("ip_src=%s ip_dst=%s", src, dst);
    }
    VAL("seq", icmp[6] << 8 | icmp[7], 7);
    EXPECT("payload", is_pattern(icmp + 8, 32, 3));
    /* Short buffer: a raw socket truncates like UDP. */
    n = echo_request(m, v6, id, 8, 32);
    sendto(s, m, (size_t)n, 0, SA(&ss), len);
    char iob[12];
    struct iovec iov = {iob, sizeof(iob)};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    long k = -1;
    for (int tries = 0; tries < 10; tries++) {
        k = recvmsg(s, &mh, 0);
        if (k < 0 || (size_t)k < (v6 ? 8 : hdr + 1) || (uint8_t)iob[v6 ? 0 : hdr] == (v6 ? 129 : 0)) {
            break;
        }
    }
    VAL("short_recv", k, (long)sizeof(iob));
    VAL("short_trunc", mh.msg_flags & MSG_TRUNC, MSG_TRUNC);
}

static void raw_timeout(int fam)
{
    int s = fam == AF_INET6 ? socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6) : socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    track(s);
    struct timeval tv = {0, 200000};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    uint8_t r[256];
    /* Drain whatever arrived (other cases' ICMP), then time out. */
    long n;
    do {
        n = recv(s, r, sizeof(r), MSG_DONTWAIT);
    } while (n > 0);
    uint64_t t0 = now_ms();
    long rc = recv(s, r, sizeof(r), 0);
    int e = errno;
    EXPECT("timed_out", rc == -1 && e == EAGAIN);
    EXPECT("waited", now_ms() - t0 >= 150);
}

const diff_case_def_t diff_cases_misc[] = {
    CASE_46(fcntl_flags),
    CASE_46(ioctl_fionbio),
    CASE_46(ioctl_fionread),
    CASE_1(inet_pton4),
    CASE_1(inet_pton6),
    CASE_1(inet_ntop4),
    CASE_1(inet_ntop6),
    CASE_46(ebadf_calls),
    CASE_46(enotsock_calls),
    CASE_46(efault_calls),
    CASE_46(raw_ping),
    CASE_4(raw_timeout), /* an ICMPv6 raw socket hears router adverts, NDP ... */
    {0},
};
