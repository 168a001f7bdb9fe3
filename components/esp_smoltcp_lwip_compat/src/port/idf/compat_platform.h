/* BSD socket types under ESP-IDF: lwIP's headers define them (lwIP stays compiled, its socket layer unused). */
#pragma once

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <sys/uio.h>

#include "lwip/sockets.h"
#include "sdkconfig.h"

/* IDF's VFS gives the socket driver [LWIP_SOCKET_OFFSET, FD_SETSIZE). */
#define COMPAT_FD_FIRST LWIP_SOCKET_OFFSET
#define COMPAT_FD_COUNT CONFIG_LWIP_MAX_SOCKETS
