/* BSD socket types of the Linux host (glibc). The target's twin uses lwIP's headers. */
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>

/* Socket fds the shim hands out: [COMPAT_FD_FIRST, COMPAT_FD_FIRST + COMPAT_FD_COUNT), like IDF's
 * LWIP_SOCKET_OFFSET..FD_SETSIZE, kept clear of the fds the host kernel gives this process. */
#define COMPAT_FD_FIRST 900
#define COMPAT_FD_COUNT 120
