/* Loss recovery help for smoltcp's TCP; see tcp_recovery.h. */
#include "tcp_recovery.h"

#include <stdlib.h>
#include <string.h>

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_ACK 0x10
#define TCP_OPT_END 0
#define TCP_OPT_NOP 1
#define TCP_OPT_MSS 2
#define TCP_OPT_SACK 5
/* RFC 9293 §3.7.1: the MSS a peer that sends no MSS option takes, IPv4 and IPv6 (RFC 8200 §5) */
#define TCP_DEFAULT_MSS4 536
#define TCP_DEFAULT_MSS6 1220
#define SACK_BLOCKS_MAX 4

typedef struct {
    uint32_t left, right; /* [left, right) held by the peer */
} sack_block_t;

typedef struct {
    uint64_t key;      /* the flow's 4-tuple, hashed; 0: free */
    uint32_t snd_max;  /* end of the highest segment sent */
    uint32_t last_ack; /* last ACK number received */
    uint16_t last_win; /* its window field */
    uint8_t sacks;     /* blocks in sack[] (of the last ACK) */
    sack_block_t sack[SACK_BLOCKS_MAX];
    /* Minshall's Nagle */
    uint16_t peer_mss;  /* from the peer's SYN; 0: its SYN was not seen */
    uint16_t max_seg;   /* the largest payload sent: the segment size in use */
    bool small_out;     /* a segment below it is sent and not acknowledged... */
    bool change_queued; /* the flow is in g.changed */
    uint32_t small_end; /* ...and ends here */
    int owner;          /* the runtime's handle for the flow, told of changes; -1: none */
} flow_t;

static struct {
    flow_t *flows;
    size_t slots;
    int *changed; /* flows whose small-segment answer changed: a ring of slots entries */
    size_t changed_head, changed_count;
    tcp_recovery_counters_t c;
} g;

/* One TCP segment's fields, from a frame that passed the runtime's checks (TX, or RX after
 * frame_check). */
typedef struct {
    uint64_t key; /* local address and port first: a sent and a received segment of one flow agree */
    uint32_t seq, ack, seg_len, payload;
    uint16_t win;
    uint8_t flags;
    bool v6;
    size_t tcp, tcp_hdr; /* offset and length of the TCP header */
} seg_t;

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 0x100000001b3ull;
    }
    return h;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool seq_lt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}

/* The flow key of a 4-tuple, as parse() makes it from a segment. */
static uint64_t flow_key(const uint8_t *local, const uint8_t *remote, size_t addr_len, const uint8_t local_port[2],
                         const uint8_t remote_port[2])
{
    uint64_t h = fnv1a(0xcbf29ce484222325ull, local, addr_len);
    h = fnv1a(h, remote, addr_len);
    h = fnv1a(h, local_port, 2);
    h = fnv1a(h, remote_port, 2);
    return h | 1;
}

static bool parse(const uint8_t *f, const frame_l4_t *where, bool sent, seg_t *s)
{
    if (where->proto != FRAME_L4_TCP || where->l4_len < 20) {
        return false;
    }
    const uint8_t *ip = f + where->ip;
    size_t l4 = where->l4, ip_end = l4 + where->l4_len;
    size_t addr_len = where->family == 4 ? 4 : 16;
    const uint8_t *src = ip + (where->family == 4 ? 12 : 8), *dst = src + addr_len;
    const uint8_t *tcp = f + l4;
    size_t hdr = (size_t)(tcp[12] >> 4) * 4;
    if (hdr < 20 || l4 + hdr > ip_end) {
        return false;
    }
    const uint8_t *local = sent ? src : dst, *remote = sent ? dst : src;
    const uint8_t *local_port = sent ? tcp : tcp + 2, *remote_port = sent ? tcp + 2 : tcp;
    s->key = flow_key(local, remote, addr_len, local_port, remote_port);
    s->tcp = l4;
    s->tcp_hdr = hdr;
    s->flags = tcp[13];
    s->seq = be32(tcp + 4);
    s->ack = be32(tcp + 8);
    s->win = (uint16_t)(tcp[14] << 8 | tcp[15]);
    s->payload = (uint32_t)(ip_end - l4 - hdr);
    s->seg_len = s->payload + !!(s->flags & TCP_FLAG_SYN) + !!(s->flags & TCP_FLAG_FIN);
    s->v6 = where->family == 6;
    return true;
}

/* The next option of a segment's header from *o on (NOPs skipped, *o moved past it); NULL at the
 * end of the list, and at a malformed option (then *malformed is set). */
