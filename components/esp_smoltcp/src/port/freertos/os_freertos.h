/*
 * FreeRTOS-only additions to port/os.h, for the target ports (netdev/esp_eth
 * and the BSD shim's VFS select hooks). Core code never includes this.
 */
#pragma once

#include "freertos/FreeRTOS.h"
#include "os.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Stack of a task created with stack_size 0, bytes. */
#define OS_FREERTOS_DEFAULT_STACK 4096

/** Microseconds → FreeRTOS ticks, rounded up; OS_WAIT_FOREVER → portMAX_DELAY. */
TickType_t os_freertos_ticks(uint64_t timeout_us);

/** os_event_set() from an ISR; *woken becomes pdTRUE when a higher-priority task woke. */
void os_event_set_from_isr(os_event_t *e, BaseType_t *woken);

#ifdef __cplusplus
}
#endif
