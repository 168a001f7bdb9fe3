/*
 * Shared by the interop apps (tests/interop): start esp_smoltcp on a TAP with a
 * static address, the deterministic test pattern, and small helpers.
 * Every app is a host twin of IDF code: its BSD calls go to the shim through
 * esp_smoltcp_host_sockets.h, included last by each .c file.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Byte i of every test stream is i % 251 (as GET /dl/N of examples/eth_basic). */
#define INTEROP_PATTERN_PERIOD 251

/**
 * Start the stack from the common options and remove them from argv:
 *   --tap NAME (required)  --mac M  --static A.B.C.D/LEN (default 198.18.0.2/24)  --gw G  --dns D
 * Prints "ip: A.B.C.D/LEN gw G" once the address is up (tests wait for it).
 * Returns 0, or -1 with a message on stderr.
 */
int interop_stack_start(int *argc, char **argv);

/**
 * Exit the process with code, after sockets closed by the app have sent what they
 * queued (bounded by 3 s). On a chip the stack outlives close(); here the stack is
 * in the process, and exiting at once would drop a last DISCONNECT or close_notify.
 */
_Noreturn void interop_exit(int code);

struct sockaddr_storage;
/**
 * Resolve host (a name through the stack's DNS client, or a numeric address) and port
 * the way esp-tls does: getaddrinfo() with AF_UNSPEC/SOCK_STREAM, first result.
 * Returns 0, or an EAI_* code with a message on stderr.
 */
int interop_resolve(const char *host, int port, struct sockaddr_storage *out, unsigned *out_len);

/** Fill buf with the pattern bytes at stream offsets [off, off + len). */
void interop_pattern(uint8_t *buf, size_t len, uint64_t off);

/** Lower-case hex of a SHA-256 digest into out (65 bytes). */
void interop_hex(const uint8_t digest[32], char out[65]);

/** Monotonic milliseconds. */
uint64_t interop_now_ms(void);

/** Parse a decimal size with optional k/M suffix (1024-based); -1 when malformed. */
int64_t interop_parse_size(const char *s);