static const uint8_t *next_option(const uint8_t **o, const uint8_t *end, bool *malformed)
{
    while (*o < end && **o == TCP_OPT_NOP) {
        (*o)++;
    }
    const uint8_t *opt = *o;
    if (opt >= end || *opt == TCP_OPT_END) {
        return NULL;
    }
    if (end - opt < 2 || opt[1] < 2 || opt[1] > end - opt) {
        *malformed = true;
        return NULL;
    }
    *o = opt + opt[1];
    return opt;
}

/* The MSS option of a SYN, or the default of a SYN without one. */
static uint16_t syn_mss(const uint8_t *frame, const seg_t *s)
{
    const uint8_t *o = frame + s->tcp + 20, *end = frame + s->tcp + s->tcp_hdr, *opt;
    bool malformed = false;
    while ((opt = next_option(&o, end, &malformed))) {
        if (opt[0] == TCP_OPT_MSS && opt[1] == 4) {
            uint16_t mss = (uint16_t)(opt[2] << 8 | opt[3]);
            return mss ? mss : 1;
        }
    }
    return s->v6 ? TCP_DEFAULT_MSS6 : TCP_DEFAULT_MSS4;
}

/* The flow's owner is told (tcp_recovery_nagle_changed) that its small-segment answer changed. */
static void small_changed(flow_t *fl)
{
    if (fl->owner < 0 || fl->change_queued || g.changed_count == g.slots) {
        return;
    }
    g.changed[(g.changed_head + g.changed_count++) % g.slots] = (int)(fl - g.flows);
    fl->change_queued = true;
}

/* New data sent: below the segment size, it is the small segment in flight (Minshall). */
static void note_new_data(flow_t *fl, const seg_t *s)
{
    if (s->payload == 0 || fl->peer_mss == 0) {
        return;
    }
    bool small = s->payload < fl->peer_mss && (fl->max_seg == 0 || s->payload < fl->max_seg);
    if (s->payload > fl->max_seg) {
        fl->max_seg = (uint16_t)(s->payload > UINT16_MAX ? UINT16_MAX : s->payload);
    }
    if (small) {
        fl->small_end = s->seq + s->payload + !!(s->flags & TCP_FLAG_SYN);
        if (!fl->small_out) {
            fl->small_out = true;
            small_changed(fl);
        }
    }
}

/* The SACK blocks of a received segment into fl (none: the peer has no hole above the ACK).
 * True if the first block is a D-SACK (RFC 2883): the ACK reports a duplicate segment. */
static bool read_sack(flow_t *fl, const uint8_t *frame, const seg_t *s)
{
    bool dsack = false, malformed = false;
    const uint8_t *o = frame + s->tcp + 20, *end = frame + s->tcp + s->tcp_hdr, *opt;
    fl->sacks = 0;
    while ((opt = next_option(&o, end, &malformed))) {
        if (opt[0] == TCP_OPT_SACK && opt[1] >= 10) {
            sack_block_t first = {be32(opt + 2), be32(opt + 6)};
            /* D-SACK: below the ACK, or inside the second block (RFC 2883 §4) */
            dsack = !seq_lt(s->ack, first.right) ||
                    (opt[1] >= 18 && !seq_lt(first.left, be32(opt + 10)) && !seq_lt(be32(opt + 14), first.right));
            for (size_t i = dsack ? 10 : 2; i + 8 <= opt[1] && fl->sacks < SACK_BLOCKS_MAX; i += 8) {
                sack_block_t b = {be32(opt + i), be32(opt + i + 4)};
                if (seq_lt(b.left, b.right) && seq_lt(s->ack, b.right)) {
                    fl->sack[fl->sacks++] = b;
                }
            }
        }
    }
    if (malformed) {
        fl->sacks = 0;
        return false; /* no blocks trusted */
    }
    return dsack;
}

/* The window field rewritten, the checksum updated to match (RFC 1624, eqn. 3). */
static void set_window(uint8_t *frame, const seg_t *s, uint16_t win)
{
    uint8_t *tcp = frame + s->tcp;
    uint32_t sum = (uint16_t)~(tcp[16] << 8 | tcp[17]);
    sum += (uint16_t)~s->win;
    sum += win;
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    uint16_t csum = (uint16_t)~sum;
    tcp[14] = (uint8_t)(win >> 8);
    tcp[15] = (uint8_t)win;
    tcp[16] = (uint8_t)(csum >> 8);
    tcp[17] = (uint8_t)csum;
}

esp_err_t tcp_recovery_init(size_t slots)
{
    slots = slots ? slots : 1;
    g.flows = calloc(slots, sizeof(flow_t));
    g.changed = calloc(slots, sizeof(int));
    if (!g.flows || !g.changed) {
        tcp_recovery_deinit();
        return ESP_ERR_NO_MEM;
    }
    g.slots = slots;
    return ESP_OK;
}

