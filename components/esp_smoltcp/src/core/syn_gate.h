/*
 * Backlog overflow as Linux does it: a SYN for a listener whose backlog
 * sockets are all taken (handshaking or waiting for accept) is dropped, so the
 * client retransmits it and connects once accept() frees a slot. smoltcp
 * itself would answer it with RST (no socket in LISTEN), which the client
 * sees as ECONNREFUSED — what made wrk count errors at 64 connections.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * Should the engine see this (already validated) frame? False only for a TCP
 * SYN (no ACK) to a port whose listener has no free backlog socket. Call
 * under the core lock.
 */
bool syn_gate_admit(const uint8_t *frame, size_t len);
