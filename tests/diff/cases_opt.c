/* getsockopt / setsockopt. */
#define _GNU_SOURCE
#include "diff.h"

static int get_int(int s, int level, int name, int *v)
{
    socklen_t l = sizeof(*v);
    *v = -12345;
    return getsockopt(s, level, name, v, &l);
}

static void opt_reuseaddr(int fam)
{
    int s = sock(fam, SOCK_STREAM, 0), v;
    OK("get", get_int(s, SOL_SOCKET, SO_REUSEADDR, &v));
    VAL("default", v, 0);
    int one = 1;
    OK("set", setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
    get_int(s, SOL_SOCKET, SO_REUSEADDR, &v);
    VAL("value", v, 1);
    int seven = 7;
    OK("set_7", setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &seven, sizeof(seven)));
    get_int(s, SOL_SOCKET, SO_REUSEADDR, &v);
    VAL("normalised", v, 1);
}

static void opt_keepalive(int fam)
{
    int s = sock(fam, SOCK_STREAM, 0), v;
    OK("get", get_int(s, SOL_SOCKET, SO_KEEPALIVE, &v));
    VAL("default", v, 0);
    OK("get_idle", get_int(s, IPPROTO_TCP, TCP_KEEPIDLE, &v));
    VAL("idle_default", v, 7200);
    OK("get_intvl", get_int(s, IPPROTO_TCP, TCP_KEEPINTVL, &v));
    VAL("intvl_default", v, 75);
    OK("get_cnt", get_int(s, IPPROTO_TCP, TCP_KEEPCNT, &v));
    VAL("cnt_default", v, 9);
    int one = 1, idle = 5, intvl = 3, cnt = 4;
    OK("set", setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)));
    OK("set_idle", setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)));
    OK("set_intvl", setsockopt(s, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)));
    OK("set_cnt", setsockopt(s, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)));
    get_int(s, SOL_SOCKET, SO_KEEPALIVE, &v);
    VAL("value", v, 1);
    get_int(s, IPPROTO_TCP, TCP_KEEPIDLE, &v);
    VAL("idle", v, 5);
    get_int(s, IPPROTO_TCP, TCP_KEEPINTVL, &v);
    VAL("intvl", v, 3);
    get_int(s, IPPROTO_TCP, TCP_KEEPCNT, &v);
    VAL("cnt", v, 4);
    int zero = 0, big = 40000, c200 = 200;
    ERR("idle_0", setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &zero, sizeof(zero)), EINVAL);
    ERR("idle_big", setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &big, sizeof(big)), EINVAL);
    ERR("intvl_0", setsockopt(s, IPPROTO_TCP, TCP_KEEPINTVL, &zero, sizeof(zero)), EINVAL);
    ERR("cnt_0", setsockopt(s, IPPROTO_TCP, TCP_KEEPCNT, &zero, sizeof(zero)), EINVAL);
    ERR("cnt_200", setsockopt(s, IPPROTO_TCP, TCP_KEEPCNT, &c200, sizeof(c200)), EINVAL);
    /* A connected socket with keep-alive on keeps working. */
    int c = echo_conn(fam);
    OK("set_connected", setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)));
    OK("idle_connected", setsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)));
    VAL("send", send(c, "k", 1, 0), 1);
    char b;
    VAL("recv", read_n(c, &b, 1, 3000), 1);
}

/* The peer goes silent (its address disappears for 6 s): keep-alive probes go unanswered and
 * the connection ends with ETIMEDOUT after KEEPIDLE + KEEPINTVL x KEEPCNT. */
static void opt_keepalive_abort(int fam)
{
    int c = peer_open(fam, "hold 9000");
    int one = 1, idle = 1, intvl = 1, cnt = 2;
    OK("keepalive", setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)));
    OK("idle", setsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)));
    OK("intvl", setsockopt(c, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)));
    OK("cnt", setsockopt(c, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)));
    struct timeval tv = {.tv_sec = 8};
    OK("rcvtimeo", setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
    char reply[32];
    peer_query(fam, reply, sizeof(reply), "addr_gone 6000");
    uint64_t t0 = now_ms();
    char b[8];
    ERR("recv", recv(c, b, sizeof(b), 0), ETIMEDOUT);
    uint64_t took = now_ms() - t0;
    EXPECT("after_probes", took >= 1500 && took <= 5500);
    ANY("recv_again", recv(c, b, sizeof(b), MSG_DONTWAIT));
    sleep_ms((unsigned)(6500 - (now_ms() - t0 < 6500 ? now_ms() - t0 : 6500))); /* the address is back */
}

