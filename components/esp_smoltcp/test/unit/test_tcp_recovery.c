/* Loss recovery help in front of the engine (core/tcp_recovery.c): SACKed retransmissions kept
 * off the wire, D-SACK echoes held back, duplicate ACKs given their last window; and the small
 * segment in flight that Minshall's Nagle asks about. */
#include <stdlib.h>

#include "frame_check.h"
#include "tcp_recovery.h"
#include "tx_checksum.h"
#include "unit_test.h"

static const uint8_t US[4] = {198, 18, 0, 2}, PEER[4] = {198, 18, 0, 1};
enum { US_PORT = 80, PEER_PORT = 5000, ACK = 0x10, SYN = 0x02, PSH = 0x08 };

typedef struct {
    uint32_t left, right;
} block_t;

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* Ethernet + IPv4 + TCP (+ a SACK option) + payload bytes; sent: from us, else from the peer. */
static size_t seg(uint8_t *f, bool sent, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
                  size_t payload, const block_t *blocks, size_t nblocks)
{
    size_t opt = nblocks ? 4 + 8 * nblocks : 0; /* nop, nop, kind 5, len */
    size_t tcp_len = 20 + opt + payload;
    memset(f, 0, 34 + tcp_len);
    f[12] = 0x08;
    f[14] = 0x45;
    f[16] = (uint8_t)((20 + tcp_len) >> 8), f[17] = (uint8_t)(20 + tcp_len);
    f[22] = 64, f[23] = 6;
    memcpy(f + 26, sent ? US : PEER, 4);
    memcpy(f + 30, sent ? PEER : US, 4);
    uint8_t *t = f + 34;
    uint16_t sp = sent ? US_PORT : PEER_PORT, dp = sent ? PEER_PORT : US_PORT;
    t[0] = (uint8_t)(sp >> 8), t[1] = (uint8_t)sp, t[2] = (uint8_t)(dp >> 8), t[3] = (uint8_t)dp;
    put32(t + 4, seq);
    put32(t + 8, ack);
    t[12] = (uint8_t)(((20 + opt) / 4) << 4);
    t[13] = flags;
    t[14] = (uint8_t)(win >> 8), t[15] = (uint8_t)win;
    if (nblocks) {
        t[20] = 1, t[21] = 1, t[22] = 5, t[23] = (uint8_t)(2 + 8 * nblocks);
        for (size_t i = 0; i < nblocks; i++) {
            put32(t + 24 + 8 * i, blocks[i].left);
            put32(t + 28 + 8 * i, blocks[i].right);
        }
    }
    frame_l4_t where;
    tx_checksum_fill(f, 34 + tcp_len, &where); /* the checksums, as the sender's stack fills them */
    return 34 + tcp_len;
}

static uint8_t f[2048];

/* Where the TCP header is, found as the runtime finds it: on the way out (dev_tx) and in
 * (input_frame). */
static frame_l4_t sent(size_t n)
{
    frame_l4_t where;
    tx_checksum_fill(f, n, &where);
    return where;
}

static frame_l4_t received(size_t n)
{
    frame_l4_t where;
    CHECK_EQ(frame_check_l4(f, n, true, &where), FRAME_OK);
    return where;
}

static bool tx_frame(size_t n)
{
    frame_l4_t where = sent(n);
    return tcp_recovery_tx_needed(f, &where);
}

static bool rx_frame(size_t n)
{
    frame_l4_t where = received(n);
    return tcp_recovery_admit_rx(f, &where);
}

static bool tx(uint32_t seq, size_t len)
{
    return tx_frame(seg(f, true, seq, 1, ACK, 500, len, NULL, 0));
}

static bool rx(uint32_t ack, uint16_t win, const block_t *b, size_t nb)
{
    return rx_frame(seg(f, false, 1, ack, ACK, win, 0, b, nb));
}

static void test_sacked_retransmissions_stay_off_the_wire(void)
{
    CHECK(tx(1000, 1000) && tx(2000, 1000) && tx(3000, 1000) && tx(4000, 1000)); /* new data */
    CHECK(rx(1000, 500, NULL, 0));
    block_t held = {2000, 4000};
    CHECK(rx(1000, 500, &held, 1)); /* a duplicate ACK: the engine counts it */
    CHECK(tx(1000, 1000));          /* the hole goes out again */
    CHECK(!tx(2000, 1000));         /* the peer holds these */
    CHECK(!tx(3000, 1000));
    CHECK(tx(4000, 1000));          /* not SACKed: maybe lost too */
    CHECK_EQ(tcp_recovery_counters().rexmits_sacked, 2);
    CHECK(rx(4000, 500, NULL, 0));  /* no SACK option: no holes, nothing remembered */
    CHECK(tx(4000, 1000));
    CHECK(tx(5000, 500) && tx(5500, 500));
    block_t partial = {5500, 6000};
    CHECK(rx(4000, 500, &partial, 1));
    CHECK(tx(5000, 500)); /* only whole segments inside a block are skipped */
    CHECK(tx(5200, 500));
    CHECK(!tx(5500, 500));
}

