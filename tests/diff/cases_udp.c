/* UDP: sendto/recvfrom, truncation, peek, connected sockets, broadcast, multicast options. */
#define _GNU_SOURCE
#include "diff.h"

#include <net/if.h>

static int udp_sock(int fam)
{
    return sock(fam, SOCK_DGRAM, 0);
}

/* Ask the burst service for n datagrams of size bytes (byte 0 = index). */
static void burst(int u, int fam, int n, int size)
{
    struct sockaddr_storage ss;
    socklen_t len = peer_sa(fam, UDP_BURST_PORT, &ss);
    char cmd[32];
    int k = snprintf(cmd, sizeof(cmd), "%d %d", n, size);
    sendto(u, cmd, (size_t)k, 0, SA(&ss), len);
}

static void udp_echo(int fam)
{
    int u = udp_sock(fam);
    struct sockaddr_storage ss;
    socklen_t len = peer_sa(fam, UDP_ECHO_PORT, &ss);
    VAL("sendto", sendto(u, "hello", 5, 0, SA(&ss), len), 5);
    struct sockaddr_storage local;
    socklen_t ll = sizeof(local);
    OK("getsockname", getsockname(u, SA(&local), &ll));
    EXPECT("auto_bound", sa_port(SA(&local)) >= 1024);
    char h[64];
    obs("local_host=%s", sa_host(SA(&local), h, sizeof(h)));
    char b[16] = {0};
    struct sockaddr_storage from;
    socklen_t fl = sizeof(from);
    VAL("wait", wait_ev(u, POLLIN, 3000), POLLIN);
    VAL("recvfrom", recvfrom(u, b, sizeof(b), 0, SA(&from), &fl), 5);
    obs("data=%s", b);
    char fs[80];
    obs("from=%s", sa_str(SA(&from), fl, fs, sizeof(fs)));
}

static void udp_truncate(int fam)
{
    int u = udp_sock(fam);
    burst(u, fam, 2, 100);
    VAL("wait", wait_ev(u, POLLIN, 3000), POLLIN);
    sleep_ms(100);
    char b[16];
    VAL("recv_short", recv(u, b, 10, 0), 10);
    EXPECT("first", b[0] == 0);
    /* The rest of the first datagram is gone; the next recv gets the second. */
    char big[200];
    VAL("recv_next", recv(u, big, sizeof(big), 0), 100);
    EXPECT("second", big[0] == 1);
    ERR("empty", recv(u, big, sizeof(big), MSG_DONTWAIT), EAGAIN);
}

static void udp_trunc_flag(int fam)
{
    int u = udp_sock(fam);
    burst(u, fam, 2, 100);
    wait_ev(u, POLLIN, 3000);
    sleep_ms(100);
    char b[16];
    VAL("recv_trunc", recv(u, b, 10, MSG_TRUNC), 100);
    VAL("peek_trunc", recv(u, b, 10, MSG_TRUNC | MSG_PEEK), 100);
    VAL("recv_trunc_2nd", recv(u, b, 10, MSG_TRUNC), 100);
    ERR("empty", recv(u, b, 10, MSG_DONTWAIT | MSG_TRUNC), EAGAIN);
}

static void udp_recvmsg_trunc(int fam)
{
    int u = udp_sock(fam);
    burst(u, fam, 2, 100);
    wait_ev(u, POLLIN, 3000);
    sleep_ms(100);
    char b[10];
    struct iovec iov = {b, sizeof(b)};
    struct sockaddr_storage from;
    struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1};
    VAL("recvmsg", recvmsg(u, &m, 0), 10);
    VAL("msg_trunc", m.msg_flags & MSG_TRUNC, MSG_TRUNC);
    char fs[80];
    obs("from=%s", sa_str(SA(&from), m.msg_namelen, fs, sizeof(fs)));
    char big[128];
    struct iovec iov2[2] = {{big, 50}, {big + 50, 78}};
    struct msghdr m2 = {.msg_iov = iov2, .msg_iovlen = 2};
    VAL("recvmsg_fits", recvmsg(u, &m2, 0), 100);
    VAL("flags", m2.msg_flags, 0);
    EXPECT("second", big[0] == 1 && is_pattern(big + 1, 99, 0));
}

