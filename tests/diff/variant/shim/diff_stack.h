/*
 * Shim build of the differential suite: socket() … select(), poll(), fcntl(),
 * ioctl(), inet_pton() … become the shim's lwip_* functions, exactly as IDF's
 * <lwip/sockets.h> does for unchanged IDF code.
 */
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "esp_smoltcp_host_sockets.h"

#define DIFF_VARIANT "shim"

/** Start esp_smoltcp on the TAP given by --tap (static 198.18.0.2/24, --mac). */
int diff_stack_start(int argc, char **argv);
