/* select() and poll(). */
#define _GNU_SOURCE
#include "diff.h"

static int sel(int fd, bool r, bool w, bool x, int timeout_ms, char *out, size_t n)
{
    fd_set rs, ws, xs;
    FD_ZERO(&rs);
    FD_ZERO(&ws);
    FD_ZERO(&xs);
    if (r) {
        FD_SET(fd, &rs);
    }
    if (w) {
        FD_SET(fd, &ws);
    }
    if (x) {
        FD_SET(fd, &xs);
    }
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    int rc = select(fd + 1, &rs, &ws, &xs, timeout_ms < 0 ? NULL : &tv);
    snprintf(out, n, "%d:%s%s%s", rc, rc > 0 && FD_ISSET(fd, &rs) ? "r" : "", rc > 0 && FD_ISSET(fd, &ws) ? "w" : "",
             rc > 0 && FD_ISSET(fd, &xs) ? "x" : "");
    return rc;
}

static void select_timeout_only(int fam)
{
    (void)fam;
    struct timeval tv = {0, 150000};
    uint64_t t0 = now_ms();
    VAL("select_none", select(0, NULL, NULL, NULL, &tv), 0);
    uint64_t dt = now_ms() - t0;
    EXPECT("waited", dt >= 100 && dt < 2000);
    VAL("tv_updated", tv.tv_sec * 1000000 + tv.tv_usec, 0);
    ERR("negative_nfds", select(-1, NULL, NULL, NULL, &tv), EINVAL);
    struct timeval bad = {0, -1};
    ERR("negative_tv", select(0, NULL, NULL, NULL, &bad), EINVAL);
}

static void select_tcp_states(int fam)
{
    char b[32];
    int s = sock(fam, SOCK_STREAM, 0);
    sel(s, true, true, true, 0, b, sizeof(b));
    obs("fresh=%s", b);
    int c = echo_conn(fam);
    sel(c, true, true, true, 0, b, sizeof(b));
    obs("connected=%s", b);
    send(c, "x", 1, 0);
    sel(c, true, false, false, 3000, b, sizeof(b));
    obs("data=%s", b);
    sel(c, true, true, true, 0, b, sizeof(b));
    obs("data_all=%s", b);
    recv(c, b, sizeof(b), 0);
    sel(c, true, false, false, 0, b, sizeof(b));
    obs("drained=%s", b);
}

static void select_timeout_left(int fam)
{
    int c = echo_conn(fam);
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(c, &rs);
    struct timeval tv = {0, 200000};
    uint64_t t0 = now_ms();
    VAL("select", select(c + 1, &rs, NULL, NULL, &tv), 0);
    EXPECT("waited", now_ms() - t0 >= 150);
    EXPECT("set_cleared", !FD_ISSET(c, &rs));
    VAL("tv_left", tv.tv_sec * 1000000 + tv.tv_usec, 0);
    /* Data within the timeout: the remaining time is written back. */
    int d = peer_open(fam, "delay 200 3");
    FD_ZERO(&rs);
    FD_SET(d, &rs);
    struct timeval tv2 = {3, 0};
    VAL("select_data", select(d + 1, &rs, NULL, NULL, &tv2), 1);
    long left = tv2.tv_sec * 1000000 + tv2.tv_usec;
    EXPECT("tv2_left", left > 1500000 && left < 2900000);
}

static void select_badfd(int fam)
{
    int s = sock(fam, SOCK_STREAM, 0);
    int gone = sock(fam, SOCK_STREAM, 0);
    drop(gone);
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(s, &rs);
    FD_SET(gone, &rs);
    struct timeval tv = {0, 0};
    int hi = (s > gone ? s : gone) + 1;
    ERR("closed_fd_in_set", select(hi, &rs, NULL, NULL, &tv), EBADF);
    struct pollfd p[2] = {{.fd = s, .events = POLLIN}, {.fd = gone, .events = POLLIN}};
    VAL("poll", poll(p, 2, 0), 2); /* a fresh TCP socket reports HUP */
    obs("poll_closed=%s", ev_str(p[1].revents));
    obs("poll_open=%s", ev_str(p[0].revents));
}

