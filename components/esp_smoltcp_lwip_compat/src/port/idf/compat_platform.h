/* BSD socket types under ESP-IDF: lwIP's headers define them (lwIP stays compiled, its socket layer unused). */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <sys/uio.h>

#include "sdkconfig.h"
#if CONFIG_IDF_TARGET_LINUX
/* glibc's <sys/uio.h> declared struct iovec but (unlike IDF's libc) does not
 * #define iovec, the test lwIP's sockets.h uses to skip its own copy. */
#define iovec iovec
#endif
#include "lwip/netdb.h"
#include "lwip/sockets.h"

/* IDF linux target: lwIP's port/linux/include/sys is an include dir, so
 * <fcntl.h> is lwIP's (fcntl() only) and the libc's F_GETFD/F_SETFD/FD_CLOEXEC
 * are missing; these are the values newlib and glibc both use. */
#ifndef F_GETFD
#define F_GETFD 1
#endif
#ifndef F_SETFD
#define F_SETFD 2
#endif
#ifndef FD_CLOEXEC
#define FD_CLOEXEC 1
#endif

/* IDF's VFS gives the socket driver [LWIP_SOCKET_OFFSET, FD_SETSIZE). */
#define COMPAT_FD_FIRST LWIP_SOCKET_OFFSET
#define COMPAT_FD_COUNT CONFIG_LWIP_MAX_SOCKETS

/* lwIP has no socket() type flags; give them values clear of SOCK_STREAM/DGRAM/RAW (Linux's). */
#ifndef SOCK_NONBLOCK
#define SOCK_NONBLOCK 0x800
#endif
#ifndef SOCK_CLOEXEC
#define SOCK_CLOEXEC 0x80000
#endif

/* POSIX's SSIZE_MAX: picolibc's <limits.h> has none (ssize_t is as wide as size_t). */
#include <limits.h>
#include <stdint.h>
#ifndef SSIZE_MAX
#define SSIZE_MAX ((ssize_t)(SIZE_MAX >> 1))
#endif

/* errno values newlib/picolibc leave out (Linux numbering, as newlib's extensions). */
#ifndef ESOCKTNOSUPPORT
#define ESOCKTNOSUPPORT 124
#endif
#ifndef EPFNOSUPPORT
#define EPFNOSUPPORT 96
#endif

/* getaddrinfo() errors lwIP's netdb.h leaves out (it has 200..204). */
#ifndef EAI_BADFLAGS
#define EAI_BADFLAGS 205
#endif
#ifndef EAI_SOCKTYPE
#define EAI_SOCKTYPE 206
#endif
#ifndef EAI_AGAIN
#define EAI_AGAIN 207
#endif
#ifndef EAI_ADDRFAMILY
#define EAI_ADDRFAMILY 208
#endif
