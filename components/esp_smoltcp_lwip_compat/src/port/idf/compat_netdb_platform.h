/* netdb types under ESP-IDF: lwIP's (struct addrinfo, hostent, EAI_*). */
#pragma once

#include "compat_platform.h"
#include "lwip/netdb.h"