static void select_many(int fam)
{
    int u[10], port0 = case_port();
    int hi = 0;
    for (int i = 0; i < 10; i++) {
        u[i] = sock(fam, SOCK_DGRAM, 0);
        struct sockaddr_storage ss;
        socklen_t len = self_sa(fam, port0 + (i < 4 ? i : 0), &ss);
        if (i < 4) {
            bind(u[i], SA(&ss), len);
        }
        hi = u[i] > hi ? u[i] : hi;
    }
    char reply[64];
    peer_query(fam, reply, sizeof(reply), "udp_send %s %d 1 8", self_host(fam), port0 + 1);
    peer_query(fam, reply, sizeof(reply), "udp_send %s %d 1 8", self_host(fam), port0 + 3);
    sleep_ms(200);
    fd_set rs;
    FD_ZERO(&rs);
    for (int i = 0; i < 10; i++) {
        FD_SET(u[i], &rs);
    }
    struct timeval tv = {2, 0};
    VAL("select", select(hi + 1, &rs, NULL, NULL, &tv), 2);
    char which[16] = {0};
    for (int i = 0; i < 10; i++) {
        which[i] = FD_ISSET(u[i], &rs) ? '1' : '0';
    }
    obs("ready=%s", which);
    fd_set ws;
    FD_ZERO(&ws);
    for (int i = 0; i < 10; i++) {
        FD_SET(u[i], &ws);
    }
    tv = (struct timeval){0, 0};
    VAL("select_write", select(hi + 1, NULL, &ws, NULL, &tv), 10);
}

static void select_listener(int fam)
{
    int port;
    int l = listener(fam, 2, &port);
    char b[32];
    sel(l, true, true, true, 0, b, sizeof(b));
    obs("idle=%s", b);
    char reply[64];
    peer_query(fam, reply, sizeof(reply), "connect %s %d 1 -", self_host(fam), port);
    sel(l, true, false, false, 3000, b, sizeof(b));
    obs("pending=%s", b);
    int c = accept(l, NULL, NULL);
    track(c);
    sel(l, true, false, false, 0, b, sizeof(b));
    obs("after_accept=%s", b);
}

static void select_eof_reset(int fam)
{
    char b[32];
    int c = peer_open(fam, "close");
    sel(c, true, false, false, 3000, b, sizeof(b));
    obs("eof=%s", b);
    sel(c, true, true, true, 0, b, sizeof(b));
    obs("eof_all=%s", b);
    int d = peer_open(fam, "rst");
    sel(d, true, false, false, 3000, b, sizeof(b));
    obs("rst=%s", b);
    sleep_ms(50);
    sel(d, true, true, true, 0, b, sizeof(b));
    obs("rst_all=%s", b);
}

