/*
 * Force-included (-include, via CFLAGS) into every C file of the IDF linux
 * build by scripts/idf-linux.sh, for two faults of the ESP-IDF tree, not ours:
 *
 * 1. esp_http_server/src/httpd_sess.c calls fcntl(fd, F_GETFD) but, on the
 *    linux target with CONFIG_LWIP_ENABLE=y, lwIP's port/linux/include/sys is
 *    an include dir, so its <fcntl.h> (fcntl() only) hides the libc's and
 *    F_GETFD is undeclared. Values as newlib and glibc both define them.
 * 2. An esp-lwip older than IDF's lwipopts.h expects (the 2.1.3-esp branch
 *    instead of the pinned 2.2 commit) calls the pre-2.2 DHCP timeout macros
 *    that lwipopts.h (DHCP_DEFINE_CUSTOM_TIMEOUTS) no longer provides; mapped
 *    to the new ones. Unused with the pinned lwIP. lwIP's DHCP client is
 *    compiled but never runs (esp-smoltcp does DHCP).
 */
#pragma once
#ifndef F_GETFD
#define F_GETFD 1
#endif
#ifndef F_SETFD
#define F_SETFD 2
#endif
#ifndef FD_CLOEXEC
#define FD_CLOEXEC 1
#endif
#define DHCP_REQUEST_TIMEOUT_SEQUENCE(tries) DHCP_REQUEST_BACKOFF_SEQUENCE(0, tries)
#define DHCP_CALC_TIMEOUT_FROM_OFFERED_T0_LEASE(dhcp) timeout_from_offered((dhcp)->offered_t0_lease, 120)
#define DHCP_CALC_TIMEOUT_FROM_OFFERED_T1_RENEW(dhcp) \
    timeout_from_offered((dhcp)->offered_t1_renew, (dhcp)->t0_timeout >> 1)
#define DHCP_CALC_TIMEOUT_FROM_OFFERED_T2_REBIND(dhcp) \
    timeout_from_offered((dhcp)->offered_t2_rebind, ((dhcp)->t0_timeout / 8) * 7)