static void opt_nodelay(int fam)
{
    int s = sock(fam, SOCK_STREAM, 0), v;
    OK("get", get_int(s, IPPROTO_TCP, TCP_NODELAY, &v));
    VAL("default", v, 0);
    int one = 1;
    OK("set", setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
    get_int(s, IPPROTO_TCP, TCP_NODELAY, &v);
    VAL("value", v, 1);
    int c = echo_conn(fam);
    OK("set_connected", setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
    int zero = 0;
    OK("clear_connected", setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &zero, sizeof(zero)));
    get_int(c, IPPROTO_TCP, TCP_NODELAY, &v);
    VAL("cleared", v, 0);
    int u = sock(fam, SOCK_DGRAM, 0);
    ERR("on_udp", setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), ENOPROTOOPT);
    /* Linux: a wrong level on getsockopt is EOPNOTSUPP for IPv4 sockets, ENOPROTOOPT for IPv6 ones. */
    ERR("get_on_udp", get_int(u, IPPROTO_TCP, TCP_NODELAY, &v), fam == AF_INET ? EOPNOTSUPP : ENOPROTOOPT);
}

static void opt_timeouts(int fam)
{
    int s = sock(fam, SOCK_STREAM, 0);
    struct timeval tv = {9, 9};
    socklen_t l = sizeof(tv);
    OK("get_rcv", getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, &l));
    obs("rcv_default=%ld.%06ld", (long)tv.tv_sec, (long)tv.tv_usec);
    VAL("len", l, sizeof(tv));
    struct timeval set = {1, 500000};
    OK("set_rcv", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &set, sizeof(set)));
    l = sizeof(tv);
    OK("get_rcv2", getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, &l));
    obs("rcv=%ld.%06ld", (long)tv.tv_sec, (long)tv.tv_usec);
    struct timeval snd = {0, 500000}; /* whole jiffies at any HZ: Linux rounds to them */
    OK("set_snd", setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof(snd)));
    l = sizeof(tv);
    OK("get_snd", getsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, &l));
    obs("snd=%ld.%06ld", (long)tv.tv_sec, (long)tv.tv_usec);
    struct timeval bad = {0, 2000000};
    ERR("usec_range", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &bad, sizeof(bad)), EDOM);
    ERR("short", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &set, 4), EINVAL);
    struct timeval neg = {-1, 0};
    OK("negative", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &neg, sizeof(neg)));
    l = sizeof(tv);
    getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, &l);
    obs("after_negative=%ld.%06ld", (long)tv.tv_sec, (long)tv.tv_usec);
    struct timeval zero = {0, 0};
    OK("zero", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &zero, sizeof(zero)));
}

static void opt_linger(int fam)
{
    int s = sock(fam, SOCK_STREAM, 0);
    struct linger lg = {9, 9};
    socklen_t l = sizeof(lg);
    OK("get", getsockopt(s, SOL_SOCKET, SO_LINGER, &lg, &l));
    obs("default=%d,%d", lg.l_onoff, lg.l_linger);
    struct linger set = {1, 5};
    OK("set", setsockopt(s, SOL_SOCKET, SO_LINGER, &set, sizeof(set)));
    l = sizeof(lg);
    getsockopt(s, SOL_SOCKET, SO_LINGER, &lg, &l);
    obs("value=%d,%d", lg.l_onoff, lg.l_linger);
    VAL("len", l, sizeof(lg));
    ERR("short", setsockopt(s, SOL_SOCKET, SO_LINGER, &set, 4), EINVAL);
    struct linger on2 = {2, 3};
    OK("set_onoff_2", setsockopt(s, SOL_SOCKET, SO_LINGER, &on2, sizeof(on2)));
    l = sizeof(lg);
    getsockopt(s, SOL_SOCKET, SO_LINGER, &lg, &l);
    obs("value2=%d,%d", lg.l_onoff, lg.l_linger);
}