static void udp_peek(int fam)
{
    int u = udp_sock(fam);
    burst(u, fam, 1, 40);
    wait_ev(u, POLLIN, 3000);
    char a[64], b[64];
    struct sockaddr_storage f1, f2;
    socklen_t l1 = sizeof(f1), l2 = sizeof(f2);
    VAL("peek_short", recvfrom(u, a, 5, MSG_PEEK, SA(&f1), &l1), 5);
    VAL("recv", recvfrom(u, b, sizeof(b), 0, SA(&f2), &l2), 40);
    EXPECT("same_sender", l1 == l2 && memcmp(&f1, &f2, l1) == 0);
    EXPECT("same_data", memcmp(a, b, 5) == 0);
    ERR("empty", recv(u, b, sizeof(b), MSG_DONTWAIT), EAGAIN);
}

static void udp_dontwait_timeout(int fam)
{
    int u = udp_sock(fam);
    struct sockaddr_storage ss;
    socklen_t len = any_sa(fam, 0, &ss);
    bind(u, SA(&ss), len);
    char b[8];
    ERR("dontwait", recv(u, b, sizeof(b), MSG_DONTWAIT), EAGAIN);
    struct timeval tv = {0, 200000};
    OK("rcvtimeo", setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
    uint64_t t0 = now_ms();
    ERR("recv", recv(u, b, sizeof(b), 0), EAGAIN);
    uint64_t dt = now_ms() - t0;
    EXPECT("waited", dt >= 150 && dt < 2000);
    int nb = sock(fam, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    ERR("nonblock_unbound", recv(nb, b, sizeof(b), 0), EAGAIN);
}

static void udp_unconnected_send(int fam)
{
    int u = udp_sock(fam);
    ERR("send", send(u, "x", 1, 0), EDESTADDRREQ);
    ERR("write", write(u, "x", 1), EDESTADDRREQ);
    struct sockaddr_storage ss;
    socklen_t len = peer_sa(fam, UDP_ECHO_PORT, &ss);
    ERR("short_addr", sendto(u, "x", 1, 0, SA(&ss), 3), EINVAL);
    struct sockaddr_storage other;
    socklen_t ol = any_sa(fam == AF_INET ? AF_INET6 : AF_INET, 7007, &other);
    if (fam == AF_INET) {
        ERR("v6_to_v4_socket", sendto(u, "x", 1, 0, SA(&other), ol), EAFNOSUPPORT);
    } else {
        /* A dual-stack UDP socket sends to a sockaddr_in over IPv4 (Linux udpv6_sendmsg). */
        struct sockaddr_storage p4;
        socklen_t p4l = peer_sa(AF_INET, UDP_ECHO_PORT, &p4);
        VAL("v4_to_v6_socket", sendto(u, "x", 1, 0, SA(&p4), p4l), 1);
        VAL("v4_reply", wait_ev(u, POLLIN, 3000), POLLIN);
        struct sockaddr_storage from;
        socklen_t fl = sizeof(from);
        char b[4];
        VAL("v4_recv", recvfrom(u, b, sizeof(b), 0, SA(&from), &fl), 1);
        char fs[80];
        obs("v4_from=%s", sa_str(SA(&from), fl, fs, sizeof(fs)));
        ERR("v4_short_len", sendto(u, "x", 1, 0, SA(&p4), 1), EINVAL);
        (void)other;
        (void)ol;
    }
    static char huge[70000];
    ERR("too_big", sendto(u, huge, sizeof(huge), 0, SA(&ss), len), EMSGSIZE);
    ERR("null_buf", sendto(u, NULLP, 10, 0, SA(&ss), len), EFAULT);
}

static void udp_zero_len(int fam)
{
    int u = udp_sock(fam);
    struct sockaddr_storage ss;
    socklen_t len = peer_sa(fam, UDP_ECHO_PORT, &ss);
    VAL("send0", sendto(u, "", 0, 0, SA(&ss), len), 0);
    VAL("wait", wait_ev(u, POLLIN, 3000), POLLIN);
    char b[8];
    struct sockaddr_storage from;
    socklen_t fl = sizeof(from);
    VAL("recv0", recvfrom(u, b, sizeof(b), 0, SA(&from), &fl), 0);
    char fs[80];
    obs("from=%s", sa_str(SA(&from), fl, fs, sizeof(fs)));
    ERR("empty", recv(u, b, sizeof(b), MSG_DONTWAIT), EAGAIN);
}

static void udp_zero_buf_consumes(int fam)
{
    int u = udp_sock(fam);
    burst(u, fam, 2, 20);
    wait_ev(u, POLLIN, 3000);
    sleep_ms(100);
    char b[32];
    VAL("recv_len0", recv(u, b, 0, 0), 0);
    VAL("recv_next", recv(u, b, sizeof(b), 0), 20);
    EXPECT("second", b[0] == 1);
}

static void udp_order(int fam)
{
    int u = udp_sock(fam);
    burst(u, fam, 8, 64);
    int in_order = 0;
    for (int i = 0; i < 8; i++) {
        if (wait_ev(u, POLLIN, 3000) <= 0) {
            break;
        }
        char b[100];
        long n = recv(u, b, sizeof(b), 0);
        in_order += n == 64 && b[0] == i;
    }
    VAL("in_order", in_order, 8);
}

static void udp_large(int fam)
{
    int u = udp_sock(fam);
    struct sockaddr_storage ss;
    socklen_t len = peer_sa(fam, UDP_ECHO_PORT, &ss);
    int size = fam == AF_INET ? 1472 : 1452;
    static char out[1500], in[2000];
    fill_pattern(out, (size_t)size, 7);
    VAL("sendto", sendto(u, out, (size_t)size, 0, SA(&ss), len), size);
    wait_ev(u, POLLIN, 3000);
    VAL("recv", recv(u, in, sizeof(in), 0), size);
    EXPECT("same", memcmp(in, out, (size_t)size) == 0);
}

static void udp_bound_receive(int fam)
{
    int u = udp_sock(fam);
    struct sockaddr_storage ss;
    int port = case_port();
    socklen_t len = self_sa(fam, port, &ss);
    OK("bind", bind(u, SA(&ss), len));
    char reply[64];
    peer_query(fam, reply, sizeof(reply), "udp_send %s %d 3 30", self_host(fam), port);
    int peer_port = 0;
    sscanf(reply, "sent %d", &peer_port);
    int got = 0;
    for (int i = 0; i < 3; i++) {
        if (wait_ev(u, POLLIN, 3000) <= 0) {
            break;
        }
        char b[64];
        struct sockaddr_storage from;
        socklen_t fl = sizeof(from);
        long n = recvfrom(u, b, sizeof(b), 0, SA(&from), &fl);
        got += n == 30 && sa_port(SA(&from)) == peer_port;
    }
    VAL("received", got, 3);
}

static void udp_dual_stack(int fam)
{
    (void)fam;
    int u = sock(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_storage ss;
    int port = case_port();
    socklen_t len = any_sa(AF_INET6, port, &ss);
    OK("bind", bind(u, SA(&ss), len));
    char reply[64];
    peer_query(AF_INET, reply, sizeof(reply), "udp_send %s %d 1 10", g_self4, port);
    VAL("wait", wait_ev(u, POLLIN, 3000), POLLIN);
    char b[32];
    struct sockaddr_storage from;
    socklen_t fl = sizeof(from);
    VAL("recvfrom", recvfrom(u, b, sizeof(b), 0, SA(&from), &fl), 10);
    char h[64];
    obs("from_host=%s", sa_host(SA(&from), h, sizeof(h)));
    VAL("fromlen", fl, sizeof(struct sockaddr_in6));
    /* Reply to the v4-mapped sender through the v6 socket. */
    struct sockaddr_storage echo;
    char host[64];
    snprintf(host, sizeof(host), "::ffff:%s", g_peer4);
    socklen_t el = mk_sa(AF_INET6, host, UDP_ECHO_PORT, &echo);
    VAL("sendto_mapped", sendto(u, "v4", 2, 0, SA(&echo), el), 2);
    VAL("wait_echo", wait_ev(u, POLLIN, 3000), POLLIN);
    VAL("recv_echo", recv(u, b, sizeof(b), 0), 2);
}

static void udp_connected_filter(int fam)
{
    int u = udp_sock(fam);
    struct sockaddr_storage ss;
    socklen_t len = peer_sa(fam, UDP_ECHO_PORT, &ss);
    OK("connect", connect(u, SA(&ss), len));
    struct sockaddr_storage local;
    socklen_t ll = sizeof(local);
    getsockname(u, SA(&local), &ll);
    /* A datagram from another port of the peer must not reach a connected socket. */
    char reply[64];
    peer_query(fam, reply, sizeof(reply), "udp_send %s %d 1 10", self_host(fam), sa_port(SA(&local)));
    sleep_ms(200);
    char b[32];
    ERR("filtered", recv(u, b, sizeof(b), MSG_DONTWAIT), EAGAIN);
    VAL("send", send(u, "mine", 4, 0), 4);
    VAL("wait", wait_ev(u, POLLIN, 3000), POLLIN);
    VAL("recv", recv(u, b, sizeof(b), 0), 4);
    /* sendto with an address on a connected UDP socket goes there (Linux). */
    struct sockaddr_storage burst_sa;
    socklen_t bl = peer_sa(fam, UDP_BURST_PORT, &burst_sa);
    VAL("sendto_other", sendto(u, "1 5", 3, 0, SA(&burst_sa), bl), 3);
    sleep_ms(200);
    ERR("reply_filtered", recv(u, b, sizeof(b), MSG_DONTWAIT), EAGAIN);
}

static void udp_broadcast(int fam)
{
    (void)fam;
    int u = udp_sock(AF_INET);
    struct sockaddr_storage ss;
    socklen_t len = mk_sa(AF_INET, "198.18.0.255", 7009, &ss);
    ERR("no_so_broadcast", sendto(u, "b", 1, 0, SA(&ss), len), EACCES);
    int one = 1, v = -1;
    socklen_t vl = sizeof(v);
    OK("get_default", getsockopt(u, SOL_SOCKET, SO_BROADCAST, &v, &vl));
    VAL("default", v, 0);
    OK("set", setsockopt(u, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)));
    vl = sizeof(v);
    OK("get", getsockopt(u, SOL_SOCKET, SO_BROADCAST, &v, &vl));
    VAL("value", v, 1);
    VAL("sendto", sendto(u, "b", 1, 0, SA(&ss), len), 1);
}

static void udp_multicast_opts(int fam)
{
    (void)fam;
    int u = udp_sock(AF_INET);
    int v = -1;
    socklen_t vl = sizeof(v);
    OK("get_ttl", getsockopt(u, IPPROTO_IP, IP_MULTICAST_TTL, &v, &vl));
    VAL("ttl_default", v, 1);
    int ttl = 5;
    OK("set_ttl", setsockopt(u, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)));
    vl = sizeof(v);
    getsockopt(u, IPPROTO_IP, IP_MULTICAST_TTL, &v, &vl);
    VAL("ttl", v, 5);
    vl = sizeof(v);
    OK("get_loop", getsockopt(u, IPPROTO_IP, IP_MULTICAST_LOOP, &v, &vl));
    VAL("loop_default", v, 1);
    int zero = 0;
    OK("set_loop", setsockopt(u, IPPROTO_IP, IP_MULTICAST_LOOP, &zero, sizeof(zero)));
    vl = sizeof(v);
    getsockopt(u, IPPROTO_IP, IP_MULTICAST_LOOP, &v, &vl);
    VAL("loop", v, 0);
    struct in_addr ifa;
    inet_pton(AF_INET, g_self4, &ifa);
    OK("set_if", setsockopt(u, IPPROTO_IP, IP_MULTICAST_IF, &ifa, sizeof(ifa)));
    struct in_addr got = {0};
    socklen_t gl = sizeof(got);
    OK("get_if", getsockopt(u, IPPROTO_IP, IP_MULTICAST_IF, &got, &gl));
    EXPECT("if_same", got.s_addr == ifa.s_addr);
    struct ip_mreq mr;
    inet_pton(AF_INET, "239.1.2.3", &mr.imr_multiaddr);
    mr.imr_interface = ifa;
    OK("add_membership", setsockopt(u, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)));
    ERR("add_again", setsockopt(u, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)), EADDRINUSE);
    OK("drop_membership", setsockopt(u, IPPROTO_IP, IP_DROP_MEMBERSHIP, &mr, sizeof(mr)));
    ERR("drop_again", setsockopt(u, IPPROTO_IP, IP_DROP_MEMBERSHIP, &mr, sizeof(mr)), EADDRNOTAVAIL);
    struct ip_mreq bad = mr;
    inet_pton(AF_INET, "198.18.0.1", &bad.imr_multiaddr);
    ERR("add_unicast", setsockopt(u, IPPROTO_IP, IP_ADD_MEMBERSHIP, &bad, sizeof(bad)), EINVAL);
    ERR("add_short", setsockopt(u, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, 4), EINVAL);
}

