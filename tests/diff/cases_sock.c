/* socket, bind, listen, accept, connect. */
#define _GNU_SOURCE
#include "diff.h"

#include <sys/resource.h>

/* ---- socket() ------------------------------------------------------------------------ */

static void socket_tcp(int fam)
{
    int s = sock(fam, SOCK_STREAM, 0);
    int v = -1;
    socklen_t l = sizeof(v);
    OK("getsockopt_type", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l));
    VAL("type", v, SOCK_STREAM);
    VAL("optlen", l, sizeof(int));
    v = -1;
    l = sizeof(v);
    OK("getsockopt_error", getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &l));
    VAL("error", v, 0);
    int fl = fcntl(s, F_GETFL);
    EXPECT("blocking", fl >= 0 && !(fl & O_NONBLOCK));
    EXPECT("rdwr", fl >= 0 && (fl & O_ACCMODE) == O_RDWR);
    VAL("proto_tcp", (drop(s), s = socket(fam, SOCK_STREAM, IPPROTO_TCP)) >= 0, 1);
    track(s);
}

static void socket_udp(int fam)
{
    int s = sock(fam, SOCK_DGRAM, 0);
    int v = -1;
    socklen_t l = sizeof(v);
    OK("getsockopt_type", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l));
    VAL("type", v, SOCK_DGRAM);
    int u = socket(fam, SOCK_DGRAM, IPPROTO_UDP);
    track(u);
    EXPECT("proto_udp", u >= 0);
}

static void socket_nonblock_flag(int fam)
{
    int s = socket(fam, SOCK_STREAM | SOCK_NONBLOCK, 0);
    track(s);
    EXPECT("socket", s >= 0);
    int fl = fcntl(s, F_GETFL);
    EXPECT("nonblock", fl >= 0 && (fl & O_NONBLOCK));
    int c = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    track(c);
    VAL("getfd_cloexec", fcntl(c, F_GETFD), FD_CLOEXEC);
    VAL("getfd_plain", fcntl(s, F_GETFD), 0);
}

static void socket_bad_args(int fam)
{
    (void)fam;
    ERR("bad_domain", socket(12345, SOCK_STREAM, 0), EAFNOSUPPORT);
    ERR("bad_type", socket(AF_INET, 99, 0), EINVAL);
    ERR("bad_flags", socket(AF_INET, SOCK_STREAM | 0x1000, 0), EINVAL);
    ERR("seqpacket", socket(AF_INET, SOCK_SEQPACKET, 0), ESOCKTNOSUPPORT);
    ERR("stream_udp", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT);
    ERR("dgram_tcp", socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP), EPROTONOSUPPORT);
    ERR("stream_v6_udp", socket(AF_INET6, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT);
}

static void socket_raw_icmp(int fam)
{
    int s = fam == AF_INET ? socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) : socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
    track(s);
    EXPECT("socket", s >= 0);
    int v = -1;
    socklen_t l = sizeof(v);
    OK("getsockopt_type", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l));
    VAL("type", v, SOCK_RAW);
}

static void socket_lowest_fd(int fam)
{
    int a = sock(fam, SOCK_STREAM, 0);
    int b = sock(fam, SOCK_DGRAM, 0);
    int c = sock(fam, SOCK_STREAM, 0);
    drop(b);
    int d = sock(fam, SOCK_STREAM, 0);
    EXPECT("reuses_lowest", d == b);
    EXPECT("distinct", a != c && a != d && c != d);
}