static void select_nonblock_connect(int fam)
{
    char b[32];
    int s = sock(fam, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_storage ss;
    socklen_t len = peer_sa(fam, CTL_PORT, &ss);
    ERR("connect", connect(s, SA(&ss), len), EINPROGRESS);
    sel(s, false, true, false, 3000, b, sizeof(b));
    obs("writable=%s", b);
    int r = sock(fam, SOCK_STREAM | SOCK_NONBLOCK, 0);
    len = peer_sa(fam, CLOSED_PORT, &ss);
    ERR("connect_refused", connect(r, SA(&ss), len), EINPROGRESS);
    sel(r, false, true, false, 3000, b, sizeof(b));
    obs("refused_writable=%s", b);
    sel(r, true, true, true, 0, b, sizeof(b));
    obs("refused_all=%s", b);
    int h = sock(fam, SOCK_STREAM | SOCK_NONBLOCK, 0);
    len = peer_sa(fam, BLACKHOLE_PORT, &ss);
    ERR("connect_hole", connect(h, SA(&ss), len), EINPROGRESS);
    sel(h, true, true, true, 200, b, sizeof(b));
    obs("pending=%s", b);
}

static void select_wakes_from_thread(int fam)
{
    int c = peer_open(fam, "delay 300 4");
    char b[32];
    uint64_t t0 = now_ms();
    sel(c, true, false, false, -1, b, sizeof(b));
    uint64_t dt = now_ms() - t0;
    obs("sel=%s", b);
    EXPECT("blocked", dt >= 200 && dt < 3000);
}

static void poll_states(int fam)
{
    int s = sock(fam, SOCK_STREAM, 0);
    obs("fresh=%s", ev_str(wait_ev(s, POLLIN | POLLOUT, 0)));
    int c = echo_conn(fam);
    obs("connected=%s", ev_str(wait_ev(c, POLLIN | POLLOUT, 0)));
    send(c, "x", 1, 0);
    wait_ev(c, POLLIN, 3000);
    obs("data=%s", ev_str(wait_ev(c, POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM, 0)));
    obs("only_in=%s", ev_str(wait_ev(c, POLLIN, 0)));
    obs("no_events=%s", ev_str(wait_ev(c, 0, 0)));
    int u = sock(fam, SOCK_DGRAM, 0);
    obs("udp=%s", ev_str(wait_ev(u, POLLIN | POLLOUT, 0)));
    int port;
    int l = listener(fam, 1, &port);
    obs("listener=%s", ev_str(wait_ev(l, POLLIN | POLLOUT, 0)));
}

static void poll_hangups(int fam)
{
    int c = peer_open(fam, "close");
    wait_ev(c, POLLIN, 3000);
    obs("peer_closed=%s", ev_str(wait_ev(c, POLLIN | POLLOUT | POLLRDHUP, 0)));
    shutdown(c, SHUT_WR);
    sleep_ms(200);
    obs("both_closed=%s", ev_str(wait_ev(c, POLLIN | POLLOUT, 0)));
    int d = peer_open(fam, "rst");
    wait_ev(d, POLLIN, 3000);
    sleep_ms(50);
    obs("reset=%s", ev_str(wait_ev(d, POLLIN | POLLOUT, 0)));
    obs("reset_no_events=%s", ev_str(wait_ev(d, 0, 0)));
    int r = sock(fam, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_storage ss;
    socklen_t len = peer_sa(fam, CLOSED_PORT, &ss);
    connect(r, SA(&ss), len);
    sleep_ms(300);
    obs("refused=%s", ev_str(wait_ev(r, POLLIN | POLLOUT, 0)));
}

static void poll_misc(int fam)
{
    struct pollfd p[3];
    int s = sock(fam, SOCK_DGRAM, 0);
    p[0] = (struct pollfd){.fd = -1, .events = POLLIN, .revents = 77};
    p[1] = (struct pollfd){.fd = s, .events = POLLOUT};
    p[2] = (struct pollfd){.fd = -5, .events = POLLOUT};
    VAL("poll", poll(p, 3, 0), 1);
    obs("negative_fd=%s", ev_str(p[0].revents));
    obs("udp=%s", ev_str(p[1].revents));
    uint64_t t0 = now_ms();
    p[1].events = POLLIN;
    VAL("poll_timeout", poll(&p[1], 1, 150), 0);
    uint64_t dt = now_ms() - t0;
    EXPECT("waited", dt >= 100 && dt < 2000);
    VAL("poll_none", poll(NULLP, 0, 50), 0);
    ERR("poll_null", poll(NULLP, 2, 0), EFAULT);
}

static void poll_many(int fam)
{
    struct pollfd p[6];
    int c[6];
    for (int i = 0; i < 6; i++) {
        c[i] = echo_conn(fam);
        p[i] = (struct pollfd){.fd = c[i], .events = POLLIN};
    }
    send(c[1], "a", 1, 0);
    send(c[4], "b", 1, 0);
    sleep_ms(200);
    VAL("poll", poll(p, 6, 3000), 2);
    char which[8] = {0};
    for (int i = 0; i < 6; i++) {
        which[i] = p[i].revents & POLLIN ? '1' : '0';
    }
    obs("ready=%s", which);
}

const diff_case_def_t diff_cases_select[] = {
    CASE_1(select_timeout_only),
    CASE_46(select_tcp_states),
    CASE_46(select_timeout_left),
    CASE_46(select_badfd),
    CASE_46(select_many),
    CASE_46(select_listener),
    CASE_46(select_eof_reset),
    CASE_46(select_nonblock_connect),
    CASE_46(select_wakes_from_thread),
    CASE_46(poll_states),
    CASE_46(poll_hangups),
    CASE_46(poll_misc),
    CASE_46(poll_many),
    {0},
};