static void udp_v6_multicast_opts(int fam)
{
    (void)fam;
    int u = udp_sock(AF_INET6);
    struct ipv6_mreq mr;
    inet_pton(AF_INET6, "ff02::1:3", &mr.ipv6mr_multiaddr);
    mr.ipv6mr_interface = 0;
    ANY("join_any_if", setsockopt(u, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof(mr)));
    int hops = 3, v = -1;
    socklen_t vl = sizeof(v);
    OK("set_hops", setsockopt(u, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)));
    OK("get_hops", getsockopt(u, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &v, &vl));
    VAL("hops", v, 3);
    struct ipv6_mreq mr2;
    inet_pton(AF_INET6, "2001:db8:1::5", &mr2.ipv6mr_multiaddr);
    mr2.ipv6mr_interface = 0;
    ERR("join_unicast", setsockopt(u, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr2, sizeof(mr2)), EINVAL);
    ANY("join_again", setsockopt(u, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof(mr)));
    ANY("leave", setsockopt(u, IPPROTO_IPV6, IPV6_LEAVE_GROUP, &mr, sizeof(mr)));
    ANY("leave_again", setsockopt(u, IPPROTO_IPV6, IPV6_LEAVE_GROUP, &mr, sizeof(mr)));
    ANY("join_short", setsockopt(u, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, 8));
}

