/*
 * What the stack tells a link it has come back to (core lock held, poll task).
 * A switch or peer that lost our state while the cable was out learns it again
 * at once instead of at the next query: lwIP does the same on netif_set_link_up().
 */
#pragma once

/**
 * An ARP announcement of the interface's IPv4 address (RFC 5227 §2.3: a request
 * with sender = target), as lwIP sends one whenever an address is set or the
 * link comes back: peers holding a stale entry for it (another MAC) update it.
 */
void announce_ip4_address(void);

/** An IGMPv2 membership report for every joined group (RFC 2236 §3), for the link's return. */
void link_announce_ip4_groups(void);