static void test_dsack_echoes_are_held_back(void)
{
    CHECK(rx(6000, 500, NULL, 0)); /* all acknowledged */
    CHECK(tx(6000, 1000) && tx(7000, 1000));
    block_t below = {3000, 4000}; /* D-SACK: a duplicate below the ACK */
    CHECK(!rx(6000, 500, &below, 1));
    block_t inside[2] = {{7000, 7500}, {7000, 8000}}; /* D-SACK inside the second block */
    CHECK(!rx(6000, 500, inside, 2));
    CHECK_EQ(tcp_recovery_counters().dsack_acks_held, 2);
    block_t news = {7000, 8000};
    CHECK(rx(6000, 500, &news, 1)); /* a plain SACK: news of a loss */
    CHECK(rx(6000, 500, NULL, 0));
    block_t old = {3000, 4000};
    CHECK(rx(8000, 500, &old, 1)); /* D-SACK on an ACK that moves: new information, the engine sees it */
}

static void test_duplicate_acks_keep_the_last_window(void)
{
    CHECK(tx(8000, 1000));
    CHECK(rx(8000, 500, NULL, 0)); /* last window 500 */
    size_t n = seg(f, false, 1, 8000, ACK, 503, 0, NULL, 0);
    CHECK(rx_frame(n));
    CHECK_EQ(f[34 + 14] << 8 | f[34 + 15], 500);
    CHECK_EQ(frame_check(f, n, true), FRAME_OK); /* checksum updated with it */
    CHECK_EQ(tcp_recovery_counters().dupack_windows_kept, 1);
    n = seg(f, false, 1, 8000, ACK, 0, 0, NULL, 0); /* a window closing to zero is left alone */
    CHECK(rx_frame(n));
    CHECK_EQ(f[34 + 14] << 8 | f[34 + 15], 0);
    n = seg(f, false, 1, 9000, ACK, 700, 0, NULL, 0); /* a new ACK keeps its window */
    CHECK(rx_frame(n));
    CHECK_EQ(f[34 + 14] << 8 | f[34 + 15], 700);
    n = seg(f, false, 1, 9000, ACK | PSH, 900, 10, NULL, 0); /* data: not a duplicate ACK */
    CHECK(rx_frame(n));
    CHECK_EQ(f[34 + 14] << 8 | f[34 + 15], 900);
}

static void test_a_new_connection_starts_clean(void)
{
    block_t held = {20000, 30000};
    CHECK(tx(20000, 1000) && tx(29000, 1000));
    CHECK(rx(9000, 500, &held, 1));
    CHECK(!tx(20000, 1000));
    /* SYN on the same 4-tuple (TIME-WAIT reuse): nothing of the old flow applies */
    CHECK(tx_frame(seg(f, true, 100, 0, SYN, 500, 0, NULL, 0)));
    CHECK(tx(101, 1000));
    CHECK(tx(20000, 1000)); /* beyond snd_max of the new flow: new data, sent */
}

static void test_other_frames_pass(void)
{
    uint8_t arp[60] = {[12] = 0x08, [13] = 0x06};
    frame_l4_t where;
    tx_checksum_fill(arp, sizeof(arp), &where);
    CHECK_EQ(where.proto, 0);
    CHECK(tcp_recovery_tx_needed(arp, &where));
    CHECK_EQ(frame_check_l4(arp, sizeof(arp), true, &where), FRAME_OK);
    CHECK(tcp_recovery_admit_rx(arp, &where));
    CHECK_EQ(frame_check_l4(f, 10, true, &where), FRAME_BAD_RUNT); /* runt: nothing located */
    CHECK(tcp_recovery_admit_rx(f, &where));
    size_t n = seg(f, false, 1, 1, ACK, 500, 0, NULL, 0);
    f[35 + 2] = 0x99; /* a flow never sent on */
    (void)sent(n);    /* its checksums again */
    CHECK(rx_frame(n));
}

/* A SYN (flags) with an MSS option; mss 0: without one. */
static size_t syn(bool from_us, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t mss)
{
    size_t n = seg(f, from_us, seq, ack, flags, 500, mss ? 4 : 0, NULL, 0);
    if (mss) {
        uint8_t *t = f + 34;
        t[12] = 6 << 4; /* the 4 bytes become the option */
        t[20] = 2, t[21] = 4, t[22] = (uint8_t)(mss >> 8), t[23] = (uint8_t)mss;
        (void)sent(n); /* checksums again */
    }
    return n;
}

