/*
 * wire — seeded userspace Ethernet wire (delay, jitter, loss, reorder,
 * duplicate, corrupt, link down/up) between two TAPs or AF_PACKET interfaces.
 * Linux only, C11, no dependencies. Usage and contract: README.md.
 */
#define _GNU_SOURCE
#include "wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h> /* before the linux/ headers */
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

#define MAX_FRAME 65536u
#define RX_BURST 64

static const char *const DIR_NAME[WIRE_DIRS] = {"ab", "ba"};

/* ---- frames and queues -------------------------------------------------- */

typedef struct frame {
    struct frame *next;
    uint64_t release_ns; /* FIFO: when it may go; held: deadline */
    uint64_t seq;        /* enqueue order within the direction */
    uint32_t len;
    uint8_t data[];
} frame_t;

typedef struct {
    frame_t *head, *tail;
    uint32_t n;
} fifo_t;

typedef struct {
    const char *spec; /* "tap:NAME" or "pkt:NAME" */
    int fd;
    bool is_tap;
} endpoint_t;

typedef struct {
    wire_dir_cfg_t cfg;
    wire_dir_stats_t st;
    fifo_t q;    /* delay line, release order */
    fifo_t held; /* reordered frames waiting to be overtaken */
    uint32_t qbytes;
    uint64_t seq;
    uint64_t last_release_ns;
    uint64_t rng;
    endpoint_t *in, *out;
} dir_t;

