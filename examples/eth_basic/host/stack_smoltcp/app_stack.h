/* The eth_basic host twin on esp_smoltcp: BSD calls go to the shim's lwip_* functions. */
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include "esp_smoltcp_host_sockets.h"
