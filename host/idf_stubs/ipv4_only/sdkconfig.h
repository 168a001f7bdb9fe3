/*
 * sdkconfig.h stand-in of an IPv4-only build (scripts/size.sh profile ipv4): the
 * defaults with ESP_SMOLTCP_IPV6=n, which also drops the options that depend on it,
 * as menuconfig does. Put this directory before host/idf_stubs/include.
 */
#pragma once

#include "../include/sdkconfig.h"

#undef CONFIG_ESP_SMOLTCP_IPV6
#undef CONFIG_ESP_SMOLTCP_IPV6_SLAAC
#undef CONFIG_ESP_SMOLTCP_IPV6_DHCPV6
