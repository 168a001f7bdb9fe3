/* Interrupt marks of thread wake handles (wake.c), for sock.c and the ISR wake of a port. */
#pragma once

#include <stdbool.h>

/** Mark handle interrupted (ISR-safe, lock-free); its next poll returns. */
void wake_mark(void *handle);
/** Take the mark of handle: true if it was interrupted since the last take. */
bool wake_take_mark(void *handle);
