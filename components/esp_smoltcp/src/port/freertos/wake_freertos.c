/* esp_smoltcp_wake.h on FreeRTOS: the handle is the thread's os_event_t. */
#include "esp_smoltcp_wake.h"
#include "os_freertos.h"

void *esp_smoltcp_thread_wake_handle(void)
{
    return os_thread_event();
}

void esp_smoltcp_thread_wake(void *handle)
{
    if (handle) {
        os_event_set(handle);
    }
}

void esp_smoltcp_thread_wake_from_isr(void *handle, void *woken)
{
    if (handle) {
        os_event_set_from_isr(handle, woken);
    }
}