static void socket_exhaustion(int fam)
{
    /* Linux: RLIMIT_NOFILE (EMFILE); the shim: its fd table (EMFILE) or engine sockets (ENFILE). */
    struct rlimit old, lim;
    getrlimit(RLIMIT_NOFILE, &old);
    lim = old;
    lim.rlim_cur = 48;
    setrlimit(RLIMIT_NOFILE, &lim);
    int fds[300];
    int n = 0, e = 0;
    for (; n < 300; n++) {
        fds[n] = socket(fam, n % 2 ? SOCK_DGRAM : SOCK_STREAM, 0);
        if (fds[n] < 0) {
            e = errno;
            break;
        }
    }
    setrlimit(RLIMIT_NOFILE, &old);
    EXPECT("ran_out", n < 300 && n > 4);
    EXPECT("emfile_or_enfile", e == EMFILE || e == ENFILE);
    close(fds[n - 1]);
    int again = socket(fam, SOCK_STREAM, 0);
    EXPECT("again_after_close", again >= 0);
    track(again);
    for (int i = 0; i < n - 1; i++) {
        close(fds[i]);
    }
    /* Everything still works after exhaustion. */
    int c = echo_conn(fam);
    VAL("echo_send", send(c, "x", 1, 0), 1);
    char b = 0;
    VAL("echo_recv", read_n(c, &b, 1, 3000), 1);
}

/* ---- bind() --------------------------------------------------------------------------- */

static void bind_port0(int fam)
{
    for (int type = SOCK_STREAM; type <= SOCK_DGRAM; type++) {
        int s = sock(fam, type, 0);
        struct sockaddr_storage ss;
        socklen_t len = any_sa(fam, 0, &ss);
        OK(type == SOCK_STREAM ? "bind_tcp" : "bind_udp", bind(s, SA(&ss), len));
        struct sockaddr_storage got;
        socklen_t gl = sizeof(got);
        OK("getsockname", getsockname(s, SA(&got), &gl));
        VAL("namelen", gl, len);
        VAL("family", got.ss_family, fam);
        EXPECT("ephemeral", sa_port(SA(&got)) >= 1024);
    }
}

static void bind_specific(int fam)
{
    int s = sock(fam, SOCK_STREAM, 0);
    struct sockaddr_storage ss, got;
    socklen_t len = self_sa(fam, case_port(), &ss);
    OK("bind", bind(s, SA(&ss), len));
    socklen_t gl = sizeof(got);
    OK("getsockname", getsockname(s, SA(&got), &gl));
    char b[80];
    obs("name=%s", sa_str(SA(&got), gl, b, sizeof(b)));
    ERR("bind_again", bind(s, SA(&ss), len), EINVAL);
}

static void bind_in_use(int fam)
{
    for (int type = SOCK_STREAM; type <= SOCK_DGRAM; type++) {
        int a = sock(fam, type, 0), b = sock(fam, type, 0);
        struct sockaddr_storage ss;
        socklen_t len = any_sa(fam, case_port() + type, &ss);
        OK("bind_a", bind(a, SA(&ss), len));
        if (type == SOCK_STREAM) {
            OK("listen_a", listen(a, 1));
        }
        ERR("bind_b", bind(b, SA(&ss), len), EADDRINUSE);
        struct sockaddr_storage sp;
        socklen_t lp = self_sa(fam, case_port() + type, &sp);
        ERR("bind_b_specific", bind(b, SA(&sp), lp), EADDRINUSE);
    }
}

