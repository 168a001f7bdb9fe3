/* The eth_basic application on the Linux kernel's sockets: nothing to map. */
#pragma once

#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
