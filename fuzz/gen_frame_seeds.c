/*
 * Seed corpus for fuzz_frames: runs scripted conversations between engine A
 * and a live engine B (kept from setup) and records what A is fed as the
 * fuzzer's own input format — B's frames become FRAME ops, time steps
 * ADVANCE ops, socket calls on A APP ops — so replaying a seed without B
 * drives A through exactly the same states (data transfer, every close
 * sequence, retransmission, zero window, DHCP, DNS, NDP, ARP, odd frames).
 *
 *   gen_frame_seeds DIR      writes DIR/<name> for each seed
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frames_engine.h"
#include "pkt.h"

void esg_panic(const uint8_t *msg, size_t len);
void esg_panic(const uint8_t *msg, size_t len)
{
    fprintf(stderr, "%.*s\n", (int)len, (const char *)msg);
    abort();
}

#define SEED_MAX 16384

static fe_t fe;
static uint8_t seed_buf[SEED_MAX];
static fuzz_out_t out;

/* Frames B transmitted, waiting to be handed to A as FRAME ops. */
static uint8_t pend[64][PKT_MAX];
static size_t pend_len[64];
static int npend;
static bool drop_b; /* B's frames vanish (loss in the B -> A direction) */

static void on_b_tx(void *ctx, const uint8_t *f, size_t len)
{
    (void)ctx;
    if (!drop_b && npend < 64 && len <= PKT_MAX) {
        memcpy(pend[npend], f, len);
        pend_len[npend++] = len;
    }
}

/* Append one op to the seed and run it on A (B sees A's output through the netdev). */
static void op(const uint8_t *bytes, size_t n)
{
    size_t at = out.len;
    fuzz_out_bytes(&out, bytes, n);
    if (out.len > out.cap) {
        fprintf(stderr, "seed too long\n");
        exit(1);
    }
    fuzz_input_t in = {.data = out.buf + at, .len = n};
    fe_exec_one(&fe, &in);
}

static void op_frame(const uint8_t *f, size_t len, uint8_t flags)
{
    uint8_t b[3 + PKT_MAX];
    b[0] = (uint8_t)(FE_OP_FRAME | flags << 3);
    b[1] = (uint8_t)(len >> 8);
    b[2] = (uint8_t)len;
    memcpy(b + 3, f, len);
    op(b, 3 + len);
}

static void op_advance_ms(uint16_t ms)
{
    uint8_t b[3] = {FE_OP_ADVANCE, (uint8_t)(ms >> 8), (uint8_t)ms};
    op(b, 3);
}

static void op_advance_s(uint16_t s)
{
    uint8_t b[3] = {FE_OP_ADVANCE | 0x80, (uint8_t)(s >> 8), (uint8_t)s};
    op(b, 3);
}

/* APP op: sub, socket id (pick_id: id + 1), u16 arg, extra bytes. */
static void op_app(uint8_t sub, int id, uint16_t arg, const uint8_t *extra, size_t n)
{
    uint8_t b[64] = {FE_OP_APP, sub, (uint8_t)(id + 1), (uint8_t)(arg >> 8), (uint8_t)arg};
    if (n) {
        memcpy(b + 5, extra, n);
    }
    op(b, 5 + n);
}

/* Deliver B's pending frames to A, poll both, until nothing moves; then step time. */
static void pump(int rounds, uint16_t step_ms)
{
    for (int r = 0; r < rounds; r++) {
        fe_poll(&fe);
        if (npend == 0) {
            op_advance_ms(step_ms);
            fe_poll(&fe);
            if (npend == 0) {
                continue;
            }
        }
        int n = npend;
        npend = 0;
        for (int i = 0; i < n; i++) {
            op_frame(pend[i], pend_len[i], 0);
        }
    }
}

static uint8_t data[8192];

static int b_send(int id, size_t n)
{
    return esg_tcp_send(fe.b, fe.b_ids[id], data, n);
}

static void b_drain(int id)
{
    uint8_t buf[8192];
    while (esg_tcp_recv(fe.b, fe.b_ids[id], buf, sizeof(buf), false) > 0) {
    }
}