static void bind_reuseaddr(int fam)
{
    int one = 1;
    int a = sock(fam, SOCK_STREAM, 0), b = sock(fam, SOCK_STREAM, 0);
    setsockopt(a, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(b, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_storage ss;
    socklen_t len = any_sa(fam, case_port(), &ss);
    OK("bind_a", bind(a, SA(&ss), len));
    OK("listen_a", listen(a, 1));
    /* SO_REUSEADDR does not let two sockets listen on one port (Linux). */
    ERR("bind_b_while_listening", bind(b, SA(&ss), len), EADDRINUSE);
    /* A connection on the port, closed by the peer first: the port is free again. */
    char reply[64];
    peer_query(fam, reply, sizeof(reply), "connect %s %d 1 !close", self_host(fam), case_port());
    int c = accept(a, NULL, NULL);
    track(c);
    EXPECT("accepted", c >= 0);
    char x;
    VAL("eof", read_n(c, &x, 1, 5000), 0);
    drop(c);
    drop(a);
    OK("bind_b_after_close", bind(b, SA(&ss), len));
    OK("listen_b", listen(b, 1));
}

static void bind_not_local(int fam)
{
    int s = sock(fam, SOCK_STREAM, 0);
    struct sockaddr_storage ss;
    socklen_t len = mk_sa(fam, fam == AF_INET ? "198.18.0.99" : "2001:db8:1::99", 5000, &ss);
    ERR("bind_tcp", bind(s, SA(&ss), len), EADDRNOTAVAIL);
    int u = sock(fam, SOCK_DGRAM, 0);
    ERR("bind_udp", bind(u, SA(&ss), len), EADDRNOTAVAIL);
}

static void bind_bad_args(int fam)
{
    int s = sock(fam, SOCK_STREAM, 0);
    struct sockaddr_storage ss;
    socklen_t len = any_sa(fam, 0, &ss);
    ERR("short_len", bind(s, SA(&ss), 4), EINVAL);
    ERR("null_zero_len", bind(s, NULLP, 0), EINVAL);
    ERR("null", bind(s, NULLP, len), EFAULT);
    struct sockaddr_storage other;
    socklen_t ol = any_sa(fam == AF_INET ? AF_INET6 : AF_INET, 0, &other);
    if (fam == AF_INET) {
        ERR("v6_addr_on_v4", bind(s, SA(&other), ol), EAFNOSUPPORT);
    } else {
        ERR("v4_addr_on_v6", bind(s, SA(&other), ol), EINVAL);
    }
    ERR("closed_fd", bind(9999 % 4 + 1000, SA(&ss), len), EBADF);
}

static void bind_v4mapped(int fam)
{
    (void)fam;
    int s = sock(AF_INET6, SOCK_STREAM, 0);
    char host[64];
    snprintf(host, sizeof(host), "::ffff:%s", g_self4);
    struct sockaddr_storage ss, got;
    socklen_t len = mk_sa(AF_INET6, host, case_port(), &ss);
    OK("bind_mapped", bind(s, SA(&ss), len));
    socklen_t gl = sizeof(got);
    OK("getsockname", getsockname(s, SA(&got), &gl));
    char b[80];
    obs("name=%s", sa_str(SA(&got), gl, b, sizeof(b)));
    OK("listen", listen(s, 2));
    char reply[64];
    peer_query(AF_INET, reply, sizeof(reply), "connect %s %d 1 -", g_self4, case_port());
    obs("peer=%.9s", reply);
    struct sockaddr_storage pa;
    socklen_t pl = sizeof(pa);
    int c = accept(s, SA(&pa), &pl);
    track(c);
    EXPECT("accepted", c >= 0);
    char h[64];
    obs("peer_family=%d", pa.ss_family == AF_INET6 ? 6 : 4);
    obs("peer_host=%s", sa_host(SA(&pa), h, sizeof(h)));
}

/* ---- listen() / accept() ------------------------------------------------------------ */

static void listen_errors(int fam)
{
    int u = sock(fam, SOCK_DGRAM, 0);
    ERR("listen_udp", listen(u, 1), EOPNOTSUPP);
    int s = sock(fam, SOCK_STREAM, 0);
    OK("listen_unbound", listen(s, 1));
    struct sockaddr_storage got;
    socklen_t gl = sizeof(got);
    OK("getsockname", getsockname(s, SA(&got), &gl));
    EXPECT("auto_port", sa_port(SA(&got)) >= 1024);
    OK("listen_again", listen(s, 5));
    ERR("listen_badfd", listen(1001, 1), EBADF);
    int c = echo_conn(fam);
    ERR("listen_connected", listen(c, 1), EINVAL);
}

static void accept_peer(int fam)
{
    int port;
    int l = listener(fam, 4, &port);
    char reply[128];
    peer_query(fam, reply, sizeof(reply), "connect %s %d 1 hello", self_host(fam), port);
    int peer_port = 0, k = 0;
    sscanf(reply, "connected %d %d", &k, &peer_port);
    VAL("peer_connected", k, 1);
    struct sockaddr_storage pa;
    socklen_t pl = sizeof(pa);
    int c = accept(l, SA(&pa), &pl);
    track(c);
    EXPECT("accept", c >= 0);
    VAL("addrlen", pl, fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
    char h[64];
    obs("peer_host=%s", sa_host(SA(&pa), h, sizeof(h)));
    EXPECT("peer_port", sa_port(SA(&pa)) == peer_port);
    struct sockaddr_storage na;
    socklen_t nl = sizeof(na);
    OK("getsockname", getsockname(c, SA(&na), &nl));
    char b[80];
    obs("local=%s", sa_str(SA(&na), nl, b, sizeof(b)));
    struct sockaddr_storage ga;
    socklen_t gl = sizeof(ga);
    OK("getpeername", getpeername(c, SA(&ga), &gl));
    EXPECT("getpeername_same", gl == pl && memcmp(&ga, &pa, pl) == 0);
    char buf[16] = {0};
    VAL("recv", read_n(c, buf, 6, 3000), 6);
    obs("data=%.5s", buf);
    int fl = fcntl(c, F_GETFL);
    EXPECT("accepted_blocking", fl >= 0 && !(fl & O_NONBLOCK));
}

static void accept_backlog(int fam)
{
    int port;
    int l = listener(fam, 3, &port);
    char reply[128];
    peer_query(fam, reply, sizeof(reply), "connect %s %d 3 hi", self_host(fam), port);
    obs("peer=%.11s", reply);
    fcntl(l, F_SETFL, O_NONBLOCK);
    sleep_ms(100);
    for (int i = 0; i < 3; i++) {
        int c = accept(l, NULL, NULL);
        track(c);
        EXPECT("accept", c >= 0);
        char b[4] = {0};
        VAL("data", read_n(c, b, 3, 3000), 3);
    }
    ERR("accept_empty", accept(l, NULL, NULL), EAGAIN);
}

static void accept_nonblock(int fam)
{
    int port;
    int l = listener(fam, 2, &port);
    fcntl(l, F_SETFL, O_NONBLOCK);
    ERR("accept_nb", accept(l, NULL, NULL), EAGAIN);
    ERR("accept_nb_again", accept(l, NULL, NULL), EWOULDBLOCK);
    char reply[64];
    peer_query(fam, reply, sizeof(reply), "connect %s %d 1 -", self_host(fam), port);
    VAL("readable", wait_ev(l, POLLIN, 3000), POLLIN);
    int c = accept(l, NULL, NULL);
    track(c);
    EXPECT("accept", c >= 0);
    int fl = fcntl(c, F_GETFL);
    EXPECT("not_inherited", fl >= 0 && !(fl & O_NONBLOCK));
}

static void accept_timeout(int fam)
{
    int port;
    int l = listener(fam, 2, &port);
    struct timeval tv = {0, 200000};
    OK("rcvtimeo", setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
    uint64_t t0 = now_ms();
    ERR("accept", accept(l, NULL, NULL), EAGAIN);
    uint64_t dt = now_ms() - t0;
    EXPECT("waited", dt >= 150 && dt < 2000);
}

static void accept_blocks(int fam)
{
    int port;
    int l = listener(fam, 2, &port);
    char reply[64];
    peer_query(fam, reply, sizeof(reply), "connect %s %d 1 late 300", self_host(fam), port);
    obs("peer=%s", reply);
    uint64_t t0 = now_ms();
    int c = accept(l, NULL, NULL);
    track(c);
    uint64_t dt = now_ms() - t0;
    EXPECT("accept", c >= 0);
    EXPECT("blocked", dt >= 200 && dt < 5000);
    char b[5] = {0};
    VAL("data", read_n(c, b, 5, 3000), 5);
}

static void accept_errors(int fam)
{
    int s = sock(fam, SOCK_STREAM, 0);
    ERR("not_listening", accept(s, NULL, NULL), EINVAL);
    int u = sock(fam, SOCK_DGRAM, 0);
    ERR("udp", accept(u, NULL, NULL), EOPNOTSUPP);
    ERR("badfd", accept(1002, NULL, NULL), EBADF);
    int port;
    int l = listener(fam, 2, &port);
    char reply[64];
    peer_query(fam, reply, sizeof(reply), "connect %s %d 1 -", self_host(fam), port);
    wait_ev(l, POLLIN, 3000);
    struct sockaddr_storage pa;
    socklen_t pl = 4;
    int c = accept(l, SA(&pa), &pl);
    track(c);
    EXPECT("accept_short_len", c >= 0);
    VAL("full_len", pl, fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
    VAL("family_bytes", pa.ss_family, fam);
    peer_query(fam, reply, sizeof(reply), "connect %s %d 1 -", self_host(fam), port);
    wait_ev(l, POLLIN, 3000);
    ERR("addr_without_len", accept(l, SA(&pa), NULLP), EFAULT);
}

static void accept_family_filter(int fam)
{
    /* An AF_INET listener, or a v6-only one, never hands out a connection of the other family. */
    int l = sock(fam, SOCK_STREAM, 0), one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fam == AF_INET6) {
        OK("v6only", setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)));
    }
    int port = case_port();
    struct sockaddr_storage ss;
    socklen_t len = any_sa(fam, port, &ss);
    OK("bind", bind(l, SA(&ss), len));
    OK("listen", listen(l, 4));
    int other = fam == AF_INET ? AF_INET6 : AF_INET;
    char reply[64];
    /* Linux refuses this one with RST; the stack completes it and resets it (not recorded). */
    peer_query(other, reply, sizeof(reply), "connect %s %d 1 -", self_host(other), port);
    peer_query(fam, reply, sizeof(reply), "connect %s %d 1 hi", self_host(fam), port);
    struct timeval tv = {3, 0};
    setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_storage pa;
    socklen_t pl = sizeof(pa);
    int c = accept(l, SA(&pa), &pl);
    track(c);
    EXPECT("accept", c >= 0);
    char h[64];
    obs("peer_host=%s", sa_host(SA(&pa), h, sizeof(h)));
    char b[4] = {0};
    VAL("data", read_n(c, b, 3, 3000), 3);
    fcntl(l, F_SETFL, O_NONBLOCK);
    ERR("no_more", accept(l, NULL, NULL), EAGAIN);
}

static void accept_inherits(int fam)
{
    int port;
    int l = listener(fam, 2, &port), one = 1;
    struct timeval tv = {0, 200000};
    OK("rcvtimeo", setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
    OK("nodelay", setsockopt(l, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
    OK("keepalive", setsockopt(l, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)));
    char reply[64];
    peer_query(fam, reply, sizeof(reply), "connect %s %d 1 -", self_host(fam), port);
    int c = accept(l, NULL, NULL);
    track(c);
    EXPECT("accept", c >= 0);
    int v = -1;
    socklen_t vl = sizeof(v);
    getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, &vl);
    VAL("nodelay_inherited", v, 1);
    vl = sizeof(v);
    getsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &v, &vl);
    VAL("keepalive_inherited", v, 1);
    struct timeval got = {0, 0};
    socklen_t gl = sizeof(got);
    getsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &got, &gl);
    obs("rcvtimeo_inherited=%ld.%06ld", (long)got.tv_sec, (long)got.tv_usec);
    char b[4];
    uint64_t t0 = now_ms();
    ERR("recv", recv(c, b, sizeof(b), 0), EAGAIN);
    EXPECT("waited", now_ms() - t0 >= 150);
    VAL("listener_acceptconn", (vl = sizeof(v), getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl), v), 1);
    VAL("accepted_acceptconn", (vl = sizeof(v), getsockopt(c, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl), v), 0);
}

