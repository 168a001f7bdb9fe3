/*
 * What the stack tells a link it has come back to (core lock held, poll task).
 * A switch or peer that lost our state while the cable was out learns it again
 * at once instead of at the next query: lwIP does the same on netif_set_link_up().
 */
#pragma once

/**
 * IPv4: an ARP announcement of a static address (RFC 5227 §2.3; a DHCP address
 * is being acquired again instead) and an IGMPv2 membership report for every
 * joined group (RFC 2236 §3).
 */
void link_announce_ip4(void);