static void begin(uint8_t cfg)
{
    out = (fuzz_out_t){.buf = seed_buf, .cap = SEED_MAX};
    npend = 0;
    drop_b = false;
    fe_set_b_tx_hook(&fe, on_b_tx, NULL);
    fuzz_out_u8(&out, cfg);
    fe_setup(&fe, cfg, true);
}

static void finish(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(out.buf, 1, out.len, f) != out.len) {
        perror(path);
        exit(1);
    }
    fclose(f);
    printf("%-28s %5zu bytes, %u ops\n", name, out.len, fe.ops);
    fe_teardown(&fe);
}

/* B ids: 0 listener on 8080 (now the connection A opened), 1 -> A:80, 2 -> [A]:443, 3 UDP :9. */
enum { B_8080 = 0, B_80 = 1, B_443 = 2, B_UDP = 3 };
/* A ids: 0 :80 (connection from B), 1 listener :80, 2 :443 (from B over IPv6), 3 -> B:8080, 4 UDP :7, 5 ICMP. */

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_frame_seeds DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = (uint8_t)(i * 31 + 7);
    }

    begin(0);
    b_send(B_80, 1000);
    pump(6, 10);
    op_app(FE_APP_RECV, 0, 2000, NULL, 0);
    op_app(FE_APP_SEND, 0, 2000, NULL, 0);
    pump(8, 10);
    b_drain(B_80);
    pump(4, 50);
    finish(dir, "tcp-data-both-ways");

    begin(0);
    b_send(B_80, 300);
    esg_tcp_close(fe.b, fe.b_ids[B_80]);
    pump(6, 10);
    op_app(FE_APP_RECV, 0, 400, NULL, 0);
    op_app(FE_APP_CLOSE, 0, 0, NULL, 0);
    pump(8, 20);
    finish(dir, "tcp-peer-closes-first");

    begin(0);
    op_app(FE_APP_SEND, 0, 500, NULL, 0);
    op_app(FE_APP_CLOSE, 0, 0, NULL, 0);
    pump(6, 10);
    b_drain(B_80);
    esg_tcp_close(fe.b, fe.b_ids[B_80]);
    pump(6, 10);
    op_advance_s(130); /* TIME-WAIT runs out */
    pump(2, 10);
    finish(dir, "tcp-a-closes-time-wait");

    begin(0);
    op_app(FE_APP_CLOSE, 3, 0, NULL, 0);
    esg_tcp_close(fe.b, fe.b_ids[B_8080]);
    pump(8, 5);
    finish(dir, "tcp-simultaneous-close");

    begin(0);
    esg_tcp_abort(fe.b, fe.b_ids[B_443]);
    pump(3, 10);
    op_app(FE_APP_RECV, 2, 100, NULL, 0);
    finish(dir, "tcp6-peer-resets");

    begin(0);
    b_send(B_8080, 2500);
    pump(6, 10);
    op_app(FE_APP_RECV, 3, 4000, NULL, 0);
    op_app(FE_APP_SEND, 3, 3000, NULL, 0);
    pump(6, 10);
    finish(dir, "tcp-active-open-data");

    begin(0);
    fe_set_drop_a_to_b(&fe, true);
    op_app(FE_APP_SEND, 0, 1500, NULL, 0);
    pump(2, 10);
    op_advance_ms(1500); /* RTO: retransmission */
    op_advance_ms(3000);
    fe_set_drop_a_to_b(&fe, false);
    op_advance_ms(6000);
    pump(6, 20);
    finish(dir, "tcp-retransmission");

    begin(0);
    for (int i = 0; i < 4; i++) {
        op_app(FE_APP_SEND, 0, 4000, NULL, 0); /* B never reads: its window closes */
        pump(3, 20);
    }
    op_advance_ms(3000); /* zero-window probes */
    op_advance_ms(6000);
    b_drain(B_80);
    pump(6, 20);
    finish(dir, "tcp-zero-window");

    begin(0);
    {
        static uint8_t nrx[4096], ntx[4096];
        int nb = esg_tcp_open(fe.b, nrx, sizeof(nrx), ntx, sizeof(ntx));
        esg_endpoint_t to = {.family = ESG_AF_INET, .port = 80, .addr = {198, 18, 0, 2}};
        esg_endpoint_t from = {.family = ESG_AF_UNSPEC, .port = 40002};
        esg_tcp_connect(fe.b, nb, &to, &from);
        pump(6, 10);
        esg_tcp_send(fe.b, nb, data, 700);
        pump(6, 10);
        op_app(FE_APP_RECV, 1, 800, NULL, 0);
    }
    finish(dir, "tcp-second-connection");

    begin(0);
    {
        esg_endpoint_t to = {.family = ESG_AF_INET, .port = 7, .addr = {198, 18, 0, 2}};
        esg_udp_send(fe.b, fe.b_ids[B_UDP], data, 200, &to, NULL);
        pump(3, 10);
        op_app(FE_APP_UDP_RECV, 4, 400, NULL, 0);
        uint8_t extra[4] = {0, 9, 0, 100}; /* to B's port 9, 100 bytes */
        op_app(FE_APP_UDP_SEND, 4, 0, extra, 4);
        op_app(FE_APP_ICMP_SEND, 5, 56, NULL, 0);
        pump(4, 10);
        op_app(FE_APP_ICMP_RECV, 5, 200, NULL, 0);
    }
    finish(dir, "udp-icmp");

    /* DHCP: OFFER, ACK, renewal ACK, then NAK; the lease 60 s with T1/T2 options. */
    begin(FE_CFG_DHCP);
    {
        uint8_t offer[] = {FE_OP_DHCP, 0, 50, 1, 0x47, 0, 0, 0, 60, 0};
        uint8_t ack[] = {FE_OP_DHCP, 1, 50, 1, 0x47, 0, 0, 0, 60, 0};
        uint8_t nak[] = {FE_OP_DHCP, 2, 50, 1, 0x00, 0, 0, 0, 0, 0};
        op(offer, sizeof(offer));
        op(ack, sizeof(ack));
        op_advance_s(31);
        op(ack, sizeof(ack));
        op_advance_s(31);
        op(nak, sizeof(nak));
        op_advance_s(5);
        op(offer, sizeof(offer));
        op_advance_s(100); /* no ACK: requesting retries, back to discovery */
    }
    finish(dir, "dhcp-lease-renew-nak");

    /* DNS: good answer, then a query answered with a CNAME chain and a pointer loop. */
    begin(0);
    {
        /* structured answer: flags 0 (= 0x8180), mode 0, one A record via a pointer to the question */
        uint8_t good[] = {FE_OP_DNS, 0, 0, 0, 1, 0, 0, 0, 0, 0, 60, 198, 18, 0, 77};
        op(good, sizeof(good));
        op_app(FE_APP_DNS, 0, 1 | (1 << 2), NULL, 0); /* result of query 0 */
        uint8_t name[] = "x.esst.test";
        op_app(FE_APP_DNS, 0, (uint16_t)((sizeof(name) - 1) << 2), name, sizeof(name) - 1);
        op_advance_ms(10);
        /* answer whose name is a pointer to itself */
        uint8_t loop[] = {FE_OP_DNS, 0, 0, 0, 1, 1, 0, 0, 0, 0, 10, 198, 18, 0, 9};
        op(loop, sizeof(loop));
        /* raw: 1 question, 1 answer, 8 bytes of body */
        uint8_t raw[] = {FE_OP_DNS, 0x81, 0x80, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 8, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0};
        op(raw, sizeof(raw));
        op_advance_s(3);
    }
    finish(dir, "dns-answers");

    /* NDP: NS for the link-local and global address, a DAD probe, an RA with a prefix, echo. */
    begin(FE_CFG_SLAAC);
    {
        uint8_t ns_ll[] = {FE_OP_MISC, FE_MISC_NS, 0, 0};
        uint8_t ns_gl[] = {FE_OP_MISC, FE_MISC_NS, 2, 0};
        uint8_t dad[] = {FE_OP_MISC, FE_MISC_NS, 1, 0};
        uint8_t ra[] = {FE_OP_MISC, FE_MISC_RA, 0x40, 0xc0, 0x07, 0x08, 0, 0, 0x0e, 0x10, 0, 0, 0x07, 0x08, 0};
        uint8_t echo6[] = {FE_OP_MISC, FE_MISC_ECHO, 3, 9, 0, 64};
        op(ns_ll, sizeof(ns_ll));
        op(ns_gl, sizeof(ns_gl));
        op(dad, sizeof(dad));
        op(ra, sizeof(ra));
        op_advance_ms(500);
        op(echo6, sizeof(echo6));
        op_advance_s(20);
    }
    finish(dir, "ndp-ns-ra-echo");

    /* ARP request / reply / gratuitous, ICMP echo in IPv4 with TTL 1. */
    begin(0);
    {
        uint8_t req[] = {FE_OP_MISC, FE_MISC_ARP_REQUEST, 20, 4};
        uint8_t grat[] = {FE_OP_MISC, FE_MISC_ARP_REQUEST, 20, 5};
        uint8_t rep[] = {FE_OP_MISC, FE_MISC_ARP_REPLY, 21, 6};
        uint8_t echo[] = {FE_OP_MISC, FE_MISC_ECHO, 4, 1, 0x01, 0x00};
        op(req, sizeof(req));
        op(grat, sizeof(grat));
        op(rep, sizeof(rep));
        op(echo, sizeof(echo));
    }
    finish(dir, "arp-icmp");

    /* Odd frames with fixed-up checksums: IPv4 options, a fragment, a VLAN tag, IPv6 hop-by-hop. */
    begin(0);
    {
        uint8_t f[PKT_MAX];
        pkt_ips_t ips = {.v6 = false};
        memcpy(ips.src, FE_IP4_B, 4);
        memcpy(ips.dst, FE_IP4_A, 4);
        pkt_eth(f, FE_MAC_A, FE_MAC_B, ETH_P_IPV4);
        /* IPv4 with a record-route option and an echo request behind it */
        uint8_t *ip = f + 14;
        ip[0] = 0x48;
        ip[1] = 0;
        uint8_t opt[12] = {7, 11, 4};
        memcpy(ip + 20, opt, 12);
        uint8_t *ic = ip + 32;
        memset(ic, 0, 16);
        ic[0] = 8;
        size_t total = 32 + 16;
        pkt_wr16(ip + 2, (uint16_t)total);
        pkt_wr16(ip + 6, 0);
        ip[8] = 64;
        ip[9] = PROTO_ICMP;
        memcpy(ip + 12, ips.src, 4);
        memcpy(ip + 16, ips.dst, 4);
        op_frame(f, 14 + total, 1);
        /* a first fragment */
        pkt_wr16(ip + 6, 0x2000);
        op_frame(f, 14 + total, 1);
        /* VLAN-tagged echo */
        uint8_t v[PKT_MAX];
        pkt_eth(v, FE_MAC_A, FE_MAC_B, ETH_P_VLAN);
        pkt_wr16(v + 14, 5);
        pkt_wr16(v + 16, ETH_P_IPV4);
        ip[0] = 0x45;
        memmove(ip + 20, ic, 16);
        pkt_wr16(ip + 2, 36);
        pkt_wr16(ip + 6, 0);
        memcpy(v + 18, ip, 36);
        op_frame(v, 18 + 36, 1);
        /* IPv6 hop-by-hop (PadN) then ICMPv6 echo */
        uint8_t *i6 = f + 14;
        pkt_eth(f, FE_MAC_A, FE_MAC_B, ETH_P_IPV6);
        memset(i6, 0, 40);
        i6[0] = 0x60;
        pkt_wr16(i6 + 4, 8 + 16);
        i6[6] = 0; /* hop-by-hop */
        i6[7] = 64;
        static const uint8_t llb[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0, 0, 0x01};
        memcpy(i6 + 8, llb, 16);
        memcpy(i6 + 24, FE_LL_A, 16);
        uint8_t hbh[8] = {58, 0, 1, 4, 0, 0, 0, 0};
        memcpy(i6 + 40, hbh, 8);
        memset(i6 + 48, 0, 16);
        i6[48] = 128;
        op_frame(f, 14 + 40 + 8 + 16, 1);
    }
    finish(dir, "odd-frames");
    return 0;
}