/* ---- connect() ------------------------------------------------------------------------ */

static void connect_ok(int fam)
{
    int s = sock(fam, SOCK_STREAM, 0);
    struct sockaddr_storage ss;
    socklen_t len = peer_sa(fam, CTL_PORT, &ss);
    OK("connect", connect(s, SA(&ss), len));
    struct sockaddr_storage pa, na;
    socklen_t pl = sizeof(pa), nl = sizeof(na);
    OK("getpeername", getpeername(s, SA(&pa), &pl));
    char b[80];
    obs("peer=%s", sa_str(SA(&pa), pl, b, sizeof(b)));
    OK("getsockname", getsockname(s, SA(&na), &nl));
    char h[64];
    obs("local_host=%s", sa_host(SA(&na), h, sizeof(h)));
    EXPECT("local_port", sa_port(SA(&na)) >= 1024);
    ERR("connect_again", connect(s, SA(&ss), len), EISCONN);
    send(s, "whoami\n", 7, 0);
    char who[80] = {0};
    read_n(s, who, sizeof(who) - 1, 3000);
    char expect[80];
    snprintf(expect, sizeof(expect), "%s %d\n", h, sa_port(SA(&na)));
    EXPECT("peer_sees_us", strcmp(who, expect) == 0);
}

static void connect_refused(int fam)
{
    int s = sock(fam, SOCK_STREAM, 0);
    struct sockaddr_storage ss;
    socklen_t len = peer_sa(fam, CLOSED_PORT, &ss);
    ERR("connect", connect(s, SA(&ss), len), ECONNREFUSED);
    int v = -1;
    socklen_t l = sizeof(v);
    OK("so_error", getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &l));
    VAL("error", v, 0);
    struct sockaddr_storage pa;
    socklen_t pl = sizeof(pa);
    ERR("getpeername", getpeername(s, SA(&pa), &pl), ENOTCONN);
    /* The same socket can connect again. */
    len = peer_sa(fam, CTL_PORT, &ss);
    OK("connect_again", connect(s, SA(&ss), len));
    VAL("send", send(s, "ping\n", 5, 0), 5);
    char b[8] = {0};
    VAL("reply", read_n(s, b, 5, 3000), 5);
}

