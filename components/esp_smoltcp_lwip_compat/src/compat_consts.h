/*
 * Socket constants the shim uses that a platform's headers may lack (lwIP's
 * sockets.h has no SO_DOMAIN, TCP_USER_TIMEOUT, POLLRDHUP ...). The values
 * are Linux's; on the host they all exist and nothing here is used.
 */
#pragma once

#include <sys/poll.h>

#include "compat_platform.h"

#ifndef SO_DOMAIN
#define SO_DOMAIN 39
#endif
#ifndef SO_PROTOCOL
#define SO_PROTOCOL 38
#endif
#ifndef SO_ACCEPTCONN
#define SO_ACCEPTCONN 30
#endif
#ifndef TCP_USER_TIMEOUT
#define TCP_USER_TIMEOUT 18
#endif
#ifndef IPV6_UNICAST_HOPS
#define IPV6_UNICAST_HOPS 16
#endif
#ifndef IPV6_MULTICAST_HOPS
#define IPV6_MULTICAST_HOPS 18
#endif
#ifndef IPV6_MULTICAST_LOOP
#define IPV6_MULTICAST_LOOP 19
#endif
#ifndef IPV6_MULTICAST_IF
#define IPV6_MULTICAST_IF 17
#endif
#ifndef IPV6_LEAVE_GROUP
#define IPV6_LEAVE_GROUP IPV6_DROP_MEMBERSHIP
#endif
#ifndef MSG_TRUNC
#define MSG_TRUNC 0x20
#endif
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0x4000
#endif
#ifndef MSG_DONTWAIT
#define MSG_DONTWAIT 0x40
#endif
#ifndef POLLRDHUP
#define POLLRDHUP 0x2000
#endif
#ifndef POLLRDNORM
#define POLLRDNORM 0x040
#endif
#ifndef POLLWRNORM
#define POLLWRNORM 0x100
#endif
#ifndef EDOM
#define EDOM 33
#endif
