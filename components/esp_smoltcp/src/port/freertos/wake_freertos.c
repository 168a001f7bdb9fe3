/* esp_smoltcp_wake.h from an ISR on FreeRTOS (the task-level calls are in core/wake.c). */
#include "esp_smoltcp_wake.h"
#include "os_freertos.h"
#include "wake_marks.h"

void esp_smoltcp_thread_wake_from_isr(void *handle, void *woken)
{
    if (handle) {
        wake_mark(handle);
        os_event_set_from_isr(handle, woken);
    }
}
