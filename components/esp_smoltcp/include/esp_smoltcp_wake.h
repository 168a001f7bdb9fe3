/*
 * Per-thread wake handles, for drivers that must interrupt a thread blocked
 * in the runtime from outside it: ESP-IDF's VFS select() hands the socket
 * driver's semaphore to UART and other drivers, which signal it with
 * stop_socket_select(). The handle is the calling thread's own wake event —
 * the one its blocking socket calls (recv, accept, poll ...) wait on.
 * A wake makes the thread's current (or next) esp_smoltcp_sock_poll() return
 * with what is ready, possibly nothing; other blocking calls just re-check.
 *
 * All ports; the ISR variant on FreeRTOS only.
 */
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

/** The calling thread's wake handle; NULL when it cannot be allocated. */
void *esp_smoltcp_thread_wake_handle(void);
/** Wake the thread that owns handle (from a task). */
void esp_smoltcp_thread_wake(void *handle);
/** Wake from an ISR; *woken (a BaseType_t) is set to pdTRUE when a yield is due. */
void esp_smoltcp_thread_wake_from_isr(void *handle, void *woken);

#ifdef __cplusplus
}
#endif