static void connect_nonblock(int fam)
{
    int s = sock(fam, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_storage ss;
    socklen_t len = peer_sa(fam, CTL_PORT, &ss);
    ERR("connect", connect(s, SA(&ss), len), EINPROGRESS);
    int ev = wait_ev(s, POLLOUT, 3000);
    obs("poll=%s", ev_str(ev));
    int v = -1;
    socklen_t l = sizeof(v);
    OK("so_error", getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &l));
    VAL("error", v, 0);
    VAL("connect_2nd", connect(s, SA(&ss), len), 0);
    ERR("connect_3rd", connect(s, SA(&ss), len), EISCONN);
    VAL("send", send(s, "ping\n", 5, 0), 5);
    char b[8] = {0};
    VAL("reply", read_n(s, b, 5, 3000), 5);
}

static void connect_nonblock_refused(int fam)
{
    int s = sock(fam, SOCK_STREAM, 0);
    fcntl(s, F_SETFL, O_NONBLOCK);
    struct sockaddr_storage ss;
    socklen_t len = peer_sa(fam, CLOSED_PORT, &ss);
    ERR("connect", connect(s, SA(&ss), len), EINPROGRESS);
    sleep_ms(300);
    int ev = wait_ev(s, POLLOUT, 3000);
    obs("poll=%s", ev_str(ev));
    int v = -1;
    socklen_t l = sizeof(v);
    OK("so_error", getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &l));
    obs("error=%s", err_name(v));
    VAL("refused", v, ECONNREFUSED);
    OK("so_error_again", getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &l));
    VAL("cleared", v, 0);
    /* The error was taken by SO_ERROR: the next connect() says the attempt was aborted. */
    ERR("connect_2nd", connect(s, SA(&ss), len), ECONNABORTED);
}

