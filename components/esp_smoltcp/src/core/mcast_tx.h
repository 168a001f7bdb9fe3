/*
 * Multicast options smoltcp has no per-packet notion of, applied to UDP
 * datagrams to a group as they leave (the engine's transmit path):
 * IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS (default 1, not the socket's
 * unicast TTL) and IP_MULTICAST_LOOP / IPV6_MULTICAST_LOOP (a copy for this
 * host's own members of the group, as Linux delivers by default).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * Set the hop limit of a UDP datagram to a multicast group from its socket's
 * options (IPv4 header checksum refreshed). Returns true when a copy should
 * also be looped back to this host's members. Under the core lock.
 */
bool mcast_tx_prepare(uint8_t *frame, size_t len);
