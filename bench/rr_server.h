/* A small TCP echo server (request/response latency, idle sockets), written against the
 * BSD API through app_stack.h like http_server.c: the same source on every stack. */
#pragma once

#include <signal.h>

/** Start the echo server on `port` in its own thread. Returns 0 or -1. */
int rr_server_start(int port, int max_clients, volatile sig_atomic_t *stop);