tcp_recovery_counters_t tcp_recovery_counters(void)
{
    return g.c;
}

void tcp_recovery_deinit(void)
{
    free(g.flows);
    free(g.changed);
    memset(&g, 0, sizeof(g));
}

bool tcp_recovery_tx_needed(const uint8_t *frame, const frame_l4_t *where)
{
    seg_t s;
    if (!g.slots || !parse(frame, where, true, &s) || s.seg_len == 0 || (s.flags & TCP_FLAG_RST)) {
        return true;
    }
    flow_t *fl = &g.flows[s.key % g.slots];
    uint32_t end = s.seq + s.seg_len;
    if (fl->key != s.key || (s.flags & TCP_FLAG_SYN)) { /* a new flow, or a new connection on its 4-tuple */
        /* our SYN-ACK answers the peer's SYN, whose MSS was noted on this flow */
        bool answer = fl->key == s.key && (s.flags & TCP_FLAG_SYN) && (s.flags & TCP_FLAG_ACK);
        *fl = (flow_t){.key = s.key, .snd_max = end, .last_ack = s.seq, .peer_mss = answer ? fl->peer_mss : 0,
                       .owner = -1, .change_queued = fl->change_queued};
        return true;
    }
    if (seq_lt(fl->snd_max, end)) {
        fl->snd_max = end;
        note_new_data(fl, &s);
        return true;
    }
    /* Sent before: the engine's go-back-N. Not again what the peer holds. */
    for (uint8_t i = 0; i < fl->sacks; i++) {
        if (!seq_lt(s.seq, fl->sack[i].left) && !seq_lt(fl->sack[i].right, end)) {
            g.c.rexmits_sacked++;
            return false;
        }
    }
    return true;
}

bool tcp_recovery_admit_rx(uint8_t *frame, const frame_l4_t *where)
{
    seg_t s;
    if (!g.slots || !parse(frame, where, false, &s) || (s.flags & TCP_FLAG_RST)) {
        return true;
    }
    flow_t *fl = &g.flows[s.key % g.slots];
    if ((s.flags & TCP_FLAG_SYN) && !(s.flags & TCP_FLAG_ACK)) {
        /* A peer opens (the SYN gate let it through: no connection has this 4-tuple) */
        *fl = (flow_t){.key = s.key, .peer_mss = syn_mss(frame, &s), .owner = -1, .change_queued = fl->change_queued};
        return true;
    }
    if (!(s.flags & TCP_FLAG_ACK) || fl->key != s.key) {
        return true; /* nothing sent on it yet (or evicted) */
    }
    if (s.flags & TCP_FLAG_SYN) {
        fl->peer_mss = syn_mss(frame, &s); /* the answer to our SYN */
    }
    if (fl->small_out && !seq_lt(s.ack, fl->small_end)) {
        fl->small_out = false;
        small_changed(fl);
    }
    bool dsack = read_sack(fl, frame, &s);
    bool pure = s.seg_len == 0 && !(s.flags & (TCP_FLAG_SYN | TCP_FLAG_FIN));
    if (pure && s.ack == fl->last_ack && seq_lt(s.ack, fl->snd_max)) {
        if (dsack) {
            /* The echo of a segment sent twice, not news of a loss: to the engine it would be
             * a duplicate ACK, and the third one a go-back-N of the whole flight again. */
            g.c.dsack_acks_held++;
            return false;
        }
        if (s.win != fl->last_win && s.win && fl->last_win) {
            set_window(frame, &s, fl->last_win); /* a duplicate ACK, to the engine too */
            g.c.dupack_windows_kept++;
        }
        return true;
    }
    fl->last_ack = s.ack;
    fl->last_win = s.win;
    return true;
}

int tcp_recovery_small_in_flight(const tcp_flow_id_t *id, int owner)
{
    if (!g.slots) {
        return -1;
    }
    uint8_t lp[2] = {(uint8_t)(id->local_port >> 8), (uint8_t)id->local_port};
    uint8_t rp[2] = {(uint8_t)(id->remote_port >> 8), (uint8_t)id->remote_port};
    uint64_t key = flow_key(id->local, id->remote, id->addr_len, lp, rp);
    flow_t *fl = &g.flows[key % g.slots];
    if (fl->key != key || fl->peer_mss == 0) {
        return -1;
    }
    fl->owner = owner;
    return fl->small_out;
}

int tcp_recovery_nagle_changed(void)
{
    while (g.changed_count) {
        flow_t *fl = &g.flows[g.changed[g.changed_head]];
        g.changed_head = (g.changed_head + 1) % g.slots;
        g.changed_count--;
        fl->change_queued = false;
        if (fl->owner >= 0) {
            return fl->owner;
        }
    }
    return -1;
}