static void opt_bufs(int fam)
{
    int s = sock(fam, SOCK_STREAM, 0), v;
    OK("get_rcv", get_int(s, SOL_SOCKET, SO_RCVBUF, &v));
    EXPECT("rcv_default_positive", v > 0);
    OK("get_snd", get_int(s, SOL_SOCKET, SO_SNDBUF, &v));
    EXPECT("snd_default_positive", v > 0);
    int want = 24000;
    OK("set_rcv", setsockopt(s, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want)));
    OK("set_snd", setsockopt(s, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want)));
    get_int(s, SOL_SOCKET, SO_RCVBUF, &v);
    EXPECT("rcv_at_least", v >= want);
    get_int(s, SOL_SOCKET, SO_SNDBUF, &v);
    EXPECT("snd_at_least", v >= want);
    /* A socket with set buffers connects and moves data. */
    struct sockaddr_storage ss;
    socklen_t len = peer_sa(fam, CTL_PORT, &ss);
    OK("connect", connect(s, SA(&ss), len));
    send(s, "send 100000\n", 12, 0);
    char hex[9];
    VAL("recv_all", read_all(s, hex, 8000), 100000);
    /* Listener: accepted sockets take the listener's sizes. */
    int port;
    int l = sock(fam, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    int small = 8192;
    OK("set_listener", setsockopt(l, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)));
    port = case_port();
    struct sockaddr_storage la;
    socklen_t ll = any_sa(fam, port, &la);
    bind(l, SA(&la), ll);
    listen(l, 2);
    char reply[64];
    peer_query(fam, reply, sizeof(reply), "connect %s %d 1 -", self_host(fam), port);
    int c = accept(l, NULL, NULL);
    track(c);
    get_int(c, SOL_SOCKET, SO_RCVBUF, &v);
    EXPECT("accepted_inherits", v >= small && v < 4 * 32768);
    int u = sock(fam, SOCK_DGRAM, 0);
    OK("set_udp", setsockopt(u, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want)));
    int neg = -5;
    OK("set_negative", setsockopt(u, SOL_SOCKET, SO_RCVBUF, &neg, sizeof(neg)));
}

static void opt_error_type(int fam)
{
    int s = sock(fam, SOCK_STREAM, 0), v;
    OK("so_error", get_int(s, SOL_SOCKET, SO_ERROR, &v));
    VAL("error", v, 0);
    int one = 1;
    ERR("set_error", setsockopt(s, SOL_SOCKET, SO_ERROR, &one, sizeof(one)), ENOPROTOOPT);
    ERR("set_type", setsockopt(s, SOL_SOCKET, SO_TYPE, &one, sizeof(one)), ENOPROTOOPT);
    int u = sock(fam, SOCK_DGRAM, 0);
    get_int(u, SOL_SOCKET, SO_TYPE, &v);
    VAL("udp_type", v, SOCK_DGRAM);
    OK("domain", get_int(u, SOL_SOCKET, SO_DOMAIN, &v));
    VAL("domain_value", v, fam);
    OK("protocol", get_int(s, SOL_SOCKET, SO_PROTOCOL, &v));
    VAL("protocol_value", v, IPPROTO_TCP);
    OK("acceptconn", get_int(s, SOL_SOCKET, SO_ACCEPTCONN, &v));
    VAL("acceptconn_value", v, 0);
    listen(s, 1);
    get_int(s, SOL_SOCKET, SO_ACCEPTCONN, &v);
    VAL("acceptconn_listening", v, 1);
}

static void opt_unknown(int fam)
{
    int s = sock(fam, SOCK_STREAM, 0), v = 1;
    ERR("sol_socket_9999", setsockopt(s, SOL_SOCKET, 9999, &v, sizeof(v)), ENOPROTOOPT);
    ERR("get_sol_socket_9999", get_int(s, SOL_SOCKET, 9999, &v), ENOPROTOOPT);
    ERR("tcp_9999", setsockopt(s, IPPROTO_TCP, 9999, &v, sizeof(v)), ENOPROTOOPT);
    ERR("level_9999", setsockopt(s, 9999, 1, &v, sizeof(v)), ENOPROTOOPT);
    ERR("get_level_9999", get_int(s, 9999, 1, &v), fam == AF_INET ? EOPNOTSUPP : ENOPROTOOPT);
}

static void opt_bad_args(int fam)
{
    int s = sock(fam, SOCK_STREAM, 0), v = 1;
    ERR("set_null", setsockopt(s, SOL_SOCKET, SO_REUSEADDR, NULLP, sizeof(int)), EFAULT);
    ERR("set_short", setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, 2), EINVAL);
    ERR("set_tcp_short", setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, 2), EINVAL);
    socklen_t l = sizeof(v);
    ERR("get_null", getsockopt(s, SOL_SOCKET, SO_TYPE, NULLP, &l), EFAULT);
    ERR("get_null_len", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, NULLP), EFAULT);
    socklen_t neg = (socklen_t)-1;
    ERR("get_negative_len", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &neg), EINVAL);
    ERR("badfd", setsockopt(1005, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v)), EBADF);
    l = sizeof(v);
    ERR("get_badfd", getsockopt(1005, SOL_SOCKET, SO_TYPE, &v, &l), EBADF);
    char big[16];
    l = sizeof(big);
    OK("get_long_buffer", getsockopt(s, SOL_SOCKET, SO_TYPE, big, &l));
    VAL("len_trimmed", l, sizeof(int));
}

