/*
 * libFuzzer target 1: arbitrary Ethernet frames (plus templated TCP, DHCP,
 * DNS, ARP, ICMP and NDP replies, socket calls and time steps) into engine A
 * with live sockets. See frames_engine.h for the world and the input format.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "frames_engine.h"

void fe_run_input(const uint8_t *data, size_t size);

/* The glue's panic hook (the runtime's lives in runtime.c, not linked here). */
void esg_panic(const uint8_t *msg, size_t len);
void esg_panic(const uint8_t *msg, size_t len)
{
    fprintf(stderr, "%.*s\n", (int)len, (const char *)msg);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fe_run_input(data, size);
    return 0;
}