/* A datagram to group:port from the peer; the peer sends out of its link. */
static void mcast_from_peer(int fam, const char *group, int port, int n)
{
    char reply[64];
    peer_query(fam, reply, sizeof(reply), "udp_send %s %d %d 25", group, port, n);
}

static void mcast_join(int u, int fam, const char *group, bool join, const char *label)
{
    if (fam == AF_INET) {
        struct ip_mreq mr;
        inet_pton(AF_INET, group, &mr.imr_multiaddr);
        inet_pton(AF_INET, g_self4, &mr.imr_interface);
        OK(label, setsockopt(u, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &mr, sizeof(mr)));
    } else {
        struct ipv6_mreq mr = {.ipv6mr_interface = 0};
        inet_pton(AF_INET6, group, &mr.ipv6mr_multiaddr);
        OK(label, setsockopt(u, IPPROTO_IPV6, join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP, &mr, sizeof(mr)));
    }
}

/* Joined: the group's datagrams arrive (IGMP/MLD join made); left: they stop. */
static void udp_mcast_receive(int fam)
{
    const char *group = fam == AF_INET ? "239.1.2.3" : "ff15::1234"; /* issue 8 names these */
    int u = udp_sock(fam);
    struct sockaddr_storage ss;
    int port = case_port();
    socklen_t len = any_sa(fam, port, &ss);
    OK("bind", bind(u, SA(&ss), len));
    mcast_from_peer(fam, group, port, 1);
    sleep_ms(200);
    char b[64];
    ERR("before_join", recv(u, b, sizeof(b), MSG_DONTWAIT), EAGAIN);
    mcast_join(u, fam, group, true, "join");
    mcast_from_peer(fam, group, port, 2);
    VAL("wait", wait_ev(u, POLLIN, 3000), POLLIN);
    struct sockaddr_storage from;
    socklen_t fl = sizeof(from);
    VAL("recvfrom", recvfrom(u, b, sizeof(b), 0, SA(&from), &fl), 25);
    char h[64];
    sa_host(SA(&from), h, sizeof(h));
    /* v6: the peer sends to a link-scope group from its (per-bed) link-local address */
    obs("from=%s first=%d", fam == AF_INET ? h : strncmp(h, "fe80:", 5) == 0 ? "link-local" : h, b[0]);
    VAL("wait2", wait_ev(u, POLLIN, 3000), POLLIN);
    VAL("recv2", recv(u, b, sizeof(b), 0), 25);
    VAL("second", b[0], 1);
    mcast_join(u, fam, group, false, "leave");
    mcast_from_peer(fam, group, port, 1);
    sleep_ms(200);
    ERR("after_leave", recv(u, b, sizeof(b), MSG_DONTWAIT), EAGAIN);
}