static dir_t dirs[WIRE_DIRS];
static endpoint_t ep[2];
static uint64_t seed = 1;
static int ctrl_fd = -1;
static const char *ctrl_path;
static volatile sig_atomic_t sig_stop, sig_down, sig_up, sig_dump;
static uint8_t rxbuf[MAX_FRAME];

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* splitmix64: small, seedable, good enough for impairment decisions. */
static uint64_t rnd(dir_t *d)
{
    uint64_t z = (d->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* true with probability pct/100 (exact 0 and 100 included). */
static bool chance(dir_t *d, double pct)
{
    if (pct <= 0) {
        return false;
    }
    uint64_t r = rnd(d);
    if (pct >= 100) {
        return true;
    }
    return (double)(r >> 11) * (1.0 / 9007199254740992.0) * 100.0 < pct;
}

static void fifo_push(fifo_t *f, frame_t *fr)
{
    fr->next = NULL;
    if (f->tail) {
        f->tail->next = fr;
    } else {
        f->head = fr;
    }
    f->tail = fr;
    f->n++;
}

static frame_t *fifo_pop(fifo_t *f)
{
    frame_t *fr = f->head;
    if (fr) {
        f->head = fr->next;
        if (!f->head) {
            f->tail = NULL;
        }
        f->n--;
    }
    return fr;
}

/* ---- endpoints ---------------------------------------------------------- */

static int open_endpoint(endpoint_t *e)
{
    const char *name;
    if (strncmp(e->spec, "tap:", 4) == 0) {
        e->is_tap = true;
        name = e->spec + 4;
    } else if (strncmp(e->spec, "pkt:", 4) == 0) {
        e->is_tap = false;
        name = e->spec + 4;
    } else {
        fprintf(stderr, "wire: endpoint '%s' must be tap:NAME or pkt:NAME\n", e->spec);
        return -1;
    }
    if (!*name || strlen(name) >= IFNAMSIZ) {
        fprintf(stderr, "wire: bad interface name in '%s'\n", e->spec);
        return -1;
    }
    if (e->is_tap) {
        e->fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (e->fd < 0) {
            fprintf(stderr, "wire: open /dev/net/tun: %s\n", strerror(errno));
            return -1;
        }
        struct ifreq ifr = {0};
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
        strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
        if (ioctl(e->fd, TUNSETIFF, &ifr) < 0) {
            fprintf(stderr, "wire: attach to tap %s: %s\n", name, strerror(errno));
            return -1;
        }
    } else {
        e->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
        if (e->fd < 0) {
            fprintf(stderr, "wire: AF_PACKET socket: %s\n", strerror(errno));
            return -1;
        }
        unsigned idx = if_nametoindex(name);
        if (!idx) {
            fprintf(stderr, "wire: no interface %s\n", name);
            return -1;
        }
        struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
                                  .sll_ifindex = (int)idx};
        if (bind(e->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
            fprintf(stderr, "wire: bind %s: %s\n", name, strerror(errno));
            return -1;
        }
        int one = 1;
        if (setsockopt(e->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0) {
            fprintf(stderr, "wire: PACKET_IGNORE_OUTGOING on %s: %s (kernel >= 4.20 needed)\n", name,
                    strerror(errno));
            return -1;
        }
        struct packet_mreq mr = {.mr_ifindex = (int)idx, .mr_type = PACKET_MR_PROMISC};
        if (setsockopt(e->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0) {
            fprintf(stderr, "wire: promiscuous %s: %s\n", name, strerror(errno));
            return -1;
        }
        int buf = 4 << 20;
        setsockopt(e->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
        setsockopt(e->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    }
    fcntl(e->fd, F_SETFL, fcntl(e->fd, F_GETFL) | O_NONBLOCK);
    return 0;
}

static bool transmit(dir_t *d, const frame_t *fr)
{
    for (;;) {
        ssize_t n = write(d->out->fd, fr->data, fr->len);
        if (n == (ssize_t)fr->len) {
            d->st.tx_frames++;
            d->st.tx_bytes += fr->len;
            return true;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        d->st.tx_errors++;
        return false;
    }
}

/* ---- impairments -------------------------------------------------------- */

/* Flip one byte inside the IP datagram (IPv4 total length / IPv6 header+payload),
 * so every corruption is detectable by a header or L4 checksum, never silently
 * harmless padding, and ARP is never poisoned. Returns false for non-IP frames. */
static bool corrupt(dir_t *d, frame_t *fr)
{
    if (fr->len < 14 + 20) {
        return false;
    }
    uint16_t et = (uint16_t)(fr->data[12] << 8 | fr->data[13]);
    uint32_t ip_len;
    if (et == 0x0800) {
        ip_len = (uint32_t)(fr->data[16] << 8 | fr->data[17]);
    } else if (et == 0x86DD && fr->len >= 14 + 40) {
        ip_len = 40u + (uint32_t)(fr->data[18] << 8 | fr->data[19]);
    } else {
        return false;
    }
    if (ip_len > fr->len - 14) {
        ip_len = fr->len - 14;
    }
    if (ip_len == 0) {
        return false;
    }
    /* IPv6 has no header checksum: traffic class, flow label and hop limit (bytes 0-3 and 7)
     * are covered by nothing, so corrupt from the payload length on, skipping the hop limit. */
    uint32_t first = et == 0x86DD ? 4u : 0u;
    if (ip_len <= first + 4) {
        return false;
    }
    uint32_t off = first + (uint32_t)(rnd(d) % (ip_len - first));
    if (et == 0x86DD && off == 7) {
        off = 8;
    }
    fr->data[14 + off] ^= (uint8_t)(1 + rnd(d) % 255);
    return true;
}

static void flush_dir(dir_t *d)
{
    frame_t *fr;
    while ((fr = fifo_pop(&d->q)) || (fr = fifo_pop(&d->held))) {
        d->st.down_drops++;
        free(fr);
    }
    d->qbytes = 0;
}

static void set_down(dir_t *d, bool down)
{
    if (down && !d->cfg.down) {
        flush_dir(d);
    }
    d->cfg.down = down;
}

static void enqueue(dir_t *d, const uint8_t *data, uint32_t len, uint64_t now)
{
    d->st.rx_frames++;
    d->st.rx_bytes += len;
    if (d->cfg.down) {
        d->st.down_drops++;
        return;
    }
    if (chance(d, d->cfg.loss_pct)) {
        d->st.lost++;
        return;
    }
    int copies = chance(d, d->cfg.dup_pct) ? 2 : 1;
    if (copies == 2) {
        d->st.duplicated++;
    }
    bool do_corrupt = chance(d, d->cfg.corrupt_pct);
    for (int c = 0; c < copies; c++) {
        if (d->q.n + d->held.n + 1 > d->cfg.queue_frames || (uint64_t)d->qbytes + len > d->cfg.queue_bytes) {
            d->st.queue_drops++;
            continue;
        }
        frame_t *fr = malloc(sizeof(*fr) + len);
        if (!fr) {
            d->st.queue_drops++;
            continue;
        }
        memcpy(fr->data, data, len);
        fr->len = len;
        fr->seq = d->seq++;
        if (c == 0 && do_corrupt) {
            if (corrupt(d, fr)) {
                d->st.corrupted++;
            } else {
                d->st.corrupt_skipped++;
            }
        }
        int64_t delay = d->cfg.delay_us;
        if (d->cfg.jitter_us) {
            delay += (int64_t)(rnd(d) % (2ull * d->cfg.jitter_us + 1)) - (int64_t)d->cfg.jitter_us;
            if (delay < 0) {
                delay = 0;
            }
        }
        uint64_t rel = now + (uint64_t)delay * 1000u;
        d->qbytes += len;
        if (chance(d, d->cfg.reorder_pct)) {
            /* Held back: goes out once reorder_gap later frames went out, or at the deadline. */
            fr->release_ns = rel + (uint64_t)d->cfg.reorder_hold_us * 1000u;
            d->st.reordered++;
            fifo_push(&d->held, fr);
        } else {
            if (rel < d->last_release_ns) {
                rel = d->last_release_ns; /* jitter keeps order: reordering is its own knob */
            }
            d->last_release_ns = rel;
            fr->release_ns = rel;
            fifo_push(&d->q, fr);
        }
        uint32_t n = d->q.n + d->held.n;
        if (n > d->st.queue_high_water) {
            d->st.queue_high_water = n;
        }
        if (d->qbytes > d->st.queue_bytes_high_water) {
            d->st.queue_bytes_high_water = d->qbytes;
        }
    }
}

static void send_and_free(dir_t *d, frame_t *fr)
{
    transmit(d, fr);
    d->qbytes -= fr->len;
    free(fr);
}

/* Send held frames that have been overtaken by `gap` frames (after FIFO seq `sent_seq`)
 * or whose deadline passed. */
static void release_held(dir_t *d, uint64_t now, bool have_sent, uint64_t sent_seq)
{
    frame_t **pp = &d->held.head, *prev = NULL;
    while (*pp) {
        frame_t *fr = *pp;
        bool go = fr->release_ns <= now ||
                  (have_sent && sent_seq >= fr->seq + (d->cfg.reorder_gap ? d->cfg.reorder_gap : 1));
        if (go) {
            *pp = fr->next;
            if (d->held.tail == fr) {
                d->held.tail = prev;
            }
            d->held.n--;
            send_and_free(d, fr);
        } else {
            prev = fr;
            pp = &fr->next;
        }
    }
}

static void service(dir_t *d, uint64_t now)
{
    while (d->q.head && d->q.head->release_ns <= now) {
        frame_t *fr = fifo_pop(&d->q);
        uint64_t s = fr->seq;
        send_and_free(d, fr);
        if (d->held.head) {
            release_held(d, now, true, s);
        }
    }
    if (d->held.head) {
        release_held(d, now, false, 0);
    }
}

static uint64_t next_deadline(const dir_t *d)
{
    uint64_t t = UINT64_MAX;
    if (d->q.head) {
        t = d->q.head->release_ns;
    }
    for (const frame_t *fr = d->held.head; fr; fr = fr->next) {
        if (fr->release_ns < t) {
            t = fr->release_ns;
        }
    }
    return t;
}

/* ---- counters as JSON ----------------------------------------------------- */

static void print_json(FILE *f, const char *event)
{
    fprintf(f, "{\"event\": \"%s\", \"seed\": %" PRIu64, event, seed);
    for (int i = 0; i < WIRE_DIRS; i++) {
        const wire_dir_stats_t *s = &dirs[i].st;
        const wire_dir_cfg_t *c = &dirs[i].cfg;
        fprintf(f,
                ", \"%s\": {\"rx_frames\": %" PRIu64 ", \"rx_bytes\": %" PRIu64 ", \"tx_frames\": %" PRIu64
                ", \"tx_bytes\": %" PRIu64 ", \"lost\": %" PRIu64 ", \"duplicated\": %" PRIu64
                ", \"corrupted\": %" PRIu64 ", \"corrupt_skipped\": %" PRIu64 ", \"reordered\": %" PRIu64
                ", \"down_drops\": %" PRIu64 ", \"queue_drops\": %" PRIu64 ", \"tx_errors\": %" PRIu64
                ", \"oversize\": %" PRIu64 ", \"queued\": %u, \"queue_high_water\": %u"
                ", \"queue_bytes_high_water\": %u, \"config\": {\"delay_us\": %u, \"jitter_us\": %u"
                ", \"loss\": %g, \"reorder\": %g, \"reorder_gap\": %u, \"reorder_hold_us\": %u, \"dup\": %g"
                ", \"corrupt\": %g, \"queue_frames\": %u, \"queue_bytes\": %u, \"down\": %s}}",
                DIR_NAME[i], s->rx_frames, s->rx_bytes, s->tx_frames, s->tx_bytes, s->lost, s->duplicated,
                s->corrupted, s->corrupt_skipped, s->reordered, s->down_drops, s->queue_drops, s->tx_errors,
                s->oversize, dirs[i].q.n + dirs[i].held.n, s->queue_high_water, s->queue_bytes_high_water,
                c->delay_us, c->jitter_us, c->loss_pct, c->reorder_pct, c->reorder_gap, c->reorder_hold_us,
                c->dup_pct, c->corrupt_pct, c->queue_frames, c->queue_bytes, c->down ? "true" : "false");
    }
    fprintf(f, "}\n");
    fflush(f);
}

/* ---- configuration -------------------------------------------------------- */

/* Set one key on one direction. Returns 0, or -1 for an unknown key / bad value. */
static int set_key(wire_dir_cfg_t *c, const char *key, const char *val)
{
    char *end;
    double v = strtod(val, &end);
    if (end == val || *end || v < 0) {
        return -1;
    }
    if (!strcmp(key, "delay") || !strcmp(key, "delay-us") || !strcmp(key, "delay_us")) {
        c->delay_us = (uint32_t)v;
    } else if (!strcmp(key, "jitter") || !strcmp(key, "jitter-us") || !strcmp(key, "jitter_us")) {
        c->jitter_us = (uint32_t)v;
    } else if (!strcmp(key, "loss")) {
        c->loss_pct = v;
    } else if (!strcmp(key, "reorder")) {
        c->reorder_pct = v;
    } else if (!strcmp(key, "reorder-gap") || !strcmp(key, "reorder_gap")) {
        c->reorder_gap = v < 1 ? 1 : (uint32_t)v;
    } else if (!strcmp(key, "reorder-hold-us") || !strcmp(key, "reorder_hold_us")) {
        c->reorder_hold_us = (uint32_t)v;
    } else if (!strcmp(key, "dup") || !strcmp(key, "duplicate")) {
        c->dup_pct = v;
    } else if (!strcmp(key, "corrupt")) {
        c->corrupt_pct = v;
    } else if (!strcmp(key, "queue-frames") || !strcmp(key, "queue_frames")) {
        c->queue_frames = v < 1 ? 1 : (uint32_t)v;
    } else if (!strcmp(key, "queue-bytes") || !strcmp(key, "queue_bytes")) {
        c->queue_bytes = v < 2048 ? 2048 : (uint32_t)v;
    } else {
        return -1;
    }
    if (c->loss_pct > 100 || c->reorder_pct > 100 || c->dup_pct > 100 || c->corrupt_pct > 100) {
        return -1;
    }
    return 0;
}

/* "ab" -> dir 0, "ba" -> 1, "both" / NULL -> -1, else -2 */
static int parse_dir(const char *s)
{
    if (!s || !strcmp(s, "both")) {
        return -1;
    }
    for (int i = 0; i < WIRE_DIRS; i++) {
        if (!strcmp(s, DIR_NAME[i])) {
            return i;
        }
    }
    return -2;
}

static void do_link(int which, bool down)
{
    for (int i = 0; i < WIRE_DIRS; i++) {
        if (which < 0 || which == i) {
            set_down(&dirs[i], down);
        }
    }
}

/* One control line: down [DIR] | up [DIR] | set [DIR] KEY VALUE | stats | quit */
static void control_line(char *line)
{
    char *tok[5] = {0};
    int n = 0;
    for (char *save, *t = strtok_r(line, " \t\r\n", &save); t && n < 5; t = strtok_r(NULL, " \t\r\n", &save)) {
        tok[n++] = t;
    }
    if (n == 0) {
        return;
    }
    bool ok = true;
    if (!strcmp(tok[0], "down") || !strcmp(tok[0], "up")) {
        int w = parse_dir(tok[1]);
        ok = w != -2 && n <= 2;
        if (ok) {
            do_link(w, tok[0][0] == 'd');
        }
    } else if (!strcmp(tok[0], "set")) {
        int w = parse_dir(n == 4 ? tok[1] : NULL);
        const char *k = n == 4 ? tok[2] : tok[1], *v = n == 4 ? tok[3] : tok[2];
        ok = (n == 3 || n == 4) && w != -2;
        for (int i = 0; ok && i < WIRE_DIRS; i++) {
            if (w < 0 || w == i) {
                wire_dir_cfg_t c = dirs[i].cfg;
                ok = set_key(&c, k, v) == 0;
                if (ok) {
                    dirs[i].cfg = c;
                }
            }
        }
    } else if (!strcmp(tok[0], "stats")) {
        print_json(stdout, "stats");
    } else if (!strcmp(tok[0], "quit")) {
        sig_stop = 1;
    } else {
        ok = false;
    }
    /* Acknowledged on stderr, so a controller can wait for the effect. */
    fprintf(stderr, "wire: %s %s%s%s\n", ok ? "ok" : "bad-command", tok[0], n > 1 ? " " : "", n > 1 ? tok[1] : "");
}

static void read_control(void)
{
    static char buf[4096];
    static size_t have;
    for (;;) {
        ssize_t k = read(ctrl_fd, buf + have, sizeof(buf) - 1 - have);
        if (k <= 0) {
            break;
        }
        have += (size_t)k;
        char *nl;
        while ((nl = memchr(buf, '\n', have))) {
            *nl = '\0';
            control_line(buf);
            size_t used = (size_t)(nl - buf) + 1;
            memmove(buf, nl + 1, have - used);
            have -= used;
        }
        if (have == sizeof(buf) - 1) {
            have = 0; /* an overlong line is discarded */
        }
    }
}

static void on_signal(int sig)
{
    switch (sig) {
    case SIGUSR1:
        sig_down = 1;
        break;
    case SIGUSR2:
        sig_up = 1;
        break;
    case SIGHUP:
        sig_dump = 1;
        break;
    default:
        sig_stop = 1;
    }
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: wire --a tap:IF|pkt:IF --b tap:IF|pkt:IF [--seed N] [--control FIFO]\n"
            "            [--[ab-|ba-]KEY VALUE]...\n"
            "KEY: delay-us jitter-us loss reorder reorder-gap reorder-hold-us dup corrupt\n"
            "     queue-frames queue-bytes   (percentages 0..100; --KEY sets both directions,\n"
            "     --ab-KEY only A->B, --ba-KEY only B->A)\n"
            "--down: start with the link down.  Signals: SIGUSR1 link down, SIGUSR2 link up,\n"
            "SIGHUP counters to stdout, SIGTERM/SIGINT exit (final counters to stdout as JSON).\n"
            "Control FIFO lines: down [ab|ba] | up [ab|ba] | set [ab|ba] KEY VALUE | stats | quit\n");
}

int main(int argc, char **argv)
{
    for (int i = 0; i < WIRE_DIRS; i++) {
        dirs[i].cfg = (wire_dir_cfg_t){.reorder_gap = 1, .reorder_hold_us = 10000, .queue_frames = 4096,
                                       .queue_bytes = 8u << 20};
    }
    bool start_down = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--down")) {
            start_down = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0 || i + 1 >= argc) {
            usage(stderr);
            return 2;
        }
        const char *v = argv[++i];
        a += 2;
        if (!strcmp(a, "a")) {
            ep[0].spec = v;
        } else if (!strcmp(a, "b")) {
            ep[1].spec = v;
        } else if (!strcmp(a, "seed")) {
            seed = strtoull(v, NULL, 0);
        } else if (!strcmp(a, "control")) {
            ctrl_path = v;
        } else {
            int w = -1;
            if (!strncmp(a, "ab-", 3) || !strncmp(a, "ba-", 3)) {
                w = a[0] == 'a' ? 0 : 1;
                a += 3;
            }
            for (int d = 0; d < WIRE_DIRS; d++) {
                if ((w < 0 || w == d) && set_key(&dirs[d].cfg, a, v) != 0) {
                    fprintf(stderr, "wire: bad option --%s %s\n", argv[i - 1] + 2, v);
                    return 2;
                }
            }
        }
    }
    if (!ep[0].spec || !ep[1].spec) {
        usage(stderr);
        return 2;
    }
    for (int i = 0; i < 2; i++) {
        if (open_endpoint(&ep[i]) != 0) {
            return 1;
        }
    }
    if (ctrl_path) {
        if (mkfifo(ctrl_path, 0600) != 0 && errno != EEXIST) {
            fprintf(stderr, "wire: mkfifo %s: %s\n", ctrl_path, strerror(errno));
            return 1;
        }
        /* O_RDWR: the FIFO never reports EOF when a writer goes away. */
        ctrl_fd = open(ctrl_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (ctrl_fd < 0) {
            fprintf(stderr, "wire: open %s: %s\n", ctrl_path, strerror(errno));
            return 1;
        }
    }
    for (int i = 0; i < WIRE_DIRS; i++) {
        dirs[i].rng = seed * 0x2545F4914F6CDD1Dull + (uint64_t)i * 0x9E3779B97F4A7C15ull + 1;
        dirs[i].in = &ep[i];
        dirs[i].out = &ep[1 - i];
        dirs[i].cfg.down = start_down;
    }
    prctl(PR_SET_TIMERSLACK, 1000UL); /* 1 us: delays are microsecond figures */

    sigset_t block, waitmask;
    sigemptyset(&block);
    int sigs[] = {SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGHUP};
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        sigaddset(&block, sigs[i]);
        sigaction(sigs[i], &sa, NULL);
    }
    sigprocmask(SIG_BLOCK, &block, &waitmask); /* signals arrive only inside ppoll */
    signal(SIGPIPE, SIG_IGN);

    fprintf(stderr, "wire: ready a=%s b=%s seed=%" PRIu64 "%s\n", ep[0].spec, ep[1].spec, seed,
            start_down ? " (link down)" : "");
    print_json(stdout, "start");

    struct pollfd pfd[3] = {{.fd = ep[0].fd, .events = POLLIN}, {.fd = ep[1].fd, .events = POLLIN},
                            {.fd = ctrl_fd, .events = POLLIN}};
    int nfds = ctrl_fd >= 0 ? 3 : 2;
    while (!sig_stop) {
        if (sig_down) {
            sig_down = 0;
            do_link(-1, true);
            fprintf(stderr, "wire: ok down (signal)\n");
        }
        if (sig_up) {
            sig_up = 0;
            do_link(-1, false);
            fprintf(stderr, "wire: ok up (signal)\n");
        }
        if (sig_dump) {
            sig_dump = 0;
            print_json(stdout, "stats");
        }
        uint64_t now = now_ns();
        uint64_t dl = UINT64_MAX;
        for (int i = 0; i < WIRE_DIRS; i++) {
            service(&dirs[i], now);
            uint64_t t = next_deadline(&dirs[i]);
            if (t < dl) {
                dl = t;
            }
        }
        struct timespec ts, *tp = NULL;
        if (dl != UINT64_MAX) {
            uint64_t wait = dl > now ? dl - now : 0;
            ts.tv_sec = (time_t)(wait / 1000000000u);
            ts.tv_nsec = (long)(wait % 1000000000u);
            tp = &ts;
        }
        int r = ppoll(pfd, (nfds_t)nfds, tp, &waitmask);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            fprintf(stderr, "wire: ppoll: %s\n", strerror(errno));
            break;
        }
        now = now_ns();
        for (int i = 0; i < 2; i++) {
            if (!(pfd[i].revents & (POLLIN | POLLERR))) {
                continue;
            }
            for (int k = 0; k < RX_BURST; k++) {
                ssize_t n = read(ep[i].fd, rxbuf, sizeof(rxbuf));
                if (n < 0) {
                    break;
                }
                if (n == 0) {
                    continue;
                }
                if ((size_t)n >= sizeof(rxbuf)) {
                    dirs[i].st.oversize++;
                    continue;
                }
                enqueue(&dirs[i], rxbuf, (uint32_t)n, now);
            }
        }
        if (nfds == 3 && (pfd[2].revents & POLLIN)) {
            read_control();
        }
    }
    print_json(stdout, "final");
    fprintf(stderr, "wire: exit\n");
    for (int i = 0; i < WIRE_DIRS; i++) {
        frame_t *fr;
        while ((fr = fifo_pop(&dirs[i].q)) || (fr = fifo_pop(&dirs[i].held))) {
            free(fr);
        }
    }
    if (ctrl_path) {
        unlink(ctrl_path);
    }
    return 0;
}
