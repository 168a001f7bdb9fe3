/*
 * The frame fuzzer's world: engine A (the device under test) driven through
 * the glue's C ABI exactly as the runtime drives it — frames pass the
 * runtime's frame_check() first, time is simulated — with live sockets:
 * TCP listeners, established TCP connections over IPv4 and IPv6 (made by a
 * second in-memory engine B during setup), UDP, ICMP, DHCPv4 and DNS.
 *
 * Input format (see fe_exec_one): one config byte, then ops. Each op is one
 * byte (low 3 bits: kind, high bits: flags) and its arguments:
 *   0,1 FRAME    len16, bytes           (flag 1: fix checksums, 2: fix lengths)
 *   2   ADVANCE  u16 ms (flag 0x80: seconds)
 *   3   APP      sub, args              socket calls on A
 *   4   TCP      segment to a connection A has, seq/ack relative to what A sent
 *   5   DHCP     reply to A's last DHCP message (xid, chaddr matched)
 *   6   DNS      reply to A's last DNS query (id, port, question matched)
 *   7   MISC     ARP / ICMP echo / NDP templates
 * Everything is deterministic: same input, same execution.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_smoltcp_glue.h"
#include "fuzz_input.h"

#define FE_MAX_SOCK 10
#define FE_MAX_CONNS 8
#define FE_RXQ 32

/* Config byte. */
#define FE_CFG_CHECK_MASK 0x03 /* 0: runtime (frame_check L4 + engine trusts), 1: frame_check IP only, 2-3: engine checks */
#define FE_CFG_DHCP 0x04
#define FE_CFG_SLAAC 0x08
#define FE_CFG_MTU576 0x10

/* Op kinds. */
enum { FE_OP_FRAME = 0, FE_OP_FRAME2 = 1, FE_OP_ADVANCE = 2, FE_OP_APP = 3, FE_OP_TCP = 4, FE_OP_DHCP = 5,
       FE_OP_DNS = 6, FE_OP_MISC = 7 };
/* APP sub-ops. */
enum { FE_APP_SEND, FE_APP_RECV, FE_APP_CLOSE, FE_APP_ABORT, FE_APP_CONNECT, FE_APP_LISTEN, FE_APP_UDP_OPEN,
       FE_APP_UDP_SEND, FE_APP_UDP_RECV, FE_APP_ICMP_SEND, FE_APP_ICMP_RECV, FE_APP_REMOVE, FE_APP_OPTION,
       FE_APP_DNS, FE_APP_IFACE, FE_APP_INFO, FE_APP_COUNT };
/* MISC sub-ops. */
enum { FE_MISC_ARP_REPLY, FE_MISC_ARP_REQUEST, FE_MISC_ECHO, FE_MISC_NS, FE_MISC_RA, FE_MISC_ECHO_REPLY,
       FE_MISC_COUNT };

typedef struct fe_port fe_port_t;

typedef struct {
    bool used, v6;
    uint8_t raddr[16];
    uint16_t lport, rport;
    uint32_t a_snd_nxt, a_rcv_nxt;
} fe_conn_t;

typedef struct {
    esg_engine_t *a;
    esg_engine_t *b;             /* only during setup, or kept by the seed generator */
    fe_port_t *pa, *pb;
    uint64_t now;
    uint8_t cfg;
    uint8_t kind[FE_MAX_SOCK];   /* 0 free, 1 TCP, 2 UDP, 3 ICMP */
    int open_count;
    int b_ids[4];                /* B's sockets (seed generator) */

    /* What A sent last, for the reply templates. */
    fe_conn_t conns[FE_MAX_CONNS];
    unsigned conn_next;
    bool have_dhcp;
    uint32_t dhcp_xid;
    bool have_dns;
    uint16_t dns_id, dns_port;
    uint8_t dns_question[256];
    size_t dns_qlen;
    uint16_t echo_ident, echo_seq;
    uint32_t ops;
    bool setup_done;             /* connections up: B's frames now go to the generator's hook */
} fe_t;

/** Build the world for config byte cfg. keep_b: B stays attached (seed generator). */
void fe_setup(fe_t *fe, uint8_t cfg, bool keep_b);
/** Run one op from in. */
void fe_exec_one(fe_t *fe, fuzz_input_t *in);
/** Poll A (and B when kept) until quiet; the generator uses it between its own ops. */
void fe_poll(fe_t *fe);
/** Tear everything down; checks every frame was released exactly once. */
void fe_teardown(fe_t *fe);

/** Seed generator hooks: frames B transmits go here instead of to A. */
typedef void (*fe_b_tx_hook_t)(void *ctx, const uint8_t *frame, size_t len);
void fe_set_b_tx_hook(fe_t *fe, fe_b_tx_hook_t hook, void *ctx);
/** Deliver a frame to B (generator). drop_a_to_b: A's frames stop reaching B. */
void fe_set_drop_a_to_b(fe_t *fe, bool drop);

extern const uint8_t FE_MAC_A[6], FE_MAC_B[6];
extern const uint8_t FE_IP4_A[4], FE_IP4_B[4], FE_IP6_A[16], FE_IP6_B[16], FE_LL_A[16];