/* close() drops the socket's memberships: a later socket on the port gets nothing. */
static void udp_mcast_close_leaves(int fam)
{
    const char *group = fam == AF_INET ? "239.1.2.5" : "ff02::4243";
    int port = case_port();
    struct sockaddr_storage ss;
    socklen_t len = any_sa(fam, port, &ss);
    int a = udp_sock(fam);
    OK("bind_a", bind(a, SA(&ss), len));
    mcast_join(a, fam, group, true, "join");
    OK("close_a", close(a));
    int b = udp_sock(fam);
    OK("bind_b", bind(b, SA(&ss), len));
    mcast_from_peer(fam, group, port, 1);
    sleep_ms(200);
    char buf[64];
    ERR("not_member", recv(b, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
}

/* Send to groups out of the link to the peer: the kernel needs the interface named (no route). */
static void mcast_out_if(int u, int fam)
{
    if (fam == AF_INET) {
        struct in_addr ifa;
        inet_pton(AF_INET, g_self4, &ifa);
        OK("mcast_if", setsockopt(u, IPPROTO_IP, IP_MULTICAST_IF, &ifa, sizeof(ifa)));
    } else {
        int idx = (int)if_nametoindex("vd"); /* the dut's link (netbed); the shim has one interface */
        OK("mcast_if", setsockopt(u, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof(idx)));
    }
}

/* IP_MULTICAST_LOOP: by default our own datagram to a group we joined comes back to us. */
static void udp_mcast_loop(int fam)
{
    const char *group = fam == AF_INET ? "239.1.2.6" : "ff02::4244";
    int u = udp_sock(fam);
    struct sockaddr_storage ss;
    int port = case_port();
    socklen_t len = any_sa(fam, port, &ss);
    OK("bind", bind(u, SA(&ss), len));
    mcast_join(u, fam, group, true, "join");
    mcast_out_if(u, fam);
    struct sockaddr_storage to;
    socklen_t tl = mk_sa(fam, group, port, &to);
    VAL("send", sendto(u, "loop", 4, 0, SA(&to), tl), 4);
    VAL("wait", wait_ev(u, POLLIN, 2000), POLLIN);
    char b[16];
    VAL("recv_own", recv(u, b, sizeof(b), MSG_DONTWAIT), 4);
    int zero = 0;
    if (fam == AF_INET) {
        OK("loop_off", setsockopt(u, IPPROTO_IP, IP_MULTICAST_LOOP, &zero, sizeof(zero)));
    } else {
        OK("loop_off", setsockopt(u, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &zero, sizeof(zero)));
    }
    VAL("send2", sendto(u, "gone", 4, 0, SA(&to), tl), 4);
    sleep_ms(200);
    ERR("not_looped", recv(u, b, sizeof(b), MSG_DONTWAIT), EAGAIN);
}

/* IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS: 1 by default (not the unicast TTL), as set otherwise. */
static void udp_mcast_hops(int fam)
{
    const char *group = fam == AF_INET ? "239.1.2.7" : "ff02::4245";
    int u = udp_sock(fam);
    mcast_out_if(u, fam);
    int port = case_port();
    struct sockaddr_storage to;
    socklen_t tl = mk_sa(fam, group, port, &to);
    char id[32], reply[64];
    for (int k = 0; k < 2; k++) {
        if (k == 1) {
            int hops = 7;
            if (fam == AF_INET) {
                OK("set_ttl", setsockopt(u, IPPROTO_IP, IP_MULTICAST_TTL, &hops, sizeof(hops)));
            } else {
                OK("set_hops", setsockopt(u, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)));
            }
        }
        snprintf(id, sizeof(id), "m%d%d%d", fam, port, k);
        peer_query(fam, reply, sizeof(reply), "mcast_watch %s %s %d", id, group, port);
        VAL(k ? "send_7" : "send_default", sendto(u, "hops", 4, 0, SA(&to), tl), 4);
        peer_query(fam, reply, sizeof(reply), "result %s", id);
        obs("%s=%s", k ? "peer_7" : "peer_default", reply);
    }
}

static void udp_ttl_tos(int fam)
{
    int u = udp_sock(fam);
    int lvl = fam == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
    int opt = fam == AF_INET ? IP_TTL : IPV6_UNICAST_HOPS;
    int v = -1;
    socklen_t vl = sizeof(v);
    OK("get_ttl", getsockopt(u, lvl, opt, &v, &vl));
    VAL("ttl_default", v, 64);
    int ttl = 7;
    OK("set_ttl", setsockopt(u, lvl, opt, &ttl, sizeof(ttl)));
    vl = sizeof(v);
    getsockopt(u, lvl, opt, &v, &vl);
    VAL("ttl", v, 7);
    int bad = 256;
    ERR("ttl_256", setsockopt(u, lvl, opt, &bad, sizeof(bad)), EINVAL);
    if (fam == AF_INET) {
        int zero = 0;
        ERR("ttl_0", setsockopt(u, lvl, opt, &zero, sizeof(zero)), EINVAL);
        int tos = 0x10;
        OK("set_tos", setsockopt(u, IPPROTO_IP, IP_TOS, &tos, sizeof(tos)));
        vl = sizeof(v);
        OK("get_tos", getsockopt(u, IPPROTO_IP, IP_TOS, &v, &vl));
        VAL("tos", v, 0x10);
    }
    /* Still sends with the options set. */
    struct sockaddr_storage ss;
    socklen_t len = peer_sa(fam, UDP_ECHO_PORT, &ss);
    VAL("sendto", sendto(u, "t", 1, 0, SA(&ss), len), 1);
    VAL("wait", wait_ev(u, POLLIN, 3000), POLLIN);
}

static void udp_fionread(int fam)
{
    int u = udp_sock(fam);
    int n = -1;
    burst(u, fam, 2, 33);
    wait_ev(u, POLLIN, 3000);
    sleep_ms(100);
    OK("fionread", ioctl(u, FIONREAD, &n));
    VAL("next_size", n, 33);
    char b[64];
    recv(u, b, sizeof(b), 0);
    recv(u, b, sizeof(b), 0);
    OK("fionread_empty", ioctl(u, FIONREAD, &n));
    VAL("empty", n, 0);
}

static void udp_sendmsg(int fam)
{
    int u = udp_sock(fam);
    struct sockaddr_storage ss;
    socklen_t len = peer_sa(fam, UDP_ECHO_PORT, &ss);
    struct iovec iov[3] = {{"ab", 2}, {"cd", 2}, {"e", 1}};
    struct msghdr m = {.msg_name = &ss, .msg_namelen = len, .msg_iov = iov, .msg_iovlen = 3};
    VAL("sendmsg", sendmsg(u, &m, 0), 5);
    wait_ev(u, POLLIN, 3000);
    char b[8] = {0};
    VAL("recv", recv(u, b, sizeof(b), 0), 5);
    obs("data=%s", b);
    struct msghdr none = {.msg_iov = iov, .msg_iovlen = 1};
    ERR("sendmsg_no_addr", sendmsg(u, &none, 0), EDESTADDRREQ);
}

static void udp_family_filter(int fam)
{
    (void)fam;
    /* An AF_INET socket on 0.0.0.0 gets nothing that came over IPv6. */
    int u = udp_sock(AF_INET);
    int port = case_port();
    struct sockaddr_storage ss;
    socklen_t len = any_sa(AF_INET, port, &ss);
    OK("bind", bind(u, SA(&ss), len));
    char reply[64];
    peer_query(AF_INET6, reply, sizeof(reply), "udp_send %s %d 1 10", g_self6, port);
    peer_query(AF_INET, reply, sizeof(reply), "udp_send %s %d 1 20", g_self4, port);
    VAL("wait", wait_ev(u, POLLIN, 3000), POLLIN);
    char b[64];
    struct sockaddr_storage from;
    socklen_t fl = sizeof(from);
    VAL("recv", recvfrom(u, b, sizeof(b), 0, SA(&from), &fl), 20);
    VAL("fromlen", fl, sizeof(struct sockaddr_in));
    sleep_ms(100);
    ERR("no_more", recv(u, b, sizeof(b), MSG_DONTWAIT), EAGAIN);
}

static void *udp_recv_thread(void *arg)
{
    int *p = arg;
    char b[8];
    long n = recv(p[0], b, sizeof(b), 0);
    p[1] = (int)n;
    p[2] = n < 0 ? errno : 0;
    return NULL;
}

static void udp_shutdown(int fam)
{
    struct sockaddr_storage ss;
    socklen_t len = peer_sa(fam, UDP_ECHO_PORT, &ss);
    /* Linux: ENOTCONN on an unconnected socket, yet the directions are shut all the same. */
    int q = udp_sock(fam);
    ERR("unconnected", shutdown(q, SHUT_RDWR), ENOTCONN);
    OK("connect_after", connect(q, SA(&ss), len));
    ERR("send_after_unconnected_shutdown", send(q, "x", 1, 0), EPIPE);
    int u = udp_sock(fam);
    OK("connect", connect(u, SA(&ss), len));
    int arg[3] = {u, 99, 0};
    pthread_t t;
    pthread_create(&t, NULL, udp_recv_thread, arg);
    sleep_ms(200);
    uint64_t t0 = now_ms();
    OK("shutdown_rd", shutdown(u, SHUT_RD));
    pthread_join(t, NULL);
    EXPECT("woke", now_ms() - t0 < 1000);
    VAL("recv_in_thread", arg[1], 0);
    char b[8];
    VAL("recv_after", recv(u, b, sizeof(b), 0), 0);
    ERR("recv_after_nonblocking", recv(u, b, sizeof(b), MSG_DONTWAIT), EAGAIN);
    VAL("send_still", send(u, "x", 1, 0), 1);
    OK("shutdown_wr", shutdown(u, SHUT_WR));
    ERR("send_after_wr", send(u, "x", 1, 0), EPIPE);
}

static void udp_connect_v4_on_v6(int fam)
{
    (void)fam;
    int u = udp_sock(AF_INET6);
    struct sockaddr_storage ss;
    socklen_t len = peer_sa(AF_INET, UDP_ECHO_PORT, &ss);
    OK("connect_sockaddr_in", connect(u, SA(&ss), len));
    struct sockaddr_storage pa;
    socklen_t pl = sizeof(pa);
    OK("getpeername", getpeername(u, SA(&pa), &pl));
    char b[80];
    obs("peer=%s", sa_str(SA(&pa), pl, b, sizeof(b)));
    VAL("send", send(u, "v4", 2, 0), 2);
    VAL("wait", wait_ev(u, POLLIN, 3000), POLLIN);
    VAL("recv", recv(u, b, sizeof(b), 0), 2);
}

static void udp_readv_writev(int fam)
{
    int u = udp_sock(fam);
    struct sockaddr_storage ss;
    socklen_t len = peer_sa(fam, UDP_ECHO_PORT, &ss);
    OK("connect", connect(u, SA(&ss), len));
    struct iovec out[3] = {{"one ", 4}, {"two ", 4}, {"three", 5}};
    VAL("writev", writev(u, out, 3), 13);
    wait_ev(u, POLLIN, 3000);
    char a[5] = {0}, b[16] = {0};
    struct iovec in[2] = {{a, 4}, {b, 15}};
    VAL("readv", readv(u, in, 2), 13);
    obs("a=%s b=%s", a, b);
    VAL("write", write(u, "w", 1), 1);
    wait_ev(u, POLLIN, 3000);
    /* read() of 0 bytes returns at once and leaves the datagram (Linux sock_read_iter); recv() would take it. */
    VAL("read_zero", read(u, a, 0), 0);
    VAL("still_there", recv(u, a, 4, MSG_DONTWAIT), 1);
}

const diff_case_def_t diff_cases_udp[] = {
    CASE_46(udp_echo),
    CASE_46(udp_truncate),
    CASE_46(udp_trunc_flag),
    CASE_46(udp_recvmsg_trunc),
    CASE_46(udp_peek),
    CASE_46(udp_dontwait_timeout),
    CASE_46(udp_unconnected_send),
    CASE_46(udp_zero_len),
    CASE_46(udp_zero_buf_consumes),
    CASE_46(udp_order),
    CASE_46(udp_large),
    CASE_46(udp_bound_receive),
    CASE_1(udp_dual_stack),
    CASE_46(udp_connected_filter),
    CASE_1(udp_broadcast),
    CASE_1(udp_multicast_opts),
    CASE_1(udp_v6_multicast_opts),
    CASE_46(udp_mcast_receive),
    CASE_46(udp_mcast_close_leaves),
    CASE_46(udp_mcast_loop),
    CASE_46(udp_mcast_hops),
    CASE_46(udp_ttl_tos),
    CASE_46(udp_fionread),
    CASE_46(udp_sendmsg),
    CASE_1(udp_family_filter),
    CASE_46(udp_shutdown),
    CASE_1(udp_connect_v4_on_v6),
    CASE_46(udp_readv_writev),
    {0},
};
