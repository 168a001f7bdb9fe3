/* netdb types of the Linux host (glibc): struct addrinfo, hostent, EAI_*, h_errno values. */
#pragma once

#include <netdb.h>

#include "compat_platform.h"