static void opt_ip_level(int fam)
{
    int s = sock(fam, SOCK_STREAM, 0), v;
    if (fam == AF_INET) {
        OK("get_ttl", get_int(s, IPPROTO_IP, IP_TTL, &v));
        VAL("ttl_default", v, 64);
        int ttl = 9;
        OK("set_ttl", setsockopt(s, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)));
        get_int(s, IPPROTO_IP, IP_TTL, &v);
        VAL("ttl", v, 9);
        int minus = -1;
        OK("ttl_reset", setsockopt(s, IPPROTO_IP, IP_TTL, &minus, sizeof(minus)));
        get_int(s, IPPROTO_IP, IP_TTL, &v);
        VAL("ttl_after_reset", v, 64);
        OK("get_tos", get_int(s, IPPROTO_IP, IP_TOS, &v));
        VAL("tos_default", v, 0);
        int tos = 0x28;
        OK("set_tos", setsockopt(s, IPPROTO_IP, IP_TOS, &tos, sizeof(tos)));
        get_int(s, IPPROTO_IP, IP_TOS, &v);
        VAL("tos", v, 0x28);
        int one = 1;
        ERR("v6only_on_v4", setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), ENOPROTOOPT);
    } else {
        OK("get_v6only", get_int(s, IPPROTO_IPV6, IPV6_V6ONLY, &v));
        VAL("v6only_default", v, 0);
        int one = 1;
        OK("set_v6only", setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)));
        get_int(s, IPPROTO_IPV6, IPV6_V6ONLY, &v);
        VAL("v6only", v, 1);
        OK("get_hops", get_int(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v));
        VAL("hops_default", v, 64);
        int hops = 12;
        OK("set_hops", setsockopt(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)));
        get_int(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v);
        VAL("hops", v, 12);
        int ttl = 9;
        ANY("ip_ttl_on_v6", setsockopt(s, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)));
    }
}

static void opt_ttl_on_wire(int fam)
{
    /* The TTL reaches the packets: a connection with TTL 9 still works end to end. */
    int s = sock(fam, SOCK_STREAM, 0);
    int ttl = 9;
    setsockopt(s, fam == AF_INET ? IPPROTO_IP : IPPROTO_IPV6, fam == AF_INET ? IP_TTL : IPV6_UNICAST_HOPS, &ttl,
               sizeof(ttl));
    struct sockaddr_storage ss;
    socklen_t len = peer_sa(fam, CTL_PORT, &ss);
    OK("connect", connect(s, SA(&ss), len));
    VAL("send", send(s, "ping\n", 5, 0), 5);
    char b[8] = {0};
    VAL("reply", read_n(s, b, 5, 3000), 5);
}

static void opt_v6only_bind(int fam)
{
    (void)fam;
    /* v4 and v6 wildcard on one port: allowed only when the v6 one is v6-only. */
    int port = case_port();
    int a = sock(AF_INET6, SOCK_STREAM, 0), b = sock(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_storage s6, s4;
    socklen_t l6 = any_sa(AF_INET6, port, &s6), l4 = any_sa(AF_INET, port, &s4);
    OK("bind6", bind(a, SA(&s6), l6));
    OK("listen6", listen(a, 1));
    ERR("bind4_dual", bind(b, SA(&s4), l4), EADDRINUSE);
    int c = sock(AF_INET6, SOCK_STREAM, 0), d = sock(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    OK("v6only", setsockopt(c, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)));
    l6 = any_sa(AF_INET6, port + 1, &s6);
    l4 = any_sa(AF_INET, port + 1, &s4);
    OK("bind6_only", bind(c, SA(&s6), l6));
    OK("bind4_beside", bind(d, SA(&s4), l4));
}

const diff_case_def_t diff_cases_opt[] = {
    CASE_46(opt_reuseaddr),
    CASE_46(opt_keepalive),
    CASE_46(opt_keepalive_abort),
    CASE_46(opt_nodelay),
    CASE_46(opt_timeouts),
    CASE_46(opt_linger),
    CASE_46(opt_bufs),
    CASE_46(opt_error_type),
    CASE_46(opt_unknown),
    CASE_46(opt_bad_args),
    CASE_46(opt_ip_level),
    CASE_46(opt_ttl_on_wire),
    CASE_1(opt_v6only_bind),
    {0},
};
