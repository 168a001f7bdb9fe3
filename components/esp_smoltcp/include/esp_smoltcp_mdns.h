/*
 * mDNS responder with DNS-SD (RFC 6762, RFC 6763) on the runtime's UDP
 * sockets: a reduced form of ESP-IDF's mdns component.
 *
 *     esp_smoltcp_mdns_init("dut");                       // dut.local A/AAAA
 *     esp_smoltcp_mdns_txt_item_t txt[] = {{"path", "/dl"}};
 *     esp_smoltcp_mdns_service_add("eth_basic", "_http", "_tcp", 80, txt, 1);
 *     ...
 *     esp_smoltcp_mdns_free();                            // goodbye packets
 *
 * One task answers on 224.0.0.251:5353 and [ff02::fb]:5353 (both groups are
 * joined): hostname.local A/AAAA with every current address of the
 * interface, the service's PTR (and the _services._dns-sd._udp enumeration),
 * SRV and TXT. Names are probed before use (3 probes 250 ms apart, RFC 6762
 * §8.1) and renamed on conflict (host "dut" -> "dut-2", instance
 * "web" -> "web (2)", §9), then announced twice 1 s apart (§8.3). Multicast
 * and QU queries, legacy unicast queries (source port != 5353, §6.7) and
 * known-answer suppression (§7.1) are handled; removal and free send
 * goodbyes (TTL 0, §10.1). TTLs: 120 s for host records, 4500 s for others.
 * Memory is fixed (no allocation after init).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "esp_smoltcp_sock.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ESP_SMOLTCP_MDNS_MAX_SERVICES 4
#define ESP_SMOLTCP_MDNS_NAME_MAX 64   /* host name / instance label, terminator included */
#define ESP_SMOLTCP_MDNS_TXT_MAX 200   /* bytes of one service's TXT rdata */

/** One TXT key/value; value NULL = key without '=' (a boolean attribute, RFC 6763 §6.4). */
typedef struct {
    const char *key;
    const char *value;
} esp_smoltcp_mdns_txt_item_t;

/**
 * Start the responder for host name `hostname` (one label, no ".local";
 * letters, digits and '-' as in a DNS host name). The runtime must be
 * attached. Probing starts at once.
 * @return ESP_OK; ESP_ERR_INVALID_ARG (bad name); ESP_ERR_INVALID_STATE
 *         (already running, or no runtime); ESP_ERR_NO_MEM (socket or task).
 */
esp_err_t esp_smoltcp_mdns_init(const char *hostname);

/**
 * Advertise a service: instance name (any UTF-8, up to 63 bytes), service
 * type ("_http") and protocol ("_tcp" or "_udp"), port, TXT items (may be
 * NULL/0). The instance is probed, then announced. One instance per
 * type/protocol pair (as in IDF's mdns_service_add).
 * @return ESP_OK; ESP_ERR_INVALID_ARG; ESP_ERR_INVALID_STATE (not running,
 *         or that type/protocol is already added); ESP_ERR_NO_MEM (table full
 *         or TXT longer than ESP_SMOLTCP_MDNS_TXT_MAX).
 */
esp_err_t esp_smoltcp_mdns_service_add(const char *instance, const char *service_type, const char *proto,
                                       uint16_t port, const esp_smoltcp_mdns_txt_item_t *txt, size_t txt_count);

/**
 * Withdraw a service: goodbye records (TTL 0) go out if it was announced.
 * @return ESP_OK; ESP_ERR_NOT_FOUND; ESP_ERR_INVALID_STATE (not running).
 */
esp_err_t esp_smoltcp_mdns_service_remove(const char *service_type, const char *proto);

/**
 * Stop: goodbye records for everything announced, leave the groups, close
 * the socket, end the task. @return ESP_OK; ESP_ERR_INVALID_STATE.
 */
esp_err_t esp_smoltcp_mdns_free(void);

/** State and counters of the responder. */
typedef struct {
    bool running;
    bool host_ready;           /* the host name survived probing and was announced */
    uint8_t services_ready;    /* services past probing (announcing or announced) */
    char hostname[ESP_SMOLTCP_MDNS_NAME_MAX]; /* current label, after any rename */
    uint32_t renames;          /* host or instance names changed after a conflict */
    uint32_t conflicts;        /* conflicting records seen (probing or later) */
    uint64_t rx_packets;       /* datagrams received on port 5353 */
    uint64_t rx_malformed;     /* rejected by the parser */
    uint64_t rx_dropped;       /* well-formed but ignored: truncated, bad opcode/rcode, bad source port */
    uint64_t queries;          /* queries that asked for at least one of our records */
    uint64_t legacy_queries;   /* of which legacy unicast (§6.7) */
    uint64_t known_answer_suppressed; /* records left out because the querier knew them */
    uint64_t rate_limited;     /* answers not multicast: the record went out less than 1 s ago (§6) */
    uint64_t tx_packets;
    uint64_t tx_failures;
} esp_smoltcp_mdns_info_t;

/** @return ESP_OK (running or not); ESP_ERR_INVALID_ARG. */
esp_err_t esp_smoltcp_mdns_get_info(esp_smoltcp_mdns_info_t *out);

/**
 * Resolve a ".local" host name with one-shot multicast queries (RFC 6762
 * §5.1) from an ephemeral port, repeated every second: responders answer
 * with a unicast reply. The responder need not run; our own current host
 * name is answered from the interface's addresses. Same contract as
 * esp_smoltcp_dns_resolve() (A before AAAA, ports 0), with which
 * esp_smoltcp_dns_set_local_resolver() connects it; esp_smoltcp_mdns_init()
 * does that, so getaddrinfo("name.local") works from then on.
 * @return number of addresses (> 0); -ENOENT (no answer in timeout_ms);
 *         -EINVAL (not a .local name, bad family); a socket error (-ENETDOWN ...).
 */
int esp_smoltcp_mdns_resolve_host(const char *name, int family, esp_smoltcp_endpoint_t *out, size_t max,
                                  uint32_t timeout_ms);

#ifdef __cplusplus
}
#endif