static int small_in_flight(uint16_t peer_port, int owner)
{
    tcp_flow_id_t id = {.local = US, .remote = PEER, .addr_len = 4, .local_port = US_PORT, .remote_port = peer_port};
    return tcp_recovery_small_in_flight(&id, owner);
}

static void test_small_segments_in_flight(void)
{
    /* A server's connection: the peer's SYN says MSS 1460. */
    CHECK(rx_frame(syn(false, 7000, 0, SYN, 1460)));
    CHECK(tx_frame(syn(true, 100, 7001, SYN | ACK, 1460)));
    CHECK_EQ(small_in_flight(PEER_PORT, 3), 0); /* known, nothing small sent: Nagle may go */
    CHECK_EQ(small_in_flight(PEER_PORT + 1, 3), -1); /* a flow never seen */
    CHECK(rx(101, 500, NULL, 0));
    CHECK(tx(101, 1460)); /* full */
    CHECK_EQ(small_in_flight(PEER_PORT, 3), 0);
    CHECK_EQ(tcp_recovery_nagle_changed(), -1);
    CHECK(tx(1561, 500)); /* partial: in flight until acknowledged */
    CHECK_EQ(small_in_flight(PEER_PORT, 3), 1);
    CHECK_EQ(tcp_recovery_nagle_changed(), 3);
    CHECK_EQ(tcp_recovery_nagle_changed(), -1);
    CHECK(tx(2061, 100)); /* another small one: the answer does not change */
    CHECK_EQ(tcp_recovery_nagle_changed(), -1);
    CHECK(rx(1561, 500, NULL, 0)); /* the full segment acknowledged, not the small ones */
    CHECK_EQ(small_in_flight(PEER_PORT, 3), 1);
    CHECK_EQ(tcp_recovery_nagle_changed(), -1);
    CHECK(rx(2061, 500, NULL, 0)); /* the first small one: the last one still out */
    CHECK_EQ(small_in_flight(PEER_PORT, 3), 1);
    CHECK(rx(2161, 500, NULL, 0));
    CHECK_EQ(tcp_recovery_nagle_changed(), 3);
    CHECK_EQ(small_in_flight(PEER_PORT, 3), 0);
    /* A segment size below the peer's MSS (a smaller MTU here) is learnt from what is sent: the
     * first segment counts as small (the conservative answer), those after it of its size not. */
    CHECK(rx_frame(syn(false, 8000, 0, SYN, 1460)));
    CHECK(tx_frame(syn(true, 100, 8001, SYN | ACK, 1460)));
    CHECK(tx(101, 1000));
    CHECK_EQ(small_in_flight(PEER_PORT, 3), 1);
    CHECK(rx(1101, 500, NULL, 0));
    CHECK_EQ(small_in_flight(PEER_PORT, 3), 0);
    CHECK(tx(1101, 1000) && tx(2101, 1000));
    CHECK_EQ(small_in_flight(PEER_PORT, 3), 0);
    CHECK(tx(3101, 999));
    CHECK_EQ(small_in_flight(PEER_PORT, 3), 1);

    /* A peer without the option: RFC 9293's 536. */
    CHECK(rx_frame(syn(false, 9000, 0, SYN, 0)));
    CHECK(tx_frame(syn(true, 100, 9001, SYN | ACK, 1460)));
    CHECK(tx(101, 536));
    CHECK_EQ(small_in_flight(PEER_PORT, 3), 0);
    CHECK(tx(637, 535));
    CHECK_EQ(small_in_flight(PEER_PORT, 3), 1);

    /* A client's connection: unknown until the SYN-ACK says the MSS. */
    CHECK(tx_frame(syn(true, 500, 0, SYN, 1460)));
    CHECK_EQ(small_in_flight(PEER_PORT, 3), -1);
    CHECK(rx_frame(syn(false, 800, 501, SYN | ACK, 1200)));
    CHECK_EQ(small_in_flight(PEER_PORT, 3), 0);
    CHECK(tx(501, 1199));
    CHECK_EQ(small_in_flight(PEER_PORT, 3), 1);
    while (tcp_recovery_nagle_changed() >= 0) {
    }
}

int main(void)
{
    if (tcp_recovery_init(4) != ESP_OK) {
        return 1;
    }
    test_sacked_retransmissions_stay_off_the_wire();
    test_dsack_echoes_are_held_back();
    test_duplicate_acks_keep_the_last_window();
    test_a_new_connection_starts_clean();
    test_other_frames_pass();
    test_small_segments_in_flight();
    tcp_recovery_deinit();
    return UNIT_TEST_END();
}