static void connect_nonblock_refused_connect(int fam)
{
    int s = sock(fam, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_storage ss;
    socklen_t len = peer_sa(fam, CLOSED_PORT, &ss);
    ERR("connect", connect(s, SA(&ss), len), EINPROGRESS);
    sleep_ms(300);
    /* Without SO_ERROR, the second connect() reports the failure itself. */
    ERR("connect_2nd", connect(s, SA(&ss), len), ECONNREFUSED);
    ERR("connect_3rd", connect(s, SA(&ss), len), EINPROGRESS);
}

static void connect_ealready(int fam)
{
    int s = sock(fam, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_storage ss;
    socklen_t len = peer_sa(fam, BLACKHOLE_PORT, &ss);
    ERR("connect", connect(s, SA(&ss), len), EINPROGRESS);
    ERR("connect_2nd", connect(s, SA(&ss), len), EALREADY);
    VAL("poll", wait_ev(s, POLLOUT, 200), 0);
    struct sockaddr_storage pa;
    socklen_t pl = sizeof(pa);
    ERR("getpeername", getpeername(s, SA(&pa), &pl), ENOTCONN);
    ERR("send", send(s, "x", 1, 0), EAGAIN);
    ERR("recv", recv(s, &pa, 1, 0), EAGAIN);
}

static void connect_timeout(int fam)
{
    int s = sock(fam, SOCK_STREAM, 0);
    unsigned ut = 1000;
    OK("user_timeout", setsockopt(s, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof(ut)));
    struct sockaddr_storage ss;
    socklen_t len = peer_sa(fam, BLACKHOLE_PORT, &ss);
    uint64_t t0 = now_ms();
    ERR("connect", connect(s, SA(&ss), len), ETIMEDOUT);
    uint64_t dt = now_ms() - t0;
    EXPECT("took_1_to_5_s", dt >= 900 && dt < 5000);
}

static void connect_timeout_nonblock(int fam)
{
    int s = sock(fam, SOCK_STREAM | SOCK_NONBLOCK, 0);
    unsigned ut = 1000;
    OK("user_timeout", setsockopt(s, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof(ut)));
    struct sockaddr_storage ss;
    socklen_t len = peer_sa(fam, BLACKHOLE_PORT, &ss);
    ERR("connect", connect(s, SA(&ss), len), EINPROGRESS);
    int ev = wait_ev(s, POLLOUT, 6000);
    obs("poll=%s", ev_str(ev));
    int v = -1;
    socklen_t l = sizeof(v);
    OK("so_error", getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &l));
    obs("error=%s", err_name(v));
}

static void connect_sndtimeo(int fam)
{
    int s = sock(fam, SOCK_STREAM, 0);
    struct timeval tv = {0, 300000};
    OK("sndtimeo", setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
    struct sockaddr_storage ss;
    socklen_t len = peer_sa(fam, BLACKHOLE_PORT, &ss);
    uint64_t t0 = now_ms();
    ERR("connect", connect(s, SA(&ss), len), EINPROGRESS);
    uint64_t dt = now_ms() - t0;
    EXPECT("waited", dt >= 250 && dt < 2000);
    ERR("connect_2nd", connect(s, SA(&ss), len), EALREADY);
}

static void connect_errors(int fam)
{
    int s = sock(fam, SOCK_STREAM, 0);
    struct sockaddr_storage ss;
    socklen_t len = peer_sa(fam, CTL_PORT, &ss);
    ERR("short_len", connect(s, SA(&ss), 4), EINVAL);
    ERR("null", connect(s, NULLP, len), EFAULT);
    ERR("badfd", connect(1003, SA(&ss), len), EBADF);
    struct sockaddr_storage far;
    socklen_t fl = mk_sa(fam, fam == AF_INET ? "198.19.0.1" : "2001:db8:2::1", 80, &far);
    ERR("no_route", connect(s, SA(&far), fl), ENETUNREACH);
    int port;
    int l = listener(fam, 1, &port);
    ERR("on_listener", connect(l, SA(&ss), len), EISCONN);
}

static void connect_v4mapped(int fam)
{
    (void)fam;
    int s = sock(AF_INET6, SOCK_STREAM, 0);
    char host[64];
    snprintf(host, sizeof(host), "::ffff:%s", g_peer4);
    struct sockaddr_storage ss;
    socklen_t len = mk_sa(AF_INET6, host, CTL_PORT, &ss);
    OK("connect", connect(s, SA(&ss), len));
    struct sockaddr_storage pa, na;
    socklen_t pl = sizeof(pa), nl = sizeof(na);
    OK("getpeername", getpeername(s, SA(&pa), &pl));
    char b[80];
    obs("peer=%s", sa_str(SA(&pa), pl, b, sizeof(b)));
    OK("getsockname", getsockname(s, SA(&na), &nl));
    char h[64];
    obs("local_host=%s", sa_host(SA(&na), h, sizeof(h)));
    VAL("send", send(s, "ping\n", 5, 0), 5);
    char r[8] = {0};
    VAL("reply", read_n(s, r, 5, 3000), 5);
}

static void connect_udp(int fam)
{
    int u = sock(fam, SOCK_DGRAM, 0);
    struct sockaddr_storage ss;
    socklen_t len = peer_sa(fam, UDP_ECHO_PORT, &ss);
    OK("connect", connect(u, SA(&ss), len));
    struct sockaddr_storage pa;
    socklen_t pl = sizeof(pa);
    OK("getpeername", getpeername(u, SA(&pa), &pl));
    char b[80];
    obs("peer=%s", sa_str(SA(&pa), pl, b, sizeof(b)));
    struct sockaddr_storage na;
    socklen_t nl = sizeof(na);
    OK("getsockname", getsockname(u, SA(&na), &nl));
    char h[64];
    obs("local_host=%s", sa_host(SA(&na), h, sizeof(h)));
    EXPECT("bound", sa_port(SA(&na)) >= 1024);
    VAL("send", send(u, "hello", 5, 0), 5);
    char r[16] = {0};
    VAL("wait", wait_ev(u, POLLIN, 3000), POLLIN);
    VAL("recv", recv(u, r, sizeof(r), 0), 5);
    /* Connect again elsewhere, then dissolve with AF_UNSPEC. */
    OK("reconnect", connect(u, SA(&ss), len));
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    OK("disconnect", connect(u, &unspec, sizeof(unspec)));
    pl = sizeof(pa);
    ERR("getpeername_after", getpeername(u, SA(&pa), &pl), ENOTCONN);
    ERR("send_after", send(u, "x", 1, 0), EDESTADDRREQ);
}

const diff_case_def_t diff_cases_sock[] = {
    CASE_46(socket_tcp),
    CASE_46(socket_udp),
    CASE_46(socket_nonblock_flag),
    CASE_1(socket_bad_args),
    CASE_46(socket_raw_icmp),
    CASE_46(socket_lowest_fd),
    CASE_4(socket_exhaustion),
    CASE_46(bind_port0),
    CASE_46(bind_specific),
    CASE_46(bind_in_use),
    CASE_46(bind_reuseaddr),
    CASE_46(bind_not_local),
    CASE_46(bind_bad_args),
    CASE_1(bind_v4mapped),
    CASE_46(listen_errors),
    CASE_46(accept_peer),
    CASE_46(accept_backlog),
    CASE_46(accept_nonblock),
    CASE_46(accept_timeout),
    CASE_46(accept_blocks),
    CASE_46(accept_errors),
    CASE_46(accept_family_filter),
    CASE_46(accept_inherits),
    CASE_46(connect_ok),
    CASE_46(connect_refused),
    CASE_46(connect_nonblock),
    CASE_46(connect_nonblock_refused),
    CASE_46(connect_nonblock_refused_connect),
    CASE_46(connect_ealready),
    CASE_4(connect_timeout),
    CASE_6(connect_timeout_nonblock),
    CASE_46(connect_sndtimeo),
    CASE_46(connect_errors),
    CASE_1(connect_v4mapped),
    CASE_46(connect_udp),
    {0},
};
